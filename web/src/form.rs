//! Form input: text fields to values, with a message a cashier can act on when they do not
//! parse. Money is parsed from its decimal text straight into minor units; no float ever
//! holds an amount.

use thorbis_domain::events::DiscountRule;
use thorbis_domain::{Currency, Money};

/// A submitted form as its raw name/value pairs, for forms whose names repeat (modifiers,
/// ticked lines) or are made per row (a return's quantity per line), and for keeping what
/// was typed into a refused form. Forms with fixed names are typed structs instead; this
/// deserializes from the same `application/x-www-form-urlencoded` body (`axum::Form`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; empty when absent.
    #[must_use]
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.trim())
    }

    /// Every non-empty value of `name`.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(n, v)| n == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    /// Whether nothing was submitted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A form made of `pairs` (a form built in code, as tests post one).
    #[must_use]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect())
    }

    /// Adds a pair (a marker of which form was posted, kept for re-rendering).
    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_owned(), value.to_owned()));
    }
}

/// The most a single cash tender may be, in major units: bigger is a typing slip.
const MAX_TENDER_MAJOR: i64 = 100_000;

/// A whole number from `min` to `max`, named `what` in the message.
pub fn count(raw: &str, what: &str, min: u16, max: u16) -> Result<u16, String> {
    let message = || format!("{what} must be a whole number from {min} to {max}");
    if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(message());
    }
    match raw.parse::<u16>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(message()),
    }
}

/// Like [`count`], but an empty field is `None`.
pub fn optional_count(raw: &str, what: &str, min: u16, max: u16) -> Result<Option<u16>, String> {
    if raw.is_empty() { Ok(None) } else { count(raw, what, min, max).map(Some) }
}

/// Short free text (a table name): required, at most `max_chars`, no control characters.
pub fn text(raw: &str, what: &str, max_chars: usize) -> Result<String, String> {
    if raw.is_empty() {
        return Err(format!("{what} is required"));
    }
    if raw.chars().count() > max_chars {
        return Err(format!("{what} is at most {max_chars} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(format!("{what} cannot contain control characters"));
    }
    Ok(raw.to_owned())
}

/// A non-negative decimal typed as `12`, `12.5` or `.75`, scaled to `places` decimals
/// (`0.75` with 3 places is 750): at most `whole_digits` before the point and `places`
/// after it. `None` when it is empty or not of that form; the caller bounds the value and
/// words the message.
#[must_use]
pub fn fixed_point(raw: &str, whole_digits: usize, places: u32) -> Option<i64> {
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty())
        || !digits(whole)
        || !digits(frac)
        || whole.len() > whole_digits
        || frac.len() > places as usize
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().ok()? * 10_i64.pow(places - frac.len() as u32)
    };
    Some(whole * 10_i64.pow(places) + frac)
}

/// A percentage typed as `10` or `12.5`, to basis points (`12.5` is 1250): above 0, at
/// most 100, at most two decimals.
pub fn percent_bps(raw: &str) -> Result<u32, String> {
    let message = || "Percent must be a number above 0 and at most 100, like 10 or 12.5".to_owned();
    fixed_point(raw, 3, 2)
        .and_then(|bps| u32::try_from(bps).ok())
        .filter(|bps| (1..=10_000).contains(bps))
        .ok_or_else(message)
}

/// A discount from a form's `kind` (`percent`, the default, or `amount`) and `value`.
pub fn discount_rule(kind: &str, value: &str, currency: Currency) -> Result<DiscountRule, String> {
    match kind {
        "amount" => {
            let amount = money(value, currency, "Discount")?;
            if amount.as_minor() <= 0 {
                return Err("Discount must be above zero".into());
            }
            Ok(DiscountRule::Amount(amount))
        }
        "percent" | "" => percent_bps(value).map(DiscountRule::PercentBps),
        _ => Err("Choose percent or amount".into()),
    }
}

/// An amount typed as `25`, `25.5`, `25.50` or `$25.50`, in `currency`'s minor units.
/// Refuses empty, negative, non-numeric, too many decimals, and more than 100,000.
pub fn money(raw: &str, currency: Currency, what: &str) -> Result<Money, String> {
    let exp = u32::from(currency.exponent);
    let message = || {
        format!(
            "{what} must be an amount like {}, from 0 to {MAX_TENDER_MAJOR}",
            if exp == 0 { "25" } else { "25.00" }
        )
    };
    let digits = raw.strip_prefix('$').unwrap_or(raw).replace(',', "");
    let (whole, frac) = digits.split_once('.').unwrap_or((&digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty())
        || !all_digits(whole)
        || !all_digits(frac)
        || whole.len() > 7
        || frac.len() > exp as usize
        || (exp == 0 && digits.contains('.'))
    {
        return Err(message());
    }
    let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| message())? };
    if whole > MAX_TENDER_MAJOR {
        return Err(message());
    }
    let scale = 10_i64.pow(exp);
    let frac_minor: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| message())? * 10_i64.pow(exp - frac.len() as u32)
    };
    let minor = whole * scale + frac_minor;
    if minor > MAX_TENDER_MAJOR * scale {
        return Err(message());
    }
    Ok(Money(minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accept_only_whole_numbers_in_range() {
        assert_eq!(count("4", "Guests", 1, 99), Ok(4));
        for bad in ["", "0", "-3", "100", "abc", "2.5", "1e3", "99999999999", " 4", "４"] {
            assert!(count(bad, "Guests", 1, 99).is_err(), "{bad:?}");
        }
        assert_eq!(optional_count("", "Seat", 1, 99), Ok(None));
        assert_eq!(optional_count("2", "Seat", 1, 99), Ok(Some(2)));
        assert!(optional_count("x", "Seat", 1, 99).is_err());
    }

    #[test]
    fn money_parses_to_minor_units_without_floats() {
        let usd = Currency::USD;
        assert_eq!(money("25", usd, "Cash"), Ok(Money(25_00)));
        assert_eq!(money("25.5", usd, "Cash"), Ok(Money(25_50)));
        assert_eq!(money("$25.05", usd, "Cash"), Ok(Money(25_05)));
        assert_eq!(money(".99", usd, "Cash"), Ok(Money(99)));
        assert_eq!(money("1,000.10", usd, "Cash"), Ok(Money(1_000_10)));
        assert_eq!(money("100000", usd, "Cash"), Ok(Money(100_000_00)));
        assert_eq!(money("0.1", usd, "Cash"), Ok(Money(10)), "0.1 is exactly ten cents");
        for bad in
            ["", ".", "-5", "abc", "1e3", "25.505", "100000.01", "99999999999", "NaN", "2 5", "$"]
        {
            assert!(money(bad, usd, "Cash").is_err(), "{bad:?}");
        }
        assert_eq!(money("1200", Currency::JPY, "Cash"), Ok(Money(1200)));
        assert!(money("12.5", Currency::JPY, "Cash").is_err());
    }

    #[test]
    fn fixed_point_scales_without_floats() {
        assert_eq!(fixed_point("0.75", 3, 3), Some(750));
        assert_eq!(fixed_point(".5", 3, 3), Some(500));
        assert_eq!(fixed_point("12", 3, 2), Some(1200));
        assert_eq!(fixed_point("12.5", 3, 2), Some(1250));
        assert_eq!(fixed_point("0", 3, 2), Some(0));
        for bad in ["", "1.2345", "1000", "-1", "1e3", "a", "1.2.3", " 1"] {
            assert_eq!(fixed_point(bad, 3, 3), None, "{bad:?}");
        }
    }

    #[test]
    fn percentages_become_basis_points() {
        assert_eq!(percent_bps("10"), Ok(1_000));
        assert_eq!(percent_bps("12.5"), Ok(1_250));
        assert_eq!(percent_bps("100"), Ok(10_000));
        for bad in ["", "0", "-5", "100.01", "abc", "5.555", "1e2", "99999999999"] {
            assert!(percent_bps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn discounts_are_a_percent_or_an_amount() {
        let usd = Currency::USD;
        assert_eq!(discount_rule("", "15", usd), Ok(DiscountRule::PercentBps(1_500)));
        assert_eq!(discount_rule("amount", "2.50", usd), Ok(DiscountRule::Amount(Money(2_50))));
        assert!(discount_rule("amount", "0", usd).is_err());
        assert!(discount_rule("other", "1", usd).is_err());
    }

    #[test]
    fn text_is_required_bounded_and_printable() {
        assert_eq!(text("12", "Table", 20), Ok("12".into()));
        assert!(text("", "Table", 20).is_err());
        assert!(text(&"x".repeat(21), "Table", 20).is_err());
        assert!(text("a\u{7}", "Table", 20).is_err());
        assert_eq!(text("<b>", "Table", 20), Ok("<b>".into()), "escaped when shown, not refused");
    }

    #[test]
    fn fields_read_first_and_repeated_values() {
        let f = Fields(vec![
            ("mod".into(), "a".into()),
            ("seat".into(), " 2 ".into()),
            ("mod".into(), "b".into()),
            ("mod".into(), " ".into()),
        ]);
        assert_eq!(f.get("seat"), "2");
        assert_eq!(f.get("missing"), "");
        assert_eq!(f.all("mod"), vec!["a", "b"]);
    }
}
