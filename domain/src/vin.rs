//! Vehicle identification numbers (ISO 3779), checked as North America requires: 17
//! characters, digits and capital letters but I, O and Q, and the ninth a check digit
//! computed from the others (49 CFR 565). A VIN typed with lower-case letters or spaces
//! around it is read as its canonical form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A checked VIN, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vin(String);

/// Why a VIN was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    /// Not 17 characters.
    #[error("a VIN has 17 characters, not {0}")]
    Length(usize),
    /// A character no VIN uses (I, O and Q are never used, to avoid reading them as 1 and 0).
    #[error("a VIN has no {0:?}")]
    Character(char),
    /// The ninth character does not match the others: a typing slip somewhere.
    #[error(
        "the VIN's check digit is {found}, but its other characters give {expected}: check for a typing slip"
    )]
    CheckDigit { expected: char, found: char },
}

impl Vin {
    /// Checks `text` (trimmed, any case).
    pub fn parse(text: &str) -> Result<Vin, VinError> {
        let vin = text.trim().to_ascii_uppercase();
        let count = vin.chars().count();
        if count != 17 {
            return Err(VinError::Length(count));
        }
        let mut sum = 0;
        for (c, weight) in vin.chars().zip(WEIGHTS) {
            sum += value(c).ok_or(VinError::Character(c))? * weight;
        }
        let expected = match sum % 11 {
            10 => 'X',
            d => char::from_digit(d, 10).unwrap_or('?'),
        };
        let found = vin.chars().nth(8).unwrap_or('?');
        if found != expected {
            return Err(VinError::CheckDigit { expected, found });
        }
        Ok(Vin(vin))
    }

    /// The VIN's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Each position's weight in the check digit's sum (the ninth, the check digit itself, 0).
const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/// A character's value in the sum; `None` for a character no VIN uses.
fn value(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c.to_digit(10)?,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    })
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Vin {
    type Error = VinError;
    fn try_from(text: String) -> Result<Self, VinError> {
        Vin::parse(&text)
    }
}

impl From<Vin> for String {
    fn from(vin: Vin) -> String {
        vin.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_vins_pass_and_slips_are_caught() {
        // The check digit may be X.
        assert_eq!(Vin::parse("1M8GDM9AXKP042788").unwrap().as_str(), "1M8GDM9AXKP042788");
        assert_eq!(Vin::parse(" 1m8gdm9axkp042788 ").unwrap().as_str(), "1M8GDM9AXKP042788");
        assert_eq!(Vin::parse("11111111111111111").unwrap().to_string(), "11111111111111111");
        assert_eq!(Vin::parse("1HGCM82633A004352").unwrap().as_str(), "1HGCM82633A004352");
        // One digit mistyped.
        assert_eq!(
            Vin::parse("1HGCM82633A004353"),
            Err(VinError::CheckDigit { expected: '5', found: '3' })
        );
        assert_eq!(Vin::parse("1HGCM82633A00435"), Err(VinError::Length(16)));
        assert_eq!(Vin::parse("1HGCM8263IA004352"), Err(VinError::Character('I')));
        assert!(serde_json::from_str::<Vin>("\"1HGCM82633A004353\"").is_err());
    }
}
