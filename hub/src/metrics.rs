//! Counters for `/metrics`, in the Prometheus text format. Plain atomics: a handful of
//! counters do not justify a metrics crate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;

/// Push outcomes, as the `outcome` label.
const OUTCOMES: [&str; 9] = [
    "ok",
    "bad_request",
    "unauthorized",
    "forbidden",
    "conflict",
    "too_large",
    "unprocessable",
    "internal",
    "other",
];

/// The hub's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    events_ingested: AtomicU64,
    /// Of those, stored but not folded (see [`crate::log`]'s push).
    events_quarantined: AtomicU64,
    push_requests: [AtomicU64; OUTCOMES.len()],
    pull_requests: [AtomicU64; OUTCOMES.len()],
    /// Live pulls waiting for news right now (terminals holding a live connection).
    live_waiting: AtomicU64,
    /// Connections open on this process now.
    connections_open: AtomicU64,
    /// Connections closed as soon as they were accepted: their address had its limit open.
    connections_refused: AtomicU64,
    /// Age of the newest event of the latest accepted push when it was stored: how far
    /// behind the terminals the hub is (milliseconds; a terminal catching up after an
    /// outage shows here as a large value).
    lag_ms: AtomicU64,
}

/// Counts one live pull as waiting for as long as it lives.
#[derive(Debug)]
pub struct Waiting<'a>(&'a AtomicU64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn outcome(status: StatusCode) -> usize {
    match status.as_u16() {
        200..=299 => 0,
        400 => 1,
        401 => 2,
        403 => 3,
        409 => 4,
        413 => 5,
        422 => 6,
        500..=599 => 7,
        _ => 8,
    }
}

impl Metrics {
    /// Counts events stored by a successful push, and how many of them were quarantined.
    pub fn ingested(&self, events: u64, quarantined: u64) {
        self.events_ingested.fetch_add(events, Ordering::Relaxed);
        self.events_quarantined.fetch_add(quarantined, Ordering::Relaxed);
    }

    /// Counts a push request by the status it was answered with.
    pub fn push(&self, status: StatusCode) {
        self.push_requests[outcome(status)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a pull request by the status it was answered with.
    pub fn pull(&self, status: StatusCode) {
        self.pull_requests[outcome(status)].fetch_add(1, Ordering::Relaxed);
    }

    /// Records the lag of an accepted push: `now_ms` minus its newest event's clock stamp.
    pub fn lag(&self, now_ms: u64, newest_event_ms: u64) {
        self.lag_ms.store(now_ms.saturating_sub(newest_event_ms), Ordering::Relaxed);
    }

    /// Counts a connection as open, until [`Metrics::connection_closed`].
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an open connection as closed.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a connection closed as soon as it was accepted (its address was at its limit).
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Marks a live pull as waiting until the returned guard drops.
    pub fn waiting(&self) -> Waiting<'_> {
        self.live_waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.live_waiting)
    }

    /// The exposition text, with the store's count of console password checks.
    #[must_use]
    pub fn render(&self, password_checks: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP thorbis_hub_console_password_checks_total Console passwords checked against their hash (locked accounts are refused unchecked)."
        );
        let _ = writeln!(out, "# TYPE thorbis_hub_console_password_checks_total counter");
        let _ = writeln!(out, "thorbis_hub_console_password_checks_total {password_checks}");
        let _ =
            writeln!(out, "# HELP thorbis_hub_events_ingested_total Events verified and stored.");
        let _ = writeln!(out, "# TYPE thorbis_hub_events_ingested_total counter");
        let _ = writeln!(
            out,
            "thorbis_hub_events_ingested_total {}",
            self.events_ingested.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP thorbis_hub_events_quarantined_total Events stored but not folded: a device wrote what it may not."
        );
        let _ = writeln!(out, "# TYPE thorbis_hub_events_quarantined_total counter");
        let _ = writeln!(
            out,
            "thorbis_hub_events_quarantined_total {}",
            self.events_quarantined.load(Ordering::Relaxed)
        );
        for (name, counters) in [("push", &self.push_requests), ("pull", &self.pull_requests)] {
            let _ = writeln!(
                out,
                "# HELP thorbis_hub_{name}_requests_total Sync {name} requests by outcome."
            );
            let _ = writeln!(out, "# TYPE thorbis_hub_{name}_requests_total counter");
            for (label, counter) in OUTCOMES.iter().zip(counters) {
                let _ = writeln!(
                    out,
                    "thorbis_hub_{name}_requests_total{{outcome=\"{label}\"}} {}",
                    counter.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP thorbis_hub_live_connections Live pulls waiting for new events on this process."
        );
        let _ = writeln!(out, "# TYPE thorbis_hub_live_connections gauge");
        let _ = writeln!(
            out,
            "thorbis_hub_live_connections {}",
            self.live_waiting.load(Ordering::Relaxed)
        );
        for (name, kind, help, value) in [
            (
                "thorbis_hub_connections_open",
                "gauge",
                "Connections open on this process.",
                &self.connections_open,
            ),
            (
                "thorbis_hub_connections_refused_total",
                "counter",
                "Connections closed on accept: their address had its limit open.",
                &self.connections_refused,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
        let _ = writeln!(
            out,
            "# HELP thorbis_hub_ingest_lag_seconds Age of the newest event of the latest accepted push when stored."
        );
        let _ = writeln!(out, "# TYPE thorbis_hub_ingest_lag_seconds gauge");
        let lag = self.lag_ms.load(Ordering::Relaxed);
        let _ = writeln!(out, "thorbis_hub_ingest_lag_seconds {}.{:03}", lag / 1000, lag % 1000);
        out
    }
}
