//! Sign-in and approval against this terminal's copy of the staff records: the store's
//! half of [`crate::staff`] (which documents the lockout and enumeration rules), here
//! because it reads and writes the store's own tables.

use rusqlite::{OptionalExtension, params};
use thorbis_domain::catalog::Staff;
use thorbis_domain::fold::Versioned;
use thorbis_domain::ids::StaffId;

use super::Store;
use crate::error::StoreError;
use crate::projection::read;
use crate::staff::{LOCKOUT_MS, MAX_FAILURES, SignInError, SignedIn, dummy_hash, verify};

impl Store {
    /// Signs a member of staff in with their PIN, verified offline against their published
    /// hash. See the module docs for the lockout and enumeration rules.
    pub fn sign_in(&mut self, staff_id: StaffId, pin: &str) -> Result<SignedIn, SignInError> {
        let staff = self.check_pin(staff_id, pin)?;
        if !staff.active {
            tracing::info!(staff = %staff_id, "sign-in refused: account disabled");
            return Err(SignInError::Inactive);
        }
        tracing::info!(staff = %staff_id, role = ?staff.role, "signed in");
        Ok(SignedIn { staff_id, name: staff.name, role: staff.role })
    }

    /// Verifies a manager's (or owner's) PIN for an approval and returns their id, for the
    /// `approved_by` of a void, comp, refund or discount; the resulting event records it.
    pub fn approve(&mut self, manager_id: StaffId, pin: &str) -> Result<StaffId, SignInError> {
        let staff = self.check_pin(manager_id, pin)?;
        if !staff.active {
            return Err(SignInError::Inactive);
        }
        if !staff.role.can_approve() {
            tracing::info!(staff = %manager_id, role = ?staff.role, "approval refused: not a manager");
            return Err(SignInError::NotAManager);
        }
        tracing::info!(staff = %manager_id, "approval granted");
        Ok(manager_id)
    }

    /// The PIN check shared by sign-in and approval: lockout, verification, failure count.
    fn check_pin(&mut self, staff_id: StaffId, pin: &str) -> Result<Staff, SignInError> {
        let now = self.clock.now_ms();
        let key = staff_id.0.as_bytes().to_vec();
        let row: Option<(u32, u64)> = self
            .conn
            .query_row(
                "SELECT failures, locked_until_ms FROM sign_in_failures WHERE staff_id = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(StoreError::from)?;
        let (failures, locked_until_ms) = row.unwrap_or((0, 0));
        if now < locked_until_ms {
            return Err(SignInError::LockedOut { until_ms: locked_until_ms });
        }
        let staff = read::<Versioned<Staff>>(&self.conn, staff_id.0)?
            .and_then(|v| v.current)
            .map(|s| s.value);
        let refusal = match &staff {
            None => {
                // Same work as a real check, so timing does not say who exists.
                let _ = verify(pin, dummy_hash());
                Some(SignInError::UnknownStaff)
            }
            Some(s) => match verify(pin, &s.pin_hash) {
                Ok(true) => None,
                Ok(false) => Some(SignInError::WrongPin),
                Err(reason) => {
                    tracing::error!(staff = %staff_id, %reason, "staff record has an unusable PIN hash");
                    Some(SignInError::UnusableHash)
                }
            },
        };
        let Some(refusal) = refusal else {
            self.conn
                .execute("DELETE FROM sign_in_failures WHERE staff_id = ?1", [&key])
                .map_err(StoreError::from)?;
            return Ok(staff.expect("verified against a record"));
        };
        let failures = failures + 1;
        let (failures, locked_until_ms) =
            if failures >= MAX_FAILURES { (0, now + LOCKOUT_MS) } else { (failures, 0) };
        self.conn
            .execute(
                "INSERT INTO sign_in_failures (staff_id, failures, locked_until_ms, last_failure_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (staff_id) DO UPDATE SET failures = excluded.failures,
                     locked_until_ms = excluded.locked_until_ms,
                     last_failure_ms = excluded.last_failure_ms",
                params![key, failures, locked_until_ms, now],
            )
            .map_err(StoreError::from)?;
        if locked_until_ms > 0 {
            tracing::warn!(staff = %staff_id, until_ms = locked_until_ms, "sign-in locked after repeated wrong PINs");
            return Err(SignInError::LockedOut { until_ms: locked_until_ms });
        }
        tracing::info!(staff = %staff_id, failures, "wrong PIN");
        Err(refusal)
    }
}
