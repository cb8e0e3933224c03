//! Golden tests: receipt text → ESC/POS bytes (built here, by hand, not with the drivers'
//! encoder) → simulator → rendered text equals the source text, for every code page the
//! simulated printer supports.

use thorbis_drivers::codepage::CodePage;
use thorbis_simulators::codepage_extra::EXTRA_PAGES;
use thorbis_simulators::profile::{Charset, EPSON_CODE_PAGES, SimProfile};
use thorbis_simulators::receipt::interpret_all;
use thorbis_simulators::render;

/// Encodes `lines` for `charset` in slot `slot`: `ESC @`, `ESC t n`, lines, cut.
fn stream(slot: u8, charset: Charset, lines: &[String]) -> Vec<u8> {
    let mut out = b"\x1b@".to_vec();
    out.extend_from_slice(&[0x1B, b't', slot]);
    for line in lines {
        for c in line.chars() {
            let byte = if c.is_ascii() {
                c as u8
            } else {
                (0x80..=0xFFu8)
                    .find(|&b| charset.decode(b) == c)
                    .unwrap_or_else(|| panic!("{} cannot print {c:?}", charset.name()))
            };
            out.push(byte);
        }
        out.push(b'\n');
    }
    out.extend_from_slice(b"\x1dVA\x00");
    out
}

/// Every printable character of the page's upper half, in lines of 32 (well under the 48
/// columns of font A, so no wrapping).
fn all_printable(charset: Charset) -> Vec<String> {
    let chars: Vec<char> = (0x80..=0xFFu8)
        .map(|b| charset.decode(b))
        .filter(|c| *c != char::REPLACEMENT_CHARACTER && !c.is_control())
        .collect();
    chars.chunks(32).map(|c| c.iter().collect()).collect()
}

fn sample(name: &str) -> &'static str {
    match name {
        "CP437" => "Café ½ ° ñ ü é ╔═╗",
        "CP850" | "CP1252" | "ISO-8859-15" => "Ærø Åå ß ô Grüße",
        "CP858" => "Grüße 5€",
        "CP852" | "ISO-8859-2" | "CP1250" => "Žluťoučký kůň Łódź",
        "CP866" | "CP1251" | "CP855" => "Привет, мир!",
        "CP737" | "ISO-8859-7" | "CP869" | "CP1253" => "Γειά σου κόσμε",
        "CP857" | "CP1254" => "Türkçe ğışöçü",
        _ => "",
    }
}

fn check(slot: u8, charset: Charset) {
    let mut lines = vec![
        format!("{} slot {slot}", charset.name()),
        "ASCII: The quick brown fox 0123456789 #$@".to_owned(),
    ];
    let s = sample(charset.name());
    if !s.is_empty()
        && s.chars().all(|c| c.is_ascii() || (0x80..=0xFFu8).any(|b| charset.decode(b) == c))
    {
        lines.push(s.to_owned());
    }
    lines.extend(all_printable(charset));
    let bytes = stream(slot, charset, &lines);
    let receipts = interpret_all(&SimProfile::default(), &bytes);
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].diagnostics.is_empty(), "{:?}", receipts[0].diagnostics);
    let expected: String = lines.iter().flat_map(|l| [l.as_str(), "\n"]).collect();
    assert_eq!(render::text(&receipts[0].receipt), expected, "{}", charset.name());
}

#[test]
fn every_shared_code_page_round_trips() {
    assert_eq!(EPSON_CODE_PAGES.len(), CodePage::ALL.len(), "a drivers page has no slot");
    for &(slot, page) in EPSON_CODE_PAGES {
        check(slot, Charset::Shared(page));
    }
}

#[test]
fn every_extra_code_page_round_trips() {
    for page in EXTRA_PAGES {
        check(page.slot, Charset::Extra(page));
    }
}

/// Bytes written from data sheets, independent of any table in this workspace: guards
/// against a wrong table entry that a round trip through the same table would not see.
#[test]
fn known_bytes_print_known_characters() {
    let cases: &[(&[u8], &str)] = &[
        (b"\x1bt\x13Gr\x81\xe1e 5\xd5\n", "Grüße 5€\n"),
        (b"\x1bt\x00Caf\x82 \xab\n", "Café ½\n"),
        (b"\x1bt\x02\x92r\x9b \x8f\x86\n", "Ærø Åå\n"),
        (b"\x1bt\x12\xa6lu\x9cou\x9fk\xec\n", "Žluťoučký\n"),
        (b"\x1bt\x11\x8f\xe0\xa8\xa2\xa5\xe2\n", "Привет\n"),
        (b"\x1bt\x10\x80 \x8c\x93\x94\n", "€ Œ“”\n"),
        (b"\x1bt\x0f\xa4 \xe1\n", "€ α\n"),
    ];
    for (bytes, text) in cases {
        let r = interpret_all(&SimProfile::default(), bytes);
        assert_eq!(render::text(&r[0].receipt), *text);
    }
}
