//! AIM symbology identifiers (ISO/IEC 15424): the `]Cm` a scanner can put before its data.
//!
//! Three characters: `]`, a code character naming the symbology family, a modifier. With
//! them enabled the point of sale knows what was scanned (an EAN-13 on a tin, a GS1-128 on
//! a case, a QR on a phone) without guessing from the data's shape, and `]C1`, `]d2`, `]Q3`,
//! `]e0` say the data is a GS1 element string.

use serde::{Deserialize, Serialize};

/// A parsed `]cm` identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AimId {
    /// The symbology code character (`C`, `E`, `d`, `Q`...).
    pub code: char,
    /// The modifier character (`0`–`9`, `A`–`Z`).
    pub modifier: char,
}

/// What kind of symbol was scanned, from the AIM identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScannedSymbology {
    /// `]E0`: EAN-13, or UPC-A/UPC-E sent as 13 digits.
    Ean13,
    /// `]E4`: EAN-8.
    Ean8,
    /// `]E1`–`]E3`: EAN/UPC with a 2- or 5-digit add-on.
    EanWithAddOn,
    /// `]C0`: Code 128.
    Code128,
    /// `]C1`: GS1-128.
    Gs1_128,
    /// `]A`: Code 39.
    Code39,
    /// `]G`: Code 93.
    Code93,
    /// `]F`: Codabar.
    Codabar,
    /// `]I`: Interleaved 2 of 5 (ITF-14 on cases).
    Itf,
    /// `]e`: GS1 `DataBar` (always GS1 data).
    Gs1DataBar,
    /// `]d1`: Data Matrix.
    DataMatrix,
    /// `]d2`: GS1 Data Matrix.
    Gs1DataMatrix,
    /// `]Q1`: QR code.
    Qr,
    /// `]Q3`: GS1 QR code.
    Gs1Qr,
    /// `]L`: PDF417.
    Pdf417,
    /// `]z`: Aztec.
    Aztec,
    /// Anything else.
    Other,
}

impl AimId {
    /// Parses the first three bytes of `data` if they are an AIM identifier.
    #[must_use]
    pub fn parse(data: &[u8]) -> Option<AimId> {
        match data {
            [b']', code, modifier, ..]
                if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
            {
                Some(AimId { code: char::from(*code), modifier: char::from(*modifier) })
            }
            _ => None,
        }
    }

    /// The symbology.
    #[must_use]
    pub fn symbology(self) -> ScannedSymbology {
        use ScannedSymbology as S;
        match (self.code, self.modifier) {
            ('E', '0') => S::Ean13,
            ('E', '4') => S::Ean8,
            ('E', _) => S::EanWithAddOn,
            ('C', '1') => S::Gs1_128,
            ('C', _) => S::Code128,
            ('A', _) => S::Code39,
            ('G', _) => S::Code93,
            ('F', _) => S::Codabar,
            ('I', _) => S::Itf,
            ('e', _) => S::Gs1DataBar,
            ('d', '2') => S::Gs1DataMatrix,
            ('d', _) => S::DataMatrix,
            ('Q', '3') => S::Gs1Qr,
            ('Q', _) => S::Qr,
            ('L', _) => S::Pdf417,
            ('z', _) => S::Aztec,
            _ => S::Other,
        }
    }

    /// Whether the data is a GS1 element string.
    #[must_use]
    pub fn is_gs1(self) -> bool {
        matches!(
            self.symbology(),
            ScannedSymbology::Gs1_128
                | ScannedSymbology::Gs1DataBar
                | ScannedSymbology::Gs1DataMatrix
                | ScannedSymbology::Gs1Qr
        )
    }
}

impl std::fmt::Display for AimId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "]{}{}", self.code, self.modifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_map_to_symbologies() {
        let id = |s: &str| AimId::parse(s.as_bytes()).unwrap();
        assert_eq!(id("]C1010950").symbology(), ScannedSymbology::Gs1_128);
        assert!(id("]C1").is_gs1());
        assert_eq!(id("]C0").symbology(), ScannedSymbology::Code128);
        assert!(!id("]C0").is_gs1());
        assert_eq!(id("]E0400638133393").symbology(), ScannedSymbology::Ean13);
        assert_eq!(id("]E4").symbology(), ScannedSymbology::Ean8);
        assert_eq!(id("]E3").symbology(), ScannedSymbology::EanWithAddOn);
        assert!(id("]d2").is_gs1() && id("]Q3").is_gs1() && id("]e0").is_gs1());
        assert_eq!(id("]Q1").symbology(), ScannedSymbology::Qr);
        assert_eq!(id("]X0").symbology(), ScannedSymbology::Other);
        assert_eq!(id("]E0").to_string(), "]E0");
        assert_eq!(AimId::parse(b"]E"), None);
        assert_eq!(AimId::parse(b"4006"), None);
        assert_eq!(AimId::parse(b"]1A"), None);
    }
}
