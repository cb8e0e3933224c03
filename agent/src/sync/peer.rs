//! One peer's task: rounds of "say what there is to say, then listen", with backoff after
//! failures. The protocol decisions are [`PeerState`]'s; this loop only moves its messages
//! between the store (on the blocking pool) and the transport.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use thorbis_sync_protocol::clock::Clock;
use thorbis_sync_protocol::sync::{EventSource, KeyRing, Message, PeerState};
use thorbis_sync_protocol::{
    Batch, ChainTip, Credential, DeviceId, DeviceRole, Event, Signature, VersionVector,
    retired_staff_log,
};
use tokio::sync::watch;

use super::backoff::delay_ms;
use super::{
    CredentialState, PeerStatus, RoundError, SharedStore, ShellConfig, SyncStatus, Transport,
};
use crate::{Enrollment, Store, StoreError, StoreKeys};

pub(super) struct PeerTask<T> {
    pub name: String,
    pub transport: T,
    pub store: SharedStore,
    pub clock: Arc<dyn Clock>,
    pub config: ShellConfig,
    pub status: Arc<Mutex<SyncStatus>>,
    pub changes: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
    pub seed: u64,
    /// What the peer was last known to hold, for the outbox depth.
    pub known: VersionVector,
}

/// What one received message added to the store.
#[derive(Debug, Default)]
struct Outcome {
    stored: usize,
    /// Events the protocol put off: stamped too far ahead, or not continuing the local tip.
    deferred: usize,
    /// Devices whose events came but whose keys this terminal does not hold.
    unverifiable: BTreeSet<DeviceId>,
}

impl<T: Transport> PeerTask<T> {
    pub(super) async fn run(mut self) {
        let mut peer = PeerState::new(self.config.protocol);
        let mut failures: u32 = 0;
        while !self.stopping() {
            self.changes.borrow_and_update();
            match self.round(&mut peer).await {
                Ok(()) => failures = 0,
                Err(e) if self.transport.closed() => {
                    tracing::info!(peer = %self.name, error = %e, "peer connection ended");
                    self.update(|s| {
                        s.online = false;
                        s.last_error = Some(e.to_string());
                    });
                    break;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    // Forget what we believed of the peer: the next round says Hello and
                    // learns where it really is (it may have restarted or lost a push).
                    peer = PeerState::new(self.config.protocol);
                    let wait = delay_ms(&self.config.retry, failures, e.failure(), self.seed);
                    tracing::warn!(peer = %self.name, error = %e, failures, wait_ms = wait, "sync failed");
                    self.update(|s| {
                        s.online = false;
                        s.last_error = Some(e.to_string());
                        if let RoundError::Transport(super::TransportError::CredentialRejected(
                            reason,
                        )) = &e
                        {
                            s.credential = CredentialState::Rejected { reason: reason.clone() };
                        }
                    });
                    if let Ok(ours) = self.store.run(|s| s.version_vector()).await {
                        self.track_outbox(&peer, &ours);
                    }
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(wait)) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
            }
        }
        tracing::debug!(peer = %self.name, "sync task stopped");
    }

    /// Stop when asked, or when the handle is gone.
    fn stopping(&self) -> bool {
        *self.shutdown.borrow() || self.shutdown.has_changed().is_err()
    }

    fn update(&self, f: impl FnOnce(&mut PeerStatus)) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        let peer = status.peers.entry(self.name.clone()).or_default();
        f(peer);
        peer.requests = self.transport.requests();
    }

    /// Updates the outbox depth: what we hold beyond what the peer was last known to
    /// hold. That knowledge survives a reset of the protocol state (a failure), so the
    /// depth stays meaningful while the peer is away.
    fn track_outbox(&mut self, peer: &PeerState, ours: &VersionVector) {
        if let Some(theirs) = peer.their_vector() {
            self.known.merge(theirs);
        }
        let depth =
            self.known.missing_from(ours).iter().map(|(_, r)| r.end() - r.start() + 1).sum();
        self.update(|s| s.outbox_depth = depth);
    }

    fn contact(&self) {
        let now = self.clock.now_ms();
        self.update(|s| {
            s.online = true;
            s.last_contact_ms = Some(now);
            s.last_error = None;
            s.credential = CredentialState::Accepted;
        });
    }

    /// Sends what the protocol has to say (bounded), then listens once.
    async fn round(&mut self, peer: &mut PeerState) -> Result<(), RoundError> {
        let withheld = match self.transport.vouched() {
            Some(peer) => self
                .store
                .run(|s| s.enrollment())
                .await?
                .map_or_else(Vec::new, |own| withheld_from(&own, &peer)),
            None => Vec::new(),
        };
        for _ in 0..self.config.max_messages_per_round {
            let now = self.clock.now_ms();
            let state = peer.clone();
            let withheld = withheld.clone();
            let (state, msg, ours) = self
                .store
                .run(move |s| {
                    let mut state = state;
                    let source = Withholding { store: &*s, withheld };
                    let msg = state.generate_message(&source, now);
                    (state, msg, Ok::<_, StoreError>(source.vector()))
                })
                .await;
            *peer = state;
            self.track_outbox(peer, &ours?);
            let Some(msg) = msg else { break };
            let replies = tokio::select! {
                r = self.transport.send(msg) => r?,
                _ = self.shutdown.changed() => return Ok(()),
            };
            self.contact();
            for reply in replies {
                self.receive(peer, reply).await?;
            }
        }
        if self.changes.has_changed().unwrap_or(false) || self.stopping() {
            // Written meanwhile: send it before listening.
            return Ok(());
        }
        let have = self.store.run(|s| s.version_vector()).await?;
        let replies = tokio::select! {
            r = self.transport.listen(have, self.config.long_poll) => r?,
            _ = self.changes.changed() => return Ok(()),
            _ = self.shutdown.changed() => return Ok(()),
        };
        self.contact();
        for reply in replies {
            self.receive(peer, reply).await?;
        }
        Ok(())
    }

    /// Verifies and stores one message from the peer (one store transaction per pass).
    async fn receive(&mut self, peer: &mut PeerState, msg: Message) -> Result<(), RoundError> {
        let now = self.clock.now_ms();
        let events = matches!(&msg, Message::Events { batch, .. } if !batch.events.is_empty());
        let state = peer.clone();
        let vouched = self.transport.vouched();
        let (state, outcome) = self
            .store
            .run(move |s| {
                let mut state = state;
                let outcome = receive_into(&mut state, s, vouched.as_ref(), msg, now);
                (state, outcome)
            })
            .await;
        *peer = state;
        let outcome = outcome?;
        if outcome.stored > 0 {
            self.update(|s| s.events_received += outcome.stored as u64);
            // Other peers may relay what arrived.
            self.store.notify_changed();
            self.changes.borrow_and_update();
        } else if events && !outcome.unverifiable.is_empty() {
            // Nothing usable came and the peer will send the same again: back off rather
            // than ask again at once.
            return Err(RoundError::Unverifiable(outcome.unverifiable.into_iter().collect()));
        } else if events && outcome.deferred > 0 {
            // Stamped ahead of our clock (or overtaken): the same would come back at once.
            return Err(RoundError::Deferred(outcome.deferred));
        }
        Ok(())
    }
}

/// Feeds one message to the protocol and stores the events it verified. A batch can carry
/// the reference-data log that introduces keys for other runs of the same batch, so runs of
/// devices without a key wait until the runs with keys are stored, then get another pass.
/// `vouched` is the credential the transport authenticated for its peer.
fn receive_into(
    peer: &mut PeerState,
    store: &mut Store,
    vouched: Option<&Credential>,
    msg: Message,
    now: u64,
) -> Result<Outcome, RoundError> {
    let key_ring = |store: &Store| {
        let mut keys = store.key_ring()?;
        if let Some(c) = vouched
            && keys.public_key(&c.device_id).is_none()
        {
            keys.insert(c.device_id, c.public_key);
        }
        Ok::<_, RoundError>(keys)
    };
    let mut outcome = Outcome::default();
    let Message::Events { batch, more } = msg else {
        let keys = key_ring(store)?;
        peer.receive_message(&*store, &keys, msg, now)?;
        return Ok(outcome);
    };
    let mut pending = batch;
    for _ in 0..4 {
        let keys = key_ring(store)?;
        let (known, unknown) = split_by_key(pending, &keys);
        pending = unknown;
        if known.events.is_empty() {
            break;
        }
        let received =
            peer.receive_message(&*store, &keys, Message::Events { batch: known, more }, now)?;
        outcome.deferred += received.deferred + received.out_of_order;
        outcome.stored += store.apply_from_peer(&received.events, vouched)?.stored;
        if pending.events.is_empty() {
            break;
        }
    }
    outcome.unverifiable = pending.events.iter().map(|e| e.device_id).collect();
    Ok(outcome)
}

/// The runs (and their checkpoints) of devices `keys` knows, and the rest.
fn split_by_key(batch: Batch, keys: &StoreKeys) -> (Batch, Batch) {
    let known = |d: &DeviceId| keys.public_key(d).is_some();
    let (mut yes, mut no) = (Batch::default(), Batch::default());
    for event in batch.events {
        if known(&event.device_id) { yes.events.push(event) } else { no.events.push(event) }
    }
    for cp in batch.checkpoints {
        if known(&cp.device_id) { yes.checkpoints.push(cp) } else { no.checkpoints.push(cp) }
    }
    (yes, no)
}

/// The hub-signed logs this store (enrolled as `own`) sends no LAN `peer`: staff records
/// (PIN hashes) go to the store terminals of their own location only, never to a
/// technician's laptop, even one at the store; a laptop's dispatch log goes to no peer (only
/// the hub and that laptop trust it); the tenant-wide staff log of earlier versions goes
/// to no one.
fn withheld_from(own: &Enrollment, peer: &Credential) -> Vec<DeviceId> {
    let mut withheld = vec![retired_staff_log(own.tenant_id)];
    let shared = peer.role != DeviceRole::Technician
        && own.role != DeviceRole::Technician.as_str()
        && peer.location_id == own.location_id;
    if !shared {
        let [_, own_log] = own.hub_logs();
        withheld.push(own_log);
    }
    withheld
}

/// The store as a peer may see it: everything but the `withheld` logs.
struct Withholding<'a> {
    store: &'a Store,
    withheld: Vec<DeviceId>,
}

impl EventSource for Withholding<'_> {
    fn vector(&self) -> VersionVector {
        EventSource::vector(self.store)
            .iter()
            .filter(|(device, _)| !self.withheld.contains(device))
            .collect()
    }

    fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Vec<(Event, Option<Signature>)> {
        if self.withheld.contains(&device) {
            return Vec::new();
        }
        EventSource::events_after(self.store, device, after_seq, limit)
    }

    fn tip(&self, device: DeviceId) -> ChainTip {
        if self.withheld.contains(&device) {
            return ChainTip::GENESIS;
        }
        EventSource::tip(self.store, device)
    }
}

#[cfg(test)]
mod tests {
    use thorbis_sync_protocol::{PublicKey, dispatch_log, staff_log};
    use uuid::Uuid;

    use super::*;

    const TENANT: Uuid = Uuid::from_u128(0x7e);
    const HERE: Uuid = Uuid::from_u128(0x10c);
    const THERE: Uuid = Uuid::from_u128(0x20c);

    fn own(role: &str, device: u8) -> Enrollment {
        Enrollment {
            hub_url: "http://hub.test".into(),
            device_id: DeviceId([device; 16]),
            tenant_id: TENANT,
            location_id: HERE,
            role: role.into(),
            tenant_public_key: PublicKey([9; 32]),
            reference_log_id: DeviceId([0x7e; 16]),
            credential: vec![1],
            credential_signature: Signature([5; 64]),
            expires_at_ms: 1,
        }
    }

    fn peer(role: DeviceRole, location: Uuid) -> Credential {
        Credential {
            device_id: DeviceId([2; 16]),
            tenant_id: TENANT,
            location_id: location,
            role,
            public_key: PublicKey([3; 32]),
            expires_at_ms: 1,
        }
    }

    #[test]
    fn staff_go_to_store_terminals_of_their_location_and_jobs_to_no_peer() {
        let retired = retired_staff_log(TENANT);
        let staff = staff_log(TENANT, HERE);
        let pos = own("pos", 1);
        assert_eq!(withheld_from(&pos, &peer(DeviceRole::Kds, HERE)), [retired]);
        assert_eq!(withheld_from(&pos, &peer(DeviceRole::Technician, HERE)), [retired, staff]);
        assert_eq!(withheld_from(&pos, &peer(DeviceRole::Pos, THERE)), [retired, staff]);
        let laptop = own("technician", 4);
        let jobs = dispatch_log(TENANT, DeviceId([4; 16]));
        assert_eq!(withheld_from(&laptop, &peer(DeviceRole::Kds, HERE)), [retired, jobs]);
        assert_eq!(withheld_from(&laptop, &peer(DeviceRole::Technician, HERE)), [retired, jobs]);
    }
}
