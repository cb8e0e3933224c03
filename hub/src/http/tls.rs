//! TLS for the hub when configured: rustls on the ring provider, serving the same router
//! with the same graceful shutdown as plain HTTP. Loopback deployments and tests may run
//! without it; anything off-loopback must not.

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::future::Future;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;

use super::AppState;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The PEM certificate chain does not parse or is empty.
    #[error("TLS certificate chain: {0}")]
    Certificate(String),
    /// The PEM private key does not parse.
    #[error("TLS private key: {0}")]
    Key(String),
    /// rustls refused the pair (key does not match, unsupported algorithm).
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A server configuration from a PEM certificate chain and a PEM private key.
pub fn server_config(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificate(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Certificate("no certificate found in the PEM file".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::Key(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router(state)` over TLS on `listener` until `shutdown` completes, then waits for
/// open connections to finish their in-flight requests. Connections are bounded as in
/// plain HTTP (see [`super::serve`]); a client gets ten seconds for its handshake.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    state: AppState,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    super::serve::accept_loop(listener, state, Some(TlsAcceptor::from(config)), shutdown).await
}
