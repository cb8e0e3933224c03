//! 1D barcode symbologies as a printer draws them: data in, a row of modules out.
//!
//! A real printer computes the bars itself from the `GS k` data, so the simulator does too,
//! from the symbology specifications (ISO/IEC 15420 EAN/UPC, 16388 Code 39, 16390 ITF,
//! 15417 Code 128, AIM Code 93 and Codabar). The tables are small and decoded back by
//! `zbarimg` in the tests. This module knows nothing about pixels: [`Linear::modules`] is
//! one `bool` per narrow module, `true` for a bar; the renderer scales it.
//!
//! Wide elements of two-width symbologies (Code 39, ITF, Codabar) are three modules, a ratio
//! every decoder accepts.

use std::fmt::Write as _;

use crate::escpos::Symbology;

/// A barcode ready to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linear {
    /// Bars (`true`) and spaces, one per module, without quiet zones.
    pub modules: Vec<bool>,
    /// The human readable interpretation: the data a scanner returns.
    pub hri: String,
}

/// Encodes `data` as the printer would, or says why the printer would refuse it.
pub fn encode(symbology: Symbology, data: &[u8]) -> Result<Linear, String> {
    match symbology {
        Symbology::Ean13 => ean13(data),
        Symbology::UpcA => upca(data),
        Symbology::Ean8 => ean8(data),
        Symbology::UpcE => upce(data),
        Symbology::Code39 => code39(data),
        Symbology::Itf => itf(data),
        Symbology::Codabar => codabar(data),
        Symbology::Code93 => code93(data),
        Symbology::Code128 => code128(data),
        Symbology::Gs1_128 => code128_auto(data, true),
        Symbology::Code128Auto => code128_auto(data, false),
    }
}

/// Appends element widths, alternating bar and space, starting with a bar.
fn push_widths(out: &mut Vec<bool>, widths: impl IntoIterator<Item = u8>, mut bar: bool) {
    for w in widths {
        out.extend(std::iter::repeat_n(bar, usize::from(w)));
        bar = !bar;
    }
}

fn push_bits(out: &mut Vec<bool>, bits: &str) {
    out.extend(bits.bytes().map(|b| b == b'1'));
}

fn digits(data: &[u8], what: &str) -> Result<Vec<u8>, String> {
    data.iter()
        .map(
            |&b| {
                if b.is_ascii_digit() {
                    Ok(b - b'0')
                } else {
                    Err(format!("{what}: non-digit data"))
                }
            },
        )
        .collect()
}

/// The GS1 mod-10 check digit of `d` (weights 3,1,3... from the right).
fn gs1_check(d: &[u8]) -> u8 {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Digits with their check digit: computed for `n - 1` digits, verified for `n`.
fn with_check(data: &[u8], n: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut d = digits(data, what)?;
    if d.len() == n - 1 {
        d.push(gs1_check(&d));
    } else if d.len() != n {
        return Err(format!("{what}: {} digits, expected {} or {n}", d.len(), n - 1));
    } else if d[n - 1] != gs1_check(&d[..n - 1]) {
        return Err(format!("{what}: wrong check digit"));
    }
    Ok(d)
}

const EAN_L: [&str; 10] = [
    "0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
    "0110111", "0001011",
];
const EAN_G: [&str; 10] = [
    "0100111", "0110011", "0011011", "0100001", "0011101", "0111001", "0000101", "0010001",
    "0001001", "0010111",
];
const EAN_R: [&str; 10] = [
    "1110010", "1100110", "1101100", "1000010", "1011100", "1001110", "1010000", "1000100",
    "1001000", "1110100",
];
/// EAN-13 parity of the left half, chosen by the first digit (`G` = even).
const EAN13_PARITY: [&str; 10] = [
    "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL",
    "LGGLGL",
];

fn hri_digits(d: &[u8]) -> String {
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

fn ean13_modules(d: &[u8]) -> Vec<bool> {
    let mut m = Vec::with_capacity(95);
    push_bits(&mut m, "101");
    for (i, &x) in d[1..7].iter().enumerate() {
        let even = EAN13_PARITY[usize::from(d[0])].as_bytes()[i] == b'G';
        push_bits(&mut m, if even { EAN_G[usize::from(x)] } else { EAN_L[usize::from(x)] });
    }
    push_bits(&mut m, "01010");
    for &x in &d[7..13] {
        push_bits(&mut m, EAN_R[usize::from(x)]);
    }
    push_bits(&mut m, "101");
    m
}

fn ean13(data: &[u8]) -> Result<Linear, String> {
    let d = with_check(data, 13, "EAN13")?;
    Ok(Linear { modules: ean13_modules(&d), hri: hri_digits(&d) })
}

fn upca(data: &[u8]) -> Result<Linear, String> {
    let d = with_check(data, 12, "UPC-A")?;
    let mut e = vec![0];
    e.extend_from_slice(&d);
    Ok(Linear { modules: ean13_modules(&e), hri: hri_digits(&d) })
}

fn ean8(data: &[u8]) -> Result<Linear, String> {
    let d = with_check(data, 8, "EAN8")?;
    let mut m = Vec::with_capacity(67);
    push_bits(&mut m, "101");
    for &x in &d[..4] {
        push_bits(&mut m, EAN_L[usize::from(x)]);
    }
    push_bits(&mut m, "01010");
    for &x in &d[4..] {
        push_bits(&mut m, EAN_R[usize::from(x)]);
    }
    push_bits(&mut m, "101");
    Ok(Linear { modules: m, hri: hri_digits(&d) })
}

/// The UPC-A number (11 digits, no check) a UPC-E body stands for.
fn upce_expand(ns: u8, s: &[u8]) -> Vec<u8> {
    let mut a = vec![ns, s[0], s[1]];
    match s[5] {
        0..=2 => a.extend_from_slice(&[s[5], 0, 0, 0, 0, s[2], s[3], s[4]]),
        3 => a.extend_from_slice(&[s[2], 0, 0, 0, 0, 0, s[3], s[4]]),
        4 => a.extend_from_slice(&[s[2], s[3], 0, 0, 0, 0, 0, s[4]]),
        _ => a.extend_from_slice(&[s[2], s[3], s[4], 0, 0, 0, 0, s[5]]),
    }
    a
}

/// The UPC-E body of a UPC-A number (11 digits), if it has one.
fn upce_compress(a: &[u8]) -> Option<Vec<u8>> {
    (0..10u8).find_map(|last| {
        // Try every body the zero-suppression rules could give, keep one that expands back.
        let candidates: [[u8; 6]; 1] = [match last {
            0..=2 => [a[1], a[2], a[8], a[9], a[10], a[3]],
            3 => [a[1], a[2], a[3], a[9], a[10], 3],
            4 => [a[1], a[2], a[3], a[4], a[10], 4],
            _ => [a[1], a[2], a[3], a[4], a[5], a[10]],
        }];
        candidates.into_iter().find(|s| upce_expand(a[0], s) == a).map(|s| s.to_vec())
    })
}

/// UPC-E parity for number system 0 by check digit (`E` = even); system 1 inverts it.
const UPCE_PARITY: [&str; 10] = [
    "EEEOOO", "EEOEOO", "EEOOEO", "EEOOOE", "EOEEOO", "EOOEEO", "EOOOEE", "EOEOEO", "EOEOOE",
    "EOOEOE",
];

fn upce(data: &[u8]) -> Result<Linear, String> {
    let d = digits(data, "UPC-E")?;
    let (ns, body, given_check) = match d.len() {
        6 => (0, d.clone(), None),
        7 => (d[0], d[1..].to_vec(), None),
        8 => (d[0], d[1..7].to_vec(), Some(d[7])),
        11 | 12 => {
            let body = upce_compress(&d[..11])
                .ok_or_else(|| "UPC-E: this UPC-A number has no UPC-E form".to_owned())?;
            (d[0], body, d.get(11).copied())
        }
        n => return Err(format!("UPC-E: {n} digits")),
    };
    if ns > 1 {
        return Err("UPC-E: number system must be 0 or 1".to_owned());
    }
    let check = gs1_check(&upce_expand(ns, &body));
    if given_check.is_some_and(|c| c != check) {
        return Err("UPC-E: wrong check digit".to_owned());
    }
    let mut m = Vec::with_capacity(51);
    push_bits(&mut m, "101");
    for (i, &x) in body.iter().enumerate() {
        let even = (UPCE_PARITY[usize::from(check)].as_bytes()[i] == b'E') == (ns == 0);
        push_bits(&mut m, if even { EAN_G[usize::from(x)] } else { EAN_L[usize::from(x)] });
    }
    push_bits(&mut m, "010101");
    let mut hri = vec![ns];
    hri.extend_from_slice(&body);
    hri.push(check);
    Ok(Linear { modules: m, hri: hri_digits(&hri) })
}

/// Narrow/wide pattern to module widths (wide = 3).
fn nw(pattern: &str) -> impl Iterator<Item = u8> + '_ {
    pattern.bytes().map(|b| if b == b'w' { 3 } else { 1 })
}

const CODE39_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%*";
const CODE39: [&str; 44] = [
    "nnnwwnwnn",
    "wnnwnnnnw",
    "nnwwnnnnw",
    "wnwwnnnnn",
    "nnnwwnnnw",
    "wnnwwnnnn",
    "nnwwwnnnn",
    "nnnwnnwnw",
    "wnnwnnwnn",
    "nnwwnnwnn",
    "wnnnnwnnw",
    "nnwnnwnnw",
    "wnwnnwnnn",
    "nnnnwwnnw",
    "wnnnwwnnn",
    "nnwnwwnnn",
    "nnnnnwwnw",
    "wnnnnwwnn",
    "nnwnnwwnn",
    "nnnnwwwnn",
    "wnnnnnnww",
    "nnwnnnnww",
    "wnwnnnnwn",
    "nnnnwnnww",
    "wnnnwnnwn",
    "nnwnwnnwn",
    "nnnnnnwww",
    "wnnnnnwwn",
    "nnwnnnwwn",
    "nnnnwnwwn",
    "wwnnnnnnw",
    "nwwnnnnnw",
    "wwwnnnnnn",
    "nwnnwnnnw",
    "wwnnwnnnn",
    "nwwnwnnnn",
    "nwnnnnwnw",
    "wwnnnnwnn",
    "nwwnnnwnn",
    "nwnwnwnnn",
    "nwnwnnnwn",
    "nwnnnwnwn",
    "nnnwnwnwn",
    "nwnnwnwnn",
];

fn code39(data: &[u8]) -> Result<Linear, String> {
    // The printer adds the `*` start/stop itself when the data does not carry them.
    let body = data.strip_prefix(b"*").and_then(|d| d.strip_suffix(b"*")).unwrap_or(data);
    if body.is_empty() {
        return Err("CODE39: no data".to_owned());
    }
    let mut m = Vec::new();
    push_widths(&mut m, nw(CODE39[43]), true);
    for &c in body {
        let i = CODE39_CHARS[..43]
            .iter()
            .position(|&x| x == c)
            .ok_or_else(|| format!("CODE39: character 0x{c:02X} not in the set"))?;
        m.push(false); // inter-character gap
        push_widths(&mut m, nw(CODE39[i]), true);
    }
    m.push(false);
    push_widths(&mut m, nw(CODE39[43]), true);
    Ok(Linear { modules: m, hri: String::from_utf8_lossy(body).into_owned() })
}

const ITF: [&str; 10] =
    ["nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn"];

fn itf(data: &[u8]) -> Result<Linear, String> {
    let d = digits(data, "ITF")?;
    if d.is_empty() || d.len() % 2 != 0 {
        return Err("ITF: needs an even number of digits".to_owned());
    }
    let mut m = Vec::new();
    push_widths(&mut m, [1, 1, 1, 1], true);
    for pair in d.chunks(2) {
        let (bars, spaces) = (ITF[usize::from(pair[0])], ITF[usize::from(pair[1])]);
        let widths = nw(bars).zip(nw(spaces)).flat_map(|(b, s)| [b, s]);
        push_widths(&mut m, widths, true);
    }
    push_widths(&mut m, [3, 1, 1], true);
    Ok(Linear { modules: m, hri: hri_digits(&d) })
}

const CODABAR_CHARS: &[u8] = b"0123456789-$:/.+ABCD";
const CODABAR: [&str; 20] = [
    "nnnnnww", "nnnnwwn", "nnnwnnw", "wwnnnnn", "nnwnnwn", "wnnnnwn", "nwnnnnw", "nwnnwnn",
    "nwwnnnn", "wnnwnnn", "nnnwwnn", "nnwwnnn", "wnnnwnw", "wnwnnnw", "wnwnwnn", "nnwnwnw",
    "nnwwnwn", "nwnwnnw", "nnnwnww", "nnnwwwn",
];

fn codabar(data: &[u8]) -> Result<Linear, String> {
    let upper: Vec<u8> = data.iter().map(u8::to_ascii_uppercase).collect();
    let is_guard = |c: &u8| matches!(c, b'A'..=b'D');
    if upper.len() < 3 || !is_guard(&upper[0]) || !is_guard(&upper[upper.len() - 1]) {
        return Err("CODABAR: data must start and end with A, B, C or D".to_owned());
    }
    let mut m = Vec::new();
    for (i, &c) in upper.iter().enumerate() {
        let k = CODABAR_CHARS
            .iter()
            .position(|&x| x == c)
            .filter(|&k| k < 16 || i == 0 || i == upper.len() - 1)
            .ok_or_else(|| format!("CODABAR: character 0x{c:02X} not in the set"))?;
        push_widths(&mut m, nw(CODABAR[k]), true);
        m.push(false);
    }
    m.pop();
    Ok(Linear { modules: m, hri: String::from_utf8_lossy(&upper).into_owned() })
}

const CODE93_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%";
/// Element widths of the 47 Code 93 values (43 characters and the four shifts).
const CODE93: [&[u8; 6]; 47] = [
    b"131112", b"111213", b"111312", b"111411", b"121113", b"121212", b"121311", b"111114",
    b"131211", b"141111", b"211113", b"211212", b"211311", b"221112", b"221211", b"231111",
    b"112113", b"112212", b"112311", b"122112", b"132111", b"111123", b"111222", b"111321",
    b"121122", b"131121", b"212112", b"212211", b"211122", b"211221", b"221121", b"222111",
    b"112122", b"112221", b"122121", b"123111", b"121131", b"311112", b"311211", b"321111",
    b"112131", b"113121", b"211131", b"121221", b"312111", b"311121", b"122211",
];
const SHIFT_DOLLAR: u8 = 43;
const SHIFT_PERCENT: u8 = 44;
const SHIFT_SLASH: u8 = 45;
const SHIFT_PLUS: u8 = 46;

/// Code 93 values for one ASCII byte (full ASCII through the four shift characters).
fn code93_values(c: u8) -> Option<Vec<u8>> {
    if let Some(i) = CODE93_CHARS.iter().position(|&x| x == c) {
        return Some(vec![i as u8]);
    }
    let letter = |shift: u8, from: u8| Some(vec![shift, 10 + (c - from)]);
    match c {
        0 => Some(vec![SHIFT_PERCENT, 30]), // %U
        1..=26 => letter(SHIFT_DOLLAR, 1),
        27..=31 => letter(SHIFT_PERCENT, 27),
        b'!'..=b',' => letter(SHIFT_SLASH, b'!'),
        b':' => Some(vec![SHIFT_SLASH, 35]), // /Z
        b';'..=b'?' => Some(vec![SHIFT_PERCENT, 15 + (c - b';')]), // %F..%J
        b'@' => Some(vec![SHIFT_PERCENT, 31]), // %V
        b'['..=b'_' => Some(vec![SHIFT_PERCENT, 20 + (c - b'[')]), // %K..%O
        b'`' => Some(vec![SHIFT_PERCENT, 32]), // %W
        b'a'..=b'z' => letter(SHIFT_PLUS, b'a'),
        b'{'..=0x7F => Some(vec![SHIFT_PERCENT, 25 + (c - b'{')]), // %P..%T
        _ => None,
    }
}

fn code93(data: &[u8]) -> Result<Linear, String> {
    if data.is_empty() {
        return Err("CODE93: no data".to_owned());
    }
    let mut values = Vec::new();
    for &c in data {
        values.extend(
            code93_values(c).ok_or_else(|| format!("CODE93: byte 0x{c:02X} out of range"))?,
        );
    }
    for max_weight in [20, 15] {
        let sum: usize = values
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &v)| usize::from(v) * (i % max_weight + 1))
            .sum();
        values.push((sum % 47) as u8);
    }
    let mut m = Vec::new();
    let start_stop = [1u8, 1, 1, 1, 4, 1];
    push_widths(&mut m, start_stop, true);
    for v in values {
        push_widths(&mut m, CODE93[usize::from(v)].iter().map(|w| w - b'0'), true);
    }
    push_widths(&mut m, start_stop, true);
    m.push(true); // termination bar
    Ok(Linear { modules: m, hri: String::from_utf8_lossy(data).into_owned() })
}

/// Element widths of the 107 Code 128 symbols (the last one, stop, has seven elements).
const CODE128: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Set {
    A,
    B,
    C,
}

/// Code 128 the way Epson's `GS k 73` takes it: data opens with `{A`, `{B` or `{C`; `{X`
/// switches set, `{S` shifts one character, `{1`..`{4` are FNC1..FNC4 and `{{` is a `{`.
/// In set C every byte is one value 0..=99 (two digits), not ASCII digits.
fn code128(data: &[u8]) -> Result<Linear, String> {
    let err = |m: &str| Err(format!("CODE128: {m}"));
    let mut set = match data {
        [b'{', b'A', ..] => Set::A,
        [b'{', b'B', ..] => Set::B,
        [b'{', b'C', ..] => Set::C,
        _ => return err("data must start with {A, {B or {C"),
    };
    let mut values: Vec<u8> = vec![match set {
        Set::A => 103,
        Set::B => 104,
        Set::C => 105,
    }];
    let mut hri = String::new();
    let mut i = 2;
    let mut shift = false;
    while i < data.len() {
        let c = data[i];
        if c == b'{' {
            let Some(&f) = data.get(i + 1) else { return err("data ends with '{'") };
            i += 2;
            let v = match (f, set) {
                (b'A', Set::A) | (b'B', Set::B) | (b'C', Set::C) => continue,
                (b'A', _) => {
                    set = Set::A;
                    101
                }
                (b'B', _) => {
                    set = Set::B;
                    100
                }
                (b'C', _) => {
                    set = Set::C;
                    99
                }
                (b'S', Set::A | Set::B) => {
                    shift = true;
                    98
                }
                (b'1', _) => 102,
                (b'2', Set::A | Set::B) => 97,
                (b'3', Set::A | Set::B) => 96,
                (b'4', Set::A) => 101,
                (b'4', Set::B) => 100,
                (b'{', Set::A | Set::B) => {
                    i -= 1; // the second `{` is the data character
                    continue;
                }
                _ => return err("invalid '{' sequence"),
            };
            values.push(v);
            continue;
        }
        i += 1;
        let effective = match (set, shift) {
            (Set::A, true) => Set::B,
            (Set::B, true) => Set::A,
            (s, _) => s,
        };
        shift = false;
        let v = match effective {
            Set::A if c < 32 => c + 64,
            Set::A if c < 96 => c - 32,
            Set::B if (32..128).contains(&c) => c - 32,
            Set::C if c < 100 => {
                let _ = write!(hri, "{c:02}");
                values.push(c);
                continue;
            }
            _ => return err(&format!("byte 0x{c:02X} not in the code set")),
        };
        hri.push(char::from(c));
        values.push(v);
    }
    let check =
        values.iter().enumerate().map(|(i, &v)| usize::from(v) * i.max(1)).sum::<usize>() % 103;
    values.push(check as u8);
    values.push(106);
    let mut m = Vec::new();
    for v in values {
        push_widths(&mut m, CODE128[usize::from(v)].bytes().map(|w| w - b'0'), true);
    }
    Ok(Linear { modules: m, hri })
}

/// Code 128 where the printer chooses the code sets (`GS k 79`), or GS1-128 (`GS k 74`):
/// runs of four or more digits go in set C, control characters in set A, the rest in set B.
/// For GS1-128 a leading FNC1 is added, `GS` (0x1D) or `{1` separates variable-length
/// fields (FNC1), and parentheses around application identifiers are for people only: they
/// show in the HRI, not in the bars.
fn code128_auto(hri_data: &[u8], gs1: bool) -> Result<Linear, String> {
    let stripped: Vec<u8>;
    let data = if gs1 {
        stripped = hri_data.iter().copied().filter(|b| !matches!(b, b'(' | b')')).collect();
        &stripped
    } else {
        hri_data
    };
    let mut braces: Vec<u8> = Vec::new();
    let mut set = 0u8;
    let switch = |braces: &mut Vec<u8>, to: u8, set: &mut u8| {
        if *set != to {
            braces.extend_from_slice(&[b'{', to]);
            *set = to;
        }
    };
    if gs1 {
        // Start in C when the data opens with digits (as AIs do), and FNC1 right after start.
        let start = if data.iter().take(2).all(u8::is_ascii_digit) { b'C' } else { b'B' };
        switch(&mut braces, start, &mut set);
        braces.extend_from_slice(b"{1");
    }
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        let digits = data[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits >= 4 || (digits >= 2 && set == b'C') {
            switch(&mut braces, b'C', &mut set);
            for pair in data[i..i + digits / 2 * 2].chunks(2) {
                braces.push((pair[0] - b'0') * 10 + (pair[1] - b'0'));
            }
            i += digits / 2 * 2;
            continue;
        }
        i += 1;
        match c {
            0x1D if gs1 => {
                let to = if set == 0 { b'B' } else { set };
                switch(&mut braces, to, &mut set);
                braces.extend_from_slice(b"{1");
            }
            b'{' if gs1 && data.get(i) == Some(&b'1') => {
                i += 1;
                let to = if set == 0 { b'B' } else { set };
                switch(&mut braces, to, &mut set);
                braces.extend_from_slice(b"{1");
            }
            0..=31 => {
                switch(&mut braces, b'A', &mut set);
                braces.push(c);
            }
            32..=127 => {
                switch(&mut braces, b'B', &mut set);
                braces.push(c);
                if c == b'{' {
                    braces.push(b'{');
                }
            }
            _ => return Err(format!("CODE128: byte 0x{c:02X} out of range")),
        }
    }
    if braces.is_empty() {
        return Err("CODE128: no data".to_owned());
    }
    let mut linear = code128(&braces)?;
    if gs1 {
        linear.hri = hri_data.iter().filter(|b| **b >= 0x20).map(|&b| char::from(b)).collect();
    }
    Ok(linear)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(m: &[bool]) -> String {
        m.iter().map(|&b| if b { '1' } else { '0' }).collect()
    }

    #[test]
    fn ean13_computes_and_checks_the_check_digit() {
        let a = encode(Symbology::Ean13, b"400638133393").unwrap();
        assert_eq!(a.hri, "4006381333931");
        assert_eq!(a.modules.len(), 95);
        assert_eq!(encode(Symbology::Ean13, b"4006381333931").unwrap(), a);
        assert!(encode(Symbology::Ean13, b"4006381333932").is_err());
        assert!(encode(Symbology::Ean13, b"40063813339").is_err());
    }

    #[test]
    fn code128_switches_sets() {
        let a = encode(Symbology::Code128, b"{BAB-{C\x0c\x22").unwrap();
        assert_eq!(a.hri, "AB-1234");
        // Start B, A, B, -, Code C, 12, 34, check, stop: 9 symbols of 11 modules, stop 13.
        assert_eq!(a.modules.len(), 8 * 11 + 13);
        assert!(bits(&a.modules).starts_with("11010010000")); // start B
        assert!(encode(Symbology::Code128, b"AB").is_err());
    }

    #[test]
    fn widths_are_whole() {
        for (s, d) in [
            (Symbology::Code39, b"ABC-12".as_slice()),
            (Symbology::Itf, b"12345678"),
            (Symbology::Codabar, b"A1234B"),
            (Symbology::Code93, b"TEST93"),
            (Symbology::Ean8, b"9638507"),
            (Symbology::UpcA, b"03600029145"),
            (Symbology::UpcE, b"0123456"),
        ] {
            let l = encode(s, d).unwrap();
            assert!(l.modules.first() == Some(&true) && l.modules.last() == Some(&true), "{s}");
        }
        assert_eq!(encode(Symbology::Ean8, b"9638507").unwrap().modules.len(), 67);
        assert_eq!(encode(Symbology::UpcE, b"0123456").unwrap().modules.len(), 51);
    }

    #[test]
    fn automatic_code_sets() {
        let auto = encode(Symbology::Code128Auto, b"AB12345678").unwrap();
        assert_eq!(auto, code128(b"{BAB{C\x0c\x22\x38\x4e").unwrap());
        let gs1 = encode(Symbology::Gs1_128, b"(01)09501101020917(10)AB").unwrap();
        assert_eq!(gs1.hri, "(01)09501101020917(10)AB");
        let manual = code128(b"{C{1\x01\x09\x32\x0b\x01\x02\x09\x11\x0a{BAB").unwrap();
        assert_eq!(gs1.modules, manual.modules);
    }

    #[test]
    fn upce_round_trips_through_upca() {
        let e = encode(Symbology::UpcE, b"0123456").unwrap();
        let a = encode(Symbology::UpcE, b"01234500006").unwrap();
        assert_eq!(e.hri, a.hri);
    }
}
