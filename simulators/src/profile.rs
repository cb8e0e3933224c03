//! The simulated printer's profile: paper width and which code page each `ESC t n` selects.
//!
//! This is printer data, not protocol: the same `ESC t 19` means CP858 on an Epson and
//! something else on other brands. The table below is the standard Epson one, checked against
//! python-escpos' `capabilities.json` ("default" and "TM-T88V" profiles). The tables of the
//! pages themselves are shared with the drivers (`thorbis_drivers::codepage`), so the encoder
//! and the simulator can never disagree on what a byte means.

use thorbis_drivers::codepage::CodePage;

use crate::codepage_extra::{EXTRA_PAGES, ExtraPage};

/// The character table in effect: one of the drivers' shared pages, or one of the extra
/// Epson pages only the simulator decodes (other encoders use them; ours does not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// A page `thorbis-drivers` also encodes.
    Shared(CodePage),
    /// A page only decoded here.
    Extra(&'static ExtraPage),
}

impl Charset {
    /// The character byte `b` prints as.
    #[must_use]
    pub fn decode(self, b: u8) -> char {
        match self {
            Charset::Shared(cp) => cp.decode(b),
            Charset::Extra(_) if b < 0x80 => char::from(b),
            Charset::Extra(page) => page.table[usize::from(b - 0x80)],
        }
    }

    /// The page's name: `CP858`, `ISO-8859-7`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Charset::Shared(cp) => cp.name(),
            Charset::Extra(page) => page.name,
        }
    }
}

/// What the virtual printer is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimProfile {
    /// A short name, shown in logs.
    pub name: &'static str,
    /// Printable width in dots (576 on an 80 mm head at 203 dpi, 384 on 58 mm).
    pub dots_per_line: u16,
    /// `ESC t n` slot to code page.
    pub code_pages: &'static [(u8, CodePage)],
}

/// Epson's code table numbers for the pages both crates know.
pub const EPSON_CODE_PAGES: &[(u8, CodePage)] = &[
    (0, CodePage::Cp437),
    (2, CodePage::Cp850),
    (3, CodePage::Cp860),
    (4, CodePage::Cp863),
    (5, CodePage::Cp865),
    (16, CodePage::Cp1252),
    (17, CodePage::Cp866),
    (18, CodePage::Cp852),
    (19, CodePage::Cp858),
    (45, CodePage::Cp1250),
    (46, CodePage::Cp1251),
];

impl SimProfile {
    /// A generic 80 mm Epson-compatible printer: 576 dots, Epson code tables.
    #[must_use]
    pub fn epson_80mm() -> SimProfile {
        SimProfile { name: "epson-80mm", dots_per_line: 576, code_pages: EPSON_CODE_PAGES }
    }

    /// A 58 mm Epson-compatible printer: 384 dots.
    #[must_use]
    pub fn epson_58mm() -> SimProfile {
        SimProfile { name: "epson-58mm", dots_per_line: 384, code_pages: EPSON_CODE_PAGES }
    }

    /// The code page `ESC t n` selects, if this printer has one in that slot.
    #[must_use]
    pub fn code_page(&self, n: u8) -> Option<CodePage> {
        self.code_pages.iter().find(|(slot, _)| *slot == n).map(|(_, cp)| *cp)
    }

    /// What `ESC t n` selects: a shared page, else one of the extra Epson pages.
    #[must_use]
    pub fn charset(&self, n: u8) -> Option<Charset> {
        self.code_page(n)
            .map(Charset::Shared)
            .or_else(|| EXTRA_PAGES.iter().find(|p| p.slot == n).map(Charset::Extra))
    }

    /// The slot that selects `page`.
    #[must_use]
    pub fn slot(&self, page: CodePage) -> Option<u8> {
        self.code_pages.iter().find(|(_, cp)| *cp == page).map(|(slot, _)| *slot)
    }
}

impl Default for SimProfile {
    fn default() -> SimProfile {
        SimProfile::epson_80mm()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epson_slots() {
        let p = SimProfile::default();
        assert_eq!(p.code_page(0), Some(CodePage::Cp437));
        assert_eq!(p.code_page(19), Some(CodePage::Cp858));
        assert_eq!(p.code_page(16), Some(CodePage::Cp1252));
        assert_eq!(p.code_page(1), None);
        assert_eq!(p.charset(1), None);
        assert_eq!(p.charset(15).map(Charset::name), Some("ISO-8859-7"));
        assert_eq!(p.charset(15).map(|c| c.decode(0xA4)), Some('\u{20ac}'));
        assert_eq!(p.charset(13).map(|c| c.decode(0x81)), Some('\u{fc}'));
        for (slot, page) in p.code_pages {
            assert_eq!(p.slot(*page), Some(*slot));
        }
    }
}
