//! A device's whole log as a self-contained document, and its offline audit.
//!
//! An export carries everything needed to check the log without a database or the hub:
//! the events in seq order, every checkpoint the device signed, the key they are signed
//! with and, for a terminal's log, the credential in which the tenant's key vouches for
//! that key (a hub-signed log is signed by the tenant key itself). [`audit`] checks that
//! the chain starts at seq 1 and links unbroken to its tip, that every checkpoint signs
//! the hash its event really has, that the tip is signed, and that the credential names
//! this device and verifies; it reports the first thing that fails. Trust rests on the
//! tenant public key, which the console shows beside the export.

use serde::{Deserialize, Serialize};

use crate::chain::{VerifyError, links};
use crate::credential::Credential;
use crate::event::{ChainTip, Event};
use crate::ids::DeviceId;
use crate::sign::{Checkpoint, PublicKey, Signature, verify_checkpoint};

/// The `format` of an export this build writes and reads.
pub const EXPORT_FORMAT: &str = "thorbis-device-log-v1";

/// A device's log, exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExport {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The log's device (a terminal, or one of the tenant's hub-signed logs).
    pub device_id: DeviceId,
    /// The tenant's public key: the anchor of trust.
    pub tenant_public_key: PublicKey,
    /// For a terminal's log, its credential and the tenant's signature on it; absent for a
    /// log the tenant key signs itself.
    pub credential: Option<(Credential, Signature)>,
    /// Every event, in seq order.
    pub events: Vec<Event>,
    /// Every checkpoint signed, in seq order.
    pub checkpoints: Vec<Checkpoint>,
}

/// What an intact log holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audited {
    /// Events.
    pub events: usize,
    /// Signed checkpoints.
    pub checkpoints: usize,
    /// Where the chain ends.
    pub tip: ChainTip,
}

/// Why an export does not check out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// Written by something else.
    #[error("not a {EXPORT_FORMAT} export (format {0:?})")]
    Format(String),
    /// The credential is for another device, or the tenant key did not sign it.
    #[error("the credential does not vouch for device {0} with the tenant's key")]
    Credential(DeviceId),
    /// A link, a checkpoint or a signature fails.
    #[error(transparent)]
    Chain(#[from] VerifyError),
    /// The chain's last event is signed by no checkpoint.
    #[error("the last event (seq {0}) is not signed by any checkpoint: events were appended")]
    UnsignedTip(u64),
}

/// Checks `export` (see the module docs); the first failure found, in seq order.
pub fn audit(export: &LogExport) -> Result<Audited, AuditError> {
    if export.format != EXPORT_FORMAT {
        return Err(AuditError::Format(export.format.clone()));
    }
    let key = match &export.credential {
        Some((credential, signature)) => {
            if credential.device_id != export.device_id
                || !credential.verify(&export.tenant_public_key, signature)
            {
                return Err(AuditError::Credential(export.device_id));
            }
            credential.public_key
        }
        None => export.tenant_public_key,
    };
    if let Some(e) = export.events.iter().find(|e| e.device_id != export.device_id) {
        return Err(VerifyError::WrongDevice {
            seq: e.seq,
            expected: export.device_id,
            found: e.device_id,
        }
        .into());
    }
    if export.events.is_empty() && export.checkpoints.is_empty() {
        // A device enrolled that has written nothing yet.
        return Ok(Audited { events: 0, checkpoints: 0, tip: ChainTip::GENESIS });
    }
    let tip = links(ChainTip::GENESIS, &export.events)?;
    for cp in &export.checkpoints {
        if cp.device_id != export.device_id {
            return Err(VerifyError::CheckpointDevice {
                events: export.device_id,
                checkpoint: cp.device_id,
            }
            .into());
        }
        // Seqs start at 1 and are contiguous (checked above): the event is at seq - 1.
        let event = usize::try_from(cp.seq)
            .ok()
            .and_then(|s| s.checked_sub(1))
            .and_then(|i| export.events.get(i))
            .ok_or(VerifyError::CheckpointSeq { checkpoint_seq: cp.seq, last_seq: tip.seq })?;
        let found = event.hash();
        if found != cp.hash {
            return Err(
                VerifyError::CheckpointHash { seq: cp.seq, expected: cp.hash, found }.into()
            );
        }
        verify_checkpoint(&key, cp)?;
    }
    if !export.checkpoints.iter().any(|cp| cp.seq == tip.seq) {
        return Err(AuditError::UnsignedTip(tip.seq));
    }
    Ok(Audited { events: export.events.len(), checkpoints: export.checkpoints.len(), tip })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::DeviceRole;
    use crate::event::EventKind;
    use crate::hlc::Hlc;
    use crate::sign::DeviceKey;

    fn export() -> LogExport {
        let tenant = DeviceKey::from_seed(&[1; 32]).unwrap();
        let key = DeviceKey::from_seed(&[2; 32]).unwrap();
        let device = DeviceId::from_bytes([7; 16]);
        let mut events: Vec<Event> = Vec::new();
        let mut checkpoints = Vec::new();
        let mut tip = ChainTip::GENESIS;
        for seq in 1..=5 {
            let event = Event {
                device_id: device,
                seq,
                hlc: Hlc { wall_ms: 1_000 + seq, counter: 0 },
                prev_hash: tip.hash,
                kind: EventKind::new("order.opened").unwrap(),
                payload: vec![u8::try_from(seq).unwrap(); 3],
            };
            tip = ChainTip::of(&event);
            events.push(event);
            if seq % 2 == 1 {
                checkpoints.push(key.sign_checkpoint(device, tip));
            }
        }
        let credential = Credential {
            device_id: device,
            tenant_id: uuid::Uuid::from_bytes([3; 16]),
            location_id: uuid::Uuid::from_bytes([4; 16]),
            role: DeviceRole::Pos,
            public_key: key.public_key(),
            expires_at_ms: 9_999,
        };
        let signature = tenant.sign_credential(&credential);
        LogExport {
            format: EXPORT_FORMAT.into(),
            device_id: device,
            tenant_public_key: tenant.public_key(),
            credential: Some((credential, signature)),
            events,
            checkpoints,
        }
    }

    #[test]
    fn an_intact_log_audits_and_round_trips_through_json() {
        let export = export();
        let audited = audit(&export).unwrap();
        assert_eq!((audited.events, audited.checkpoints, audited.tip.seq), (5, 3, 5));
        let json = serde_json::to_string(&export).unwrap();
        let back: LogExport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, export);
    }

    #[test]
    fn the_first_broken_thing_is_named() {
        let mut altered = export();
        altered.events[2].payload = vec![0xff];
        assert!(
            matches!(
                audit(&altered),
                Err(AuditError::Chain(VerifyError::BrokenLink { seq: 4, .. }))
            ),
            "{:?}",
            audit(&altered)
        );
        let mut removed = export();
        removed.events.remove(1);
        assert!(matches!(
            audit(&removed),
            Err(AuditError::Chain(VerifyError::SeqGap { expected: 2, .. }))
        ));
        let mut appended = export();
        let last = appended.events.last().unwrap().clone();
        appended.events.push(Event { seq: 6, prev_hash: last.hash(), ..last });
        assert_eq!(audit(&appended), Err(AuditError::UnsignedTip(6)));
        // Re-signed with another key: the credential's key does not verify it.
        let mut forged = export();
        let other = DeviceKey::from_seed(&[9; 32]).unwrap();
        let cp = forged.checkpoints[0].clone();
        forged.checkpoints[0] = other.sign_checkpoint(cp.device_id, cp.tip());
        assert!(matches!(audit(&forged), Err(AuditError::Chain(VerifyError::BadSignature { .. }))));
        let mut stolen = export();
        stolen.tenant_public_key = other.public_key();
        assert!(matches!(audit(&stolen), Err(AuditError::Credential(_))));
        let mut empty = export();
        (empty.events, empty.checkpoints) = (Vec::new(), Vec::new());
        assert_eq!(audit(&empty).map(|a| a.tip), Ok(ChainTip::GENESIS), "nothing written yet");
        let mut wrong = export();
        wrong.format = "csv".into();
        assert!(matches!(audit(&wrong), Err(AuditError::Format(_))));
    }
}
