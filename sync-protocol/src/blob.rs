//! Content-addressed blobs: photos, drawn signatures and files that documents refer to by
//! the SHA-256 of their bytes, and how they travel between a device and the hub.
//!
//! Blobs never ride in events: an event carries a [`BlobId`] (inside a work order's
//! document) and the bytes follow separately, lazily and resumably, over
//! `/api/v1/blobs/{id}` (see the hub's `http/blobs.rs`). Whoever receives bytes recomputes
//! their hash before keeping them, so a blob is verified by its name alone, whoever relayed it.
//!
//! The upload is resumable by offset: the device asks what the hub holds
//! (`GET .../upload`: `{"received": n, "complete": bool}`) and sends the rest in chunks of
//! at most [`BLOB_CHUNK_BYTES`] (`POST .../upload/{offset}`), each a signed request. A
//! download asks for what it lacks with `GET /api/v1/blobs/{id}/from/{offset}`.

use std::fmt;
use std::str::FromStr;

use crate::ids::{Hash32, ParseIdError};

/// The largest chunk one upload request carries; a download answer is cut the same way.
pub const BLOB_CHUNK_BYTES: usize = 512 * 1024;

/// A blob's name: the SHA-256 of its bytes, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(pub Hash32);

impl BlobId {
    /// The id of `bytes`.
    #[must_use]
    pub fn of(bytes: &[u8]) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut out = [0; 32];
        out.copy_from_slice(digest.as_ref());
        Self(Hash32(out))
    }

    /// Whether `bytes` are this blob's.
    #[must_use]
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Self::of(bytes) == *self
    }

    /// The path of the blob at the hub.
    #[must_use]
    pub fn path(&self) -> String {
        format!("/api/v1/blobs/{self}")
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

/// Parses the canonical form only (lowercase), so one blob has one name: an id is a key in
/// documents and file systems, where two spellings would be two entries.
impl FromStr for BlobId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hash: Hash32 = s.parse()?;
        if let Some(index) = s.find(|c: char| c.is_ascii_uppercase()) {
            let found = s[index..].chars().next().unwrap_or('?');
            return Err(ParseIdError::InvalidChar { index, found });
        }
        Ok(Self(hash))
    }
}

impl serde::Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BlobId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_named_by_its_hash_in_one_spelling() {
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        let id = BlobId::of(b"abc");
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(id.to_string(), hex);
        assert_eq!(hex.parse::<BlobId>(), Ok(id));
        assert!(hex.to_uppercase().parse::<BlobId>().is_err(), "one spelling only");
        assert!(id.matches(b"abc"));
        assert!(!id.matches(b"abd"));
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{hex}\""));
        assert_eq!(id.path(), format!("/api/v1/blobs/{hex}"));
    }
}
