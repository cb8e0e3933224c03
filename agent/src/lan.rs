//! The LAN transport between terminals of one store: TLS 1.3 (rustls) carrying
//! length-prefixed sync messages, each end proven by its tenant-signed credential bound to
//! the TLS session (the rules are `thorbis_sync_protocol::peer`'s; this module only moves
//! bytes and runs the handshake).
//!
//! Why not certificates issued by the tenant: a terminal would need a certificate
//! authority, renewals and a chain to verify, for what the credential it already holds
//! proves. So each process presents a throwaway self-signed certificate (its TLS key is
//! generated at start and never stored); rustls still checks that the other end holds the
//! certificate's key during the handshake, and then both ends send a
//! [`PeerHello`]: credential, tenant signature, and the device key's signature over this
//! session's exporter. A connection whose peer is not a live device of the same tenant and
//! location is closed before any sync message is read.
//!
//! The listener side refuses by closing: the refused peer sees the connection end, and the
//! refusal is logged here with its reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use thorbis_sync_protocol::clock::Clock;
use thorbis_sync_protocol::peer::{
    EXPORTER_LABEL, Expect, FrameTooLarge, HELLO_LEN, PeerAuthError, PeerHello, Side, encode_frame,
    frame_len, verify_hello,
};
use thorbis_sync_protocol::{Credential, DeviceId, DeviceKey, PublicKey, Signature};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, TlsStream};

/// The ALPN protocol name of the LAN sync protocol.
pub const ALPN: &[u8] = b"thorbis-sync/1";

/// How long a peer gets for TLS and its hello: on a store's LAN they take milliseconds,
/// and a socket that says nothing holds a handshake slot no longer than this.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// The name the client asks for; certificates are not checked against names (see the
/// module docs), but TLS wants one.
const SERVER_NAME: &str = "thorbis.peer";

/// This device as its LAN peers see it.
#[derive(Clone)]
pub struct LanIdentity {
    /// The device key (the one its events are signed with).
    pub key: Arc<DeviceKey>,
    /// Its credential, as the hub issued it at enrollment.
    pub credential: Credential,
    /// The tenant's signature over the credential.
    pub credential_signature: Signature,
    /// The tenant's public key, from enrollment: peers' credentials must carry its signature.
    pub tenant_key: PublicKey,
}

impl std::fmt::Debug for LanIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LanIdentity")
            .field("device", &self.credential.device_id)
            .finish_non_exhaustive()
    }
}

/// Which devices the tenant has revoked, from its device records.
pub trait Revocations: Send + Sync + 'static {
    /// Whether `device` was revoked.
    fn is_revoked(&self, device: DeviceId) -> bool;
}

/// What can go wrong on a LAN connection.
#[derive(Debug, thiserror::Error)]
pub enum LanError {
    /// The socket failed or closed.
    #[error("LAN connection: {0}")]
    Io(#[from] std::io::Error),
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The throwaway certificate could not be made.
    #[error("TLS certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The peer is not a live device of this store.
    #[error("peer refused: {0}")]
    Refused(#[from] PeerAuthError),
    /// The peer's credential is valid but the tenant revoked that device.
    #[error("peer refused: device {0} has been revoked")]
    Revoked(DeviceId),
    /// The handshake (TLS and hellos) took too long.
    #[error("the peer handshake did not finish within {0:?}")]
    Timeout(Duration),
    /// A frame announced more bytes than allowed.
    #[error(transparent)]
    FrameTooLarge(#[from] FrameTooLarge),
}

/// TLS and peer checks for one device: make one per process, then connect and accept.
pub struct Lan {
    identity: LanIdentity,
    clock: Arc<dyn Clock>,
    revocations: Arc<dyn Revocations>,
    connector: TlsConnector,
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for Lan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lan").field("identity", &self.identity).finish_non_exhaustive()
    }
}

impl Lan {
    /// TLS configurations with a fresh throwaway certificate, for `identity`.
    pub fn new(
        identity: LanIdentity,
        clock: Arc<dyn Clock>,
        revocations: Arc<dyn Revocations>,
    ) -> Result<Self, LanError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert = rcgen::generate_simple_self_signed(vec![SERVER_NAME.to_owned()])?;
        let chain = vec![cert.cert.der().clone()];
        let key =
            || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.signing_key.serialize_der()));
        let verifier = Arc::new(HandshakeOnly(provider.signature_verification_algorithms));
        let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_client_auth_cert(chain.clone(), key())?;
        client.alpn_protocols = vec![ALPN.to_vec()];
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key())?;
        server.alpn_protocols = vec![ALPN.to_vec()];
        Ok(Self {
            identity,
            clock,
            revocations,
            connector: TlsConnector::from(Arc::new(client)),
            acceptor: TlsAcceptor::from(Arc::new(server)),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// Changes how long a peer gets to finish TLS and its hello
    /// ([`DEFAULT_HANDSHAKE_TIMEOUT`] otherwise).
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Connects to the peer listening at `addr` and authenticates both ends.
    pub async fn connect(&self, addr: SocketAddr) -> Result<PeerConnection, LanError> {
        let handshake = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            let name = ServerName::try_from(SERVER_NAME).expect("a valid DNS name");
            let tls = self.connector.connect(name, tcp).await?;
            let exporter = tls.get_ref().1.export_keying_material([0; 32], EXPORTER_LABEL, None)?;
            self.hellos(TlsStream::Client(tls), &exporter, Side::Client).await
        };
        tokio::time::timeout(self.handshake_timeout, handshake)
            .await
            .map_err(|_| LanError::Timeout(self.handshake_timeout))?
    }

    /// Accepts a connection a peer opened, and authenticates both ends. A refused peer's
    /// connection is closed (dropped) here.
    pub async fn accept(&self, tcp: TcpStream) -> Result<PeerConnection, LanError> {
        let handshake = async {
            tcp.set_nodelay(true)?;
            let tls = self.acceptor.accept(tcp).await?;
            let exporter = tls.get_ref().1.export_keying_material([0; 32], EXPORTER_LABEL, None)?;
            self.hellos(TlsStream::Server(tls), &exporter, Side::Server).await
        };
        let result = tokio::time::timeout(self.handshake_timeout, handshake)
            .await
            .map_err(|_| LanError::Timeout(self.handshake_timeout))
            .and_then(|r| r);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "LAN peer refused");
        }
        result
    }

    /// Exchanges hellos: the dialler speaks first, and the listener answers only once the
    /// dialler's hello has checked out, so a stranger learns nothing of the listener (not
    /// even its device and location) by dialling it.
    async fn hellos(
        &self,
        mut stream: TlsStream<TcpStream>,
        exporter: &[u8; 32],
        ours: Side,
    ) -> Result<PeerConnection, LanError> {
        let id = &self.identity;
        let hello =
            PeerHello::new(&id.key, id.credential.clone(), id.credential_signature, exporter, ours);
        if ours == Side::Client {
            write_frame(&mut stream, &hello.encode()).await?;
        }
        let theirs = match ours {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        };
        let mut bytes = [0u8; HELLO_LEN + 4];
        stream.read_exact(&mut bytes).await?;
        if frame_len(bytes[..4].try_into().expect("4 bytes"))? != HELLO_LEN {
            return Err(PeerAuthError::Malformed("wrong length").into());
        }
        let expect = Expect {
            tenant_key: id.tenant_key,
            tenant_id: id.credential.tenant_id,
            location_id: id.credential.location_id,
            now_ms: self.clock.now_ms(),
        };
        let peer = verify_hello(&PeerHello::decode(&bytes[4..])?, &expect, exporter, theirs)?;
        if self.revocations.is_revoked(peer.device_id) {
            return Err(LanError::Revoked(peer.device_id));
        }
        if ours == Side::Server {
            write_frame(&mut stream, &hello.encode()).await?;
        }
        tracing::debug!(peer = %peer.device_id, role = peer.role.as_str(), "LAN peer authenticated");
        Ok(PeerConnection { stream, peer })
    }
}

/// An authenticated connection to a peer terminal.
pub struct PeerConnection {
    stream: TlsStream<TcpStream>,
    peer: Credential,
}

impl std::fmt::Debug for PeerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerConnection").field("peer", &self.peer.device_id).finish_non_exhaustive()
    }
}

impl PeerConnection {
    /// Who is at the other end.
    #[must_use]
    pub fn peer(&self) -> &Credential {
        &self.peer
    }

    /// Sends one frame (an encoded sync message).
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), LanError> {
        write_frame(&mut self.stream, payload).await
    }

    /// Receives one frame; `None` when the peer closed the connection between frames.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, LanError> {
        read_frame(&mut self.stream).await
    }

    /// Splits into halves that a reader task and a writer task can own.
    #[must_use]
    pub fn split(self) -> (PeerReader, PeerWriter) {
        let (r, w) = tokio::io::split(self.stream);
        (PeerReader(r), PeerWriter(w))
    }
}

/// The receiving half of a [`PeerConnection`].
#[derive(Debug)]
pub struct PeerReader(tokio::io::ReadHalf<TlsStream<TcpStream>>);

impl PeerReader {
    /// Receives one frame; `None` when the peer closed the connection between frames.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, LanError> {
        read_frame(&mut self.0).await
    }
}

/// The sending half of a [`PeerConnection`].
#[derive(Debug)]
pub struct PeerWriter(tokio::io::WriteHalf<TlsStream<TcpStream>>);

impl PeerWriter {
    /// Sends one frame.
    pub async fn send(&mut self, payload: &[u8]) -> Result<(), LanError> {
        write_frame(&mut self.0, payload).await
    }
}

async fn write_frame(w: &mut (impl AsyncWrite + Unpin), payload: &[u8]) -> Result<(), LanError> {
    w.write_all(&encode_frame(payload)).await?;
    w.flush().await?;
    Ok(())
}

async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> Result<Option<Vec<u8>>, LanError> {
    let mut header = [0u8; 4];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let mut payload = vec![0; frame_len(header)?];
    r.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// The handshake-signature checks both verifier traits ask for, the same on each side:
/// rustls's own, against the certificate the peer presented.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
        }

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.supported_schemes()
        }
    };
}

/// Accepts any certificate but still makes rustls check that the other end holds its key
/// (the handshake signature): who the peer is comes from its hello, bound to this session.
#[derive(Debug)]
struct HandshakeOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for HandshakeOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

impl ClientCertVerifier for HandshakeOnly {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    handshake_signatures!();
}
