//! Scans from a serial barcode scanner, routed to the register screens.
//!
//! A reader thread ([`spawn_serial_scanner`]) frames the scanner's bytes with the drivers'
//! `SerialScanner` and publishes each code on the UI's [`ScanFeed`]; open register pages
//! listen on `GET /register/scans` (server-sent events) and submit the code as a scan, the
//! same request a keyboard-wedge burst makes. A scan made while no register page listens
//! (between two pages, say) is dropped and logged: the cashier sees nothing rung up and
//! scans again, which is what a missed read at a till looks like anyway.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use thorbis_drivers::scanner::{FramingConfig, SerialScanner};
use thorbis_drivers::transport::ByteSource;
use tokio::sync::broadcast;

use super::access::Cashier;
use super::{UiError, UiState};

/// Codes longer than this are not barcodes a register rings up.
const MAX_CODE: usize = 128;

/// Whether `code` is short enough to be a barcode and holds no control character but GS
/// (the GS1 field separator), the rule for the scanner feed and the scan field alike.
pub(crate) fn fits(code: &str) -> bool {
    code.chars().count() <= MAX_CODE && !code.chars().any(|c| c.is_control() && c != '\u{1d}')
}

/// Where scanned codes go: every register page listening now.
#[derive(Clone, Debug)]
pub struct ScanFeed {
    tx: broadcast::Sender<String>,
    /// Whether a scanner feeds it: pages listen only then, so a terminal without one keeps
    /// no stream open per page.
    attached: Arc<AtomicBool>,
}

impl Default for ScanFeed {
    fn default() -> Self {
        // A handful of scans may queue while a page is slow to read them.
        Self { tx: broadcast::channel(16).0, attached: Arc::new(AtomicBool::new(false)) }
    }
}

impl ScanFeed {
    /// Whether a serial scanner feeds the register pages.
    #[must_use]
    pub fn is_attached(&self) -> bool {
        self.attached.load(Ordering::Relaxed)
    }

    /// Sends `code` to the listening register pages; `false` if none listens or the code is
    /// not something a register can ring up (empty, too long, control characters other
    /// than GS, the GS1 field separator).
    pub fn publish(&self, code: &str) -> bool {
        let code = code.trim();
        if code.is_empty() || !fits(code) {
            tracing::warn!(len = code.len(), "scanner sent something that is not a code");
            return false;
        }
        let delivered = self.tx.send(code.to_owned()).is_ok();
        if !delivered {
            tracing::info!(code, "scan dropped: no register screen is open");
        }
        delivered
    }

    fn subscribe(&self) -> broadcast::Receiver<String> {
        self.tx.subscribe()
    }
}

/// Reads scans from `source` (a serial port) until `stop` is set, publishing each on
/// `feed`. Read errors are logged and retried after a second; the loop waits on the port's
/// read timeout or that pause every turn.
pub fn spawn_serial_scanner<S: ByteSource + 'static>(
    source: S,
    framing: FramingConfig,
    feed: ScanFeed,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    feed.attached.store(true, Ordering::Relaxed);
    std::thread::Builder::new().name("scanner".into()).spawn(move || {
        let mut scanner = SerialScanner::new(source, framing);
        while !stop.load(Ordering::Relaxed) {
            match scanner.read_scans(Duration::from_millis(100)) {
                Ok(scans) => {
                    for scan in scans {
                        // GS1 data keeps its symbology identifier, which tells the register
                        // to read it as GS1 element strings.
                        match scan.aim.filter(|aim| aim.is_gs1()) {
                            Some(aim) => feed.publish(&format!("{aim}{}", scan.data)),
                            None => feed.publish(&scan.data),
                        };
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "scanner read failed");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    })
}

/// `GET /register/scans`: each scanned code as a `scan` event.
pub(crate) async fn events(
    State(state): State<UiState>,
    _who: Cashier,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, UiError> {
    let rx = state.scans.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(code) => return Some((Ok(Event::default().event("scan").data(code)), rx)),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "register page fell behind the scanner");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_reach_the_listening_pages() {
        let feed = ScanFeed::default();
        assert!(!feed.publish("4006381333931"), "nobody listens yet");
        let mut rx = feed.subscribe();
        assert!(feed.publish(" 4006381333931\r"));
        for junk in ["", "   ", "a\u{1b}b", &"9".repeat(MAX_CODE + 1)] {
            assert!(!feed.publish(junk), "{junk:?}");
        }
        // GS, the GS1 field separator, is the one control character a code may hold.
        assert!(feed.publish("]C1010950600013435210LOT7\u{1d}17201225"));
        assert_eq!(rx.try_recv().unwrap(), "4006381333931");
        assert_eq!(rx.try_recv().unwrap(), "]C1010950600013435210LOT7\u{1d}17201225");
        assert!(rx.try_recv().is_err());
    }
}
