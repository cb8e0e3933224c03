//! Lowercase hex for identifiers, hashes, keys and debug payloads.
//!
//! A few dozen lines instead of a dependency: the crate needs encoding, decoding into a
//! caller-sized buffer and a serde adapter, nothing more. Decoding accepts either case
//! (people paste hashes from everywhere); encoding always produces lowercase so that
//! the string form of a value is unique.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::de;

use crate::ids::ParseIdError;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

fn pair(byte: u8) -> [char; 2] {
    [char::from(DIGITS[usize::from(byte >> 4)]), char::from(DIGITS[usize::from(byte & 0x0f)])]
}

/// Writes `bytes` as lowercase hex.
pub(crate) fn write(f: &mut impl fmt::Write, bytes: &[u8]) -> fmt::Result {
    for &byte in bytes {
        for c in pair(byte) {
            f.write_char(c)?;
        }
    }
    Ok(())
}

/// Returns `bytes` as a lowercase hex string.
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|&b| pair(b)).collect()
}

/// Decodes the hex digit at byte index `index` of `s`.
fn digit(s: &str, index: usize) -> Result<u8, ParseIdError> {
    let invalid = || ParseIdError::InvalidChar {
        index,
        // The first offending byte is always on a char boundary: everything before it is
        // ASCII. `get` keeps this panic-free regardless.
        found: s.get(index..).and_then(|rest| rest.chars().next()).unwrap_or('\u{fffd}'),
    };
    match *s.as_bytes().get(index).ok_or_else(invalid)? {
        b @ b'0'..=b'9' => Ok(b - b'0'),
        b @ b'a'..=b'f' => Ok(b - b'a' + 10),
        b @ b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err(invalid()),
    }
}

/// Decodes `2 * out.len()` hex digits of `s`, starting at byte index `start`, into `out`.
/// Errors report indices into the whole of `s`.
pub(crate) fn decode_at(s: &str, start: usize, out: &mut [u8]) -> Result<(), ParseIdError> {
    for (i, slot) in out.iter_mut().enumerate() {
        let at = start + 2 * i;
        *slot = (digit(s, at)? << 4) | digit(s, at + 1)?;
    }
    Ok(())
}

/// Decodes `s`, which must be exactly `2 * out.len()` hex digits, into `out`.
pub(crate) fn decode_exact(s: &str, out: &mut [u8]) -> Result<(), ParseIdError> {
    let expected = 2 * out.len();
    if s.len() != expected {
        return Err(ParseIdError::Length { expected, found: s.len() });
    }
    decode_at(s, 0, out)
}

/// Serde visitor that parses a string through [`FromStr`], so every string-encoded type
/// in the crate deserializes exactly like it parses.
pub(crate) struct FromStrVisitor<T> {
    expecting: &'static str,
    target: PhantomData<fn() -> T>,
}

impl<T> FromStrVisitor<T> {
    pub(crate) const fn new(expecting: &'static str) -> Self {
        Self { expecting, target: PhantomData }
    }
}

impl<T> de::Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

/// Display, Debug, `FromStr` and string serde for a newtype over a byte array, all as
/// lowercase hex. Debug is the bare hex too: these values show up inside `Event` and
/// `Checkpoint` debug output, where `Hash32([12, 250, ...])` would be unreadable.
macro_rules! hex_newtype {
    ($name:ident, $expecting:literal) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                $crate::hex::write(f, &self.0)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ids::ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let mut bytes = [0; ::std::mem::size_of::<Self>()];
                $crate::hex::decode_exact(s, &mut bytes)?;
                Ok(Self(bytes))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                deserializer.deserialize_str($crate::hex::FromStrVisitor::new($expecting))
            }
        }
    };
}

pub(crate) use hex_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lowercase_and_decodes_either_case() {
        assert_eq!(encode(&[0x00, 0xab, 0xff, 0x10]), "00abff10");
        let mut out = [0; 4];
        decode_exact("00ABff10", &mut out).unwrap();
        assert_eq!(out, [0x00, 0xab, 0xff, 0x10]);
    }

    #[test]
    fn reports_length_and_bad_characters() {
        let mut out = [0; 2];
        assert_eq!(
            decode_exact("abc", &mut out),
            Err(ParseIdError::Length { expected: 4, found: 3 })
        );
        assert_eq!(
            decode_exact("ab0g", &mut out),
            Err(ParseIdError::InvalidChar { index: 3, found: 'g' })
        );
        // A multi-byte character is reported whole, not as a stray byte.
        let mut one = [0; 1];
        assert_eq!(
            decode_exact("é", &mut one),
            Err(ParseIdError::InvalidChar { index: 0, found: 'é' })
        );
    }
}
