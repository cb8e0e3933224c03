//! Event kinds: opaque, validated names such as `order.line_added`.
//!
//! The character set is deliberately narrow (lowercase ASCII, digits, `.`, `_`, `-`) so a
//! kind is safe to use in file names, metric labels and log lines without escaping, and
//! so that two spellings can never name the same thing.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::EventError;

/// Longest accepted event kind, in bytes.
pub const MAX_KIND_LEN: usize = 64;

/// The name of what an event records, e.g. `order.line_added`.
///
/// Validated to 1..=64 bytes of ASCII `[a-z0-9._-]` and otherwise opaque: this crate
/// neither knows nor cares which kinds exist. Serializes as the plain string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventKind(String);

fn check_kind(bytes: &[u8]) -> Result<(), EventError> {
    if !(1..=MAX_KIND_LEN).contains(&bytes.len()) {
        return Err(EventError::KindLength { len: bytes.len() });
    }
    let allowed = |b: &u8| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-');
    match bytes.iter().position(|b| !allowed(b)) {
        Some(index) => Err(EventError::KindByte { index, byte: bytes[index] }),
        None => Ok(()),
    }
}

impl EventKind {
    /// Validates `kind`.
    pub fn new(kind: impl Into<String>) -> Result<Self, EventError> {
        let kind = kind.into();
        check_kind(kind.as_bytes())?;
        Ok(Self(kind))
    }

    /// Validates raw bytes from the wire.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, EventError> {
        check_kind(bytes)?;
        // Validated as ASCII, so byte-to-char is exact.
        Ok(Self(bytes.iter().copied().map(char::from).collect()))
    }

    /// The kind as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for EventKind {
    type Error = EventError;

    fn try_from(kind: String) -> Result<Self, EventError> {
        Self::new(kind)
    }
}

impl From<EventKind> for String {
    fn from(kind: EventKind) -> String {
        kind.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_validation() {
        assert_eq!(EventKind::new("order.line_added").unwrap().as_str(), "order.line_added");
        assert_eq!(EventKind::new("a-b_c.9").unwrap().to_string(), "a-b_c.9");
        assert_eq!(EventKind::new(""), Err(EventError::KindLength { len: 0 }));
        assert!(EventKind::new("x".repeat(64)).is_ok());
        assert_eq!(EventKind::new("x".repeat(65)), Err(EventError::KindLength { len: 65 }));
        assert_eq!(EventKind::new("Order"), Err(EventError::KindByte { index: 0, byte: b'O' }));
        assert_eq!(EventKind::new("a b"), Err(EventError::KindByte { index: 1, byte: b' ' }));
        assert_eq!(EventKind::new("é"), Err(EventError::KindByte { index: 0, byte: 0xc3 }));
    }

    #[test]
    fn kind_serde_validates() {
        let kind: EventKind = serde_json::from_str("\"sale.closed\"").unwrap();
        assert_eq!(serde_json::to_string(&kind).unwrap(), "\"sale.closed\"");
        assert!(serde_json::from_str::<EventKind>("\"Sale\"").is_err());
    }
}
