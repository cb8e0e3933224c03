//! Live delivery across hub processes through Postgres `LISTEN/NOTIFY`.
//!
//! A push that stores events sends `pg_notify('thorbis_events', <tenant id>)` inside its
//! transaction, so the notification goes out exactly when the events become visible (at
//! commit) and never for a rolled-back push. Every hub process keeps one dedicated
//! connection listening on that channel and fans notifications out to its waiting
//! long-polls through a broadcast channel, so a device waiting on any hub hears about a
//! push made to any other hub on the same database within milliseconds.
//!
//! A notification only says "this tenant has new events"; the waiter then re-runs its
//! ordinary, RLS-scoped pull. Nothing is delivered that a pull would not return.

use std::future::poll_fn;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};
use uuid::Uuid;

/// The channel pushes notify and hubs listen on.
pub const CHANNEL: &str = "thorbis_events";

/// Sent to every waiter when the listener (re)connects: notifications may have been
/// missed meanwhile, so everyone re-checks.
pub const EVERYONE: Uuid = Uuid::nil();

/// Fans notifications out to this process's waiters.
#[derive(Clone, Debug)]
pub struct Notifier {
    tx: broadcast::Sender<Uuid>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

impl Notifier {
    /// A notifier with no listener yet.
    #[must_use]
    pub fn new() -> Self {
        // Waiters only need to know that something happened; a lagging receiver re-checks.
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    /// A new waiter. Subscribe before querying, so nothing committed between the query and
    /// the wait is missed.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.tx.subscribe()
    }

    /// Wakes this process's waiters for `tenant` (a push committed here). Other processes
    /// hear about it through `NOTIFY`.
    pub fn notify(&self, tenant: Uuid) {
        let _ = self.tx.send(tenant);
    }

    /// Starts the listening connection on the current runtime; it reconnects after a
    /// failure and lives until aborted.
    #[must_use]
    pub fn spawn_listener(&self, url: String) -> JoinHandle<()> {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = listen(&url, &tx).await {
                    tracing::warn!(error = %e, "LISTEN connection failed; reconnecting");
                }
                let _ = tx.send(EVERYONE);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}

async fn listen(url: &str, tx: &broadcast::Sender<Uuid>) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = tokio_postgres::connect(url, NoTls).await?;
    let statement = format!("LISTEN {CHANNEL}");
    let subscribe = client.batch_execute(&statement);
    tokio::pin!(subscribe);
    let mut listening = false;
    loop {
        tokio::select! {
            // The connection must be polled for LISTEN itself to complete.
            result = &mut subscribe, if !listening => {
                result?;
                listening = true;
                let _ = tx.send(EVERYONE);
            }
            message = poll_fn(|cx| connection.poll_message(cx)) => match message {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if let Ok(tenant) = n.payload().parse::<Uuid>() {
                        let _ = tx.send(tenant);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
    }
}
