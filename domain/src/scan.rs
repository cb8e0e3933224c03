//! Scanning at a register: which catalog item a scanned code rings up, and in what quantity.
//!
//! Ordinary codes (EAN/UPC/GTIN, or any text a catalog lists) name an item; the quantity is
//! whatever the cashier keyed. Scale labels (variable-measure EAN-13, prefix `2x`) carry a
//! weight or a price: the device layer decodes them (`thorbis_drivers::variable_measure`,
//! which also checks the check digits) into a [`Label`], and this module decides what the
//! label means for the item:
//!
//! - a **weight** is the quantity of an item sold by weight (quantities are thousandths, so
//!   grams of an item priced per kilogram); a weight on an item sold by the unit is refused;
//! - a **price** on an item sold by weight becomes the weight that costs exactly that price
//!   at the catalog's price per kilogram (the scale computed the price the same way); if no
//!   whole number of grams gives the printed price, the label is refused rather than
//!   charging a different amount. On an item sold by the unit, the price must be a whole
//!   number of units.
//!
//! GS1 element strings (GS1-128, GS1 `DataBar`, GS1 2D symbols) name the item by its GTIN
//! and may carry a net weight or a price as well, with the same meaning as a scale label's
//! ([`resolve_gtin`]), and dates: [`date_warning`] says whether the use-by or best-before
//! date has passed, which the register shows as a warning.
//!
//! Pure: items (and today's date) in, an answer out.

use crate::catalog::Item;
use crate::ids::ItemId;
use crate::money::{Money, Qty, div_round};

/// What a scale label carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedded {
    /// Net weight in grams.
    Weight {
        /// Grams.
        grams: i64,
    },
    /// The price to pay, in minor units.
    Price {
        /// The amount.
        price: Money,
    },
}

/// A decoded scale label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label<'a> {
    /// The code with its value digits zeroed (the key the catalog lists the item under).
    pub catalog_code: &'a str,
    /// The weight or price printed into it.
    pub embedded: Embedded,
}

/// A calendar day, ordered by time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    /// The year, such as 2026.
    pub year: u16,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
}

impl Day {
    /// The day of `unix_ms` (milliseconds since 1970) in UTC.
    #[must_use]
    pub fn of_unix_ms(unix_ms: u64) -> Day {
        // Howard Hinnant's days-to-civil, for days since 1970-01-01 (never negative here).
        let z = unix_ms / 86_400_000 + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        Day {
            year: u16::try_from(year).unwrap_or(u16::MAX),
            month: u8::try_from(month).unwrap_or(12),
            day: u8::try_from(day).unwrap_or(31),
        }
    }

    /// Midnight UTC of the day, in Unix milliseconds (Howard Hinnant's days-from-civil).
    #[must_use]
    pub fn start_unix_ms(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) * 86_400_000
    }

    /// The number of days in `month` of `year` (Gregorian).
    #[must_use]
    pub fn days_in_month(year: u16, month: u8) -> u8 {
        match month {
            4 | 6 | 9 | 11 => 30,
            2 if year.is_multiple_of(4)
                && (!year.is_multiple_of(100) || year.is_multiple_of(400)) =>
            {
                29
            }
            2 => 28,
            _ => 31,
        }
    }
}

#[cfg(test)]
mod day_tests {
    use super::Day;

    #[test]
    fn a_day_starts_where_its_milliseconds_say() {
        for ms in [0_u64, 951_782_400_000, 1_796_652_300_000, 4_107_542_400_000] {
            let day = Day::of_unix_ms(ms);
            let start = day.start_unix_ms();
            assert!(start <= ms as i64 && ms as i64 - start < 86_400_000, "{day} {ms}");
            assert_eq!(Day::of_unix_ms(start as u64), day);
        }
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Day {
    type Err = ();

    /// `YYYY-MM-DD`, a real day.
    fn from_str(s: &str) -> Result<Day, ()> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(());
        }
        let (year, month, day) = (
            s[..4].parse().map_err(drop)?,
            s[5..7].parse().map_err(drop)?,
            s[8..].parse().map_err(drop)?,
        );
        let valid =
            (1..=12).contains(&month) && (1..=Day::days_in_month(year, month)).contains(&day);
        if valid { Ok(Day { year, month, day }) } else { Err(()) }
    }
}

/// A dated item whose date has passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateWarning {
    /// The use-by (expiry) date has passed: it should not be sold.
    UseByPassed(Day),
    /// The best-before date has passed: it may be sold, but the customer should know.
    BestBeforePassed(Day),
}

/// Whether an item's use-by or best-before date is before `today` (the use-by date first:
/// it matters more). A date of today has not passed.
#[must_use]
pub fn date_warning(
    use_by: Option<Day>,
    best_before: Option<Day>,
    today: Day,
) -> Option<DateWarning> {
    match (use_by, best_before) {
        (Some(day), _) if day < today => Some(DateWarning::UseByPassed(day)),
        (_, Some(day)) if day < today => Some(DateWarning::BestBeforePassed(day)),
        _ => None,
    }
}

/// What a scan rings up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    /// The item.
    pub item_id: ItemId,
    /// Its name, for messages.
    pub name: String,
    /// The quantity a label fixed (`None` for an ordinary code: the cashier's quantity).
    pub qty: Option<Qty>,
}

/// Why a scan rings nothing up. Each says what the cashier can do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// No item carries this code.
    #[error("no item has the barcode {0}")]
    Unknown(String),
    /// The item is retired.
    #[error("\"{0}\" is no longer sold")]
    Retired(String),
    /// A weight label on an item sold by the unit.
    #[error("the label gives a weight, but \"{0}\" is sold by the unit")]
    NotSoldByWeight(String),
    /// A label whose weight or price is zero.
    #[error("the label of \"{0}\" shows nothing to charge: weigh it again")]
    Empty(String),
    /// A price label that no quantity reproduces at the catalog price.
    #[error(
        "the label price {price:?} of \"{name}\" does not match its catalog price: weigh it again"
    )]
    PriceMismatch {
        /// The item.
        name: String,
        /// The printed price.
        price: Money,
    },
}

/// The item a scanned `code` rings up, and the quantity if `label` (the code decoded as a
/// scale label, when it is one) fixes it.
pub fn resolve(items: &[Item], code: &str, label: Option<Label<'_>>) -> Result<Scanned, ScanError> {
    let Some(label) = label else {
        let item = items
            .iter()
            .find(|i| i.barcodes.iter().any(|b| same_code(b, code)))
            .ok_or_else(|| ScanError::Unknown(code.to_owned()))?;
        return sellable(item).map(|item| Scanned {
            item_id: item.id,
            name: item.name.clone(),
            qty: None,
        });
    };
    let item = items
        .iter()
        .find(|i| i.barcodes.iter().any(|b| same_label_key(b, label.catalog_code)))
        .ok_or_else(|| ScanError::Unknown(code.to_owned()))?;
    measured(sellable(item)?, label.embedded)
}

/// The item a GTIN (from a GS1 element string) rings up, and the quantity if the string
/// carries a weight or price (`embedded`), read as a scale label's would be. A weight on
/// an item sold by the unit is its net content, not a quantity: the cashier's quantity
/// applies.
pub fn resolve_gtin(
    items: &[Item],
    gtin: &str,
    embedded: Option<Embedded>,
) -> Result<Scanned, ScanError> {
    let item = items
        .iter()
        .find(|i| i.barcodes.iter().any(|b| same_code(b, gtin)))
        .ok_or_else(|| ScanError::Unknown(gtin.to_owned()))?;
    let item = sellable(item)?;
    let measure = embedded.filter(|e| item.sold_by_weight || !matches!(e, Embedded::Weight { .. }));
    match measure {
        Some(embedded) => measured(item, embedded),
        None => Ok(Scanned { item_id: item.id, name: item.name.clone(), qty: None }),
    }
}

/// `item` in the quantity a label's weight or price gives.
fn measured(item: &Item, embedded: Embedded) -> Result<Scanned, ScanError> {
    let qty = match embedded {
        Embedded::Weight { grams } => {
            if !item.sold_by_weight {
                return Err(ScanError::NotSoldByWeight(item.name.clone()));
            }
            Qty::milli(grams)
        }
        Embedded::Price { price } => qty_for_price(item, price)?,
    };
    if qty.0 <= 0 {
        return Err(ScanError::Empty(item.name.clone()));
    }
    Ok(Scanned { item_id: item.id, name: item.name.clone(), qty: Some(qty) })
}

fn sellable(item: &Item) -> Result<&Item, ScanError> {
    if item.active { Ok(item) } else { Err(ScanError::Retired(item.name.clone())) }
}

/// The quantity of `item` that costs exactly `price`.
fn qty_for_price(item: &Item, price: Money) -> Result<Qty, ScanError> {
    let mismatch = || ScanError::PriceMismatch { name: item.name.clone(), price };
    if price.as_minor() <= 0 {
        return Err(ScanError::Empty(item.name.clone()));
    }
    let unit = item.price.as_minor();
    if unit <= 0 {
        return Err(mismatch());
    }
    if item.sold_by_weight {
        // The scale rounded weight × price per kg to the minor unit; the grams nearest
        // price / unit reproduce it if any whole number of grams does (one gram moves the
        // amount by less than a minor unit whenever the price per kg is below 10 units).
        let guess = div_round(i128::from(price.as_minor()) * 1000, i128::from(unit));
        return [guess, guess - 1, guess + 1]
            .into_iter()
            .map(Qty::milli)
            .find(|q| q.0 > 0 && item.price.times(*q) == price)
            .ok_or_else(mismatch);
    }
    if price.as_minor() % unit == 0 {
        Ok(Qty::units(price.as_minor() / unit))
    } else {
        Err(mismatch())
    }
}

/// Whether two codes are the same: all-digit codes compare as GTINs (leading zeros do not
/// count, so a 12-digit UPC-A finds the catalog's 13-digit EAN form), others exactly.
fn same_code(listed: &str, scanned: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(listed) && digits(scanned) {
        listed.trim_start_matches('0') == scanned.trim_start_matches('0')
    } else {
        listed == scanned
    }
}

/// Whether a catalog code is the key of a scale label: the same 12 digits before the check
/// digit (catalogs often list the key with a zero in place of its check digit).
fn same_label_key(listed: &str, key: &str) -> bool {
    listed.len() == 13 && key.len() == 13 && listed[..12] == key[..12]
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn item(n: u128, name: &str, price: i64, barcodes: &[&str], by_weight: bool) -> Item {
        Item {
            id: ItemId(Uuid::from_u128(n)),
            name: name.into(),
            category: None,
            price: Money(price),
            tax_category: None,
            barcodes: barcodes.iter().map(|b| (*b).to_owned()).collect(),
            station: None,
            modifier_groups: Vec::new(),
            track_stock: true,
            sold_by_weight: by_weight,
            reorder_point: None,
            active: true,
        }
    }

    fn catalog() -> Vec<Item> {
        vec![
            item(1, "Coffee", 14_99, &["0012345678905"], false),
            item(2, "Bananas", 2_49, &["2012340000000"], true),
            item(3, "Saffron", 12_000_00, &["2055555000000"], true),
            item(4, "Cake slice", 3_00, &["2577777000002"], false),
            item(5, "Old stock", 1_00, &["SKU-OLD"], false),
            item(6, "Gift card", 25_00, &["GIFT-25"], false),
        ]
    }

    #[test]
    fn ordinary_codes_compare_as_gtins_or_exactly() {
        let items = {
            let mut items = catalog();
            items[4].active = false;
            items
        };
        let s = resolve(&items, "012345678905", None).unwrap();
        assert_eq!((s.item_id, s.qty), (ItemId(Uuid::from_u128(1)), None));
        assert_eq!(resolve(&items, "0012345678905", None).unwrap().name, "Coffee");
        assert_eq!(resolve(&items, "GIFT-25", None).unwrap().name, "Gift card");
        assert_eq!(resolve(&items, "gift-25", None), Err(ScanError::Unknown("gift-25".into())));
        assert_eq!(
            resolve(&items, "12345678906", None),
            Err(ScanError::Unknown("12345678906".into()))
        );
        assert_eq!(resolve(&items, "SKU-OLD", None), Err(ScanError::Retired("Old stock".into())));
        assert!(matches!(resolve(&items, "", None), Err(ScanError::Unknown(_))));
    }

    #[test]
    fn weight_labels_give_the_quantity_in_grams() {
        let items = catalog();
        let label =
            |grams| Label { catalog_code: "2012340000006", embedded: Embedded::Weight { grams } };
        let s = resolve(&items, "2012340007503", Some(label(750))).unwrap();
        assert_eq!((s.name.as_str(), s.qty), ("Bananas", Some(Qty::milli(750))));
        assert_eq!(
            resolve(&items, "2012340000006", Some(label(0))),
            Err(ScanError::Empty("Bananas".into()))
        );
        let cake =
            Label { catalog_code: "2577777000002", embedded: Embedded::Weight { grams: 500 } };
        assert_eq!(
            resolve(&items, "x", Some(cake)),
            Err(ScanError::NotSoldByWeight("Cake slice".into()))
        );
        let unknown =
            Label { catalog_code: "2299999000000", embedded: Embedded::Weight { grams: 5 } };
        assert_eq!(
            resolve(&items, "2299999000050", Some(unknown)),
            Err(ScanError::Unknown("2299999000050".into()))
        );
    }

    #[test]
    fn price_labels_become_the_quantity_that_costs_exactly_that() {
        let items = catalog();
        let label = |key, minor| Label {
            catalog_code: key,
            embedded: Embedded::Price { price: Money(minor) },
        };
        // 1.87 at 2.49/kg: 751 g (2.49 × 0.751 = 1.86999, rounds to 1.87).
        let s = resolve(&items, "c", Some(label("2012340000006", 1_87))).unwrap();
        assert_eq!(s.qty, Some(Qty::milli(751)));
        assert_eq!(Money(2_49).times(Qty::milli(751)), Money(1_87));
        // Every price at 2.49/kg is reachable.
        for minor in 1..2_000 {
            let q = resolve(&items, "c", Some(label("2012340000006", minor))).unwrap().qty.unwrap();
            assert_eq!(Money(2_49).times(q), Money(minor));
        }
        // At 12,000.00/kg a gram is 12.00: 18.00 is not a whole number of grams.
        assert!(matches!(
            resolve(&items, "c", Some(label("2055555000000", 18_00))),
            Err(ScanError::PriceMismatch { .. })
        ));
        assert_eq!(
            resolve(&items, "c", Some(label("2055555000000", 24_00))).unwrap().qty,
            Some(Qty::milli(2))
        );
        // Unit items: whole multiples only.
        assert_eq!(
            resolve(&items, "c", Some(label("2577777000002", 9_00))).unwrap().qty,
            Some(Qty::units(3))
        );
        assert!(matches!(
            resolve(&items, "c", Some(label("2577777000002", 4_00))),
            Err(ScanError::PriceMismatch { .. })
        ));
        assert_eq!(
            resolve(&items, "c", Some(label("2577777000002", 0))),
            Err(ScanError::Empty("Cake slice".into()))
        );
    }

    #[test]
    fn days_are_utc_calendar_days_and_parse_back() {
        let day = |y, m, d| Day { year: y, month: m, day: d };
        for (ms, want) in [
            (0, day(1970, 1, 1)),
            (951_782_400_000, day(2000, 2, 29)),
            (1_796_601_600_000 - 1, day(2026, 12, 6)),
            (1_796_601_600_000, day(2026, 12, 7)),
            (4_107_542_400_000, day(2100, 3, 1)),
        ] {
            assert_eq!(Day::of_unix_ms(ms), want, "{ms}");
            assert_eq!(want.to_string().parse::<Day>(), Ok(want));
        }
        for bad in ["2026-02-29", "2100-02-29", "2026-13-01", "2026-1-01", "2026-01-00", "x"] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
        assert!("2000-02-29".parse::<Day>().is_ok());
    }

    #[test]
    fn a_passed_use_by_date_warns_before_a_passed_best_before_date() {
        let today = Day { year: 2026, month: 12, day: 7 };
        let yesterday = Day { day: 6, ..today };
        assert_eq!(date_warning(None, None, today), None);
        assert_eq!(date_warning(Some(today), Some(today), today), None);
        assert_eq!(
            date_warning(None, Some(yesterday), today),
            Some(DateWarning::BestBeforePassed(yesterday))
        );
        assert_eq!(
            date_warning(Some(yesterday), Some(yesterday), today),
            Some(DateWarning::UseByPassed(yesterday))
        );
        assert_eq!(
            date_warning(Some(today), Some(yesterday), today),
            Some(DateWarning::BestBeforePassed(yesterday))
        );
    }

    #[test]
    fn a_gtin_with_a_weight_or_price_reads_like_a_scale_label() {
        let items = catalog();
        // A GTIN-14 names the item listed under its EAN-13.
        let coffee = resolve_gtin(&items, "00012345678905", None).unwrap();
        assert_eq!((coffee.name.as_str(), coffee.qty), ("Coffee", None));
        let bananas =
            resolve_gtin(&items, "02012340000000", Some(Embedded::Weight { grams: 1_250 }))
                .unwrap();
        assert_eq!(bananas.qty, Some(Qty::milli(1_250)));
        // A net content on an item sold by the unit leaves the quantity to the cashier.
        let net = resolve_gtin(&items, "00012345678905", Some(Embedded::Weight { grams: 500 }));
        assert_eq!(net.map(|s| s.qty), Ok(None));
        // A price on an item sold by weight is the weight that costs it.
        let priced =
            resolve_gtin(&items, "02012340000000", Some(Embedded::Price { price: Money(2_49) }));
        assert_eq!(priced.map(|s| s.qty), Ok(Some(Qty::milli(1_000))));
        assert_eq!(
            resolve_gtin(&items, "09506000134352", None),
            Err(ScanError::Unknown("09506000134352".into()))
        );
    }
}
