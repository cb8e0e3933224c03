//! Admission of other devices' facts: the store's half of [`thorbis_domain::admit`]. Before
//! a remote fact is folded, the domain checks it against what this terminal knows (who may
//! write it, its values, its place, its approver, its stamp); a fact it refuses is stored
//! all the same (its author's chain stays whole, relayable and auditable) but not folded,
//! and its reason is kept in `quarantined`. One refused fact never holds up the others.
//!
//! A reason that is not final (the author's device record, the order or the approver had
//! not arrived yet) is tried again after every later batch, oldest first, and folded once
//! it passes.
//!
//! An author is known by its device record from the tenant's log or, until that arrives,
//! by the tenant-signed credential it proved to this terminal over the LAN
//! (`peer_credentials`): terminals of a store that lost the internet still take each
//! other's sales, and still refuse what their roles may not write. This terminal's own
//! place comes from its enrollment.
//!
//! Admission needs the tenant: its device records and its reference log. A store that is
//! not enrolled has neither, and no sync transport either (the sync shell and the LAN need
//! an enrollment), so what reaches it came from its own process (tools, tests) and folds
//! as before.

use rusqlite::{Connection, OptionalExtension, params};
use thorbis_domain::admit::{AdmitContext, FactMeta, Quarantine, admit_payload};
use thorbis_domain::command::ReadError;
use thorbis_domain::device::DeviceRole;
use thorbis_domain::ids::LocationId;
use thorbis_domain::{Aggregate, DomainEvent, EventMeta, ReadModel};
use thorbis_sync_protocol::{Credential, DeviceId, EventId, Hlc};
use uuid::Uuid;

use super::Enrollment;
use crate::error::StoreError;
use crate::projection::SqlState;

/// Most not-final quarantines retried after one batch, so a flood of them cannot make
/// every later batch slow.
const RETRY_LIMIT: u32 = 200;

/// What the enrollment tells admission: the tenant's hub-signed logs this device takes
/// ([`Enrollment::hub_logs`]), and this device's own place (its own facts
/// come back relayed, and others refer to them, before the hub's record of this device may
/// have arrived).
#[derive(Clone, Copy, Debug)]
pub(super) struct Enrolled {
    hub_logs: [DeviceId; 2],
    device: DeviceId,
    place: Option<(DeviceRole, LocationId)>,
}

impl Enrolled {
    pub(super) fn of(e: &Enrollment) -> Self {
        Self {
            hub_logs: e.hub_logs(),
            device: e.device_id,
            place: DeviceRole::parse(&e.role).map(|role| (role, LocationId(e.location_id))),
        }
    }
}

/// What a replica knows, for [`admit_payload`]: its projections and its log.
pub(super) struct Replica<'a, 'c> {
    pub(super) state: &'a SqlState<'c>,
    pub(super) conn: &'c Connection,
    pub(super) enrolled: Enrolled,
}

impl ReadModel for Replica<'_, '_> {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        self.state.get(id)
    }
}

impl AdmitContext for Replica<'_, '_> {
    fn is_hub_log(&self, device: DeviceId) -> bool {
        self.enrolled.hub_logs.contains(&device)
    }

    fn first_seen_ms(&self, event: EventId) -> Option<u64> {
        self.conn
            .query_row(
                "SELECT stored_ms FROM events WHERE device_id = ?1 AND seq = ?2",
                params![event.device_id.as_bytes(), event.seq],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten()
    }

    fn credential(&self, device: DeviceId) -> Option<(DeviceRole, LocationId)> {
        if device == self.enrolled.device {
            return self.enrolled.place;
        }
        let (role, location) = self
            .conn
            .query_row(
                "SELECT role, location_id FROM peer_credentials WHERE device_id = ?1",
                [device.as_bytes()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()
            .ok()
            .flatten()?;
        Some((DeviceRole::parse(&role)?, LocationId(Uuid::from_slice(&location).ok()?)))
    }
}

/// Keeps what a LAN peer's credential says of it (verified by the LAN handshake against
/// the tenant's key), so its own facts can be admitted before its device record arrives.
pub(super) fn remember_credential(conn: &Connection, c: &Credential) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO peer_credentials (device_id, role, location_id, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id) DO UPDATE SET role = excluded.role,
             location_id = excluded.location_id, expires_at_ms = excluded.expires_at_ms
         WHERE excluded.expires_at_ms >= peer_credentials.expires_at_ms",
    )?
    .execute(params![
        c.device_id.as_bytes(),
        c.role.as_str(),
        c.location_id.as_bytes(),
        c.expires_at_ms
    ])?;
    Ok(())
}

impl Replica<'_, '_> {
    /// The stamp of `device`'s event at `seq`, if held.
    fn stamp(&self, device: DeviceId, seq: u64) -> Result<Option<Hlc>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT hlc_wall, hlc_counter FROM events WHERE device_id = ?1 AND seq = ?2",
                params![device.as_bytes(), seq],
                |r| Ok(Hlc { wall_ms: r.get(0)?, counter: r.get(1)? }),
            )
            .optional()?)
    }

    /// The domain's verdict on a stored fact: the event to fold, or why not.
    pub(super) fn admit(
        &self,
        meta: EventMeta,
        kind: &str,
        payload: &[u8],
        received_ms: u64,
    ) -> Result<Result<DomainEvent, Quarantine>, StoreError> {
        let previous = match meta.id.seq {
            0 | 1 => None,
            seq => self.stamp(meta.id.device_id, seq - 1)?,
        };
        // Whether a fact came straight from its author is not known here (a pull from the
        // hub mixes authors), so the bound on how far behind the receiver's clock a fact
        // may be is left to the hub, which takes each device's own push.
        let fact = FactMeta { meta, previous, received_ms, from_author: false };
        admit_payload(&fact, kind, payload, self).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Records that `id` was stored but not folded, and why.
pub(super) fn quarantine(
    conn: &Connection,
    id: EventId,
    reason: &Quarantine,
    now_ms: u64,
) -> Result<(), StoreError> {
    tracing::warn!(event = %id, code = reason.code(), %reason, "remote fact quarantined");
    conn.prepare_cached(
        "INSERT INTO quarantined (device_id, seq, code, reason, final, quarantined_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (device_id, seq) DO UPDATE SET code = excluded.code,
             reason = excluded.reason, final = excluded.final",
    )?
    .execute(params![
        id.device_id.as_bytes(),
        id.seq,
        reason.code(),
        reason.to_string(),
        reason.is_final(),
        now_ms
    ])?;
    Ok(())
}

/// A quarantined fact waiting for what it refers to, as stored.
pub(super) struct Pending {
    pub(super) meta: EventMeta,
    pub(super) kind: String,
    pub(super) payload: Vec<u8>,
    pub(super) stored_ms: u64,
}

/// The oldest not-final quarantines, to try again.
pub(super) fn pending(conn: &Connection) -> Result<Vec<Pending>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.device_id, e.seq, e.hlc_wall, e.hlc_counter, e.kind, e.payload, e.stored_ms
         FROM quarantined q INDEXED BY quarantined_pending
         JOIN events e ON e.device_id = q.device_id AND e.seq = q.seq
         WHERE q.final = 0 ORDER BY e.hlc_wall, e.hlc_counter LIMIT ?1",
    )?;
    let rows = stmt.query_map([RETRY_LIMIT], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, u64>(1)?,
            Hlc { wall_ms: r.get(2)?, counter: r.get(3)? },
            r.get::<_, String>(4)?,
            r.get::<_, Vec<u8>>(5)?,
            r.get::<_, u64>(6)?,
        ))
    })?;
    rows.map(|row| {
        let (device, seq, hlc, kind, payload, stored_ms) = row?;
        let device_id = super::device_id(&device)?;
        Ok(Pending {
            meta: EventMeta { hlc, id: EventId { device_id, seq } },
            kind,
            payload,
            stored_ms,
        })
    })
    .collect()
}

/// Takes back what `device` wrote after `revoked_at_ms`, now that its revocation has
/// arrived: such facts that came before the revocation record were folded (their author
/// was not yet known to be revoked). They are quarantined as revoked; the caller rebuilds
/// the projections when any were, so they stop counting. Returns how many.
pub(super) fn revoked_since(
    conn: &Connection,
    device: DeviceId,
    revoked_at_ms: u64,
    now_ms: u64,
) -> Result<usize, StoreError> {
    let seqs: Vec<u64> = conn
        .prepare_cached(
            "SELECT e.seq FROM events e WHERE e.device_id = ?1 AND e.hlc_wall > ?2
                AND NOT EXISTS (SELECT 1 FROM quarantined q
                                 WHERE q.device_id = e.device_id AND q.seq = e.seq)",
        )?
        .query_map(params![device.as_bytes(), revoked_at_ms], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for &seq in &seqs {
        quarantine(
            conn,
            EventId { device_id: device, seq },
            &Quarantine::Revoked { device },
            now_ms,
        )?;
    }
    Ok(seqs.len())
}

/// A fact this terminal holds but did not fold, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantined {
    /// The fact.
    pub event: EventId,
    /// `Quarantine::code`: stable, for counting.
    pub code: String,
    /// The reason in words, for a manager.
    pub reason: String,
    /// Whether the reason is final; if not, the fact is tried again as more facts arrive.
    pub is_final: bool,
    /// When this terminal held it back (its clock).
    pub quarantined_ms: u64,
}

impl super::Store {
    /// The facts held but not folded, newest quarantine first, at most `limit`.
    pub fn quarantined(&self, limit: u32) -> Result<Vec<Quarantined>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device_id, seq, code, reason, final, quarantined_ms FROM quarantined
             ORDER BY quarantined_ms DESC, device_id, seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, u64>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (device, seq, code, reason, is_final, quarantined_ms) = row?;
            let device_id = super::device_id(&device)?;
            let event = EventId { device_id, seq };
            Ok(Quarantined { event, code, reason, is_final, quarantined_ms })
        })
        .collect()
    }
}

/// Takes `id` out of quarantine (it passed on a later try).
pub(super) fn release(conn: &Connection, id: EventId) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM quarantined WHERE device_id = ?1 AND seq = ?2")?
        .execute(params![id.device_id.as_bytes(), id.seq])?;
    tracing::info!(event = %id, "quarantined fact admitted on a later try");
    Ok(())
}

/// Whether `id` is quarantined (a rebuild leaves it out).
pub(super) fn is_quarantined(conn: &Connection, id: EventId) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM quarantined WHERE device_id = ?1 AND seq = ?2")?
        .query_row(params![id.device_id.as_bytes(), id.seq], |_| Ok(()))
        .optional()?
        .is_some())
}
