//! The one error type of the HTTP layer and its mapping to status codes, in one place:
//! the data layer's errors ([`crate::log`], [`crate::tenants`], ...) become status codes
//! here and nowhere else.
//!
//! A 4xx carries a message that tells the caller what is wrong; it is safe to show because
//! it only describes the caller's own request. Anything else is an internal error: logged
//! here with its cause and answered with a bare 500, so database details never leak.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thorbis_sync_protocol::receive::SyncError;

use crate::accounts::AccountError;
use crate::audit::AuditError;
use crate::blobs::BlobsError;
use crate::locations::LocationError;
use crate::log::LogError;
use crate::reports::ReportError;
use crate::staff::StaffError;
use crate::store::Fault;
use crate::tenants::TenantError;
use crate::work_orders::WorkOrdersError;
use thorbis_domain::work_order::WorkOrderError;

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
    /// Too many attempts from this client just now: try again later.
    #[error("{0}")]
    TooManyRequests(String),
    /// The request took longer than the hub allows.
    #[error("{0}")]
    RequestTimeout(String),
    /// Storing the request would take the caller past its storage quota.
    #[error("{0}")]
    InsufficientStorage(String),
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
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Fault> for Error {
    fn from(e: Fault) -> Self {
        Error::Internal(e.into())
    }
}

impl From<LogError> for Error {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Refused(SyncError::Gap { .. })
            | LogError::Fork(_)
            | LogError::Concurrent(_) => Error::Conflict(e.to_string()),
            LogError::Refused(SyncError::UnknownDevice { .. }) | LogError::NotInTenant(_) => {
                Error::Forbidden(e.to_string())
            }
            LogError::Refused(_) | LogError::OutOfRange { .. } => {
                Error::Unprocessable(e.to_string())
            }
            LogError::NoTenant(_) => Error::NotFound(e.to_string()),
            LogError::OverQuota { .. } => Error::InsufficientStorage(e.to_string()),
            LogError::Replayed => Error::Unauthorized(e.to_string()),
            LogError::Fault(fault) => fault.into(),
        }
    }
}

impl From<LocationError> for Error {
    fn from(e: LocationError) -> Self {
        match e {
            LocationError::NoLocation(_) => Error::NotFound(e.to_string()),
            LocationError::UnknownTimeZone(_) => Error::BadRequest(e.to_string()),
            LocationError::CurrencyInUse(_) => Error::Conflict(e.to_string()),
            LocationError::Fault(fault) => fault.into(),
        }
    }
}

impl From<AuditError> for Error {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::NoLog(_) => Error::NotFound(e.to_string()),
            AuditError::Fault(fault) => fault.into(),
        }
    }
}

impl From<ReportError> for Error {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NoLocation(_) => Error::NotFound(e.to_string()),
            ReportError::Fault(fault) => fault.into(),
        }
    }
}

impl From<TenantError> for Error {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::NoTenant(_)
            | TenantError::NoLocation { .. }
            | TenantError::NoDevice { .. }
            | TenantError::NoCode => Error::NotFound(e.to_string()),
            TenantError::Revoked(_) | TenantError::CodeUsed => Error::Conflict(e.to_string()),
            TenantError::CodeExpired => Error::Gone(e.to_string()),
            TenantError::Log(e) => e.into(),
            TenantError::Fault(fault) => fault.into(),
        }
    }
}

impl From<AccountError> for Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::LoginFailed => Error::Unauthorized(e.to_string()),
            AccountError::WrongPassword => Error::Forbidden(e.to_string()),
            AccountError::EmailTaken(_) | AccountError::TooManyTokens(_) => {
                Error::Conflict(e.to_string())
            }
            AccountError::NoUser(_) => Error::NotFound(e.to_string()),
            AccountError::Tenant(e) => e.into(),
            AccountError::Fault(fault) => fault.into(),
        }
    }
}

impl From<StaffError> for Error {
    fn from(e: StaffError) -> Self {
        match e {
            StaffError::NoStaff(_) | StaffError::NoLocation(_) => Error::NotFound(e.to_string()),
            StaffError::Log(e) => e.into(),
            StaffError::Fault(fault) => fault.into(),
        }
    }
}

impl From<WorkOrdersError> for Error {
    fn from(e: WorkOrdersError) -> Self {
        match e {
            WorkOrdersError::NoWorkOrder(_) | WorkOrdersError::NoDevice(_) => {
                Error::NotFound(e.to_string())
            }
            WorkOrdersError::NotTechnician { .. } => Error::Unprocessable(e.to_string()),
            WorkOrdersError::Revoked(_) => Error::Conflict(e.to_string()),
            WorkOrdersError::Refused(e) => match e {
                WorkOrderError::InvalidText(_) | WorkOrderError::InvalidValue { .. } => {
                    Error::BadRequest(e.to_string())
                }
                WorkOrderError::UnknownChecklistItem(_) => Error::NotFound(e.to_string()),
                WorkOrderError::ChecklistItemExists(_)
                | WorkOrderError::Cancelled
                | WorkOrderError::Invoiced
                | WorkOrderError::Transition { .. }
                | WorkOrderError::Timer(_)
                | WorkOrderError::PartExists
                | WorkOrderError::AlreadyInvoiced
                | WorkOrderError::NotReady(_)
                | WorkOrderError::AlreadyPaid
                | WorkOrderError::Unchanged => Error::Conflict(e.to_string()),
                WorkOrderError::Incomplete | WorkOrderError::Document(_) => {
                    Error::Internal(e.into())
                }
            },
            WorkOrdersError::Tenant(e) => e.into(),
            WorkOrdersError::Log(e) => e.into(),
            WorkOrdersError::Fault(fault) => fault.into(),
        }
    }
}

impl From<BlobsError> for Error {
    fn from(e: BlobsError) -> Self {
        match e {
            BlobsError::NotFound(_) => Error::NotFound(e.to_string()),
            BlobsError::Offset(_) => Error::Conflict(e.to_string()),
            BlobsError::BadChunk(_) => Error::BadRequest(e.to_string()),
            BlobsError::Mismatch(_) => Error::Unprocessable(e.to_string()),
            BlobsError::OverQuota { .. } => Error::InsufficientStorage(e.to_string()),
            BlobsError::Busy(_) => Error::TooManyRequests(e.to_string()),
            BlobsError::Fault(fault) => fault.into(),
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(e.into())
    }
}

impl Error {
    /// What a console page shows for this error: the message of a 4xx, and for an
    /// internal error (logged here) words that leak nothing.
    pub(super) fn page_message(&self) -> String {
        if let Error::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
            return "Something went wrong on the hub; nothing was changed. Try again in a moment."
                .into();
        }
        self.to_string()
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
