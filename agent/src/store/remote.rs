//! Other devices in the store: the store as the sync protocol's [`EventSource`], the
//! [`StoreKeys`] it verifies them with, taking in events that
//! [`PeerState::receive_message`](thorbis_sync_protocol::sync::PeerState::receive_message)
//! verified ([`Store::apply_remote`]), and the terminal's enrollment with a hub.
//!
//! Remote events land in the same `events` and `chain_tips` tables as this device's own,
//! with the origin's checkpoint signatures, so this terminal can relay them exactly as it
//! received them. They never touch this device's own chain or id stream; the only thing
//! they change of this device is its hybrid logical clock, which absorbs their stamps so
//! the next local event is ordered after everything seen.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rusqlite::{OptionalExtension, TransactionBehavior, params};
use thorbis_domain::device::Device;
use thorbis_domain::{DomainEvent, EventMeta, project};
use thorbis_sync_protocol::sync::{EventSource, KeyRing};
use thorbis_sync_protocol::{
    ChainTip, Credential, DeviceId, DeviceKey, DeviceRole, Event, Hlc, PublicKey, SignError,
    Signature, SignedRequest, VersionVector, dispatch_log, staff_log,
};

use super::admission::{
    Enrolled, Replica, pending, quarantine, release, remember_credential, revoked_since,
};
use super::{INSERT_EVENT, Store, device_id, hash32, insert_event, set_tip};
use crate::error::StoreError;
use crate::projection::{SqlState, list};
use thorbis_domain::admit::Quarantine;

/// The public keys this store verifies other devices' events with: the device ids an
/// [`Store::key_ring`] trusts. One struct, built in one place, so where keys come from can
/// change without touching the sync shell.
#[derive(Clone, Debug, Default)]
pub struct StoreKeys {
    keys: HashMap<DeviceId, PublicKey>,
}

impl StoreKeys {
    /// An empty ring: trusts nobody.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for `device`'s events.
    pub fn insert(&mut self, device: DeviceId, key: PublicKey) {
        self.keys.insert(device, key);
    }

    /// Stops trusting `device` (revoked).
    pub fn remove(&mut self, device: &DeviceId) {
        self.keys.remove(device);
    }

    /// How many devices are trusted.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether nobody is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl KeyRing for StoreKeys {
    fn public_key(&self, device: &DeviceId) -> Option<PublicKey> {
        self.keys.get(device).copied()
    }
}

/// What [`Store::apply_remote`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Events new to the store, now stored and folded.
    pub stored: usize,
    /// Events already held (same device and seq): skipped, nothing changed.
    pub duplicates: usize,
    /// Events not stored because they do not continue their device's chain here (a gap),
    /// or are this device's own: they are not acknowledged and come again if still needed.
    pub skipped: usize,
    /// Of the events stored, those refused by admission: kept in the log, not folded (see
    /// `store/admission.rs`).
    pub quarantined: usize,
    /// Facts quarantined earlier, for want of something that has arrived since, that
    /// passed now and were folded.
    pub released: usize,
    /// Facts folded earlier whose author's revocation, dated before them, arrived now:
    /// quarantined, and the projections rebuilt without them.
    pub taken_back: usize,
}

/// A terminal's enrollment with a hub, as the hub answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrollment {
    /// Where the hub is, e.g. `https://hub.example.com`.
    pub hub_url: String,
    /// The device id the hub assigned; the store's events carry it from then on.
    pub device_id: DeviceId,
    /// The tenant.
    pub tenant_id: uuid::Uuid,
    /// The location this terminal belongs to.
    pub location_id: uuid::Uuid,
    /// What the terminal is for (`pos`, `kds`, ...).
    pub role: String,
    /// The tenant's public key: signs credentials and the reference-data log.
    pub tenant_public_key: PublicKey,
    /// The device id of the tenant's reference-data log.
    pub reference_log_id: DeviceId,
    /// The credential's signed bytes.
    pub credential: Vec<u8>,
    /// The tenant key's signature over `credential`.
    pub credential_signature: Signature,
    /// When the credential expires, Unix milliseconds.
    pub expires_at_ms: u64,
}

impl Enrollment {
    /// The tenant's hub-signed logs this device takes, both signed with the tenant key: the
    /// reference-data log, and its location's staff log or, for a technician's laptop
    /// (which gets no staff), its own dispatch log.
    #[must_use]
    pub fn hub_logs(&self) -> [DeviceId; 2] {
        let second = if self.role == DeviceRole::Technician.as_str() {
            dispatch_log(self.tenant_id, self.device_id)
        } else {
            staff_log(self.tenant_id, self.location_id)
        };
        [self.reference_log_id, second]
    }
}

/// Signs sync requests with the store's device key, for the sync shell. It can sign
/// requests only: checkpoints over this device's chain stay with the store.
#[derive(Clone, Debug)]
pub struct RequestSigner {
    device_id: DeviceId,
    key: Arc<DeviceKey>,
}

impl RequestSigner {
    /// The device the requests are from.
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// The signed headers of a request, with a fresh nonce (see
    /// [`thorbis_sync_protocol::request_message`]).
    pub fn sign(
        &self,
        method: &str,
        path: &str,
        timestamp_ms: u64,
        body: &[u8],
    ) -> Result<SignedRequest, SignError> {
        self.key.sign_request(self.device_id, method, path, timestamp_ms, body)
    }
}

/// Reads go through the store's statements; a failing read is logged and answers "nothing
/// held", which at worst makes a peer send again what the store already has (skipped as
/// duplicates) or makes this side send nothing this round.
impl EventSource for Store {
    fn vector(&self) -> VersionVector {
        self.version_vector().unwrap_or_else(|e| {
            tracing::error!(error = %e, "reading the version vector");
            VersionVector::new()
        })
    }

    fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Vec<(Event, Option<Signature>)> {
        Store::events_after(self, device, after_seq, limit).unwrap_or_else(|e| {
            tracing::error!(error = %e, %device, after_seq, "reading events to send");
            Vec::new()
        })
    }

    fn tip(&self, device: DeviceId) -> ChainTip {
        self.chain_tip(device).unwrap_or_else(|e| {
            tracing::error!(error = %e, %device, "reading a chain tip");
            ChainTip::GENESIS
        })
    }
}

impl Store {
    /// Where `device`'s chain ends in this store.
    pub fn chain_tip(&self, device: DeviceId) -> Result<ChainTip, StoreError> {
        if device == self.device_id {
            return Ok(self.tip);
        }
        self.conn
            .prepare_cached("SELECT seq, hash FROM chain_tips WHERE device_id = ?1")?
            .query_row([device.as_bytes()], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .optional()?
            .map_or(Ok(ChainTip::GENESIS), |(seq, hash)| Ok(ChainTip { seq, hash: hash32(&hash)? }))
    }

    /// The keys this store trusts for events: its own; once enrolled, its tenant's
    /// hub-signed logs ([`Enrollment::hub_logs`], signed with the tenant key it learnt at
    /// enrollment); and every
    /// device that log registered (the folded `device` aggregates).
    ///
    /// A revoked device keeps its key here, as [`Device::public_key`] says: the hub stops
    /// taking its events at revocation, and those it took before stay verifiable, so a
    /// terminal that was offline during the revocation still receives them.
    pub fn key_ring(&self) -> Result<StoreKeys, StoreError> {
        let mut keys = StoreKeys::new();
        for (id, device) in list::<Device>(&self.conn, false)? {
            if let Some(key) = device.public_key() {
                keys.insert(DeviceId::from_bytes(*id.as_bytes()), key);
            }
        }
        if let Some(enrollment) = self.enrollment()? {
            for log in enrollment.hub_logs() {
                keys.insert(log, enrollment.tenant_public_key);
            }
        }
        keys.insert(self.device_id, self.key.public_key());
        Ok(keys)
    }

    /// The devices the tenant's log says were revoked, for the LAN listener's refusals.
    pub fn revoked_devices(&self) -> Result<std::collections::BTreeSet<DeviceId>, StoreError> {
        Ok(list::<Device>(&self.conn, false)?
            .into_iter()
            .filter(|(_, device)| device.is_revoked())
            .map(|(id, _)| DeviceId::from_bytes(*id.as_bytes()))
            .collect())
    }

    /// Something that signs sync requests as this device.
    #[must_use]
    pub fn request_signer(&self) -> RequestSigner {
        RequestSigner { device_id: self.device_id, key: Arc::clone(&self.key) }
    }

    /// Stores events of other devices that the sync protocol verified (the `events` of a
    /// [`Received`](thorbis_sync_protocol::sync::Received)), with their checkpoint
    /// signatures, advances their chain tips and folds them into the projections, all in
    /// one transaction.
    ///
    /// Idempotent: an event already held is skipped, so applying the same events twice
    /// changes nothing. An event that does not continue its device's chain here is skipped
    /// with the rest of that device's run (it comes again); one that claims the next seq but
    /// links to a different predecessor is a fork and fails the whole call, storing nothing.
    /// This device's own events are never taken from a peer.
    pub fn apply_remote(
        &mut self,
        events: &[(Event, Option<Signature>)],
    ) -> Result<Applied, StoreError> {
        self.apply_from_peer(events, None)
    }

    /// [`Store::apply_remote`] for what a LAN peer sent, with the tenant-signed credential
    /// it proved at its handshake: kept, so the peer's own facts are admitted on its
    /// credential's role and location until its device record arrives. A credential of
    /// another tenant is not kept.
    pub fn apply_from_peer(
        &mut self,
        events: &[(Event, Option<Signature>)],
        credential: Option<&Credential>,
    ) -> Result<Applied, StoreError> {
        let mut applied = Applied::default();
        if events.is_empty() {
            return Ok(applied);
        }
        let now = self.clock.now_ms();
        let mut hlc = self.hlc.clone();
        // Who may write what is the tenant's to say: an enrolled store admits every remote
        // fact before folding it (see `store/admission.rs`).
        let enrollment = self.enrollment()?;
        let enrolled = enrollment.as_ref().map(Enrolled::of);
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let (Some(c), Some(e)) = (credential, &enrollment)
            && c.tenant_id == e.tenant_id
        {
            remember_credential(&tx, c)?;
        }
        // Per device: where its chain ends now (read once, then advanced in memory) and the
        // stamp of its newest event, for `chain_tips`.
        let mut tips: BTreeMap<DeviceId, (ChainTip, Option<Hlc>, bool)> = BTreeMap::new();
        // Revocations folded in this batch: (device, when).
        let mut revocations = Vec::new();
        {
            let mut read_tip =
                tx.prepare_cached("SELECT seq, hash FROM chain_tips WHERE device_id = ?1")?;
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            let mut state = SqlState::new(&tx);
            for (event, signature) in events {
                let device = event.device_id;
                if device == self.device_id {
                    applied.skipped += 1;
                    continue;
                }
                let entry = match tips.entry(device) {
                    std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let tip = read_tip
                            .query_row([device.as_bytes()], |r| {
                                Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?))
                            })
                            .optional()?
                            .map_or(Ok(ChainTip::GENESIS), |(seq, hash)| {
                                Ok::<_, StoreError>(ChainTip { seq, hash: hash32(&hash)? })
                            })?;
                        v.insert((tip, None, false))
                    }
                };
                let (tip, last_hlc, broken) = entry;
                if event.seq <= tip.seq {
                    applied.duplicates += 1;
                    continue;
                }
                if *broken || event.seq != tip.seq + 1 {
                    *broken = true;
                    applied.skipped += 1;
                    continue;
                }
                if event.prev_hash != tip.hash {
                    return Err(StoreError::Conflict(format!(
                        "fork: event {}:{} does not link to the event held at seq {}",
                        device, event.seq, tip.seq
                    )));
                }
                let meta = EventMeta { hlc: event.hlc, id: event.id() };
                let hash = event.hash();
                // Stored first: admission reads the author's previous stamp and when facts
                // were first seen from the log.
                insert_event(&mut insert, event, &hash, signature.as_ref().map(|s| &s.0[..]), now)?;
                let verdict = admit(enrolled, &state, &tx, event, now)?;
                settle(&mut state, &tx, &meta, verdict, now, &mut applied, &mut revocations)?;
                *tip = ChainTip { seq: event.seq, hash };
                *last_hlc = Some(event.hlc);
                // Stamps were bounded when the protocol verified them; one beyond the bound
                // here (the clock moved back since) is stored but not absorbed.
                if let Err(e) = hlc.observe(event.hlc, now) {
                    tracing::warn!(error = %e, event = %event.id(), "remote stamp not absorbed");
                }
                applied.stored += 1;
            }
            if let Some(enrolled) = enrolled
                && applied.stored > 0
            {
                applied.released = retry_pending(&mut state, &tx, enrolled)?;
            }
            state.flush()?;
        }
        for (device, at_ms) in revocations {
            applied.taken_back += revoked_since(&tx, device, at_ms, now)?;
        }
        for (device, (tip, last_hlc, _)) in &tips {
            if let Some(last_hlc) = last_hlc {
                set_tip(&tx, *device, *tip, *last_hlc)?;
            }
        }
        tx.commit()?;
        self.hlc = hlc;
        if applied.taken_back > 0 {
            tracing::warn!(facts = applied.taken_back, "facts of a revoked device taken back");
            self.rebuild_projections()?;
        }
        Ok(applied)
    }

    /// The terminal's enrollment, if it is enrolled.
    pub fn enrollment(&self) -> Result<Option<Enrollment>, StoreError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT hub_url, tenant_id, location_id, role, tenant_public_key, reference_log_id,
                        credential, credential_sig, expires_at_ms
                   FROM enrollment WHERE singleton = 1",
            )?
            .query_row([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Vec<u8>>(4)?,
                    r.get::<_, Vec<u8>>(5)?,
                    r.get::<_, Vec<u8>>(6)?,
                    r.get::<_, Vec<u8>>(7)?,
                    r.get::<_, u64>(8)?,
                ))
            })
            .optional()?;
        let Some((hub_url, tenant, location, role, tenant_key, log, credential, sig, expires)) =
            row
        else {
            return Ok(None);
        };
        let uuid = |b: &[u8]| device_id(b).map(|d| uuid::Uuid::from_bytes(d.0));
        Ok(Some(Enrollment {
            hub_url,
            device_id: self.device_id,
            tenant_id: uuid(&tenant)?,
            location_id: uuid(&location)?,
            role,
            tenant_public_key: PublicKey(
                <[u8; 32]>::try_from(tenant_key.as_slice())
                    .map_err(|_| StoreError::Corrupt("tenant key is not 32 bytes".into()))?,
            ),
            reference_log_id: device_id(&log)?,
            credential,
            credential_signature: Signature(
                <[u8; 64]>::try_from(sig.as_slice()).map_err(|_| {
                    StoreError::Corrupt("credential signature is not 64 bytes".into())
                })?,
            ),
            expires_at_ms: expires,
        }))
    }

    /// How this terminal presents itself to LAN peers: its key and the credential the hub
    /// issued at enrollment (rebuilt from the recorded fields and checked against the signed
    /// bytes). `None` before enrollment.
    pub fn lan_identity(&self) -> Result<Option<crate::lan::LanIdentity>, StoreError> {
        let Some(e) = self.enrollment()? else { return Ok(None) };
        let role = DeviceRole::parse(&e.role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {:?}", e.role)))?;
        let credential = Credential {
            device_id: e.device_id,
            tenant_id: e.tenant_id,
            location_id: e.location_id,
            role,
            public_key: self.key.public_key(),
            expires_at_ms: e.expires_at_ms,
        };
        if credential.canonical_bytes() != e.credential {
            return Err(StoreError::Corrupt(
                "the recorded credential does not match its signed bytes".into(),
            ));
        }
        Ok(Some(crate::lan::LanIdentity {
            key: Arc::clone(&self.key),
            credential,
            credential_signature: e.credential_signature,
            tenant_key: e.tenant_public_key,
        }))
    }

    /// Records an enrollment. The hub assigns the device id, so the store takes it as its
    /// own; that is only possible while this device has recorded no event under its
    /// provisional id (a terminal is enrolled before it trades). Enrolling again (a renewed
    /// credential) must keep the same device id.
    pub fn record_enrollment(&mut self, enrollment: &Enrollment) -> Result<(), StoreError> {
        if enrollment.device_id != self.device_id && self.tip.seq > 0 {
            return Err(StoreError::Conflict(format!(
                "this terminal already recorded {} events as device {}; enroll a fresh store",
                self.tip.seq, self.device_id
            )));
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE device SET device_id = ?1 WHERE singleton = 1",
            [enrollment.device_id.as_bytes()],
        )?;
        tx.execute(
            "INSERT INTO enrollment (singleton, hub_url, tenant_id, location_id, role,
                 tenant_public_key, reference_log_id, credential, credential_sig, expires_at_ms,
                 enrolled_ms)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (singleton) DO UPDATE SET hub_url = excluded.hub_url,
                 tenant_id = excluded.tenant_id, location_id = excluded.location_id,
                 role = excluded.role, tenant_public_key = excluded.tenant_public_key,
                 reference_log_id = excluded.reference_log_id, credential = excluded.credential,
                 credential_sig = excluded.credential_sig, expires_at_ms = excluded.expires_at_ms,
                 enrolled_ms = excluded.enrolled_ms",
            params![
                enrollment.hub_url,
                enrollment.tenant_id.as_bytes(),
                enrollment.location_id.as_bytes(),
                enrollment.role,
                enrollment.tenant_public_key.0,
                enrollment.reference_log_id.as_bytes(),
                enrollment.credential,
                &enrollment.credential_signature.0[..],
                enrollment.expires_at_ms,
                self.clock.now_ms(),
            ],
        )?;
        tx.commit()?;
        self.device_id = enrollment.device_id;
        tracing::info!(device = %self.device_id, tenant = %enrollment.tenant_id, "enrolled");
        Ok(())
    }
}

/// Tries the facts quarantined for want of something once more, oldest first, folding
/// those that pass; how many passed.
fn retry_pending(
    state: &mut SqlState<'_>,
    conn: &rusqlite::Connection,
    enrolled: Enrolled,
) -> Result<usize, StoreError> {
    let mut released = 0;
    for fact in pending(conn)? {
        let replica = Replica { state, conn, enrolled };
        match replica.admit(fact.meta, &fact.kind, &fact.payload, fact.stored_ms)? {
            Ok(event) => {
                release(conn, fact.meta.id)?;
                project(state, &fact.meta, &event)?;
                released += 1;
            }
            Err(reason) if reason.is_final() => {
                quarantine(conn, fact.meta.id, &reason, fact.stored_ms)?;
            }
            Err(_) => {}
        }
    }
    Ok(released)
}

/// The verdict on a stored remote `event`: the domain event to fold (`None` for a kind
/// that folds nothing), or why not. An enrolled store admits it against its own state
/// (`store/admission.rs`); one that is not enrolled has no tenant and so no hub log, and
/// takes only what a hub log alone may not write.
fn admit(
    enrolled: Option<Enrolled>,
    state: &SqlState<'_>,
    conn: &rusqlite::Connection,
    event: &Event,
    now: u64,
) -> Result<Result<Option<DomainEvent>, Quarantine>, StoreError> {
    let meta = EventMeta { hlc: event.hlc, id: event.id() };
    Ok(match enrolled {
        Some(enrolled) => {
            let replica = Replica { state, conn, enrolled };
            replica.admit(meta, event.kind.as_str(), &event.payload, now)?.map(Some)
        }
        None => match DomainEvent::decode(event.kind.as_str(), &event.payload)? {
            Some(e) if e.is_hub_only() => Err(Quarantine::NotAllowed {
                kind: e.kind(),
                author: format!("device {}", event.device_id),
            }),
            decoded => Ok(decoded),
        },
    })
}

/// Folds an admitted fact, or records why it was not (see `store/admission.rs`); notes a
/// revocation it folds, whose device's later facts may need taking back.
fn settle(
    state: &mut SqlState<'_>,
    conn: &rusqlite::Connection,
    meta: &EventMeta,
    verdict: Result<Option<DomainEvent>, Quarantine>,
    now: u64,
    applied: &mut Applied,
    revocations: &mut Vec<(DeviceId, u64)>,
) -> Result<(), StoreError> {
    match verdict {
        Ok(Some(event)) => {
            if let DomainEvent::DeviceRevoked(r) = &event {
                revocations.push((DeviceId::from_bytes(r.device_id.into_bytes()), r.revoked_at_ms));
            }
            project(state, meta, &event)?;
        }
        Ok(None) => {}
        Err(reason) => {
            quarantine(conn, meta.id, &reason, now)?;
            applied.quarantined += 1;
        }
    }
    Ok(())
}
