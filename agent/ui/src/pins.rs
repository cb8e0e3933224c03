//! PIN checks from the screens (sign-in and manager approvals). A PIN check is the most
//! expensive thing a request can ask of a terminal (argon2id, tens of milliseconds of a
//! core and 19 MiB), and anyone who reaches the sign-in page can ask for it, so:
//!
//! - the hash runs on the blocking pool **without the store**: the store is held only to
//!   read the record and to record the outcome ([`thorbis_agent::PinCheck`]), so sales,
//!   kitchen screens and sync go on meanwhile;
//! - a locked staff id is refused before anything else, for free;
//! - it runs **one PIN check at a time**, re-reading the lockout once its turn comes, so
//!   each staff id's failure count is exact;
//! - it takes **[`BURST`] wrong PINs, then one per [`REFILL_MS`]**, terminal-wide: once the
//!   wrong ones have used that up, an attempt is refused at once, without a hash and
//!   without counting towards anyone's lockout. A flood of wrong PINs costs the terminal
//!   almost nothing and cannot run through a staff member's lockouts quickly, while right
//!   PINs (a manager approving a dozen voids in a row) cost no allowance at all.

use std::sync::Mutex;

use thorbis_agent::{CheckedPin, SignInError, SignedIn, Store};
use thorbis_domain::allowance::Allowance;
use thorbis_domain::ids::StaffId;
use tokio::sync::Semaphore;

use super::{UiError, UiState};

/// PIN checks the terminal takes at once after a quiet spell.
pub(crate) const BURST: u64 = 10;

/// Then one more PIN check per this many milliseconds.
pub(crate) const REFILL_MS: u64 = 1_000;

/// What a PIN attempt beyond the terminal's rate is told.
pub(crate) const THROTTLED: &str =
    "This terminal is taking too many PIN attempts: wait a few seconds and try again.";

/// What a locked staff id is told: `what` (sign-in, approval) is locked until `until_ms`.
pub(crate) fn locked_text(what: &str, now_ms: u64, until_ms: u64) -> String {
    let minutes = until_ms.saturating_sub(now_ms).div_ceil(60_000).max(1);
    let plural = if minutes == 1 { "" } else { "s" };
    format!("Too many wrong PINs: {what} is locked for {minutes} more minute{plural}.")
}

/// Why a PIN was not accepted.
#[derive(Debug)]
pub(crate) enum PinRefused {
    /// Too many PIN attempts on this terminal just now: nothing was checked.
    Throttled,
    /// The store's answer: wrong PIN, locked, disabled, not a manager.
    Refused(SignInError),
}

/// The terminal's PIN gate (one per UI).
#[derive(Debug)]
pub(crate) struct PinGate {
    one_at_a_time: Semaphore,
    bucket: Mutex<Allowance>,
}

impl Default for PinGate {
    fn default() -> Self {
        Self {
            one_at_a_time: Semaphore::new(1),
            bucket: Mutex::new(Allowance::full(BURST, REFILL_MS)),
        }
    }
}

/// Signs `staff` in with `pin`.
pub(crate) async fn sign_in(
    state: &UiState,
    staff: StaffId,
    pin: String,
) -> Result<Result<SignedIn, PinRefused>, UiError> {
    check(state, staff, pin, Store::sign_in_checked).await
}

/// Verifies the approving manager's `pin`.
pub(crate) async fn approve(
    state: &UiState,
    manager: StaffId,
    pin: String,
) -> Result<Result<StaffId, PinRefused>, UiError> {
    check(state, manager, pin, Store::approve_checked).await
}

async fn check<T: Send + 'static>(
    state: &UiState,
    staff: StaffId,
    pin: String,
    record: fn(&mut Store, CheckedPin) -> Result<T, SignInError>,
) -> Result<Result<T, PinRefused>, UiError> {
    let begin = || state.with_store(move |store| Ok(store.begin_pin_check(staff)));
    if let Err(refusal) = begin().await? {
        return refused(refusal);
    }
    let gate = &state.pins;
    let _turn = gate.one_at_a_time.acquire().await.map_err(|e| UiError::Internal(e.to_string()))?;
    let bucket = || gate.bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !bucket().allows(state.now_ms()) {
        tracing::warn!(staff = %staff, "PIN attempt refused: too many wrong PINs on this terminal");
        return Ok(Err(PinRefused::Throttled));
    }
    // Another check may have locked the id while this one waited for its turn.
    let pending = match begin().await? {
        Ok(pending) => pending,
        Err(refusal) => return refused(refusal),
    };
    let checked = tokio::task::spawn_blocking(move || pending.verify(&pin))
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?;
    match state.with_store(move |store| Ok(record(store, checked))).await? {
        Ok(done) => Ok(Ok(done)),
        Err(refusal) => {
            if is_wrong_pin(&refusal) {
                bucket().spend(state.now_ms());
            }
            refused(refusal)
        }
    }
}

/// Whether a refusal means the PIN was wrong (not: right, but the account may not).
fn is_wrong_pin(refusal: &SignInError) -> bool {
    matches!(
        refusal,
        SignInError::WrongPin
            | SignInError::UnknownStaff
            | SignInError::UnusableHash
            | SignInError::LockedOut { .. }
    )
}

fn refused<T>(refusal: SignInError) -> Result<Result<T, PinRefused>, UiError> {
    match refusal {
        SignInError::Store(e) => Err(e.into()),
        other => Ok(Err(PinRefused::Refused(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wrong_pins_count() {
        assert!(is_wrong_pin(&SignInError::WrongPin));
        assert!(is_wrong_pin(&SignInError::UnknownStaff));
        assert!(!is_wrong_pin(&SignInError::Inactive));
        assert!(!is_wrong_pin(&SignInError::NotAManager));
    }
}
