//! LAN peers: who is at the other end of a connection, and how sync messages are framed
//! on it. Sans IO: bytes and time in, verdicts out.
//!
//! # Authentication
//!
//! Terminals of one store sync with each other over TLS. TLS gives the connection
//! confidentiality and integrity; *who* is at the other end is proven inside it, bound to
//! that TLS session, with what every enrolled device already holds: its tenant-signed
//! [`Credential`] and its device key. Right after the handshake each side sends a
//! [`PeerHello`]:
//!
//! * its credential and the tenant's signature over it ([`Credential::verify`]), which a
//!   peer checks offline with the tenant key it received at enrollment, then checks the
//!   tenant, the location and the expiry against its own;
//! * its device key's signature over [`binding_message`]: the session's exported keying
//!   material (TLS exporter, RFC 8446 §7.5, label [`EXPORTER_LABEL`]) and the side it
//!   speaks for.
//!
//! The binding signature is what makes a copied credential useless: only the holder of
//! the credential's key can sign this session's exporter, which differs for every
//! connection (so a recorded hello cannot be replayed) and is the same on both ends only
//! when no one sits in the middle (a relay terminating TLS on each side sees two
//! different exporters). The side byte stops a peer from reflecting our own hello back.
//! Revocation is the caller's check: the tenant's device records say which devices were
//! revoked.
//!
//! # Framing
//!
//! After the hellos, each frame is a big-endian `u32` length then that many bytes: a
//! [`crate::sync::Message`] as [`crate::sync::encode_message`] makes it. A length above
//! [`MAX_FRAME`] is refused before anything is allocated.

use ring::signature::{ED25519, UnparsedPublicKey};
use uuid::Uuid;

use crate::credential::{CREDENTIAL_DOMAIN, Credential, DeviceRole};
use crate::ids::DeviceId;
use crate::sign::{DeviceKey, PublicKey, Signature};

/// Domain prefix of binding signatures.
pub const BINDING_DOMAIN: &[u8] = b"thorbis-peer-binding-v1";

/// The TLS exporter label both ends derive the session binding with.
pub const EXPORTER_LABEL: &[u8] = b"EXPORTER-thorbis-peer-v1";

/// Largest frame accepted: a full batch of events with room to spare.
pub const MAX_FRAME: usize = 32 << 20;

/// The length of a credential's canonical bytes.
const CREDENTIAL_LEN: usize = 28 + 16 * 3 + 1 + 32 + 8;

/// The length of an encoded [`PeerHello`].
pub const HELLO_LEN: usize = CREDENTIAL_LEN + 64 + 64;

/// Which end of the connection a hello speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The end that connected.
    Client,
    /// The end that accepted.
    Server,
}

impl Side {
    fn byte(self) -> u8 {
        match self {
            Side::Client => 1,
            Side::Server => 2,
        }
    }
}

/// The bytes a device key signs to bind itself to one TLS session.
#[must_use]
pub fn binding_message(exporter: &[u8; 32], side: Side) -> Vec<u8> {
    let mut out = Vec::with_capacity(BINDING_DOMAIN.len() + 33);
    out.extend_from_slice(BINDING_DOMAIN);
    out.push(side.byte());
    out.extend_from_slice(exporter);
    out
}

/// What a peer sends first: who it is, and proof that it is that device on this session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerHello {
    /// Its credential.
    pub credential: Credential,
    /// The tenant's signature over the credential.
    pub credential_signature: Signature,
    /// The device key's signature over [`binding_message`].
    pub binding: Signature,
}

/// Why a hello was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    /// Not a hello at all.
    #[error("malformed peer hello: {0}")]
    Malformed(&'static str),
    /// The credential does not carry the tenant's signature.
    #[error("the credential of device {0} is not signed by this tenant's key")]
    NotOurTenant(DeviceId),
    /// A credential of our tenant key for another tenant id (never issued by a sane hub).
    #[error("device {0} belongs to another tenant")]
    OtherTenant(DeviceId),
    /// Same tenant, another store.
    #[error("device {0} belongs to another location")]
    OtherLocation(DeviceId),
    /// The credential has expired.
    #[error("the credential of device {0} expired at {1} ms")]
    Expired(DeviceId, u64),
    /// The credential's key did not sign this session: a copied credential or a relay.
    #[error("device {0}'s key did not sign this session")]
    NotBound(DeviceId),
}

impl PeerHello {
    /// This device's hello for one session.
    #[must_use]
    pub fn new(
        key: &DeviceKey,
        credential: Credential,
        credential_signature: Signature,
        exporter: &[u8; 32],
        side: Side,
    ) -> Self {
        let binding = key.sign_binding(exporter, side);
        Self { credential, credential_signature, binding }
    }

    /// Its bytes: the credential's canonical bytes, then the two signatures.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.credential.canonical_bytes();
        out.extend_from_slice(&self.credential_signature.0);
        out.extend_from_slice(&self.binding.0);
        out
    }

    /// Parses [`PeerHello::encode`]'s output.
    pub fn decode(bytes: &[u8]) -> Result<Self, PeerAuthError> {
        if bytes.len() != HELLO_LEN {
            return Err(PeerAuthError::Malformed("wrong length"));
        }
        let (cred, sigs) = bytes.split_at(CREDENTIAL_LEN);
        let (domain, rest) = cred.split_at(CREDENTIAL_DOMAIN.len());
        if domain != CREDENTIAL_DOMAIN {
            return Err(PeerAuthError::Malformed("not a credential"));
        }
        let id = |at: usize| -> [u8; 16] { rest[at..at + 16].try_into().expect("16 bytes") };
        let role = DeviceRole::ALL
            .into_iter()
            .find(|r| r.byte() == rest[48])
            .ok_or(PeerAuthError::Malformed("unknown role"))?;
        let credential = Credential {
            device_id: DeviceId(id(0)),
            tenant_id: Uuid::from_bytes(id(16)),
            location_id: Uuid::from_bytes(id(32)),
            role,
            public_key: PublicKey(rest[49..81].try_into().expect("32 bytes")),
            expires_at_ms: u64::from_be_bytes(rest[81..89].try_into().expect("8 bytes")),
        };
        Ok(Self {
            credential,
            credential_signature: Signature(sigs[..64].try_into().expect("64 bytes")),
            binding: Signature(sigs[64..].try_into().expect("64 bytes")),
        })
    }
}

/// What a peer must match: our tenant's key and ids, and the time now.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// The tenant key our own credential was signed with.
    pub tenant_key: PublicKey,
    /// Our tenant.
    pub tenant_id: Uuid,
    /// Our location: LAN peers are terminals of the same store.
    pub location_id: Uuid,
    /// Now, Unix milliseconds.
    pub now_ms: u64,
}

/// Checks a peer's hello received on a session with `exporter`, sent by the `side` end.
/// Returns its credential; whether that device was revoked is for the caller to check.
pub fn verify_hello(
    hello: &PeerHello,
    expect: &Expect,
    exporter: &[u8; 32],
    side: Side,
) -> Result<Credential, PeerAuthError> {
    let c = &hello.credential;
    if !c.verify(&expect.tenant_key, &hello.credential_signature) {
        return Err(PeerAuthError::NotOurTenant(c.device_id));
    }
    if c.tenant_id != expect.tenant_id {
        return Err(PeerAuthError::OtherTenant(c.device_id));
    }
    if c.location_id != expect.location_id {
        return Err(PeerAuthError::OtherLocation(c.device_id));
    }
    if c.expires_at_ms <= expect.now_ms {
        return Err(PeerAuthError::Expired(c.device_id, c.expires_at_ms));
    }
    let message = binding_message(exporter, side);
    if UnparsedPublicKey::new(&ED25519, &c.public_key.0).verify(&message, &hello.binding.0).is_err()
    {
        return Err(PeerAuthError::NotBound(c.device_id));
    }
    Ok(c.clone())
}

/// Why a frame header was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("frame of {0} bytes is larger than the {MAX_FRAME} allowed")]
pub struct FrameTooLarge(pub usize);

/// `payload` with its length prefix.
#[must_use]
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frames are bounded far below 4 GiB");
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload length a frame header announces, if acceptable.
pub fn frame_len(header: [u8; 4]) -> Result<usize, FrameTooLarge> {
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(FrameTooLarge(len));
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        tenant: DeviceKey,
        tenant_id: Uuid,
        location_id: Uuid,
    }

    impl World {
        fn new() -> Self {
            Self {
                tenant: DeviceKey::from_seed(&[1; 32]).unwrap(),
                tenant_id: Uuid::from_bytes([2; 16]),
                location_id: Uuid::from_bytes([3; 16]),
            }
        }

        fn device(&self, seed: u8, location: Uuid) -> (DeviceKey, Credential, Signature) {
            let key = DeviceKey::from_seed(&[seed; 32]).unwrap();
            let credential = Credential {
                device_id: DeviceId([seed; 16]),
                tenant_id: self.tenant_id,
                location_id: location,
                role: DeviceRole::Kds,
                public_key: key.public_key(),
                expires_at_ms: 10_000,
            };
            let signature = self.tenant.sign_credential(&credential);
            (key, credential, signature)
        }

        fn expect(&self, now_ms: u64) -> Expect {
            Expect {
                tenant_key: self.tenant.public_key(),
                tenant_id: self.tenant_id,
                location_id: self.location_id,
                now_ms,
            }
        }
    }

    const SESSION: [u8; 32] = [7; 32];

    #[test]
    fn a_bound_hello_of_our_store_passes_and_round_trips() {
        let w = World::new();
        let (key, credential, signature) = w.device(5, w.location_id);
        let hello = PeerHello::new(&key, credential.clone(), signature, &SESSION, Side::Client);
        let bytes = hello.encode();
        assert_eq!(bytes.len(), HELLO_LEN);
        let decoded = PeerHello::decode(&bytes).unwrap();
        assert_eq!(decoded, hello);
        assert_eq!(verify_hello(&decoded, &w.expect(1), &SESSION, Side::Client), Ok(credential));
    }

    #[test]
    fn every_mismatch_is_refused_with_its_reason() {
        let w = World::new();
        let (key, credential, signature) = w.device(5, w.location_id);
        let id = credential.device_id;
        let hello = PeerHello::new(&key, credential.clone(), signature, &SESSION, Side::Client);
        let expect = w.expect(1);
        // Another session, or our own hello reflected back.
        assert_eq!(
            verify_hello(&hello, &expect, &[8; 32], Side::Client),
            Err(PeerAuthError::NotBound(id))
        );
        assert_eq!(
            verify_hello(&hello, &expect, &SESSION, Side::Server),
            Err(PeerAuthError::NotBound(id))
        );
        // A copied credential presented by a device that does not hold its key.
        let thief = DeviceKey::from_seed(&[6; 32]).unwrap();
        let stolen = PeerHello::new(&thief, credential.clone(), signature, &SESSION, Side::Client);
        assert_eq!(
            verify_hello(&stolen, &expect, &SESSION, Side::Client),
            Err(PeerAuthError::NotBound(id))
        );
        // Expired.
        assert_eq!(
            verify_hello(&hello, &w.expect(10_000), &SESSION, Side::Client),
            Err(PeerAuthError::Expired(id, 10_000))
        );
        // Another store of the tenant.
        let (key2, elsewhere, sig2) = w.device(9, Uuid::from_bytes([4; 16]));
        let hello2 = PeerHello::new(&key2, elsewhere.clone(), sig2, &SESSION, Side::Client);
        assert_eq!(
            verify_hello(&hello2, &expect, &SESSION, Side::Client),
            Err(PeerAuthError::OtherLocation(elsewhere.device_id))
        );
        // Another tenant's key, or an edited credential.
        let other = DeviceKey::from_seed(&[11; 32]).unwrap();
        let forged = PeerHello::new(
            &key,
            credential.clone(),
            other.sign_credential(&credential),
            &SESSION,
            Side::Client,
        );
        assert_eq!(
            verify_hello(&forged, &expect, &SESSION, Side::Client),
            Err(PeerAuthError::NotOurTenant(id))
        );
        let mut edited = hello.clone();
        edited.credential.role = DeviceRole::Pos;
        assert_eq!(
            verify_hello(&edited, &expect, &SESSION, Side::Client),
            Err(PeerAuthError::NotOurTenant(id))
        );
    }

    #[test]
    fn malformed_hellos_and_frames_are_refused() {
        assert_eq!(PeerHello::decode(&[0; 10]), Err(PeerAuthError::Malformed("wrong length")));
        assert_eq!(
            PeerHello::decode(&[0; HELLO_LEN]),
            Err(PeerAuthError::Malformed("not a credential"))
        );
        let frame = encode_frame(b"abc");
        assert_eq!(frame, [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(frame_len(frame[..4].try_into().unwrap()), Ok(3));
        assert_eq!(frame_len(u32::MAX.to_be_bytes()), Err(FrameTooLarge(u32::MAX as usize)));
    }
}
