//! Identifiers: devices, hashes and events.
//!
//! Each has one string form, used for display, logs and JSON: a device is a hyphenated
//! lowercase UUID, a hash is 64 lowercase hex digits. Binary encodings (canonical bytes,
//! batches, signed messages) always use the raw bytes instead.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::hex;

/// Why a string is not a valid [`DeviceId`], [`Hash32`], key or signature.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// The string has the wrong length.
    #[error("expected {expected} characters, got {found} bytes")]
    Length {
        /// Required length in ASCII characters.
        expected: usize,
        /// Length of the input in bytes.
        found: usize,
    },
    /// A character that should be a hex digit is not one.
    #[error("expected a hex digit at index {index}, found {found:?}")]
    InvalidChar {
        /// Byte index of the character in the input.
        index: usize,
        /// The offending character.
        found: char,
    },
    /// A UUID lacks a hyphen where the 8-4-4-4-12 form puts one.
    #[error("expected '-' at index {index} of the UUID")]
    MissingHyphen {
        /// Byte index where the hyphen belongs.
        index: usize,
    },
}

/// A device's identity: the 16 bytes of a UUID (version 7 in practice, so ids sort by
/// creation time).
///
/// Its string form is the hyphenated lowercase UUID, e.g.
/// `0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f`; parsing also accepts uppercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId(pub [u8; 16]);

/// Byte ranges of the five UUID groups, and where each group starts in the string form.
const UUID_GROUPS: [(std::ops::Range<usize>, usize); 5] =
    [(0..4, 0), (4..6, 9), (6..8, 14), (8..10, 19), (10..16, 24)];
const UUID_LEN: usize = 36;

impl DeviceId {
    /// Wraps raw UUID bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The raw UUID bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (bytes, _)) in UUID_GROUPS.into_iter().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            hex::write(f, &self.0[bytes])?;
        }
        Ok(())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for DeviceId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, ParseIdError> {
        if s.len() != UUID_LEN {
            return Err(ParseIdError::Length { expected: UUID_LEN, found: s.len() });
        }
        // Hyphens sit right before groups 2..=5.
        for (_, start) in &UUID_GROUPS[1..] {
            let index = start - 1;
            if s.as_bytes().get(index) != Some(&b'-') {
                return Err(ParseIdError::MissingHyphen { index });
            }
        }
        let mut bytes = [0; 16];
        for (range, start) in UUID_GROUPS {
            hex::decode_at(s, start, &mut bytes[range])?;
        }
        Ok(Self(bytes))
    }
}

impl Serialize for DeviceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(hex::FromStrVisitor::new("a hyphenated UUID string"))
    }
}

/// A SHA-256 digest: an event hash or a chain link.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// All zeros: the `prev_hash` of a device's first event, which has no predecessor.
    pub const ZERO: Hash32 = Hash32([0; 32]);
}

hex::hex_newtype!(Hash32, "a SHA-256 hash as 64 hex digits");

/// Globally unique name of an event: the device that wrote it and its position in that
/// device's chain. Displayed as `<device>/<seq>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId {
    /// The device that wrote the event.
    pub device_id: DeviceId,
    /// The event's position in that device's chain, starting at 1.
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.device_id, self.seq)
    }
}

/// The id of one of a tenant's hub-signed logs other than its reference log (which is the
/// tenant id itself): SHA-256 of `label`, the tenant and, for a log of one device or one
/// location, that device's or location's id, as an RFC 9562 version-8 UUID. It never
/// collides with an enrolled device (UUIDv7) or the reference log, and needs no table: hub
/// and terminals derive it alike.
#[must_use]
pub fn tenant_log(label: &[u8], tenant: uuid::Uuid, scope: Option<[u8; 16]>) -> DeviceId {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(label);
    ctx.update(tenant.as_bytes());
    if let Some(scope) = scope {
        ctx.update(&scope);
    }
    let digest = ctx.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    DeviceId::from_bytes(bytes)
}

/// A location's staff log: the hub-signed log that carries the records (names, roles, PIN
/// hashes) of the staff who work at `location` of `tenant`. The store terminals of that
/// location pull it; no other device gets it.
#[must_use]
pub fn staff_log(tenant: uuid::Uuid, location: uuid::Uuid) -> DeviceId {
    tenant_log(b"thorbis-edge location staff log\0", tenant, Some(*location.as_bytes()))
}

/// A technician's dispatch log: the hub-signed log that carries the work orders assigned to
/// `technician` of `tenant` (and the news that one moved on). Only that device pulls it.
#[must_use]
pub fn dispatch_log(tenant: uuid::Uuid, technician: DeviceId) -> DeviceId {
    tenant_log(b"thorbis-edge dispatch log\0", tenant, Some(technician.0))
}

/// The tenant-wide staff log of earlier versions, which carried the staff of every
/// location. [`staff_log`] replaced it: replicas that still hold it send it to no one, and
/// the hub takes it relayed back as its own.
#[must_use]
pub fn retired_staff_log(tenant: uuid::Uuid) -> DeviceId {
    tenant_log(b"thorbis-edge staff log\0", tenant, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f";
    const BYTES: [u8; 16] = [
        0x01, 0x90, 0xc3, 0xa2, 0x7b, 0x1e, 0x7c, 0x4d, 0x8e, 0x9f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e,
        0x5f,
    ];

    #[test]
    fn device_id_string_form() {
        let id = DeviceId::from_bytes(BYTES);
        assert_eq!(id.to_string(), UUID);
        assert_eq!(format!("{id:?}"), UUID);
        assert_eq!(UUID.parse::<DeviceId>(), Ok(id));
        assert_eq!(UUID.to_uppercase().parse::<DeviceId>(), Ok(id));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{UUID}\""));
        assert_eq!(serde_json::from_str::<DeviceId>(&format!("\"{UUID}\"")).unwrap(), id);
    }

    #[test]
    fn device_id_rejects_malformed_strings() {
        assert_eq!(
            "0190c3a27b1e7c4d8e9f0a1b2c3d4e5f".parse::<DeviceId>(),
            Err(ParseIdError::Length { expected: 36, found: 32 })
        );
        assert_eq!(
            "0190c3a2-7b1e-7c4d-8e9f_0a1b2c3d4e5f".parse::<DeviceId>(),
            Err(ParseIdError::MissingHyphen { index: 23 })
        );
        assert_eq!(
            "0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5z".parse::<DeviceId>(),
            Err(ParseIdError::InvalidChar { index: 35, found: 'z' })
        );
        assert!(serde_json::from_str::<DeviceId>("\"nope\"").is_err());
    }

    #[test]
    fn hash_string_form() {
        let mut bytes = [0; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let hash = Hash32(bytes);
        let hex = format!("ab{}01", "0".repeat(60));
        assert_eq!(hash.to_string(), hex);
        assert_eq!(format!("{hash:?}"), hex);
        assert_eq!(hex.parse::<Hash32>(), Ok(hash));
        assert_eq!(serde_json::to_string(&hash).unwrap(), format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<Hash32>(&format!("\"{hex}\"")).unwrap(), hash);
        assert_eq!(Hash32::ZERO.to_string(), "0".repeat(64));
    }

    #[test]
    fn event_id_display() {
        let id = EventId { device_id: DeviceId(BYTES), seq: 7 };
        assert_eq!(id.to_string(), format!("{UUID}/7"));
    }
}
