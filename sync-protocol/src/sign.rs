//! Device keys and signed checkpoints.
//!
//! A device does not sign every event. It signs a [`Checkpoint`]: "my chain is at `seq`
//! and its latest event hashes to `hash`". Because each event commits to its predecessor's
//! hash, that one Ed25519 signature vouches for every event up to `seq`; see
//! [`verify_chain`](crate::verify_chain).
//!
//! # Signed message
//!
//! ```text
//! b"thorbis-checkpoint-v1" || device_id (16 bytes) || seq (u64, big-endian) || hash (32 bytes)
//! ```
//!
//! The prefix is domain separation. A device key may one day sign other things (pairing
//! handshakes, hub challenges, a v2 checkpoint); without a distinct prefix, a signature
//! made for one purpose could be replayed as a valid signature for another message that
//! happens to share the same bytes. The prefix pins each signature to one meaning, and its
//! version suffix lets the format change without ambiguity.

use std::fmt;

use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::chain::VerifyError;
use crate::event::ChainTip;
use crate::hex;
use crate::ids::{DeviceId, Hash32};

/// Domain-separation prefix of every checkpoint signature (see the module docs).
pub const CHECKPOINT_DOMAIN: &[u8] = b"thorbis-checkpoint-v1";

/// An Ed25519 public key. Debug, Display and serde use lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; 32]);

hex::hex_newtype!(PublicKey, "an Ed25519 public key as 64 hex digits");

/// An Ed25519 signature. Debug, Display and serde use lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

hex::hex_newtype!(Signature, "an Ed25519 signature as 128 hex digits");

/// A device's signed statement that its chain ends at (`seq`, `hash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The device whose chain this is.
    pub device_id: DeviceId,
    /// Seq of the last event covered.
    pub seq: u64,
    /// Hash of that event.
    pub hash: Hash32,
    /// Ed25519 signature over the message in the module docs.
    pub signature: Signature,
}

impl Checkpoint {
    /// The chain tip this checkpoint vouches for.
    #[must_use]
    pub fn tip(&self) -> ChainTip {
        ChainTip { seq: self.seq, hash: self.hash }
    }
}

/// The bytes a checkpoint signature covers.
fn checkpoint_message(device_id: DeviceId, seq: u64, hash: Hash32) -> Vec<u8> {
    let mut message = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 16 + 8 + 32);
    message.extend_from_slice(CHECKPOINT_DOMAIN);
    message.extend_from_slice(device_id.as_bytes());
    message.extend_from_slice(&seq.to_be_bytes());
    message.extend_from_slice(&hash.0);
    message
}

/// Domain prefix of request signatures: a device signs each sync request to the hub, and
/// the prefix keeps such a signature from ever passing for a checkpoint or a credential.
/// (Version 2 added the nonce.)
pub const REQUEST_DOMAIN: &[u8] = b"thorbis-request-v2";

/// Header carrying the requesting device's id.
pub const DEVICE_HEADER: &str = "x-thorbis-device";
/// Header carrying the request's Unix-millisecond timestamp.
pub const TIMESTAMP_HEADER: &str = "x-thorbis-timestamp";
/// Header carrying the request's nonce (32 hex digits).
pub const NONCE_HEADER: &str = "x-thorbis-nonce";
/// Header carrying the hex request signature.
pub const SIGNATURE_HEADER: &str = "x-thorbis-signature";

/// 128 random bits a device puts in one signed request only: the hub remembers the nonces
/// it has seen for as long as the request's timestamp is fresh, so a captured request
/// cannot be sent again. Debug, Display and serde use lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce(pub [u8; 16]);

hex::hex_newtype!(Nonce, "a request nonce as 32 hex digits");

impl Nonce {
    /// A fresh nonce from the operating system's randomness.
    pub fn random() -> Result<Self, SignError> {
        let mut bytes = [0; 16];
        SystemRandom::new().fill(&mut bytes).map_err(|_| SignError::Rng)?;
        Ok(Self(bytes))
    }
}

/// The bytes a request signature covers:
///
/// ```text
/// b"thorbis-request-v2" || method || 0x00 || path || 0x00 || timestamp (u64 BE) || nonce (16)
///     || SHA-256(body)
/// ```
///
/// The timestamp lets the receiver refuse stale requests and the nonce repeated ones;
/// hashing the body keeps the message small whatever the batch size.
#[must_use]
pub fn request_message(
    method: &str,
    path: &str,
    timestamp_ms: u64,
    nonce: &Nonce,
    body: &[u8],
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(REQUEST_DOMAIN.len() + method.len() + path.len() + 2 + 8 + 16 + 32);
    out.extend_from_slice(REQUEST_DOMAIN);
    out.extend_from_slice(method.as_bytes());
    out.push(0);
    out.extend_from_slice(path.as_bytes());
    out.push(0);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&nonce.0);
    out.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, body).as_ref());
    out
}

/// What authenticates one request of a device to the hub, sent as the four headers of
/// [`SignedRequest::headers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedRequest {
    /// The requesting device.
    pub device_id: DeviceId,
    /// When the request was made (Unix milliseconds).
    pub timestamp_ms: u64,
    /// Used once.
    pub nonce: Nonce,
    /// By the device's key over [`request_message`].
    pub signature: Signature,
}

impl SignedRequest {
    /// The headers, as (name, value) pairs.
    #[must_use]
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (DEVICE_HEADER, self.device_id.to_string()),
            (TIMESTAMP_HEADER, self.timestamp_ms.to_string()),
            (NONCE_HEADER, self.nonce.to_string()),
            (SIGNATURE_HEADER, self.signature.to_string()),
        ]
    }
}

/// Whether `signature` by `key` covers `message` (from [`request_message`]).
#[must_use]
pub fn verify_request(key: &PublicKey, signature: &Signature, message: &[u8]) -> bool {
    UnparsedPublicKey::new(&signature::ED25519, &key.0).verify(message, &signature.0).is_ok()
}

/// Why a device key could not be created or loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
    /// The stored key is not a valid Ed25519 PKCS#8 v2 document.
    #[error("stored device key is not a valid Ed25519 PKCS#8 v2 document: {reason}")]
    InvalidPkcs8 {
        /// Why the document was rejected.
        reason: String,
    },
    /// The seed was rejected.
    #[error("invalid Ed25519 seed: {reason}")]
    InvalidSeed {
        /// Why the seed was rejected.
        reason: String,
    },
}

/// A device's Ed25519 signing key.
///
/// Debug output shows only the public key: device keys end up inside structs that get
/// logged, and the secret must never reach a log.
pub struct DeviceKey {
    pair: Ed25519KeyPair,
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

impl DeviceKey {
    /// Generates a new key from the operating system's randomness and returns it with its
    /// PKCS#8 v2 document, which the caller persists and later loads with
    /// [`DeviceKey::from_pkcs8`].
    ///
    /// This is the crate's one contact with the OS, and it is randomness, not IO.
    pub fn generate() -> Result<(Self, Vec<u8>), SignError> {
        let document =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| SignError::Rng)?;
        let pkcs8 = document.as_ref().to_vec();
        Ok((Self::from_pkcs8(&pkcs8)?, pkcs8))
    }

    /// Loads a key from a PKCS#8 v2 document such as the one [`DeviceKey::generate`]
    /// returns. The document's embedded public key is checked against the private key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, SignError> {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
            .map_err(|e| SignError::InvalidPkcs8 { reason: e.to_string() })?;
        Ok(Self { pair })
    }

    /// Derives a key from a 32-byte seed. Deterministic, for tests and simulators; real
    /// devices use [`DeviceKey::generate`].
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, SignError> {
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| SignError::InvalidSeed { reason: e.to_string() })?;
        Ok(Self { pair })
    }

    /// The public half, which peers use to verify this device's checkpoints.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        let mut key = [0; 32];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs a sync request of `device_id` (this key's device) with a fresh nonce (see
    /// [`request_message`]).
    pub fn sign_request(
        &self,
        device_id: DeviceId,
        method: &str,
        path: &str,
        timestamp_ms: u64,
        body: &[u8],
    ) -> Result<SignedRequest, SignError> {
        let nonce = Nonce::random()?;
        let mut signature = [0; 64];
        signature.copy_from_slice(
            self.pair.sign(&request_message(method, path, timestamp_ms, &nonce, body)).as_ref(),
        );
        Ok(SignedRequest { device_id, timestamp_ms, nonce, signature: Signature(signature) })
    }

    /// Signs a device credential as its tenant (the hub holds tenant keys as `DeviceKey`s
    /// too); the credential's canonical bytes carry their own domain prefix.
    #[must_use]
    pub fn sign_credential(&self, credential: &crate::Credential) -> Signature {
        let mut signature = [0; 64];
        signature.copy_from_slice(self.pair.sign(&credential.canonical_bytes()).as_ref());
        Signature(signature)
    }

    /// Binds this device to one LAN TLS session: signs [`crate::peer::binding_message`]
    /// (which carries its own domain prefix) for the session's exporter and our side.
    #[must_use]
    pub fn sign_binding(&self, exporter: &[u8; 32], side: crate::peer::Side) -> Signature {
        let message = crate::peer::binding_message(exporter, side);
        let mut signature = [0; 64];
        signature.copy_from_slice(self.pair.sign(&message).as_ref());
        Signature(signature)
    }

    /// Signs a checkpoint for `device_id`'s chain ending at `tip`.
    #[must_use]
    pub fn sign_checkpoint(&self, device_id: DeviceId, tip: ChainTip) -> Checkpoint {
        let message = checkpoint_message(device_id, tip.seq, tip.hash);
        let mut signature = [0; 64];
        signature.copy_from_slice(self.pair.sign(&message).as_ref());
        Checkpoint { device_id, seq: tip.seq, hash: tip.hash, signature: Signature(signature) }
    }
}

/// Checks `cp`'s signature against `key`.
///
/// Which key belongs to which device is the caller's knowledge (pairing records); this
/// only proves that the holder of `key` signed exactly this checkpoint.
pub fn verify_checkpoint(key: &PublicKey, cp: &Checkpoint) -> Result<(), VerifyError> {
    let message = checkpoint_message(cp.device_id, cp.seq, cp.hash);
    UnparsedPublicKey::new(&signature::ED25519, &key.0)
        .verify(&message, &cp.signature.0)
        .map_err(|_| VerifyError::BadSignature { device_id: cp.device_id, seq: cp.seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_signatures_cover_method_path_time_nonce_and_body() {
        let key = DeviceKey::from_seed(&[5; 32]).unwrap();
        let device = DeviceId::from_bytes([9; 16]);
        let signed = key.sign_request(device, "POST", "/api/v1/sync/push", 7, b"body").unwrap();
        let sig = signed.signature;
        let nonce = signed.nonce;
        let ok = request_message("POST", "/api/v1/sync/push", 7, &nonce, b"body");
        assert!(verify_request(&key.public_key(), &sig, &ok));
        for other in [
            request_message("POST", "/api/v1/sync/pull", 7, &nonce, b"body"),
            request_message("GET", "/api/v1/sync/push", 7, &nonce, b"body"),
            request_message("POST", "/api/v1/sync/push", 8, &nonce, b"body"),
            request_message("POST", "/api/v1/sync/push", 7, &Nonce([0; 16]), b"body"),
            request_message("POST", "/api/v1/sync/push", 7, &nonce, b"bodz"),
        ] {
            assert!(!verify_request(&key.public_key(), &sig, &other));
        }
        let again = key.sign_request(device, "POST", "/api/v1/sync/push", 7, b"body").unwrap();
        assert_ne!(again.nonce, nonce, "every request gets a nonce of its own");
        assert_eq!(signed.headers()[2], (NONCE_HEADER, nonce.to_string()));
        // Domain separation: a request signature is never a checkpoint signature.
        let cp = Checkpoint {
            device_id: DeviceId::from_bytes([1; 16]),
            seq: 1,
            hash: Hash32::ZERO,
            signature: sig,
        };
        assert!(verify_checkpoint(&key.public_key(), &cp).is_err());
    }

    fn key() -> DeviceKey {
        DeviceKey::from_seed(&[9; 32]).unwrap()
    }

    #[test]
    fn message_layout() {
        let device = DeviceId([1; 16]);
        let message = checkpoint_message(device, 0x0102, Hash32([2; 32]));
        assert_eq!(&message[..21], b"thorbis-checkpoint-v1");
        assert_eq!(&message[21..37], &[1; 16]);
        assert_eq!(&message[37..45], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&message[45..], &[2; 32]);
    }

    #[test]
    fn checkpoint_round_trip_and_tamper() {
        let key = key();
        let device = DeviceId([1; 16]);
        let cp = key.sign_checkpoint(device, ChainTip { seq: 5, hash: Hash32([3; 32]) });
        assert_eq!(cp.tip(), ChainTip { seq: 5, hash: Hash32([3; 32]) });
        assert_eq!(verify_checkpoint(&key.public_key(), &cp), Ok(()));

        let bad = VerifyError::BadSignature { device_id: device, seq: 5 };
        let other = DeviceKey::from_seed(&[8; 32]).unwrap().public_key();
        assert_eq!(verify_checkpoint(&other, &cp), Err(bad.clone()));
        let mut tampered = cp.clone();
        tampered.hash.0[0] ^= 1;
        assert_eq!(verify_checkpoint(&key.public_key(), &tampered), Err(bad.clone()));
        let mut tampered = cp.clone();
        tampered.seq = 6;
        assert!(verify_checkpoint(&key.public_key(), &tampered).is_err());
        let mut tampered = cp;
        tampered.device_id = DeviceId([2; 16]);
        assert!(verify_checkpoint(&key.public_key(), &tampered).is_err());
    }

    #[test]
    fn seed_keys_are_deterministic() {
        assert_eq!(key().public_key(), key().public_key());
    }

    #[test]
    fn generated_key_reloads_from_pkcs8() {
        let (key, pkcs8) = DeviceKey::generate().unwrap();
        let reloaded = DeviceKey::from_pkcs8(&pkcs8).unwrap();
        assert_eq!(key.public_key(), reloaded.public_key());
        assert!(matches!(DeviceKey::from_pkcs8(b"nope"), Err(SignError::InvalidPkcs8 { .. })));
    }

    #[test]
    fn debug_shows_only_the_public_key() {
        let key = key();
        let debug = format!("{key:?}");
        assert_eq!(debug, format!("DeviceKey {{ public_key: {}, .. }}", key.public_key()));
    }

    #[test]
    fn key_and_signature_serde_as_hex() {
        let key = key();
        let cp = key.sign_checkpoint(DeviceId([1; 16]), ChainTip::GENESIS);
        let json = serde_json::to_string(&key.public_key()).unwrap();
        assert_eq!(json.len(), 64 + 2);
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key.public_key());
        let json = serde_json::to_string(&cp).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), cp);
        assert_eq!(cp.signature.to_string().parse::<Signature>(), Ok(cp.signature));
    }
}
