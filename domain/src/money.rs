//! Money and quantities as integers.
//!
//! [`Money`] is an amount in the currency's minor unit (cents, pence); it never holds a
//! float. The currency is carried once by the aggregate that owns the amounts (an order, a
//! drawer session, the catalog) rather than by every amount: mixing currencies inside one
//! order is refused when the order is built, so arithmetic stays plain integer arithmetic.
//!
//! [`Qty`] is a quantity in thousandths of a unit, so that weighed goods (0.375 kg) and
//! counted goods (2 each) share one type.
//!
//! Rounding everywhere in the domain is **half away from zero** on the exact integer
//! quotient ([`div_round`]): 0.5 cent becomes 1 cent and -0.5 cent becomes -1 cent. This is
//! the "commercial" rule most tax authorities that specify one accept, and it is symmetric
//! for refunds.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

/// An amount in minor units of the owning aggregate's currency.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// An amount in minor units.
    #[must_use]
    pub const fn minor(minor: i64) -> Self {
        Self(minor)
    }

    /// The amount in minor units.
    #[must_use]
    pub const fn as_minor(self) -> i64 {
        self.0
    }

    /// True when the amount is below zero.
    #[must_use]
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The smaller of two amounts.
    #[must_use]
    pub fn min(self, other: Money) -> Money {
        Money(self.0.min(other.0))
    }

    /// `self` times a quantity, rounded half away from zero to the minor unit.
    #[must_use]
    pub fn times(self, qty: Qty) -> Money {
        Money(div_round(i128::from(self.0) * i128::from(qty.0), 1000))
    }

    /// `self` scaled by `bps` basis points (1/100 of a percent), rounded half away from zero.
    #[must_use]
    pub fn percent_bps(self, bps: u32) -> Money {
        Money(div_round(i128::from(self.0) * i128::from(bps), 10_000))
    }

    /// Formats the amount with the currency's decimal places: `12.50`, `-0.05`, `1200`.
    ///
    /// Total for every stored value: a currency that fails [`Currency::is_valid`] (an
    /// exponent of 200 in a forged event) still formats, as digits and a point, rather than
    /// overflowing `10^exponent` and taking a screen down.
    #[must_use]
    pub fn format(self, currency: Currency) -> String {
        let exp = usize::from(currency.exponent);
        let sign = if self.0 < 0 { "-" } else { "" };
        let digits = self.0.unsigned_abs().to_string();
        if exp == 0 {
            return format!("{sign}{digits}");
        }
        // Left-pad with zeros so there is at least one digit before the point.
        let padded = format!("{digits:0>width$}", width = exp + 1);
        let (whole, fraction) = padded.split_at(padded.len() - exp);
        format!("{sign}{whole}.{fraction}")
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({})", self.0)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.wrapping_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        *self = *self + rhs;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.wrapping_sub(rhs.0))
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        *self = *self - rhs;
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.wrapping_neg())
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Money> for Money {
    fn sum<I: Iterator<Item = &'a Money>>(iter: I) -> Money {
        iter.copied().sum()
    }
}

/// An ISO 4217 currency: its code and how many decimal places its minor unit has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Currency {
    /// Three upper-case letters, e.g. `USD`.
    pub code: [u8; 3],
    /// Decimal places of the minor unit: 2 for USD and EUR, 0 for JPY.
    pub exponent: u8,
}

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency { code: *b"USD", exponent: 2 };
    /// Euro.
    pub const EUR: Currency = Currency { code: *b"EUR", exponent: 2 };
    /// Pound sterling.
    pub const GBP: Currency = Currency { code: *b"GBP", exponent: 2 };
    /// Japanese yen.
    pub const JPY: Currency = Currency { code: *b"JPY", exponent: 0 };

    /// The most decimal places any ISO 4217 currency has (CLF, UYW).
    pub const MAX_EXPONENT: u8 = 4;

    /// The ISO 4217 currency with `code` (upper or lower case), with its minor unit's
    /// decimals, if `code` is one in circulation (funds and metals codes aside from the
    /// few shops price in are left out).
    #[must_use]
    pub fn iso(code: &str) -> Option<Currency> {
        let code: [u8; 3] = code.trim().to_ascii_uppercase().into_bytes().try_into().ok()?;
        let listed = |list: &str| list.split(' ').any(|c| c.as_bytes() == code);
        let exponent = if listed(ISO_ZERO_DECIMALS) {
            0
        } else if listed(ISO_THREE_DECIMALS) {
            3
        } else if listed(ISO_FOUR_DECIMALS) {
            4
        } else if listed(ISO_TWO_DECIMALS) {
            2
        } else {
            return None;
        };
        Some(Currency { code, exponent })
    }

    /// Whether this can be a real currency: three upper-case ASCII letters and at most
    /// [`Currency::MAX_EXPONENT`] decimals. Anything else came from a bug or a forger.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.code.iter().all(u8::is_ascii_uppercase) && self.exponent <= Self::MAX_EXPONENT
    }

    /// The code as text.
    #[must_use]
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).unwrap_or("???")
    }
}

/// A quantity in thousandths of a unit: `Qty(1000)` is one each, `Qty(375)` is 0.375 kg.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Qty(pub i64);

impl Qty {
    /// Zero.
    pub const ZERO: Qty = Qty(0);
    /// One unit.
    pub const ONE: Qty = Qty(1000);

    /// Whole units.
    #[must_use]
    pub const fn units(n: i64) -> Qty {
        Qty(n * 1000)
    }

    /// Thousandths of a unit (grams when the unit is the kilogram).
    #[must_use]
    pub const fn milli(n: i64) -> Qty {
        Qty(n)
    }

    /// True when the quantity is a whole number of units.
    #[must_use]
    pub const fn is_whole(self) -> bool {
        self.0 % 1000 == 0
    }
}

impl fmt::Display for Qty {
    /// Whole units print bare (`2`), fractions with three decimals (`0.742`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        if abs.is_multiple_of(1000) {
            write!(f, "{sign}{}", abs / 1000)
        } else {
            write!(f, "{sign}{}.{:03}", abs / 1000, abs % 1000)
        }
    }
}

impl fmt::Debug for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Qty({}.{:03})", self.0 / 1000, (self.0 % 1000).abs())
    }
}

impl Add for Qty {
    type Output = Qty;
    fn add(self, rhs: Qty) -> Qty {
        Qty(self.0.wrapping_add(rhs.0))
    }
}

impl AddAssign for Qty {
    fn add_assign(&mut self, rhs: Qty) {
        *self = *self + rhs;
    }
}

impl Sub for Qty {
    type Output = Qty;
    fn sub(self, rhs: Qty) -> Qty {
        Qty(self.0.wrapping_sub(rhs.0))
    }
}

impl Neg for Qty {
    type Output = Qty;
    fn neg(self) -> Qty {
        Qty(self.0.wrapping_neg())
    }
}

/// `n / d` rounded half away from zero. `d` must be positive.
///
/// Results outside `i64` saturate; amounts that large are refused by validation long before
/// they reach arithmetic.
#[must_use]
pub fn div_round(n: i128, d: i128) -> i64 {
    debug_assert!(d > 0, "divisor must be positive");
    let q = n / d;
    let r = n % d;
    let q = if 2 * r.abs() >= d { q + n.signum() } else { q };
    i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX })
}

/// ISO 4217 currencies whose minor unit has two decimals.
const ISO_TWO_DECIMALS: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND \
    BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP \
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR \
    JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR \
    MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR \
    SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS \
    UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";
/// ISO 4217 currencies without a minor unit.
const ISO_ZERO_DECIMALS: &str =
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
/// ISO 4217 currencies whose minor unit has three decimals.
const ISO_THREE_DECIMALS: &str = "BHD IQD JOD KWD LYD OMR TND";
/// ISO 4217 currencies whose minor unit has four decimals.
const ISO_FOUR_DECIMALS: &str = "CLF UYW";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_currencies_carry_their_decimals() {
        assert_eq!(Currency::iso("usd"), Some(Currency::USD));
        assert_eq!(Currency::iso(" JPY "), Some(Currency::JPY));
        assert_eq!(Currency::iso("KWD").map(|c| c.exponent), Some(3));
        assert_eq!(Currency::iso("CLF").map(|c| c.exponent), Some(4));
        for bad in ["", "US", "USDD", "XYZ", "U D", "ÜSD"] {
            assert_eq!(Currency::iso(bad), None, "{bad:?}");
        }
        for list in [ISO_TWO_DECIMALS, ISO_ZERO_DECIMALS, ISO_THREE_DECIMALS, ISO_FOUR_DECIMALS] {
            for code in list.split(' ') {
                let c = Currency::iso(code).unwrap_or_else(|| panic!("{code:?} is not found"));
                assert!(c.is_valid() && c.code() == code, "{code}");
            }
        }
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 10), 1);
        assert_eq!(div_round(4, 10), 0);
        assert_eq!(div_round(-5, 10), -1);
        assert_eq!(div_round(-4, 10), 0);
        assert_eq!(div_round(15, 10), 2);
        assert_eq!(div_round(25, 10), 3);
    }

    #[test]
    fn times_quantity_rounds_once() {
        // 0.375 kg at 12.99 a kg = 4.87125 -> 4.87
        assert_eq!(Money(1299).times(Qty::milli(375)), Money(487));
        // 3 each at 2.50
        assert_eq!(Money(250).times(Qty::units(3)), Money(750));
        // 0.5 kg at 0.01 = 0.005 -> 0.01 (half away from zero)
        assert_eq!(Money(1).times(Qty::milli(500)), Money(1));
    }

    #[test]
    fn quantities_print_without_floats() {
        assert_eq!(Qty::units(2).to_string(), "2");
        assert_eq!(Qty::milli(742).to_string(), "0.742");
        assert_eq!(Qty::milli(-1500).to_string(), "-1.500");
    }

    #[test]
    fn formats_with_currency_exponent() {
        assert_eq!(Money(1250).format(Currency::USD), "12.50");
        assert_eq!(Money(-5).format(Currency::EUR), "-0.05");
        assert_eq!(Money(1200).format(Currency::JPY), "1200");
        let bhd = Currency { code: *b"BHD", exponent: 3 };
        assert_eq!(Money(5).format(bhd), "0.005");
        assert_eq!(Money(-12_345).format(bhd), "-12.345");
        assert_eq!(Money(i64::MIN).format(Currency::USD), "-92233720368547758.08");
    }

    #[test]
    fn currencies_beyond_iso_are_invalid() {
        assert!(Currency::USD.is_valid() && Currency::JPY.is_valid());
        assert!(Currency { code: *b"CLF", exponent: 4 }.is_valid());
        assert!(!Currency { code: *b"USD", exponent: 5 }.is_valid());
        assert!(!Currency { code: *b"usd", exponent: 2 }.is_valid());
        assert!(!Currency { code: [0xff, b'A', b'B'], exponent: 2 }.is_valid());
    }

    proptest::proptest! {
        /// Formatting never panics, whatever a forged event stored, and the digits it shows
        /// are the amount's.
        #[test]
        fn formatting_is_total(minor in proptest::num::i64::ANY, exponent in 0u8..=255) {
            let text = Money(minor).format(Currency { code: *b"XXX", exponent });
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            let digits = digits.trim_start_matches('0');
            let expected = minor.unsigned_abs().to_string();
            proptest::prop_assert_eq!(digits, expected.trim_start_matches('0'));
            proptest::prop_assert_eq!(text.starts_with('-'), minor < 0);
            if exponent > 0 {
                let fraction = text.split_once('.').map(|(_, f)| f.len());
                proptest::prop_assert_eq!(fraction, Some(usize::from(exponent)));
            }
        }
    }
}
