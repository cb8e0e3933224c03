//! Identity material: tenant keys, device credentials, enrollment codes and request
//! signatures, as documented byte layouts. Pure: no database, no clock.
//!
//! # Device credential
//!
//! The hub answers an enrollment with a [`Credential`] signed by the tenant's Ed25519 key
//! ([`TenantKey::sign`]); its byte layout is the protocol's
//! (`thorbis_sync_protocol::credential`), so devices and LAN peers holding the tenant's
//! public key verify it offline with [`Credential::verify`].
//!
//! # Signed requests
//!
//! A device authenticates each sync request with four headers: `x-thorbis-device` (its
//! id), `x-thorbis-timestamp` (Unix milliseconds), `x-thorbis-nonce` (16 random bytes, hex)
//! and `x-thorbis-signature` (hex Ed25519 signature by its enrolled key) over
//!
//! ```text
//! b"thorbis-request-v2" || method || 0x00 || path || 0x00 || timestamp (u64 BE) || nonce
//!     || SHA-256(body)
//! ```
//!
//! The hub accepts it only while the timestamp is within its window of the hub's clock,
//! and only once: a request that is served spends its nonce, which the hub keeps until well
//! after the timestamp leaves the window, so a captured request sent again is refused. (A
//! push that fails spends nothing: sent again, it is tried again, and stores what the
//! device signed, once.)

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use thorbis_sync_protocol::{PublicKey, Signature};
use uuid::Uuid;

// The signed-request format is the protocol's; devices sign with `DeviceKey::sign_request`.
pub use thorbis_sync_protocol::{
    DEVICE_HEADER, NONCE_HEADER, REQUEST_DOMAIN, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    request_message, verify_request,
};

/// Why key material could not be made or used.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The OS random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
    /// A stored key is not a valid Ed25519 PKCS#8 document.
    #[error("invalid Ed25519 key: {0}")]
    Key(String),
}

/// Encrypts tenant signing keys at rest (AES-256-GCM) under a key-encryption key held
/// outside the database. The sealed form is `nonce (12 bytes) || ciphertext || tag`, with
/// the tenant id as associated data, so a sealed key copied to another tenant's row does
/// not open.
pub struct KeyWrap(LessSafeKey);

impl std::fmt::Debug for KeyWrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyWrap(..)")
    }
}

impl KeyWrap {
    /// A wrapper around a 32-byte key-encryption key.
    pub fn new(kek: &[u8; 32]) -> Result<Self, IdentityError> {
        UnboundKey::new(&AES_256_GCM, kek)
            .map(|k| Self(LessSafeKey::new(k)))
            .map_err(|_| IdentityError::Key("invalid AES-256 key".into()))
    }

    /// Seals `tenant`'s PKCS#8 document.
    pub fn seal(&self, tenant: Uuid, pkcs8: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| IdentityError::Rng)?;
        let mut sealed = pkcs8.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(tenant.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| IdentityError::Key("could not seal the tenant key".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`KeyWrap::seal`] made for `tenant`.
    pub fn open(&self, tenant: Uuid, sealed: &[u8]) -> Result<Vec<u8>, IdentityError> {
        let wrong = || {
            IdentityError::Key(
                "the sealed tenant key does not open with this key-encryption key".into(),
            )
        };
        if sealed.len() < NONCE_LEN {
            return Err(wrong());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| wrong())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(tenant.as_bytes()), &mut buffer)
            .map_err(|_| wrong())?;
        Ok(plain.to_vec())
    }
}

/// What a device is for.
pub use thorbis_sync_protocol::DeviceRole as Role;
/// The device credential and its layout are the protocol's, so devices verify them too.
pub use thorbis_sync_protocol::{CREDENTIAL_DOMAIN, Credential};

/// A tenant's signing key.
pub struct TenantKey(Ed25519KeyPair);

impl std::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret half.
        f.debug_struct("TenantKey").field("public_key", &self.public_key()).finish_non_exhaustive()
    }
}

impl TenantKey {
    /// A new key and its PKCS#8 document (what the database stores).
    pub fn generate() -> Result<(Self, Vec<u8>), IdentityError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| IdentityError::Rng)?;
        let pkcs8 = doc.as_ref().to_vec();
        Ok((Self::from_pkcs8(&pkcs8)?, pkcs8))
    }

    /// Loads a stored key.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, IdentityError> {
        Ed25519KeyPair::from_pkcs8(pkcs8).map(Self).map_err(|e| IdentityError::Key(e.to_string()))
    }

    /// The public half, which devices and peers verify credentials with.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey(
            self.0.public_key().as_ref().try_into().expect("Ed25519 public keys are 32 bytes"),
        )
    }

    /// Signs a credential's canonical bytes.
    #[must_use]
    pub fn sign(&self, credential: &Credential) -> Signature {
        Signature(
            self.0
                .sign(&credential.canonical_bytes())
                .as_ref()
                .try_into()
                .expect("Ed25519 signatures are 64 bytes"),
        )
    }
}

/// A fresh enrollment code: 32 random bytes as 64 hex digits. Returns the code (shown
/// once) and its hash (stored).
pub fn new_enrollment_code() -> Result<(String, [u8; 32]), IdentityError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| IdentityError::Rng)?;
    let code = hex(&bytes);
    let hash = code_hash(&code);
    Ok((code, hash))
}

/// The stored form of an enrollment code: SHA-256 of its text, trimmed and lower-cased
/// so a code typed in upper case still matches.
#[must_use]
pub fn code_hash(code: &str) -> [u8; 32] {
    digest(&SHA256, code.trim().to_ascii_lowercase().as_bytes())
        .as_ref()
        .try_into()
        .expect("SHA-256 digests are 32 bytes")
}

/// Parses `2 * N` hex digits (surrounding whitespace ignored) into `N` bytes: a
/// key-encryption key from configuration, a cookie's or a link's secret.
#[must_use]
pub fn parse_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.trim().as_bytes();
    if s.len() != 2 * N || !s.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks(2).enumerate() {
        out[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(out)
}

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use thorbis_sync_protocol::DeviceId;

    use super::*;

    /// The layout is the protocol's (and tested there); this checks that a tenant key
    /// loaded back from its stored PKCS#8 signs credentials devices accept.
    #[test]
    fn tenant_keys_sign_credentials_devices_verify() {
        let (key, pkcs8) = TenantKey::generate().unwrap();
        let credential = Credential {
            device_id: DeviceId([1; 16]),
            tenant_id: Uuid::from_bytes([2; 16]),
            location_id: Uuid::from_bytes([3; 16]),
            role: Role::Kds,
            public_key: PublicKey([4; 32]),
            expires_at_ms: 0x0102,
        };
        let signature = key.sign(&credential);
        let reloaded = TenantKey::from_pkcs8(&pkcs8).unwrap();
        assert!(credential.verify(&reloaded.public_key(), &signature));
        let mut other = credential.clone();
        other.role = Role::Pos;
        assert!(!other.verify(&key.public_key(), &signature));
    }

    #[test]
    fn request_signature_matches_the_device_key() {
        let device = thorbis_sync_protocol::DeviceKey::from_seed(&[5; 32]).unwrap();
        let id = thorbis_sync_protocol::DeviceId::from_bytes([3; 16]);
        let signed = device.sign_request(id, "POST", "/api/v1/sync/push", 7, b"body").unwrap();
        let message = request_message("POST", "/api/v1/sync/push", 7, &signed.nonce, b"body");
        assert!(verify_request(&device.public_key(), &signed.signature, &message));
        let other = request_message("POST", "/api/v1/sync/pull", 7, &signed.nonce, b"body");
        assert!(!verify_request(&device.public_key(), &signed.signature, &other));
    }

    #[test]
    fn tenant_keys_seal_and_open_per_tenant() {
        let wrap = KeyWrap::new(&[7; 32]).unwrap();
        let (a, b) = (Uuid::from_bytes([1; 16]), Uuid::from_bytes([2; 16]));
        let sealed = wrap.seal(a, b"pkcs8 document").unwrap();
        assert_ne!(&sealed[NONCE_LEN..NONCE_LEN + 14], b"pkcs8 document");
        assert_eq!(wrap.open(a, &sealed).unwrap(), b"pkcs8 document");
        assert!(wrap.open(b, &sealed).is_err(), "bound to its tenant");
        assert!(KeyWrap::new(&[8; 32]).unwrap().open(a, &sealed).is_err());
        assert!(wrap.open(a, &sealed[..5]).is_err());
    }

    #[test]
    fn codes_hash_case_insensitively() {
        let (code, hash) = new_enrollment_code().unwrap();
        assert_eq!(code.len(), 64);
        assert_eq!(code_hash(&code.to_uppercase()), hash);
        assert!(Role::parse("technician") == Some(Role::Technician) && Role::parse("x").is_none());
    }
}
