//! Staff sign-in on the terminal: PINs verified offline against the salted argon2id hashes
//! the hub publishes in the catalog (`catalog.staff_upserted`), with a lockout after repeated
//! failures, and manager approval for voids, comps, refunds and large discounts.
//!
//! Security decisions:
//! - **Hashing.** PINs are short (4 to 8 digits), so what protects them in a stolen event
//!   log is the cost of each guess: argon2id with the OWASP minimum, m = 19 MiB, t = 2,
//!   p = 1 ([`PinCost::OWASP`]), and a 16-byte random salt per hash. Verification uses the
//!   parameters written in the hash itself, so the hub can raise the cost later without a
//!   terminal release; [`PinCost::FAST_FOR_TESTS`] exists only so test suites that hash
//!   many PINs stay quick, and a hash made with it verifies like any other.
//! - **Lockout.** [`MAX_FAILURES`] consecutive wrong PINs lock the staff id for
//!   [`LOCKOUT_MS`] by the store's clock, each further lockout twice as long up to
//!   [`MAX_LOCKOUT_MS`]; a locked id is refused without looking at the PIN (so attempts
//!   while locked neither count nor extend the lockout), and a correct PIN clears it all. Sign-in and approval share the count, so a
//!   manager prompt is no side door for guessing. Failures are kept in the local `sign_in_failures`
//!   table: they are this terminal's security state, not business events, so they are
//!   neither signed nor synced.
//! - **No enumeration.** An unknown id and a wrong PIN give the same message, take the same
//!   time (an unknown id is checked against a dummy hash) and count towards a lockout the
//!   same way. Whether an account is disabled, or lacks the right to approve, is only said
//!   after its PIN was right.
//! - **Bounded cost.** A record whose hash asks for more memory, passes or lanes than
//!   [`PinHashCost::MAX`] (the domain's bound, the same every replica admits by), or is
//!   not argon2id, is not verified at all, so a bad record cannot stall a terminal.

use std::sync::OnceLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use thorbis_domain::catalog::{PinHashCost, Role};
use thorbis_domain::ids::StaffId;

use crate::error::StoreError;

/// Consecutive wrong PINs after which a staff id is locked.
pub const MAX_FAILURES: u32 = 5;

/// How long the first lockout lasts, in milliseconds (one minute). Each further lockout
/// of the same id before a right PIN lasts twice as long, up to [`MAX_LOCKOUT_MS`].
pub const LOCKOUT_MS: u64 = 60 * 1000;

/// The longest lockout (30 minutes): wrong PINs slow guessing down, they never lock a
/// member of staff out for good.
pub const MAX_LOCKOUT_MS: u64 = 30 * 60 * 1000;

/// Argon2id cost parameters for hashing a PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinCost {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl PinCost {
    /// The OWASP minimum for argon2id: 19 MiB, two passes, one lane. Use this for real
    /// staff: a PIN has at most 10^8 values, so the cost per guess is the protection.
    pub const OWASP: PinCost = PinCost { m_kib: 19 * 1024, t: 2, p: 1 };

    /// Cheap parameters for tests that hash many PINs. Never for real staff.
    pub const FAST_FOR_TESTS: PinCost = PinCost { m_kib: 64, t: 1, p: 1 };
}

/// Who signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// Their id: what goes into `staff`, `opened_by`, `taken_by`... of their commands.
    pub staff_id: StaffId,
    /// Their name, for the screen.
    pub name: String,
    /// What they may do.
    pub role: Role,
}

/// Why a sign-in or an approval was refused. Unknown staff and a wrong PIN read the same.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// No such staff member.
    #[error("wrong staff or PIN")]
    UnknownStaff,
    /// The PIN does not match.
    #[error("wrong staff or PIN")]
    WrongPin,
    /// The staff record's hash is malformed or asks for too much; logged for the operator.
    #[error("wrong staff or PIN")]
    UnusableHash,
    /// Too many wrong PINs: no PIN is checked until the clock passes `until_ms`.
    #[error("too many wrong PINs: sign-in is locked for a few minutes")]
    LockedOut {
        /// When the lockout ends (store clock, ms).
        until_ms: u64,
    },
    /// The PIN was right but the account is disabled.
    #[error("this staff account is disabled")]
    Inactive,
    /// The PIN was right but this person may not approve.
    #[error("a manager's or owner's PIN is required")]
    NotAManager,
    /// The store failed underneath.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A PIN could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// PINs are 4 to 8 ASCII digits.
    #[error("a PIN is 4 to 8 digits")]
    Format,
    /// The cost parameters or salt were refused by argon2.
    #[error("PIN hashing failed: {0}")]
    Hash(String),
    /// No OS randomness for a salt.
    #[error("no OS randomness for a salt")]
    Random,
}

/// Whether `pin` is 4 to 8 ASCII digits.
#[must_use]
pub fn is_valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// Hashes `pin` with `salt` (at least 8 bytes; 16 random bytes in production, see
/// [`hash_pin_random`]) into an argon2id PHC string for a `Staff` record. Refuses anything
/// but 4 to 8 digits. This is what the hub (and seeding) use; terminals only verify.
pub fn hash_pin(pin: &str, salt: &[u8], cost: PinCost) -> Result<String, PinError> {
    if !is_valid_pin(pin) {
        return Err(PinError::Format);
    }
    let params =
        Params::new(cost.m_kib, cost.t, cost.p, None).map_err(|e| PinError::Hash(e.to_string()))?;
    let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_with_salt(pin.as_bytes(), salt)
        .map_err(|e| PinError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// [`hash_pin`] with a fresh 16-byte salt from the operating system.
pub fn hash_pin_random(pin: &str, cost: PinCost) -> Result<String, PinError> {
    use ring::rand::SecureRandom;
    let mut salt = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut salt).map_err(|_| PinError::Random)?;
    hash_pin(pin, &salt, cost)
}

/// Checks `pin` against a PHC string. `Err` when the string cannot be used at all.
pub(crate) fn verify(pin: &str, phc: &str) -> Result<bool, String> {
    let hash = PasswordHash::new(phc).map_err(|e| e.to_string())?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err(format!("algorithm {} is not argon2id", hash.algorithm.as_str()));
    }
    let params = Params::try_from(&hash).map_err(|e| e.to_string())?;
    let cost = PinHashCost { m_kib: params.m_cost(), t: params.t_cost(), p: params.p_cost() };
    if !cost.is_within_bounds() {
        return Err(format!(
            "asks for {} KiB over {} passes and {} lanes, more than a terminal verifies",
            cost.m_kib, cost.t, cost.p
        ));
    }
    match Argon2::default().verify_password(pin.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(e.to_string()),
    }
}

/// A hash nobody's PIN is checked against, so an unknown staff id costs as much time as a
/// known one.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_pin("00000000", b"thorbis-no-staff", PinCost::OWASP)
            .expect("the dummy PIN and cost are valid")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_digit_pins_are_hashed() {
        for bad in ["", "123", "123456789", "12a4", "１２３４", " 1234"] {
            assert!(matches!(
                hash_pin(bad, b"saltsalt", PinCost::FAST_FOR_TESTS),
                Err(PinError::Format)
            ));
        }
        let phc = hash_pin("1234", b"saltsalt", PinCost::FAST_FOR_TESTS).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(thorbis_domain::catalog::looks_like_argon2id_phc(&phc));
        assert!(!phc.contains("1234$"));
        assert_eq!(verify("1234", &phc), Ok(true));
        assert_eq!(verify("1235", &phc), Ok(false));
    }

    #[test]
    fn the_documented_cost_is_what_lands_in_the_hash() {
        let phc = hash_pin_random("98765432", PinCost::OWASP).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // Two hashes of one PIN differ: the salt is random.
        assert_ne!(phc, hash_pin_random("98765432", PinCost::OWASP).unwrap());
    }

    #[test]
    fn hashes_that_are_not_argon2id_or_ask_too_much_are_not_verified() {
        let argon2i =
            Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(64, 1, 1, None).unwrap())
                .hash_password_with_salt(b"1234", b"saltsalt")
                .unwrap()
                .to_string();
        assert!(verify("1234", &argon2i).is_err());
        let greedy =
            "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        assert!(verify("1234", greedy).is_err());
        let slow =
            "$argon2id$v=19$m=64,t=100000,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        assert!(verify("1234", slow).is_err());
        let wide =
            "$argon2id$v=19$m=64,t=1,p=64$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
        assert!(verify("1234", wide).is_err());
        assert!(verify("1234", "1234").is_err());
    }
}
