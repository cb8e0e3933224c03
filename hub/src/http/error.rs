//! The one error type of the HTTP layer and its mapping to status codes, in one place.
//!
//! A 4xx carries a message that tells the caller what is wrong; it is safe to show because
//! it only describes the caller's own request. Anything else is an internal error: logged
//! here with its cause and answered with a bare 500, so database details never leak.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Malformed input: unparsable body, bad field.
    #[error("{0}")]
    BadRequest(String),
    /// Missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed (revoked device, another tenant's device).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that id in the caller's tenant.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts stored state: a used code, a fork, a gap in a chain.
    #[error("{0}")]
    Conflict(String),
    /// Something that existed has expired (an enrollment code).
    #[error("{0}")]
    Gone(String),
    /// More than the hub accepts in one request.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// Well-formed, but fails verification: signature, chain link, clock bound.
    #[error("{0}")]
    Unprocessable(String),
    /// A failure that is not the caller's: logged, answered with a bare 500.
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// The status code for this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Gone(_) => StatusCode::GONE,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Internal(e.into())
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Error::Internal(e.into())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(e.into())
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Error::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
            return status.into_response();
        }
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// What handlers return.
pub type Result<T, E = Error> = std::result::Result<T, E>;
