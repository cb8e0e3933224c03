//! The accept loop, plain HTTP or TLS: the hub's connections are bounded in number, per
//! client address and in idle time, so clients that connect and say nothing cannot starve
//! the terminals.
//!
//! - At most `Limits::max_connections` are open at once; past that the loop stops
//!   accepting and further clients wait in the kernel's queue.
//! - At most `Limits::max_connections_per_address` come from one client: one IPv4 address,
//!   or one IPv6 /64 (one host holds a whole /64); one more is closed as soon as it is
//!   accepted. Behind a reverse proxy every client shares the proxy's address: raise the
//!   limit there, and let the proxy limit its clients.
//! - A connection that sends no complete request head for `Limits::idle_timeout_ms`
//!   (a fresh one that says nothing, an idle keep-alive one, one trickling its headers) is
//!   closed. Bodies and handlers are bounded by the request deadline in [`super::router`].

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

use super::{AppState, router};

/// How long a client gets to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The client a connection is counted against: its IPv4 address, or its IPv6 /64.
fn client(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 @ IpAddr::V4(_) => v4,
    }
}

/// One open connection, counted in the process's metrics while it lives.
struct Open(AppState);

impl Open {
    fn new(state: AppState) -> Self {
        state.0.metrics.connection_opened();
        Self(state)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.0.metrics.connection_closed();
    }
}

/// Open connections per client address.
#[derive(Debug)]
struct Addresses {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of an address, given back when dropped.
struct AddressSlot {
    addresses: Arc<Addresses>,
    ip: IpAddr,
}

impl Addresses {
    /// A slot for one more connection from `ip`, unless its client has its limit open
    /// already.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let ip = client(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot { addresses: Arc::clone(self), ip })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.addresses.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `router(state)` on `listener`, over TLS when `tls` is given, until `shutdown`
/// completes; then stops accepting and waits for open connections to finish their
/// in-flight requests.
pub(super) async fn accept_loop(
    listener: TcpListener,
    state: AppState,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits().clone();
    let shared = state.clone();
    let app = router(state);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let addresses = Arc::new(Addresses {
        limit: limits.max_connections_per_address.max(1),
        open: Mutex::default(),
    });
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(address_slot) = addresses.admit(peer.ip()) else {
            tracing::debug!(%peer, "too many connections from this address; closed");
            shared.0.metrics.connection_refused();
            continue;
        };
        let open = Open::new(shared.clone());
        // Small answers go out at once rather than waiting for the client's ACK.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%peer, error = %e, "could not set TCP_NODELAY");
        }
        // The client's address, as `axum::serve` gives it to handlers.
        let app = app.clone().layer(axum::Extension(axum::extract::ConnectInfo(peer)));
        let service = TowerToHyperService::new(app);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let idle = Duration::from_millis(limits.idle_timeout_ms.max(1));
        tokio::spawn(async move {
            let _held = (slot, address_slot, open);
            let Some(acceptor) = tls else {
                return connection(tcp, peer, service, watcher, idle).await;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => connection(stream, peer, service, watcher, idle).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves HTTP/1.1 on one connection until the client closes it, it idles past `idle`, or
/// shutdown asks it to finish.
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    service: TowerToHyperService<axum::Router>,
    watcher: hyper_util::server::graceful::Watcher,
    idle: Duration,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // In hyper 1.x this runs whenever the connection waits for a request head: on a
        // fresh connection, between keep-alive requests, and while the head trickles in.
        .header_read_timeout(idle)
        .serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_limit_and_its_slots_back() {
        let addresses = Arc::new(Addresses { limit: 2, open: Mutex::default() });
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = addresses.admit(a).unwrap();
        let _second = addresses.admit(a).unwrap();
        assert!(addresses.admit(a).is_none());
        assert!(addresses.admit(b).is_some(), "another address has slots of its own");
        drop(first);
        assert!(addresses.admit(a).is_some());
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let addresses = Arc::new(Addresses { limit: 1, open: Mutex::default() });
        let first: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        let _held = addresses.admit(first).unwrap();
        assert!(addresses.admit(same_64).is_none());
        assert!(addresses.admit(other_64).is_some());
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client(mapped), IpAddr::from([10, 0, 0, 1]));
    }

    #[test]
    fn a_closed_address_leaves_no_entry() {
        let addresses = Arc::new(Addresses { limit: 1, open: Mutex::default() });
        drop(addresses.admit([10, 0, 0, 1].into()).unwrap());
        assert!(addresses.open.lock().unwrap().is_empty());
    }
}
