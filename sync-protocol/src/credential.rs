//! Device credentials: what a tenant vouches for about one of its devices, in a documented
//! byte layout that the tenant's Ed25519 key signs at enrollment.
//!
//! The hub issues them; a device keeps its own and shows it to LAN peers, which verify it
//! offline with the tenant's public key (received at enrollment). The signature covers
//! exactly these bytes (integers big-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 28 | `b"thorbis-device-credential-v1"` (domain separation) |
//! | 16 | device id (UUID bytes) |
//! | 16 | tenant id |
//! | 16 | location id |
//! | 1  | role: 1 POS, 2 KDS, 3 register, 4 technician |
//! | 32 | the device's Ed25519 public key |
//! | 8  | expiry, Unix milliseconds (u64) |

use ring::signature::{ED25519, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DeviceId, PublicKey, Signature};

/// Domain prefix of credential signatures.
pub const CREDENTIAL_DOMAIN: &[u8] = b"thorbis-device-credential-v1";

/// What a device is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// Point of sale.
    Pos,
    /// Kitchen display.
    Kds,
    /// Retail register.
    Register,
    /// Field technician's laptop.
    Technician,
}

impl DeviceRole {
    /// Every role, in a stable order.
    pub const ALL: [DeviceRole; 4] =
        [DeviceRole::Pos, DeviceRole::Kds, DeviceRole::Register, DeviceRole::Technician];

    /// The name stored in databases and used in JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Pos => "pos",
            DeviceRole::Kds => "kds",
            DeviceRole::Register => "register",
            DeviceRole::Technician => "technician",
        }
    }

    /// Parses [`DeviceRole::as_str`]'s output.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The credential layout's role byte.
    #[must_use]
    pub fn byte(self) -> u8 {
        match self {
            DeviceRole::Pos => 1,
            DeviceRole::Kds => 2,
            DeviceRole::Register => 3,
            DeviceRole::Technician => 4,
        }
    }
}

/// What the tenant vouches for about a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// The device.
    pub device_id: DeviceId,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Its location.
    pub location_id: Uuid,
    /// Its role.
    pub role: DeviceRole,
    /// Its Ed25519 public key, generated on the device.
    pub public_key: PublicKey,
    /// When the credential stops being valid, Unix milliseconds.
    pub expires_at_ms: u64,
}

impl Credential {
    /// The signed bytes, laid out as in the module docs.
    #[must_use]
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CREDENTIAL_DOMAIN.len() + 16 * 3 + 1 + 32 + 8);
        out.extend_from_slice(CREDENTIAL_DOMAIN);
        out.extend_from_slice(self.device_id.as_bytes());
        out.extend_from_slice(self.tenant_id.as_bytes());
        out.extend_from_slice(self.location_id.as_bytes());
        out.push(self.role.byte());
        out.extend_from_slice(&self.public_key.0);
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        out
    }

    /// Whether `signature` is the tenant's (`tenant_key`) over this credential. Expiry is
    /// the caller's to check against its own clock.
    #[must_use]
    pub fn verify(&self, tenant_key: &PublicKey, signature: &Signature) -> bool {
        UnparsedPublicKey::new(&ED25519, &tenant_key.0)
            .verify(&self.canonical_bytes(), &signature.0)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceKey;

    #[test]
    fn layout_and_signature() {
        let tenant = DeviceKey::from_seed(&[9; 32]).unwrap();
        let credential = Credential {
            device_id: DeviceId([1; 16]),
            tenant_id: Uuid::from_bytes([2; 16]),
            location_id: Uuid::from_bytes([3; 16]),
            role: DeviceRole::Kds,
            public_key: PublicKey([4; 32]),
            expires_at_ms: 0x0102,
        };
        let bytes = credential.canonical_bytes();
        assert_eq!(bytes.len(), 28 + 48 + 1 + 32 + 8);
        assert_eq!(&bytes[..28], CREDENTIAL_DOMAIN);
        assert_eq!(bytes[28 + 48], 2);
        assert_eq!(&bytes[bytes.len() - 2..], &[1, 2]);
        let signature = tenant.sign_credential(&credential);
        assert!(credential.verify(&tenant.public_key(), &signature));
        let mut other = credential.clone();
        other.role = DeviceRole::Pos;
        assert!(!other.verify(&tenant.public_key(), &signature));
        assert!(!credential.verify(&PublicKey([4; 32]), &signature));
    }

    #[test]
    fn roles_round_trip() {
        for role in DeviceRole::ALL {
            assert_eq!(DeviceRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(DeviceRole::parse("toaster"), None);
    }
}
