//! Sign-in and approval against this terminal's copy of the staff records: the store's
//! half of [`crate::staff`] (which documents the lockout and enumeration rules), here
//! because it reads and writes the store's own tables.
//!
//! A PIN check has three steps so that the slow one holds no lock:
//! [`Store::begin_pin_check`] reads the lockout state and the staff record (quick),
//! [`PinCheck::verify`] runs argon2id on its own (tens of milliseconds, no store), and
//! [`Store::sign_in_checked`] / [`Store::approve_checked`] record the outcome (quick). A
//! caller that runs the steps concurrently for one staff id can overshoot the failure
//! count by the number in flight; the terminal UI runs one PIN check at a time.

use rusqlite::{OptionalExtension, params};
use thorbis_domain::catalog::{Role, Staff};
use thorbis_domain::fold::Versioned;
use thorbis_domain::ids::StaffId;
use thorbis_sync_protocol::DeviceRole;
use uuid::Uuid;

use super::Store;
use crate::error::StoreError;
use crate::projection::read;
use crate::staff::{
    LOCKOUT_MS, MAX_FAILURES, MAX_LOCKOUT_MS, PinCost, PinError, SignInError, SignedIn, dummy_hash,
    hash_pin_random, verify,
};

/// A PIN check under way: what [`Store::begin_pin_check`] read. Verify it with
/// [`PinCheck::verify`] away from the store.
#[derive(Debug)]
pub struct PinCheck {
    staff_id: StaffId,
    staff: Option<Staff>,
}

/// A verified [`PinCheck`], to be recorded by [`Store::sign_in_checked`] or
/// [`Store::approve_checked`].
#[derive(Debug)]
#[must_use = "a PIN check counts only once recorded in the store"]
pub struct CheckedPin {
    staff_id: StaffId,
    outcome: Result<Staff, SignInError>,
}

impl PinCheck {
    /// Checks `pin` against the record read: the slow step, which touches no store. An
    /// unknown staff id costs the same time as a known one.
    pub fn verify(self, pin: &str) -> CheckedPin {
        let staff_id = self.staff_id;
        let outcome = match self.staff {
            None => {
                let _ = verify(pin, dummy_hash());
                Err(SignInError::UnknownStaff)
            }
            Some(staff) => match verify(pin, &staff.pin_hash) {
                Ok(true) => Ok(staff),
                Ok(false) => Err(SignInError::WrongPin),
                Err(reason) => {
                    tracing::error!(staff = %staff_id, %reason, "staff record has an unusable PIN hash");
                    Err(SignInError::UnusableHash)
                }
            },
        };
        CheckedPin { staff_id, outcome }
    }
}

impl Store {
    /// Signs a member of staff in with their PIN, verified offline against their published
    /// hash, all three steps while holding the store. See the module docs.
    pub fn sign_in(&mut self, staff_id: StaffId, pin: &str) -> Result<SignedIn, SignInError> {
        let checked = self.begin_pin_check(staff_id)?.verify(pin);
        self.sign_in_checked(checked)
    }

    /// Verifies a manager's (or owner's) PIN for an approval and returns their id, for the
    /// `approved_by` of a void, comp, refund or discount; the resulting event records it.
    pub fn approve(&mut self, manager_id: StaffId, pin: &str) -> Result<StaffId, SignInError> {
        let checked = self.begin_pin_check(manager_id)?.verify(pin);
        self.approve_checked(checked)
    }

    /// The first step of a PIN check: refuses a locked staff id without looking at any PIN,
    /// else reads the record to verify against.
    pub fn begin_pin_check(&mut self, staff_id: StaffId) -> Result<PinCheck, SignInError> {
        let (_, _, locked_until_ms) = self.failures(staff_id)?;
        if self.clock.now_ms() < locked_until_ms {
            return Err(SignInError::LockedOut { until_ms: locked_until_ms });
        }
        if self.is_technician()? && staff_id == self.technician_id() {
            let staff = self.technician_record()?;
            return Ok(PinCheck { staff_id, staff });
        }
        // Someone who does not work at this location is checked like an unknown id.
        let here = self.location()?;
        let staff = read::<Versioned<Staff>>(&self.conn, staff_id.0)?
            .and_then(|v| v.current)
            .map(|s| s.value)
            .filter(|s| here.is_none_or(|l| s.works_at(l)));
        Ok(PinCheck { staff_id, staff })
    }

    /// Records a sign-in's PIN check: who signed in, or why not.
    pub fn sign_in_checked(&mut self, checked: CheckedPin) -> Result<SignedIn, SignInError> {
        let staff_id = checked.staff_id;
        let staff = self.record(checked)?;
        if !staff.active {
            tracing::info!(staff = %staff_id, "sign-in refused: account disabled");
            return Err(SignInError::Inactive);
        }
        tracing::info!(staff = %staff_id, role = ?staff.role, "signed in");
        Ok(SignedIn { staff_id, name: staff.name, role: staff.role })
    }

    /// Records an approval's PIN check: the approving manager's id, or why not.
    pub fn approve_checked(&mut self, checked: CheckedPin) -> Result<StaffId, SignInError> {
        let manager_id = checked.staff_id;
        let staff = self.record(checked)?;
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

    /// Whether this terminal is enrolled as a technician's laptop: it serves the field
    /// screens and signs in with its own technician PIN (it receives no staff records).
    pub fn is_technician(&self) -> Result<bool, StoreError> {
        Ok(self.enrollment()?.is_some_and(|e| e.role == DeviceRole::Technician.as_str()))
    }

    /// The id the laptop's technician signs in as: the device's own id, so their
    /// commands and lockout are this laptop's.
    #[must_use]
    pub fn technician_id(&self) -> StaffId {
        StaffId(Uuid::from_bytes(self.device_id().0))
    }

    /// Whether the laptop's technician PIN is set.
    pub fn has_technician_pin(&self) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM technician_pin WHERE singleton = 1", [], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Sets (or changes) the laptop's technician PIN, hashed at the production cost, and
    /// clears its lockout. Only a technician's laptop has one.
    pub fn set_technician_pin(&mut self, pin: &str) -> Result<(), TechnicianPinError> {
        if !self.is_technician()? {
            return Err(TechnicianPinError::NotATechnician);
        }
        let hash = hash_pin_random(pin, PinCost::OWASP)?;
        let now = self.clock.now_ms();
        let key = self.technician_id().0.as_bytes().to_vec();
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        tx.execute(
            "INSERT INTO technician_pin (singleton, pin_hash, set_at_ms) VALUES (1, ?1, ?2)
             ON CONFLICT (singleton) DO UPDATE SET pin_hash = excluded.pin_hash,
                 set_at_ms = excluded.set_at_ms",
            params![hash, now],
        )
        .map_err(StoreError::from)?;
        tx.execute("DELETE FROM sign_in_failures WHERE staff_id = ?1", [key])
            .map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        tracing::info!("technician PIN set");
        Ok(())
    }

    /// The laptop's technician as a staff record, if its PIN is set: named after the
    /// device's configured name.
    pub(super) fn technician_record(&self) -> Result<Option<Staff>, StoreError> {
        let hash: Option<String> = self
            .conn
            .query_row("SELECT pin_hash FROM technician_pin WHERE singleton = 1", [], |r| r.get(0))
            .optional()?;
        let name = self
            .own_device_config()?
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Technician".to_owned());
        Ok(hash.map(|pin_hash| Staff {
            id: self.technician_id(),
            name,
            role: Role::Technician,
            pin_hash,
            active: true,
            locations: Vec::new(),
        }))
    }

    /// `(failures, lockouts, locked_until_ms)` of a staff id.
    fn failures(&self, staff_id: StaffId) -> Result<(u32, u32, u64), StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT failures, lockouts, locked_until_ms FROM sign_in_failures WHERE staff_id = ?1",
                [staff_id.0.as_bytes().as_slice()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .unwrap_or((0, 0, 0)))
    }

    /// The last step shared by sign-in and approval: a right PIN clears the count, a wrong
    /// one adds to it and may lock the id, for longer with each lockout since the last
    /// right PIN.
    fn record(&mut self, checked: CheckedPin) -> Result<Staff, SignInError> {
        let CheckedPin { staff_id, outcome } = checked;
        let key = staff_id.0.as_bytes().to_vec();
        let refusal = match outcome {
            Ok(staff) => {
                self.conn
                    .execute("DELETE FROM sign_in_failures WHERE staff_id = ?1", [&key])
                    .map_err(StoreError::from)?;
                return Ok(staff);
            }
            Err(refusal) => refusal,
        };
        let now = self.clock.now_ms();
        let (failures, lockouts, _) = self.failures(staff_id)?;
        let failures = failures + 1;
        let (failures, lockouts, locked_until_ms) = if failures >= MAX_FAILURES {
            (0, lockouts.saturating_add(1), now + lockout_ms(lockouts))
        } else {
            (failures, lockouts, 0)
        };
        self.conn
            .execute(
                "INSERT INTO sign_in_failures
                     (staff_id, failures, lockouts, locked_until_ms, last_failure_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (staff_id) DO UPDATE SET failures = excluded.failures,
                     lockouts = excluded.lockouts,
                     locked_until_ms = excluded.locked_until_ms,
                     last_failure_ms = excluded.last_failure_ms",
                params![key, failures, lockouts, locked_until_ms, now],
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

/// Why a technician PIN was not set.
#[derive(Debug, thiserror::Error)]
pub enum TechnicianPinError {
    /// The store is not a technician's laptop.
    #[error("this terminal is not enrolled as a technician's laptop")]
    NotATechnician,
    /// The PIN is not 4 to 8 digits, or could not be hashed.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The store failed underneath.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long the lockout after `earlier` lockouts (since the last right PIN) lasts: the
/// first [`LOCKOUT_MS`], each next one twice the one before, at most [`MAX_LOCKOUT_MS`].
fn lockout_ms(earlier: u32) -> u64 {
    LOCKOUT_MS.saturating_mul(1u64 << earlier.min(16)).min(MAX_LOCKOUT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_double_up_to_the_cap() {
        assert_eq!(lockout_ms(0), LOCKOUT_MS);
        assert_eq!(lockout_ms(1), 2 * LOCKOUT_MS);
        assert_eq!(lockout_ms(2), 4 * LOCKOUT_MS);
        assert_eq!(lockout_ms(40), MAX_LOCKOUT_MS);
        assert!((0..64).map(lockout_ms).is_sorted());
    }
}
