//! Variable-measure EAN-13: the price or weight printed into a barcode by a scale.
//!
//! Deli and produce scales print EAN-13 labels whose prefix `20`–`29` (GS1's "restricted
//! circulation" range) says "this is not a global product": the digits after the prefix hold
//! a store item code and the price or the weight. How many digits each takes, whether a price
//! check digit sits in between, and what unit the value is in differ by country and scale
//! vendor, so each store configures its layouts: this module only applies them.
//!
//! ```text
//!  2 0 | 1 2 3 4 5 | 0 1 2 5 0 | 7       item 12345, value 01250, no price check digit
//!  2 1 | 1 2 3 4   | 9 | 2 8 7 5 | 7     item 1234, price check 9, value 2875
//!  pfx   item        [pcd] value   EAN check digit
//! ```
//!
//! US UPC-A random-weight labels (number system 2) arrive from scanners as 13 digits with a
//! leading `0`; configure them with prefix `"02"`.

use serde::{Deserialize, Serialize};

use crate::gtin;

/// What the value digits hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// The price to pay, in minor units times `scale`.
    Price,
    /// The net weight, in grams times `scale`.
    Weight,
}

/// What to do with a price check digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceCheck {
    /// The layout has no price check digit.
    Absent,
    /// There is one, but it is not checked (scale vendors weight it differently; the EAN
    /// check digit still protects the whole code).
    Ignore,
    /// There is one, computed as the GS1 specification says, and it must match.
    Verify,
}

/// One layout of a variable-measure code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableMeasureLayout {
    /// The two-digit prefixes this layout applies to (`["20", "21"]`).
    pub prefixes: Vec<String>,
    /// Digits of the item code after the prefix.
    pub item_digits: u8,
    /// Price check digit between item and value.
    pub price_check: PriceCheck,
    /// Digits of the value.
    pub value_digits: u8,
    /// Price or weight.
    pub value: ValueKind,
    /// Multiplier from the value digits to minor units or grams (10 if the scale prints
    /// weight in tens of grams). Defaults to 1.
    #[serde(default = "one")]
    pub scale: i64,
}

fn one() -> i64 {
    1
}

/// A store's variable-measure layouts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableMeasureConfig {
    /// The layouts; the first whose prefixes match is used.
    pub layouts: Vec<VariableMeasureLayout>,
}

/// The value read from a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Measure {
    /// A price in minor units.
    Price {
        /// Minor units.
        minor: i64,
    },
    /// A weight in grams.
    Weight {
        /// Grams.
        grams: i64,
    },
}

/// A decoded variable-measure code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableMeasure {
    /// The two-digit prefix.
    pub prefix: String,
    /// The store item code.
    pub item_code: String,
    /// The price or weight.
    pub measure: Measure,
    /// The code with the value (and price check digit) zeroed and the EAN check digit
    /// recomputed: the key under which the catalog lists the item.
    pub catalog_code: String,
}

/// Why a code or a layout was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableMeasureError {
    /// Not 12 or 13 digits.
    #[error("not an EAN-13 or UPC-A code")]
    NotEan13,
    /// The EAN check digit is wrong.
    #[error("EAN check digit is wrong")]
    CheckDigit,
    /// The price check digit is wrong (layout says `verify`).
    #[error("price check digit is wrong")]
    PriceCheckDigit,
    /// A layout that cannot describe an EAN-13.
    #[error("invalid variable-measure layout: {0}")]
    InvalidLayout(&'static str),
}

impl VariableMeasureLayout {
    fn validate(&self) -> Result<(), VariableMeasureError> {
        let pcd = usize::from(self.price_check != PriceCheck::Absent);
        let total = 2 + usize::from(self.item_digits) + pcd + usize::from(self.value_digits) + 1;
        if total != 13 {
            return Err(VariableMeasureError::InvalidLayout(
                "prefix, item, price check, value and check digit must make 13 digits",
            ));
        }
        if pcd == 1 && !matches!(self.value_digits, 4 | 5) {
            return Err(VariableMeasureError::InvalidLayout(
                "a price check digit needs a 4- or 5-digit value",
            ));
        }
        if self.prefixes.is_empty()
            || self.prefixes.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(VariableMeasureError::InvalidLayout("prefixes must be two digits each"));
        }
        if self.scale < 1 {
            return Err(VariableMeasureError::InvalidLayout("scale must be at least 1"));
        }
        Ok(())
    }
}

impl VariableMeasureConfig {
    /// Checks every layout.
    pub fn validate(&self) -> Result<(), VariableMeasureError> {
        self.layouts.iter().try_for_each(VariableMeasureLayout::validate)
    }

    /// Decodes `code` (13 digits, or 12 for UPC-A). `Ok(None)` when no layout claims its
    /// prefix, so it is an ordinary GTIN.
    pub fn decode(&self, code: &str) -> Result<Option<VariableMeasure>, VariableMeasureError> {
        let code = match code.len() {
            12 => format!("0{code}"),
            13 => code.to_owned(),
            _ => return Err(VariableMeasureError::NotEan13),
        };
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VariableMeasureError::NotEan13);
        }
        if !gtin::is_valid(&code) {
            return Err(VariableMeasureError::CheckDigit);
        }
        let prefix = &code[..2];
        let Some(layout) = self.layouts.iter().find(|l| l.prefixes.iter().any(|p| p == prefix))
        else {
            return Ok(None);
        };
        layout.validate()?;
        let item_end = 2 + usize::from(layout.item_digits);
        let value_start = item_end + usize::from(layout.price_check != PriceCheck::Absent);
        let value_end = value_start + usize::from(layout.value_digits);
        let value = &code[value_start..value_end];
        if layout.price_check == PriceCheck::Verify {
            let expected = gtin::price_check_digit(value.as_bytes());
            if expected != Some(code.as_bytes()[item_end] - b'0') {
                return Err(VariableMeasureError::PriceCheckDigit);
            }
        }
        let amount: i64 = value.parse().map_err(|_| VariableMeasureError::NotEan13)?;
        let amount = amount * layout.scale;
        let measure = match layout.value {
            ValueKind::Price => Measure::Price { minor: amount },
            ValueKind::Weight => Measure::Weight { grams: amount },
        };
        let mut catalog = code.as_bytes()[..12].to_vec();
        for b in &mut catalog[item_end..value_end] {
            *b = b'0';
        }
        let check = gtin::check_digit(&catalog).expect("digits only");
        catalog.push(b'0' + check);
        Ok(Some(VariableMeasure {
            prefix: prefix.to_owned(),
            item_code: code[2..item_end].to_owned(),
            measure,
            catalog_code: String::from_utf8(catalog).expect("ASCII digits"),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends the EAN check digit.
    fn ean(body: &str) -> String {
        format!("{body}{}", gtin::check_digit(body.as_bytes()).unwrap())
    }

    fn config() -> VariableMeasureConfig {
        VariableMeasureConfig {
            layouts: vec![
                // 20, 22: item 5, price 5 in cents, no price check digit (common in Europe).
                VariableMeasureLayout {
                    prefixes: vec!["20".into(), "22".into()],
                    item_digits: 5,
                    price_check: PriceCheck::Absent,
                    value_digits: 5,
                    value: ValueKind::Price,
                    scale: 1,
                },
                // 21: item 4, verified price check digit, price 5.
                VariableMeasureLayout {
                    prefixes: vec!["21".into()],
                    item_digits: 4,
                    price_check: PriceCheck::Verify,
                    value_digits: 5,
                    value: ValueKind::Price,
                    scale: 1,
                },
                // 23: item 5, weight in grams, 5 digits.
                VariableMeasureLayout {
                    prefixes: vec!["23".into()],
                    item_digits: 5,
                    price_check: PriceCheck::Absent,
                    value_digits: 5,
                    value: ValueKind::Weight,
                    scale: 1,
                },
                // 02 (US UPC-A number system 2): item 5, ignored price check, price 4.
                VariableMeasureLayout {
                    prefixes: vec!["02".into()],
                    item_digits: 5,
                    price_check: PriceCheck::Ignore,
                    value_digits: 4,
                    value: ValueKind::Price,
                    scale: 1,
                },
            ],
        }
    }

    #[test]
    fn price_embedded_without_price_check() {
        let c = config();
        let code = ean("201234501250");
        let v = c.decode(&code).unwrap().unwrap();
        assert_eq!(v.item_code, "12345");
        assert_eq!(v.measure, Measure::Price { minor: 12_50 });
        assert_eq!(v.catalog_code, ean("201234500000"));
        assert_eq!(v.prefix, "20");
        assert_eq!(c.decode(&ean("221234500099")).unwrap().unwrap().prefix, "22");
    }

    #[test]
    fn verified_price_check_digit() {
        let c = config();
        // Price 14685 has price check digit 6 (GS1's worked example).
        let v = c.decode(&ean("211234614685")).unwrap().unwrap();
        assert_eq!(v.item_code, "1234");
        assert_eq!(v.measure, Measure::Price { minor: 146_85 });
        assert_eq!(v.catalog_code, ean("211234000000"));
        assert_eq!(c.decode(&ean("211234714685")), Err(VariableMeasureError::PriceCheckDigit));
    }

    #[test]
    fn weight_and_upc_a_and_ordinary_gtins() {
        let c = config();
        let v = c.decode(&ean("230042000750")).unwrap().unwrap();
        assert_eq!(v.measure, Measure::Weight { grams: 750 });
        assert_eq!(v.item_code, "00420");
        // A 12-digit UPC-A with number system 2; its price check digit (here a wrong 7) is
        // ignored as configured.
        // (The right one for 0599 is 1.)
        let upc = ean("21234570599");
        assert_eq!(upc.len(), 12);
        let v = c.decode(&upc).unwrap().unwrap();
        assert_eq!(v.measure, Measure::Price { minor: 5_99 });
        assert_eq!(v.item_code, "12345");
        // A normal product: no layout.
        assert_eq!(c.decode("4006381333931"), Ok(None));
        assert_eq!(c.decode("4006381333932"), Err(VariableMeasureError::CheckDigit));
        assert_eq!(c.decode("40063813339"), Err(VariableMeasureError::NotEan13));
        assert_eq!(c.decode("400638133393A"), Err(VariableMeasureError::NotEan13));
    }

    #[test]
    fn layouts_are_validated_and_load_from_json() {
        assert_eq!(config().validate(), Ok(()));
        let json = r#"{"layouts": [{"prefixes": ["28"], "item_digits": 5,
            "price_check": "verify", "value_digits": 4, "value": "weight", "scale": 10}]}"#;
        let c: VariableMeasureConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.validate(), Ok(()));
        // Weight 0125 (×10 g) with its price check digit.
        let pcd = gtin::price_check_digit(b"0125").unwrap();
        let v = c.decode(&ean(&format!("2812345{pcd}0125"))).unwrap().unwrap();
        assert_eq!(v.measure, Measure::Weight { grams: 1250 });
        let mut bad = c.clone();
        bad.layouts[0].value_digits = 5;
        assert!(matches!(bad.validate(), Err(VariableMeasureError::InvalidLayout(_))));
        let mut bad = c.clone();
        bad.layouts[0].item_digits = 3;
        bad.layouts[0].value_digits = 6;
        bad.layouts[0].price_check = PriceCheck::Ignore;
        assert!(matches!(bad.validate(), Err(VariableMeasureError::InvalidLayout(_))));
        let mut bad = c;
        bad.layouts[0].prefixes = vec!["2".into()];
        assert!(matches!(bad.validate(), Err(VariableMeasureError::InvalidLayout(_))));
    }
}
