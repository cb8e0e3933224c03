//! GS1 check digits: GTIN-8/12/13/14 (EAN-8, UPC-A, EAN-13), SSCC, and the price check digit
//! of variable-measure codes.
//!
//! Scanners already verify the check digit of what they read, but keyed-in codes, codes in
//! GS1 element strings and codes we print do not get that check, so it lives here.

/// The standard GS1 mod-10 check digit over `digits` (ASCII `0`–`9`, check digit excluded):
/// weights 3 and 1 alternating from the rightmost digit. `None` if a byte is not a digit.
#[must_use]
pub fn check_digit(digits: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        if !d.is_ascii_digit() {
            return None;
        }
        let v = u32::from(d - b'0');
        sum += if i % 2 == 0 { v * 3 } else { v };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether `code` (digits with its check digit last) has a correct check digit. Works for any
/// length ≥ 2: GTIN-8, UPC-A (12), EAN-13, GTIN-14, SSCC (18).
#[must_use]
pub fn is_valid(code: &str) -> bool {
    let b = code.as_bytes();
    match b.split_last() {
        Some((&last, body)) if !body.is_empty() && last.is_ascii_digit() => {
            check_digit(body) == Some(last - b'0')
        }
        _ => false,
    }
}

/// Whether `code` is a GTIN by length (8, 12, 13 or 14 digits) with a correct check digit.
#[must_use]
pub fn is_valid_gtin(code: &str) -> bool {
    matches!(code.len(), 8 | 12 | 13 | 14) && is_valid(code)
}

/// Expands a UPC-E code to its UPC-A form, so both look up the same catalog entry.
///
/// Takes 8 digits (number system 0 or 1, six data digits, check digit, which must be right)
/// or 6 data digits (number system 0 assumed, check digit computed). The last data digit
/// says where the zeros of the manufacturer and product numbers were suppressed.
#[must_use]
pub fn upc_e_to_upc_a(code: &str) -> Option<String> {
    let b = code.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (ns, d) = match b.len() {
        6 => (b'0', b),
        8 if matches!(b[0], b'0' | b'1') => (b[0], &b[1..7]),
        _ => return None,
    };
    let z = [b'0'; 5];
    let body: Vec<u8> = match d[5] {
        b'0'..=b'2' => [&[ns, d[0], d[1], d[5]], &z[..4], &d[2..5]].concat(),
        b'3' => [&[ns, d[0], d[1], d[2]], &z[..], &d[3..5]].concat(),
        b'4' => [&[ns, d[0], d[1], d[2], d[3]], &z[..], &d[4..5]].concat(),
        _ => [&[ns], &d[..5], &z[..4], &d[5..6]].concat(),
    };
    let check = check_digit(&body)?;
    if b.len() == 8 && b[7] - b'0' != check {
        return None;
    }
    let mut out = String::from_utf8(body).ok()?;
    out.push(char::from(b'0' + check));
    Some(out)
}

/// Digit weighting "2-" of the price check digit: units minus tens of `2 × d`, mod 10.
const W2_MINUS: [u8; 10] = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
/// Weighting "3": units of `3 × d`.
const W3: [u8; 10] = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
/// Weighting "5+": units plus tens of `5 × d`.
const W5_PLUS: [u8; 10] = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
/// Weighting "5-": units minus tens of `5 × d`, mod 10.
const W5_MINUS: [u8; 10] = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

/// The price (or weight) check digit of a 4- or 5-digit field in a variable-measure EAN-13,
/// as the GS1 General Specifications define it. `None` for other lengths or non-digits.
///
/// Four digits: weights 2-, 2-, 3, 5-; the check digit is the units of three times the sum.
/// Five digits: weights 5+, 2-, 5-, 5+, 2-; the check digit is the digit whose 5- weighting
/// equals ten minus the units of the sum.
#[must_use]
pub fn price_check_digit(field: &[u8]) -> Option<u8> {
    if !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d = |i: usize| usize::from(field[i] - b'0');
    match field.len() {
        4 => {
            let sum = u32::from(W2_MINUS[d(0)])
                + u32::from(W2_MINUS[d(1)])
                + u32::from(W3[d(2)])
                + u32::from(W5_MINUS[d(3)]);
            Some(((sum * 3) % 10) as u8)
        }
        5 => {
            let sum = u32::from(W5_PLUS[d(0)])
                + u32::from(W2_MINUS[d(1)])
                + u32::from(W5_MINUS[d(2)])
                + u32::from(W5_PLUS[d(3)])
                + u32::from(W2_MINUS[d(4)]);
            let target = ((10 - sum % 10) % 10) as u8;
            W5_MINUS.iter().position(|&w| w == target).map(|p| p as u8)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_check_digits_of_real_codes() {
        // EAN-13 of a real product, a GS1 example GTIN-14, UPC-A, EAN-8, an SSCC.
        assert_eq!(check_digit(b"400638133393"), Some(1));
        assert!(is_valid_gtin("4006381333931"));
        assert!(is_valid_gtin("09506000134352"));
        assert!(is_valid_gtin("036000291452"));
        assert!(is_valid_gtin("96385074"));
        assert!(is_valid("106141411234567897"));
        assert!(!is_valid_gtin("4006381333932"));
        assert!(!is_valid_gtin("400638133393"));
        assert!(!is_valid_gtin("40063813339X"));
        assert!(!is_valid(""));
        assert!(!is_valid("5"));
        assert_eq!(check_digit(b"12a"), None);
    }

    #[test]
    fn upc_e_expands_by_its_last_data_digit() {
        // One example per rule: last data digit 0-2, 3, 4, 5-9.
        assert_eq!(upc_e_to_upc_a("01234565").as_deref(), Some("012345000065"));
        assert_eq!(upc_e_to_upc_a("123450").as_deref(), Some("012000003455"));
        assert_eq!(upc_e_to_upc_a("123453").as_deref(), Some("012300000451"));
        assert_eq!(upc_e_to_upc_a("123454").as_deref(), Some("012340000053"));
        for code in ["123450", "123453", "123454", "123456"] {
            assert!(is_valid_gtin(&upc_e_to_upc_a(code).unwrap()), "{code}");
        }
        assert_eq!(upc_e_to_upc_a("01234564"), None, "wrong check digit");
        assert_eq!(upc_e_to_upc_a("21234565"), None, "number system 2");
        assert_eq!(upc_e_to_upc_a("12345"), None);
        assert_eq!(upc_e_to_upc_a("12345a"), None);
    }

    #[test]
    fn price_check_digits_from_the_gs1_specification() {
        // The worked examples of the GS1 General Specifications (§7.9.2–7.9.4): price 2875
        // has check digit 9, price 14685 has 6. Then two US weighed-item labels: $5.99 → 1,
        // $4.12 → 0.
        assert_eq!(price_check_digit(b"2875"), Some(9));
        assert_eq!(price_check_digit(b"14685"), Some(6));
        assert_eq!(price_check_digit(b"0599"), Some(1));
        assert_eq!(price_check_digit(b"0412"), Some(0));
        assert_eq!(price_check_digit(b"0000"), Some(0));
        assert_eq!(price_check_digit(b"123"), None);
        assert_eq!(price_check_digit(b"12a4"), None);
        // Every 5-digit field has exactly one check digit (5- is a permutation of 0..=9).
        for n in 0..100_000u32 {
            assert!(price_check_digit(format!("{n:05}").as_bytes()).is_some());
        }
    }
}
