//! The LAN transport over real TLS on 127.0.0.1: two terminals of one store authenticate
//! each other with their tenant-signed credentials and exchange frames; every kind of
//! stranger is refused before a frame is read.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, ensure};
use thorbis_agent::lan::{Lan, LanError, LanIdentity, Revocations};
use thorbis_agent::{Clock, ManualClock};
use thorbis_sync_protocol::peer::PeerAuthError;
use thorbis_sync_protocol::{Credential, DeviceId, DeviceKey, DeviceRole};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use uuid::Uuid;

const NOW_MS: u64 = 1_760_000_000_000;

#[derive(Default)]
struct Revoked(Mutex<BTreeSet<DeviceId>>);

impl Revocations for Revoked {
    fn is_revoked(&self, device: DeviceId) -> bool {
        self.0.lock().unwrap().contains(&device)
    }
}

/// A tenant with one store, issuing credentials like the hub does.
struct Tenant {
    key: DeviceKey,
    id: Uuid,
    store: Uuid,
}

impl Tenant {
    fn new(seed: u8) -> Self {
        Self {
            key: DeviceKey::from_seed(&[seed; 32]).unwrap(),
            id: Uuid::from_bytes([seed; 16]),
            store: Uuid::from_bytes([seed + 1; 16]),
        }
    }

    /// A device's identity; `holder` is the key that actually runs it (a thief's, to test
    /// copied credentials).
    fn identity(&self, seed: u8, location: Uuid, expires_at_ms: u64, holder: u8) -> LanIdentity {
        let key = DeviceKey::from_seed(&[seed; 32]).unwrap();
        let credential = Credential {
            device_id: DeviceId([seed; 16]),
            tenant_id: self.id,
            location_id: location,
            role: DeviceRole::Pos,
            public_key: key.public_key(),
            expires_at_ms,
        };
        LanIdentity {
            key: Arc::new(DeviceKey::from_seed(&[holder; 32]).unwrap()),
            credential_signature: self.key.sign_credential(&credential),
            credential,
            tenant_key: self.key.public_key(),
        }
    }

    fn device(&self, seed: u8) -> LanIdentity {
        self.identity(seed, self.store, NOW_MS + 3_600_000, seed)
    }
}

fn lan(identity: LanIdentity, revoked: &Arc<Revoked>) -> Result<Lan> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(NOW_MS));
    let revocations: Arc<dyn Revocations> = revoked.clone();
    Ok(Lan::new(identity, clock, revocations)?.with_handshake_timeout(Duration::from_secs(2)))
}

/// Runs one accept on a fresh listener while `client` connects; returns both outcomes.
async fn meet(
    server: &Lan,
    client: &Lan,
) -> Result<(Result<thorbis_agent::lan::PeerConnection, LanError>, Result<Vec<u8>, LanError>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let accept = async {
        let (tcp, _) = listener.accept().await?;
        server.accept(tcp).await
    };
    let connect = async {
        let mut conn = client.connect(addr).await?;
        // The client learns of a refusal when its first read finds the connection gone.
        conn.send(b"ping").await?;
        match conn.recv().await? {
            Some(frame) => Ok(frame),
            None => Err(LanError::Io(std::io::ErrorKind::ConnectionAborted.into())),
        }
    };
    // An accepting server never answers the ping, so a client that was let in times out.
    let (accepted, answered) =
        tokio::join!(accept, tokio::time::timeout(Duration::from_secs(5), connect));
    Ok((accepted, answered.unwrap_or(Err(LanError::Timeout(Duration::from_secs(5))))))
}

#[tokio::test]
async fn terminals_of_one_store_authenticate_and_exchange_frames() -> Result<()> {
    let tenant = Tenant::new(1);
    let revoked = Arc::new(Revoked::default());
    let pos = lan(tenant.device(10), &revoked)?;
    let kds = lan(tenant.device(11), &revoked)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let server = async {
        let (tcp, _) = listener.accept().await?;
        let conn = kds.accept(tcp).await?;
        ensure!(conn.peer().device_id == DeviceId([10; 16]), "server sees {:?}", conn.peer());
        let (mut reader, mut writer) = conn.split();
        while let Some(frame) = reader.recv().await? {
            let mut answer = b"ack:".to_vec();
            answer.extend_from_slice(&frame);
            writer.send(&answer).await?;
        }
        Ok::<_, anyhow::Error>(())
    };
    let client = async {
        let mut conn = pos.connect(addr).await?;
        ensure!(conn.peer().device_id == DeviceId([11; 16]), "client sees {:?}", conn.peer());
        for i in 0..50u32 {
            let payload = vec![u8::try_from(i % 251)?; 1000 * i as usize];
            conn.send(&payload).await?;
            let answer = conn.recv().await?.unwrap_or_default();
            ensure!(answer.len() == payload.len() + 4 && answer[4..] == payload[..]);
        }
        Ok::<_, anyhow::Error>(())
    };
    let (server_result, client_result) = tokio::join!(server, client);
    client_result?;
    server_result
}

/// What a refusal must look like.
type Expected = fn(&LanError) -> bool;

#[tokio::test]
async fn strangers_are_refused_before_any_frame() -> Result<()> {
    let tenant = Tenant::new(1);
    let other_tenant = Tenant::new(50);
    let revoked = Arc::new(Revoked::default());
    let kds = lan(tenant.device(11), &revoked)?;

    let cases: Vec<(&str, LanIdentity, Expected)> = vec![
        ("another tenant", other_tenant.device(12), |e| {
            matches!(e, LanError::Refused(PeerAuthError::NotOurTenant(_)))
        }),
        (
            "another store",
            tenant.identity(13, Uuid::from_bytes([99; 16]), NOW_MS + 1000, 13),
            |e| matches!(e, LanError::Refused(PeerAuthError::OtherLocation(_))),
        ),
        ("an expired credential", tenant.identity(14, tenant.store, NOW_MS, 14), |e| {
            matches!(e, LanError::Refused(PeerAuthError::Expired(..)))
        }),
        ("a copied credential", tenant.identity(15, tenant.store, NOW_MS + 1000, 16), |e| {
            matches!(e, LanError::Refused(PeerAuthError::NotBound(_)))
        }),
    ];
    for (what, identity, expected) in cases {
        let stranger = lan(identity, &revoked)?;
        let (accepted, answered) = meet(&kds, &stranger).await?;
        match accepted {
            Err(e) if expected(&e) => {}
            other => anyhow::bail!("{what}: the server did not refuse as expected: {other:?}"),
        }
        ensure!(answered.is_err(), "{what}: the stranger got an answer");
    }

    // A revoked device of the store.
    let pos = lan(tenant.device(10), &revoked)?;
    revoked.0.lock().unwrap().insert(DeviceId([10; 16]));
    let (accepted, _) = meet(&kds, &pos).await?;
    ensure!(matches!(accepted, Err(LanError::Revoked(_))), "revoked: {accepted:?}");
    revoked.0.lock().unwrap().clear();

    // Plain TCP is refused; a peer that connects and says nothing is dropped when the
    // handshake timeout (2 s here) runs out, so it cannot hold the listener.
    for (what, bytes) in [("plain HTTP", &b"GET / HTTP/1.1\r\n\r\n"[..]), ("silence", &b""[..])] {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let client = async {
            let mut tcp = tokio::net::TcpStream::connect(addr).await?;
            tcp.write_all(bytes).await?;
            Ok::<_, anyhow::Error>(tcp)
        };
        let server =
            async { kds.accept(listener.accept().await?.0).await.map_err(anyhow::Error::from) };
        let (accepted, held) = tokio::join!(server, client);
        let _held = held?;
        match (what, accepted) {
            ("silence", Err(e)) => ensure!(
                matches!(e.downcast_ref::<LanError>(), Some(LanError::Timeout(_))),
                "silence: {e}"
            ),
            (_, Err(_)) => {}
            (_, Ok(conn)) => anyhow::bail!("{what} was accepted: {conn:?}"),
        }
    }
    Ok(())
}
