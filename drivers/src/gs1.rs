//! GS1 element strings: `(01)09506000134352(17)201225(10)ABC123` and its scanned form.
//!
//! A GS1-128, GS1 Data Matrix or GS1 QR symbol carries a list of application identifiers (AIs)
//! and values. Scanners transmit it as the AIM symbology identifier (`]C1`, `]d2`, `]Q3`,
//! `]e0`), then the AIs and values back to back, with the FNC1 character transmitted as `GS`
//! (`0x1D`) after each variable-length value that is not last. Fixed-length AIs from the GS1
//! "predefined length" table (`00`–`04`, `11`–`20`, `31`–`36`, `41`) need no separator, so the
//! parser must know each AI's length: the table below holds the AIs a point of sale meets.
//! An unknown AI is an error rather than a guess, because a wrong split silently corrupts
//! every later field.
//!
//! Parsing never panics on any input (fuzzed: `drivers/fuzz`, target `gs1_parse`) and
//! allocates in proportion to its input.

use std::fmt;

/// The GS1 field separator, the transmitted form of FNC1.
pub const GS: u8 = 0x1D;

/// What the value of an AI means, for validation and typed access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Free text (GS1 character set 82, printable ASCII here).
    Text,
    /// Digits.
    Digits,
    /// Digits ending in a GS1 check digit (GTIN, SSCC, GLN).
    CheckDigit,
    /// `YYMMDD`, `DD` may be `00` ("end of month").
    Date,
    /// Six digits with the AI's last digit giving the decimal places.
    Measure,
    /// Up to 15 digits with the AI's last digit giving the decimal places.
    Amount,
    /// An ISO 4217 numeric currency code, then an amount.
    IsoAmount,
}

/// One AI of the table. `pattern` uses `n` for "any digit" (the decimal-places digit).
#[derive(Debug, PartialEq, Eq)]
struct AiSpec {
    pattern: &'static str,
    /// `Some(len)` for fixed-length values, `None` for variable.
    fixed: Option<u8>,
    /// Longest value.
    max: u8,
    kind: Kind,
    title: &'static str,
}

const fn fixed(pattern: &'static str, len: u8, kind: Kind, title: &'static str) -> AiSpec {
    AiSpec { pattern, fixed: Some(len), max: len, kind, title }
}

const fn var(pattern: &'static str, max: u8, kind: Kind, title: &'static str) -> AiSpec {
    AiSpec { pattern, fixed: None, max, kind, title }
}

/// The AIs this parser knows (GS1 General Specifications, section 3).
const TABLE: &[AiSpec] = &[
    fixed("00", 18, Kind::CheckDigit, "SSCC"),
    fixed("01", 14, Kind::CheckDigit, "GTIN"),
    fixed("02", 14, Kind::CheckDigit, "CONTENT"),
    var("10", 20, Kind::Text, "BATCH/LOT"),
    fixed("11", 6, Kind::Date, "PROD DATE"),
    fixed("12", 6, Kind::Date, "DUE DATE"),
    fixed("13", 6, Kind::Date, "PACK DATE"),
    fixed("15", 6, Kind::Date, "BEST BEFORE or BEST BY"),
    fixed("16", 6, Kind::Date, "SELL BY"),
    fixed("17", 6, Kind::Date, "USE BY or EXPIRY"),
    fixed("20", 2, Kind::Digits, "VARIANT"),
    var("21", 20, Kind::Text, "SERIAL"),
    var("22", 20, Kind::Text, "CPV"),
    var("240", 30, Kind::Text, "ADDITIONAL ID"),
    var("241", 30, Kind::Text, "CUST. PART No."),
    var("250", 30, Kind::Text, "SECONDARY SERIAL"),
    var("251", 30, Kind::Text, "REF. TO SOURCE"),
    var("30", 8, Kind::Digits, "VAR. COUNT"),
    fixed("310n", 6, Kind::Measure, "NET WEIGHT (kg)"),
    fixed("320n", 6, Kind::Measure, "NET WEIGHT (lb)"),
    fixed("330n", 6, Kind::Measure, "GROSS WEIGHT (kg)"),
    var("37", 8, Kind::Digits, "COUNT"),
    var("390n", 15, Kind::Amount, "AMOUNT"),
    var("391n", 18, Kind::IsoAmount, "AMOUNT"),
    var("392n", 15, Kind::Amount, "PRICE"),
    var("393n", 18, Kind::IsoAmount, "PRICE"),
    var("400", 30, Kind::Text, "ORDER NUMBER"),
    var("401", 30, Kind::Text, "GINC"),
    fixed("410", 13, Kind::CheckDigit, "SHIP TO LOC"),
    fixed("411", 13, Kind::CheckDigit, "BILL TO"),
    fixed("412", 13, Kind::CheckDigit, "PURCHASE FROM"),
    fixed("413", 13, Kind::CheckDigit, "SHIP FOR LOC"),
    fixed("414", 13, Kind::CheckDigit, "LOC No."),
    fixed("415", 13, Kind::CheckDigit, "PAY TO"),
    var("420", 20, Kind::Text, "SHIP TO POST"),
    fixed("422", 3, Kind::Digits, "ORIGIN"),
    fixed("7003", 10, Kind::Digits, "EXPIRY TIME"),
    var("8020", 25, Kind::Text, "REF No."),
    var("90", 30, Kind::Text, "INTERNAL"),
    var("91", 90, Kind::Text, "INTERNAL"),
    var("92", 90, Kind::Text, "INTERNAL"),
    var("93", 90, Kind::Text, "INTERNAL"),
    var("94", 90, Kind::Text, "INTERNAL"),
    var("95", 90, Kind::Text, "INTERNAL"),
    var("96", 90, Kind::Text, "INTERNAL"),
    var("97", 90, Kind::Text, "INTERNAL"),
    var("98", 90, Kind::Text, "INTERNAL"),
    var("99", 90, Kind::Text, "INTERNAL"),
];

/// Whether values of AIs starting with these two digits have a predefined length, so no
/// FNC1 follows them (GS1 General Specifications, figure 5.10.1-1).
fn predefined_length(ai: &str) -> bool {
    matches!(
        ai.get(..2),
        Some(
            "00" | "01"
                | "02"
                | "03"
                | "04"
                | "11"
                | "12"
                | "13"
                | "14"
                | "15"
                | "16"
                | "17"
                | "18"
                | "19"
                | "20"
                | "31"
                | "32"
                | "33"
                | "34"
                | "35"
                | "36"
                | "41"
        )
    )
}

fn lookup(input: &[u8]) -> Option<&'static AiSpec> {
    TABLE.iter().find(|spec| {
        let p = spec.pattern.as_bytes();
        input.len() >= p.len()
            && p.iter().zip(input).all(
                |(&pc, &ic)| {
                    if pc == b'n' { ic.is_ascii_digit() } else { pc == ic }
                },
            )
    })
}

/// Why an element string was refused. Offsets count bytes of the input after any symbology
/// identifier and leading FNC1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1Error {
    /// Nothing after the symbology identifier.
    #[error("empty GS1 element string")]
    Empty,
    /// The digits at `offset` start no AI this parser knows.
    #[error("unknown application identifier at byte {offset}")]
    UnknownAi {
        /// Where.
        offset: usize,
    },
    /// A value is shorter than its AI requires (or empty).
    #[error("value of AI ({ai}) is too short")]
    TooShort {
        /// The AI.
        ai: String,
    },
    /// A variable-length value is longer than its AI allows.
    #[error("value of AI ({ai}) is too long")]
    TooLong {
        /// The AI.
        ai: String,
    },
    /// A numeric AI has a non-digit.
    #[error("value of AI ({ai}) must be digits")]
    NotNumeric {
        /// The AI.
        ai: String,
    },
    /// A GTIN, SSCC or GLN with a wrong check digit.
    #[error("check digit of AI ({ai}) is wrong")]
    CheckDigit {
        /// The AI.
        ai: String,
    },
    /// A `YYMMDD` that is not a date.
    #[error("AI ({ai}) is not a valid YYMMDD date")]
    BadDate {
        /// The AI.
        ai: String,
    },
    /// A byte that has no place in an element string (control character, non-ASCII).
    #[error("invalid character at byte {offset}")]
    BadCharacter {
        /// Where.
        offset: usize,
    },
    /// The human-readable form is malformed (missing parenthesis, AI not digits).
    #[error("malformed human-readable GS1 string")]
    Malformed,
}

/// One application identifier and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The AI, 2–4 digits (`"01"`, `"3103"`).
    pub ai: String,
    /// The value as transmitted.
    pub value: String,
    spec: &'static AiSpec,
}

impl Element {
    /// The AI's data title (`"GTIN"`, `"NET WEIGHT (kg)"`).
    #[must_use]
    pub fn title(&self) -> &'static str {
        self.spec.title
    }

    /// Whether this AI's value has a predefined length (no FNC1 needed after it).
    #[must_use]
    pub fn predefined_length(&self) -> bool {
        predefined_length(&self.ai)
    }

    /// For AIs whose last digit gives decimal places (`310n`, `392n`...): the value as a
    /// decimal. For `391n`/`393n` the leading currency code is skipped.
    #[must_use]
    pub fn decimal(&self) -> Option<Decimal> {
        let value = match self.spec.kind {
            Kind::Measure | Kind::Amount => self.value.as_str(),
            Kind::IsoAmount => self.value.get(3..)?,
            _ => return None,
        };
        let decimals = self.ai.as_bytes().last()? - b'0';
        Some(Decimal { units: value.parse().ok()?, decimals })
    }
}

/// A parsed element string.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gs1Message {
    /// The elements in transmitted order.
    pub elements: Vec<Element>,
}

/// An exact decimal: `units / 10^decimals`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decimal {
    /// The digits as an integer.
    pub units: i64,
    /// Places after the decimal point.
    pub decimals: u8,
}

impl Decimal {
    /// The value in units of `10^-scale` (`scale = 3` turns kilograms into grams, `2` turns a
    /// price into cents), rounded half away from zero as the domain does; `None` on overflow.
    #[must_use]
    pub fn rescale(self, scale: u8) -> Option<i64> {
        if scale >= self.decimals {
            let f = 10i64.checked_pow(u32::from(scale - self.decimals))?;
            self.units.checked_mul(f)
        } else {
            let f = 10i64.checked_pow(u32::from(self.decimals - scale))?;
            let q = self.units / f;
            let r = self.units % f;
            Some(if r * 2 >= f { q + 1 } else { q })
        }
    }
}

/// A `YYMMDD` date. `day == 0` means the last day of the month, as GS1 allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gs1Date {
    /// Two-digit year.
    pub yy: u8,
    /// Month, 1–12.
    pub month: u8,
    /// Day, 0–31.
    pub day: u8,
}

impl Gs1Date {
    fn parse(s: &str) -> Option<Gs1Date> {
        let b = s.as_bytes();
        if b.len() != 6 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| (b[i] - b'0') * 10 + (b[i + 1] - b'0');
        let (yy, month, day) = (two(0), two(2), two(4));
        let max_day = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            // The century is unknown here, so 29 February is always accepted.
            2 => 29,
            _ => return None,
        };
        (day <= max_day).then_some(Gs1Date { yy, month, day })
    }

    /// The four-digit year, by the GS1 rule relative to the current year: a year more than 50
    /// ahead is last century, more than 49 behind is next century.
    #[must_use]
    pub fn year(self, current_year: u16) -> u16 {
        let century = current_year - current_year % 100;
        let diff = i32::from(self.yy) - i32::from(current_year % 100);
        if diff > 50 {
            century - 100 + u16::from(self.yy)
        } else if diff < -49 {
            century + 100 + u16::from(self.yy)
        } else {
            century + u16::from(self.yy)
        }
    }
}

impl fmt::Display for Gs1Message {
    /// The human-readable form, `(01)09506000134352(10)ABC123`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.elements {
            write!(f, "({}){}", e.ai, e.value)?;
        }
        Ok(())
    }
}

/// Symbology identifiers of GS1 symbols that may precede the data.
const GS1_AIM_PREFIXES: [&[u8; 3]; 5] = [b"]C1", b"]e0", b"]d2", b"]Q3", b"]J1"];

/// Whether `input` starts with the symbology identifier of a GS1 symbol (`]C1`, `]e0`...).
#[must_use]
pub fn has_gs1_identifier(input: &[u8]) -> bool {
    GS1_AIM_PREFIXES.iter().any(|p| input.starts_with(&p[..]))
}

/// Parses an element string as a scanner sends it: optional AIM prefix (`]C1`...), optional
/// leading FNC1 (`GS`), AIs and values with `GS` after variable-length values.
pub fn parse(input: &[u8]) -> Result<Gs1Message, Gs1Error> {
    let mut rest = input;
    if has_gs1_identifier(rest) {
        // Every identifier is three bytes (the type of `GS1_AIM_PREFIXES` says so).
        rest = &rest[3..];
    }
    while let [GS, tail @ ..] = rest {
        rest = tail;
    }
    if rest.is_empty() {
        return Err(Gs1Error::Empty);
    }
    let mut msg = Gs1Message::default();
    let mut pos = 0;
    while pos < rest.len() {
        let spec = lookup(&rest[pos..]).ok_or(Gs1Error::UnknownAi { offset: pos })?;
        let ai_len = spec.pattern.len();
        let ai = ascii(&rest[pos..pos + ai_len], pos)?;
        pos += ai_len;
        let end = match spec.fixed {
            Some(len) => {
                let end = pos + usize::from(len);
                if end > rest.len() || rest[pos..end].contains(&GS) {
                    return Err(Gs1Error::TooShort { ai: ai.to_owned() });
                }
                end
            }
            None => rest[pos..].iter().position(|&b| b == GS).map_or(rest.len(), |i| pos + i),
        };
        let value = ascii(&rest[pos..end], pos)?;
        msg.elements.push(element(spec, ai, value)?);
        pos = end;
        if rest.get(pos) == Some(&GS) {
            pos += 1;
        }
    }
    Ok(msg)
}

/// Parses the human-readable form, `(01)09506000134352(17)201225(10)ABC123`.
pub fn parse_hri(input: &str) -> Result<Gs1Message, Gs1Error> {
    let body = input.trim();
    if body.is_empty() {
        return Err(Gs1Error::Empty);
    }
    let body = body.strip_prefix('(').ok_or(Gs1Error::Malformed)?;
    let mut msg = Gs1Message::default();
    for part in body.split('(') {
        let (ai, value) = part.split_once(')').ok_or(Gs1Error::Malformed)?;
        if ai.is_empty() || !ai.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Gs1Error::Malformed);
        }
        let spec = lookup(ai.as_bytes())
            .filter(|s| s.pattern.len() == ai.len())
            .ok_or(Gs1Error::UnknownAi { offset: 0 })?;
        if let Some(offset) = value.bytes().position(|b| !(0x20..0x7F).contains(&b)) {
            return Err(Gs1Error::BadCharacter { offset });
        }
        msg.elements.push(element(spec, ai, value)?);
    }
    Ok(msg)
}

fn ascii(bytes: &[u8], offset: usize) -> Result<&str, Gs1Error> {
    match bytes.iter().position(|&b| !(0x21..0x7F).contains(&b)) {
        Some(i) => Err(Gs1Error::BadCharacter { offset: offset + i }),
        // All bytes are printable ASCII, so this cannot fail.
        None => std::str::from_utf8(bytes).map_err(|_| Gs1Error::BadCharacter { offset }),
    }
}

fn element(spec: &'static AiSpec, ai: &str, value: &str) -> Result<Element, Gs1Error> {
    let err_ai = || ai.to_owned();
    let len = value.len();
    match spec.fixed {
        Some(n) if len != usize::from(n) => return Err(Gs1Error::TooShort { ai: err_ai() }),
        _ if len == 0 => return Err(Gs1Error::TooShort { ai: err_ai() }),
        _ if len > usize::from(spec.max) => return Err(Gs1Error::TooLong { ai: err_ai() }),
        _ => {}
    }
    if spec.kind != Kind::Text && !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Gs1Error::NotNumeric { ai: err_ai() });
    }
    match spec.kind {
        Kind::IsoAmount if len < 4 => return Err(Gs1Error::TooShort { ai: err_ai() }),
        Kind::CheckDigit if !crate::gtin::is_valid(value) => {
            return Err(Gs1Error::CheckDigit { ai: err_ai() });
        }
        Kind::Date if Gs1Date::parse(value).is_none() => {
            return Err(Gs1Error::BadDate { ai: err_ai() });
        }
        _ => {}
    }
    Ok(Element { ai: ai.to_owned(), value: value.to_owned(), spec })
}

impl Gs1Message {
    /// The value of the first element with this exact AI.
    #[must_use]
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements.iter().find(|e| e.ai == ai).map(|e| e.value.as_str())
    }

    fn first_with_prefix(&self, prefix: &str) -> Option<&Element> {
        self.elements.iter().find(|e| e.ai.len() == 4 && e.ai.starts_with(prefix))
    }

    /// AI (01), the GTIN-14 of the trade item.
    #[must_use]
    pub fn gtin(&self) -> Option<&str> {
        self.get("01")
    }

    /// AI (17), the expiry (use-by) date.
    #[must_use]
    pub fn expiry(&self) -> Option<Gs1Date> {
        self.get("17").and_then(Gs1Date::parse)
    }

    /// AI (15), the best-before date.
    #[must_use]
    pub fn best_before(&self) -> Option<Gs1Date> {
        self.get("15").and_then(Gs1Date::parse)
    }

    /// AI (10), the batch or lot.
    #[must_use]
    pub fn lot(&self) -> Option<&str> {
        self.get("10")
    }

    /// AI (21), the serial number.
    #[must_use]
    pub fn serial(&self) -> Option<&str> {
        self.get("21")
    }

    /// AI (310n), net weight in kilograms.
    #[must_use]
    pub fn net_weight_kg(&self) -> Option<Decimal> {
        self.first_with_prefix("310").and_then(Element::decimal)
    }

    /// AI (310n) in grams, rounded half away from zero.
    #[must_use]
    pub fn net_weight_grams(&self) -> Option<i64> {
        self.net_weight_kg().and_then(|d| d.rescale(3))
    }

    /// AI (392n), the price to pay in local currency.
    #[must_use]
    pub fn price(&self) -> Option<Decimal> {
        self.first_with_prefix("392").and_then(Element::decimal)
    }

    /// The data to put in a GS1-128 symbol after the leading FNC1: values back to back, with
    /// a separator (`None` in the returned list, FNC1 in the symbol) after every
    /// variable-length value that is not last.
    #[must_use]
    pub fn symbol_fields(&self) -> Vec<Option<String>> {
        let mut out = Vec::with_capacity(self.elements.len() * 2);
        for (i, e) in self.elements.iter().enumerate() {
            out.push(Some(format!("{}{}", e.ai, e.value)));
            if !e.predefined_length() && i + 1 < self.elements.len() {
                out.push(None);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_HRI: &str = "(01)09506000134352(17)201225(10)ABC123";

    fn check_example(m: &Gs1Message) {
        assert_eq!(m.gtin(), Some("09506000134352"));
        assert_eq!(m.expiry(), Some(Gs1Date { yy: 20, month: 12, day: 25 }));
        assert_eq!(m.lot(), Some("ABC123"));
        assert_eq!(m.elements.len(), 3);
        assert_eq!(m.elements[0].title(), "GTIN");
        assert_eq!(m.to_string(), EXAMPLE_HRI);
    }

    #[test]
    fn human_readable_form() {
        check_example(&parse_hri(EXAMPLE_HRI).unwrap());
    }

    #[test]
    fn scanned_forms_with_aim_prefix_and_fnc1() {
        // As a GS1-128 scanner sends it: `]C1`, no separator after the fixed-length (01) and
        // (17), the variable-length (10) last.
        check_example(&parse(b"]C101095060001343521720122510ABC123").unwrap());
        // Some encoders put an FNC1 after fixed-length values too.
        check_example(&parse(b"]C1010950600013435217201225\x1D10ABC123").unwrap());
        // A GS after a fixed-length value is redundant but harmless.
        check_example(&parse(b"0109506000134352\x1D17201225\x1D10ABC123").unwrap());
    }

    #[test]
    fn variable_fields_end_at_gs() {
        // Lot first, so it must end with GS; a leading GS (FNC1 in first position) is allowed.
        let m = parse(b"\x1D10ABC123\x1D0109506000134352172012253103001250").unwrap();
        assert_eq!(m.lot(), Some("ABC123"));
        assert_eq!(m.gtin(), Some("09506000134352"));
        assert_eq!(m.net_weight_grams(), Some(1250));
        assert_eq!(m.net_weight_kg(), Some(Decimal { units: 1250, decimals: 3 }));
        // ]d2 (GS1 DataMatrix) and ]Q3 (GS1 QR) prefixes work the same.
        let m = parse(b"]d20109506000134352\x1D21SN-0001").unwrap();
        assert_eq!(m.serial(), Some("SN-0001"));
        let m = parse(b"]Q3392201299").unwrap();
        assert_eq!(m.price().and_then(|p| p.rescale(2)), Some(12_99));
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(parse(b"]C1"), Err(Gs1Error::Empty));
        assert_eq!(parse(b""), Err(Gs1Error::Empty));
        assert_eq!(parse(b"0109506000134353"), Err(Gs1Error::CheckDigit { ai: "01".into() }));
        assert_eq!(parse(b"01095060001343"), Err(Gs1Error::TooShort { ai: "01".into() }));
        assert_eq!(parse(b"17201325"), Err(Gs1Error::BadDate { ai: "17".into() }));
        assert_eq!(parse(b"17200230"), Err(Gs1Error::BadDate { ai: "17".into() }));
        assert!(parse(b"17201200").is_ok(), "day 00 means end of month");
        assert_eq!(parse(b"0A"), Err(Gs1Error::UnknownAi { offset: 0 }));
        assert_eq!(parse(b"10ABC\x1D\x1D"), Err(Gs1Error::UnknownAi { offset: 6 }));
        assert_eq!(parse(b"10123456789012345678901"), Err(Gs1Error::TooLong { ai: "10".into() }));
        assert_eq!(parse(b"10AB\x07"), Err(Gs1Error::BadCharacter { offset: 4 }));
        assert_eq!(parse(b"30"), Err(Gs1Error::TooShort { ai: "30".into() }));
        assert_eq!(parse(b"3012a"), Err(Gs1Error::NotNumeric { ai: "30".into() }));
        assert_eq!(parse_hri("01)1"), Err(Gs1Error::Malformed));
        assert_eq!(parse_hri("(0x)1"), Err(Gs1Error::Malformed));
        assert_eq!(parse_hri("(0)1"), Err(Gs1Error::UnknownAi { offset: 0 }));
    }

    #[test]
    fn symbol_fields_put_fnc1_only_after_variable_values() {
        let m = parse_hri("(10)ABC(01)09506000134352(21)X1(17)201225").unwrap();
        assert_eq!(
            m.symbol_fields(),
            [
                Some("10ABC".into()),
                None,
                Some("0109506000134352".into()),
                Some("21X1".into()),
                None,
                Some("17201225".into()),
            ]
        );
    }

    #[test]
    fn century_rule_and_rescale() {
        let d = Gs1Date { yy: 99, month: 1, day: 1 };
        assert_eq!(d.year(2026), 1999);
        assert_eq!(Gs1Date { yy: 30, ..d }.year(2026), 2030);
        assert_eq!(Gs1Date { yy: 76, ..d }.year(2026), 2076);
        assert_eq!(Gs1Date { yy: 77, ..d }.year(2026), 1977);
        assert_eq!(Gs1Date { yy: 1, ..d }.year(2098), 2101);
        let w = Decimal { units: 12345, decimals: 4 };
        assert_eq!(w.rescale(3), Some(1235));
        assert_eq!(w.rescale(6), Some(1_234_500));
        assert_eq!(Decimal { units: i64::MAX, decimals: 0 }.rescale(3), None);
    }
}
