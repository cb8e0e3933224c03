//! When to send, hold, fail over and retry: pure functions of the printer's health, the job
//! and the time, so every rule is tested without a printer.

use thorbis_drivers::status::{PaperLevel, PrinterStatus};

use super::{Document, JobState, PrintJob};

/// Why a printer cannot take a job right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// Out of paper.
    PaperOut,
    /// Cover open.
    CoverOpen,
    /// In an error state.
    Error,
    /// Offline for another reason.
    Offline,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NotReady::PaperOut => "paper out",
            NotReady::CoverOpen => "cover open",
            NotReady::Error => "printer error",
            NotReady::Offline => "printer offline",
        })
    }
}

impl NotReady {
    /// What a person does about it, in the words on the screen.
    #[must_use]
    pub fn remedy(self) -> &'static str {
        match self {
            NotReady::PaperOut => "load paper",
            NotReady::CoverOpen => "close the cover",
            NotReady::Error => "clear the jam or switch the printer off and on",
            NotReady::Offline => "check that the printer is switched on",
        }
    }
}

/// What to do about a printer that does not answer at all.
pub const UNREACHABLE_REMEDY: &str = "check the printer's power and cable";

/// Whether the printer can print now, and if not, the reason a person can fix.
pub fn readiness(status: &PrinterStatus) -> Result<(), NotReady> {
    let errors = &status.errors;
    if status.paper == PaperLevel::Out {
        Err(NotReady::PaperOut)
    } else if status.cover_open {
        Err(NotReady::CoverOpen)
    } else if errors.unrecoverable || errors.autocutter || errors.mechanical {
        Err(NotReady::Error)
    } else if !status.ready() {
        Err(NotReady::Offline)
    } else {
        Ok(())
    }
}

/// Timing rules of the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Timing {
    /// A kitchen ticket not yet sent after this long is held for a decision rather than
    /// printed late in a flood when the printer comes back.
    pub stale_after_ms: u64,
    /// A printer unreachable this long hands its queued jobs to its backup, if it has one.
    pub failover_after_ms: u64,
    /// First retry delay after a printer fails to answer.
    pub retry_min_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            stale_after_ms: 10 * 60_000,
            failover_after_ms: 15_000,
            retry_min_ms: 200,
            retry_max_ms: 5_000,
        }
    }
}

/// True when a queued job should be held instead of printed.
#[must_use]
pub fn is_stale(job: &PrintJob, now_ms: u64, timing: &Timing) -> bool {
    matches!(job.document, Document::Kitchen { .. })
        && job.state == JobState::Queued
        && job.copy_of.is_none()
        && now_ms.saturating_sub(job.created_ms) > timing.stale_after_ms
}

/// True when a printer down since `down_since_ms` should hand its queue to its backup.
#[must_use]
pub fn should_fail_over(down_since_ms: Option<u64>, now_ms: u64, timing: &Timing) -> bool {
    down_since_ms.is_some_and(|since| now_ms.saturating_sub(since) >= timing.failover_after_ms)
}

/// Delay before retry number `attempt` (0-based): exponential from `retry_min_ms`, capped,
/// with up to a quarter of jitter from `random` so terminals sharing a printer spread out.
#[must_use]
pub fn retry_delay_ms(attempt: u32, random: u64, timing: &Timing) -> u64 {
    let base = timing.retry_min_ms.saturating_mul(1 << attempt.min(16)).min(timing.retry_max_ms);
    base - (random % (base / 4 + 1))
}

/// Where a job stands after an attempt that got `written` of its `total` bytes to the
/// printer: all of them (the printer has the job, it must never be sent again), none (safe
/// to retry), or part (a torn ticket is out there: a person decides).
#[must_use]
pub fn after_send(written: u64, total: u64) -> JobState {
    if written >= total {
        JobState::Sent
    } else if written == 0 {
        JobState::Queued
    } else {
        JobState::Uncertain
    }
}

#[cfg(test)]
mod tests {
    use thorbis_domain::ids::{OrderId, TicketId};
    use uuid::Uuid;

    use super::*;

    fn job(document: Document, created_ms: u64) -> PrintJob {
        PrintJob {
            id: Uuid::nil(),
            printer: "kitchen".into(),
            station: None,
            document,
            copy_of: None,
            state: JobState::Queued,
            attempts: 0,
            bytes_sent: 0,
            last_error: None,
            created_ms,
        }
    }

    #[test]
    fn readiness_names_the_problem() {
        let ok = PrinterStatus::default();
        assert_eq!(readiness(&ok), Ok(()));
        assert_eq!(
            readiness(&PrinterStatus { paper: PaperLevel::Out, online: false, ..ok }),
            Err(NotReady::PaperOut)
        );
        assert_eq!(
            readiness(&PrinterStatus { cover_open: true, online: false, ..ok }),
            Err(NotReady::CoverOpen)
        );
        assert_eq!(readiness(&PrinterStatus { online: false, ..ok }), Err(NotReady::Offline));
        assert_eq!(
            readiness(&PrinterStatus { paper: PaperLevel::NearEnd, ..ok }),
            Ok(()),
            "near end still prints"
        );
    }

    #[test]
    fn only_unsent_kitchen_tickets_go_stale() {
        let t = Timing::default();
        let kitchen = job(Document::Kitchen { ticket_id: TicketId(Uuid::nil()) }, 0);
        assert!(!is_stale(&kitchen, t.stale_after_ms, &t));
        assert!(is_stale(&kitchen, t.stale_after_ms + 1, &t));
        let receipt = job(Document::Receipt { order_id: OrderId(Uuid::nil()) }, 0);
        assert!(!is_stale(&receipt, u64::MAX, &t), "a late receipt is still wanted");
        let sent = PrintJob { state: JobState::Sent, ..kitchen };
        assert!(!is_stale(&sent, u64::MAX, &t), "the printer already has it");
    }

    #[test]
    fn failover_waits_for_the_limit() {
        let t = Timing::default();
        assert!(!should_fail_over(None, 1_000_000, &t));
        assert!(!should_fail_over(Some(1_000), 1_000 + t.failover_after_ms - 1, &t));
        assert!(should_fail_over(Some(1_000), 1_000 + t.failover_after_ms, &t));
    }

    #[test]
    fn retries_back_off_with_bounded_jitter() {
        let t = Timing::default();
        assert!(retry_delay_ms(0, 0, &t) == t.retry_min_ms);
        assert!(retry_delay_ms(3, 0, &t) == t.retry_min_ms * 8);
        assert_eq!(retry_delay_ms(30, 0, &t), t.retry_max_ms);
        for r in 0..1000 {
            let d = retry_delay_ms(2, r, &t);
            assert!(d <= t.retry_min_ms * 4 && d >= t.retry_min_ms * 3, "{d}");
        }
    }

    #[test]
    fn a_job_that_reached_the_printer_is_never_resent() {
        assert_eq!(after_send(500, 500), JobState::Sent);
        assert_eq!(after_send(0, 500), JobState::Queued);
        assert_eq!(after_send(120, 500), JobState::Uncertain);
    }
}
