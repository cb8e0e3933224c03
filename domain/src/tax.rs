//! Taxes: inclusive (VAT, GST: the price already contains the tax) and exclusive (US sales
//! tax: the tax is added on top), several rates per item.
//!
//! # The rounding rule
//!
//! Tax is rounded **once per rate per order**, never per line:
//!
//! 1. For each line, with `A` its amount after discounts and `S` the sum of its inclusive
//!    rates, the line's net (tax-free) amount is `A / (1 + S)`; each inclusive rate `r`
//!    contributes `A * r / (1 + S)` and each exclusive rate `r` contributes `net * r`.
//! 2. Those contributions are kept to a millionth of a minor unit and summed per rate over
//!    the whole order.
//! 3. Each rate's sum is rounded once to the minor unit, half away from zero.
//!
//! Per-order rounding is what EU VAT and most US states expect on an invoice, it does not
//! drift with the number of lines, and because step 2 is a sum it does not depend on the
//! order the lines were added in (the projections must be commutative).
//!
//! Worked examples live in this module's tests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::{TaxCategoryId, TaxRateId};
use crate::money::{Money, div_round};

/// Parts per million: 8.875 % is `88_750`, 20 % is `200_000`.
pub const PPM: i128 = 1_000_000;

/// One tax rate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRate {
    /// Its id.
    pub id: TaxRateId,
    /// What the receipt calls it ("VAT 20%", "City tax").
    pub name: String,
    /// The rate in parts per million.
    pub ppm: u32,
    /// True when prices already include this tax (VAT), false when it is added on top.
    pub inclusive: bool,
}

/// A named set of rates charged together on the items that point at it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxCategory {
    /// Its id.
    pub id: TaxCategoryId,
    /// "Food", "Alcohol", "Exempt".
    pub name: String,
    /// The rates it applies.
    pub rates: Vec<TaxRateId>,
}

/// What one rate came to over an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// The rate.
    pub rate_id: TaxRateId,
    /// Its name, as printed.
    pub name: String,
    /// Its rate in parts per million.
    pub ppm: u32,
    /// Whether it was included in prices.
    pub inclusive: bool,
    /// The tax-free amount it was charged on, rounded for display.
    pub base: Money,
    /// The tax, rounded once.
    pub tax: Money,
}

/// The taxes of an order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// One entry per rate, sorted by rate id.
    pub lines: Vec<TaxLine>,
    /// Tax contained in prices (already part of the order's amounts).
    pub inclusive: Money,
    /// Tax added on top of prices (to be added to the amount due).
    pub exclusive: Money,
}

/// Computes the taxes of an order from its lines: `(amount after discounts, rates)`.
#[must_use]
pub fn compute<'a>(lines: impl IntoIterator<Item = (Money, &'a [TaxRate])>) -> TaxBreakdown {
    // rate id -> (rate, base in micro-minor units, tax in micro-minor units)
    let mut acc: BTreeMap<TaxRateId, (&TaxRate, i128, i128)> = BTreeMap::new();
    for (amount, rates) in lines {
        let amount_micro = i128::from(amount.as_minor()) * PPM;
        let inclusive_sum: i128 =
            rates.iter().filter(|r| r.inclusive).map(|r| i128::from(r.ppm)).sum();
        let net_micro = i128::from(div_round(amount_micro * PPM, PPM + inclusive_sum));
        for rate in rates {
            let ppm = i128::from(rate.ppm);
            let tax_micro = if rate.inclusive {
                i128::from(div_round(amount_micro * ppm, PPM + inclusive_sum))
            } else {
                i128::from(div_round(net_micro * ppm, PPM))
            };
            let entry = acc.entry(rate.id).or_insert((rate, 0, 0));
            entry.1 += net_micro;
            entry.2 += tax_micro;
        }
    }
    let mut breakdown = TaxBreakdown::default();
    for (rate_id, (rate, base_micro, tax_micro)) in acc {
        let tax = Money(div_round(tax_micro, PPM));
        if rate.inclusive {
            breakdown.inclusive += tax;
        } else {
            breakdown.exclusive += tax;
        }
        breakdown.lines.push(TaxLine {
            rate_id,
            name: rate.name.clone(),
            ppm: rate.ppm,
            inclusive: rate.inclusive,
            base: Money(div_round(base_micro, PPM)),
            tax,
        });
    }
    breakdown
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn rate(n: u128, name: &str, ppm: u32, inclusive: bool) -> TaxRate {
        TaxRate { id: TaxRateId(Uuid::from_u128(n)), name: name.into(), ppm, inclusive }
    }

    #[test]
    fn us_sales_tax_is_added_and_rounded_once_per_order() {
        // New York City, 8.875 %: 10.00 + 5.50 = 15.50; 15.50 * 0.08875 = 1.375625 -> 1.38.
        // Rounding per line would give 0.89 + 0.49 = 1.38 here, but see the next test.
        let nyc = [rate(1, "NYC 8.875%", 88_750, false)];
        let t = compute([(Money(1000), &nyc[..]), (Money(550), &nyc[..])]);
        assert_eq!(t.exclusive, Money(138));
        assert_eq!(t.inclusive, Money(0));
        assert_eq!(t.lines[0].base, Money(1550));
    }

    #[test]
    fn per_order_rounding_does_not_drift_with_line_count() {
        // Ten lines of 0.10 at 5 %: each line's tax is 0.005 (0.01 if rounded per line,
        // 0.10 in all); per order it is 1.00 * 0.05 = 0.05.
        let r = [rate(1, "5%", 50_000, false)];
        let t = compute((0..10).map(|_| (Money(10), &r[..])));
        assert_eq!(t.exclusive, Money(5));
    }

    #[test]
    fn two_exclusive_rates_are_rounded_separately() {
        // 19.99 with 6 % state tax and 2.25 % city tax:
        // state 1.1994 -> 1.20, city 0.449775 -> 0.45; total due 21.64.
        let rates = [rate(1, "State 6%", 60_000, false), rate(2, "City 2.25%", 22_500, false)];
        let t = compute([(Money(1999), &rates[..])]);
        assert_eq!(t.lines[0].tax, Money(120));
        assert_eq!(t.lines[1].tax, Money(45));
        assert_eq!(t.exclusive, Money(165));
    }

    #[test]
    fn uk_vat_is_extracted_from_inclusive_prices() {
        // 12.00 including 20 % VAT contains 2.00 of VAT (12.00 / 1.2 = 10.00 net).
        let vat = [rate(1, "VAT 20%", 200_000, true)];
        let t = compute([(Money(1200), &vat[..])]);
        assert_eq!(t.inclusive, Money(200));
        assert_eq!(t.exclusive, Money(0));
        assert_eq!(t.lines[0].base, Money(1000));
        // 9.99 contains 9.99 / 6 = 1.665 of VAT: exactly half a penny, rounded away -> 1.67.
        let t = compute([(Money(999), &vat[..])]);
        assert_eq!(t.inclusive, Money(167));
    }

    #[test]
    fn german_mixed_basket_rounds_each_rate_once() {
        // 19 % on drinks (4.50 + 3.20 = 7.70) and 7 % on food (11.90):
        // 7.70 * 19/119 = 1.229411.. -> 1.23; 11.90 * 7/107 = 0.778504.. -> 0.78.
        let full = [rate(1, "MwSt 19%", 190_000, true)];
        let reduced = [rate(2, "MwSt 7%", 70_000, true)];
        let t = compute([
            (Money(450), &full[..]),
            (Money(1190), &reduced[..]),
            (Money(320), &full[..]),
        ]);
        assert_eq!(t.lines[0].tax, Money(123));
        assert_eq!(t.lines[1].tax, Money(78));
        assert_eq!(t.inclusive, Money(201));
    }

    #[test]
    fn refunds_round_symmetrically() {
        let r = [rate(1, "8.875%", 88_750, false)];
        let sale = compute([(Money(1550), &r[..])]);
        let refund = compute([(Money(-1550), &r[..])]);
        assert_eq!(sale.exclusive, -refund.exclusive);
    }

    #[test]
    fn untaxed_lines_produce_no_tax_lines() {
        let t = compute([(Money(500), &[][..])]);
        assert_eq!(t, TaxBreakdown::default());
    }
}
