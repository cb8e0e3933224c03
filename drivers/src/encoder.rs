//! Receipt → ESC/POS bytes, for one printer profile.
//!
//! The encoder is a pure function of the receipt and the profile: no IO, no clock. It tracks
//! the printer's modes as it writes (bold, size, alignment, code page) so that a mode command
//! is only sent when the mode changes, which keeps jobs small on slow serial links. Text is
//! encoded character by character: ASCII goes through as is, any other character is looked up
//! in the current code page and, when missing there, in the profile's other pages in order,
//! switching with `ESC t` mid-line if needed. Control characters in text become spaces, so an
//! item name can never smuggle a command (a stray `ESC p` would open the drawer).
//!
//! ```
//! use thorbis_drivers::encoder::Encoder;
//! use thorbis_drivers::profile::PrinterProfile;
//! use thorbis_drivers::receipt::{Receipt, CutKind};
//!
//! let profile = PrinterProfile::builtin("generic-80mm").unwrap();
//! let bytes = Encoder::new(&profile)
//!     .encode(&Receipt::new().text("Total 9,50 €").cut(CutKind::Partial))
//!     .unwrap();
//! // ESC @, the text with ESC t 19 (CP858) before the euro sign, LF, then GS V 66 0.
//! assert_eq!(&bytes[..2], b"\x1b@");
//! assert!(bytes.windows(4).any(|w| w == b"\x1bt\x13\xd5"));
//! assert!(bytes.ends_with(b"\n\x1dVB\x00"));
//! ```

use crate::codepage::CodePage;
use crate::command::{self, Align, BarcodeSystem, CutKind, QR_MAX_DATA};
use crate::gs1::{self, Gs1Error};
use crate::layout::{self, RowTooWide};
use crate::profile::{Cutter, Font, PrinterProfile};
use crate::receipt::{
    Barcode, Block, DrawerPulse, Image, Paragraph, QrCode, Receipt, Row, Size, SpanStyle,
    Symbology, Underline,
};

/// Choices that are about the job rather than the printer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Start with `ESC @` so that modes left by an earlier job cannot leak in.
    pub initialize: bool,
    /// Printed for a character no code page of the printer has.
    pub substitute: u8,
    /// Lines fed for a cut on a printer without a cutter, to clear the tear bar.
    pub tear_off_feed: u8,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { initialize: true, substitute: b'?', tear_off_feed: 4 }
    }
}

/// A receipt the profile's printer cannot print as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The printer lacks a capability the receipt needs.
    #[error("printer profile {profile:?} does not support {feature}")]
    Unsupported {
        /// The profile name.
        profile: String,
        /// What is missing.
        feature: &'static str,
    },
    /// Barcode data that the symbology cannot carry.
    #[error("invalid {symbology:?} data: {reason}")]
    BarcodeData {
        /// The symbology.
        symbology: Symbology,
        /// Why.
        reason: &'static str,
    },
    /// GS1-128 data that is not a valid element string.
    #[error("invalid GS1-128 data: {0}")]
    Gs1(#[from] Gs1Error),
    /// More QR data than a QR code holds.
    #[error("QR data of {len} bytes exceeds {QR_MAX_DATA}")]
    QrTooLong {
        /// The length.
        len: usize,
    },
    /// An image wider than the print head.
    #[error("image is {width} dots wide, the printer prints {max}")]
    ImageTooWide {
        /// The image width.
        width: u16,
        /// The printable width.
        max: u16,
    },
    /// Columns that do not fit the line.
    #[error(transparent)]
    RowTooWide(#[from] RowTooWide),
}

/// Encodes receipts for one printer profile.
#[derive(Clone, Debug)]
pub struct Encoder<'p> {
    profile: &'p PrinterProfile,
    options: EncodeOptions,
}

impl<'p> Encoder<'p> {
    /// An encoder with default options.
    #[must_use]
    pub fn new(profile: &'p PrinterProfile) -> Encoder<'p> {
        Encoder::with_options(profile, EncodeOptions::default())
    }

    /// An encoder with these options.
    #[must_use]
    pub fn with_options(profile: &'p PrinterProfile, options: EncodeOptions) -> Encoder<'p> {
        Encoder { profile, options }
    }

    /// The receipt as one ESC/POS job.
    pub fn encode(&self, receipt: &Receipt) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(1024);
        self.encode_into(receipt, &mut out)?;
        Ok(out)
    }

    /// Appends the receipt's bytes to `out`. On error `out` is left as it was.
    pub fn encode_into(&self, receipt: &Receipt, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let start = out.len();
        let mut w = Writer::new(self.profile, self.options, out);
        if self.options.initialize {
            w.initialize();
        }
        let result = receipt.blocks.iter().try_for_each(|b| w.block(b));
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

/// The printer's modes as far as we know them; `None` is "unknown, send before use".
#[derive(Clone, Copy, Debug, Default)]
struct Modes {
    page: Option<CodePage>,
    bold: Option<bool>,
    underline: Option<Underline>,
    invert: Option<bool>,
    size: Option<Size>,
    font: Option<Font>,
    align: Option<Align>,
}

struct Writer<'a> {
    profile: &'a PrinterProfile,
    options: EncodeOptions,
    out: &'a mut Vec<u8>,
    modes: Modes,
    /// Spaces not yet written: row padding is held back so that blanks at the end of a line,
    /// which print nothing, are never sent.
    pending_spaces: usize,
}

impl<'a> Writer<'a> {
    fn new(profile: &'a PrinterProfile, options: EncodeOptions, out: &'a mut Vec<u8>) -> Self {
        Writer { profile, options, out, modes: Modes::default(), pending_spaces: 0 }
    }

    fn initialize(&mut self) {
        command::initialize(self.out);
        // After ESC @ every mode is at its default except the code page, which the printer
        // takes from its memory switches: that one stays unknown.
        self.modes = Modes {
            page: None,
            bold: Some(false),
            underline: Some(Underline::None),
            invert: Some(false),
            size: Some(Size::NORMAL),
            font: Some(Font::A),
            align: Some(Align::Left),
        };
    }

    fn unsupported(&self, feature: &'static str) -> EncodeError {
        EncodeError::Unsupported { profile: self.profile.name.clone(), feature }
    }

    fn block(&mut self, block: &Block) -> Result<(), EncodeError> {
        match block {
            Block::Paragraph(p) => self.paragraph(p),
            Block::Row(r) => self.row(r)?,
            Block::Rule { ch } => self.rule(*ch),
            Block::Barcode(b) => self.barcode(b)?,
            Block::Qr(q) => self.qr(q)?,
            Block::Image(i) => self.image(i)?,
            Block::Feed { lines } => command::feed_lines(self.out, *lines),
            Block::Cut { kind } => self.cut(*kind),
            Block::Drawer(p) => self.drawer(*p)?,
        }
        Ok(())
    }

    // --- modes -------------------------------------------------------------------------

    fn set_span(&mut self, s: SpanStyle) {
        if self.modes.bold != Some(s.bold)
            || self.modes.underline != Some(s.underline)
            || self.modes.invert != Some(s.invert)
        {
            self.flush_spaces();
        }
        if self.modes.bold != Some(s.bold) {
            command::bold(self.out, s.bold);
            self.modes.bold = Some(s.bold);
        }
        if self.modes.underline != Some(s.underline) {
            let dots = match s.underline {
                Underline::None => 0,
                Underline::Single => 1,
                Underline::Double => 2,
            };
            command::underline(self.out, dots);
            self.modes.underline = Some(s.underline);
        }
        if self.modes.invert != Some(s.invert) {
            command::invert(self.out, s.invert);
            self.modes.invert = Some(s.invert);
        }
    }

    fn set_size(&mut self, size: Size) {
        let size = Size::new(size.width, size.height);
        if self.modes.size != Some(size) {
            command::char_size(self.out, size.width, size.height);
            self.modes.size = Some(size);
        }
    }

    fn set_font(&mut self, font: Font) {
        if self.modes.font != Some(font) {
            command::font(self.out, font);
            self.modes.font = Some(font);
        }
    }

    fn set_align(&mut self, align: Align) {
        if self.modes.align != Some(align) {
            command::align(self.out, align);
            self.modes.align = Some(align);
        }
    }

    /// Characters per line at this font and size.
    fn line_width(&self, font: Font, size: Size) -> usize {
        (usize::from(self.profile.columns(font)) / usize::from(size.width.clamp(1, 8))).max(1)
    }

    // --- text --------------------------------------------------------------------------

    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        self.flush_spaces();
        if s.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            self.out.extend_from_slice(s.as_bytes());
            return;
        }
        for c in s.chars() {
            self.char(c);
        }
    }

    /// Blanks under the current style: held back unless the style makes them visible.
    fn spaces(&mut self, n: usize) {
        self.pending_spaces += n;
        if self.modes.invert == Some(true) || self.modes.underline != Some(Underline::None) {
            self.flush_spaces();
        }
    }

    fn flush_spaces(&mut self) {
        let n = std::mem::take(&mut self.pending_spaces);
        self.out.resize(self.out.len() + n, b' ');
    }

    fn end_line(&mut self) {
        self.pending_spaces = 0;
        command::line_feed(self.out);
    }

    fn char(&mut self, c: char) {
        if c.is_ascii() {
            let b = c as u8;
            self.out.push(if (0x20..0x7F).contains(&b) { b } else { b' ' });
            return;
        }
        if let Some(b) = self.modes.page.and_then(|p| p.encode(c)) {
            self.out.push(b);
            return;
        }
        for slot in &self.profile.code_pages {
            if let Some(b) = slot.page.encode(c) {
                command::select_code_table(self.out, slot.slot);
                self.modes.page = Some(slot.page);
                self.out.push(b);
                return;
            }
        }
        // No page has it: fall back to a look-alike of the same width, else the substitute.
        let fallback = match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{2032}' => b'\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' => b'"',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => b'-',
            '\u{2022}' => b'*',
            '\u{2026}' => b'.',
            _ if c.is_whitespace() => b' ',
            _ => self.options.substitute,
        };
        self.out.push(fallback);
    }

    fn paragraph(&mut self, p: &Paragraph) {
        self.set_font(p.font);
        self.set_size(p.size);
        self.set_align(p.align);
        let width = self.line_width(p.font, p.size);
        if let [span] = p.spans.as_slice() {
            self.set_span(span.style);
            for r in layout::wrap_ranges(&span.text, width) {
                self.text(&span.text[r]);
                command::line_feed(self.out);
            }
            return;
        }
        // Several spans: wrap the joined text, then restyle where each span's range begins.
        let mut joined = String::new();
        let mut bounds = Vec::with_capacity(p.spans.len());
        for s in &p.spans {
            joined.push_str(&s.text);
            bounds.push(joined.len());
        }
        if p.spans.is_empty() {
            command::line_feed(self.out);
            return;
        }
        for line in layout::wrap_ranges(&joined, width) {
            let mut pos = line.start;
            let mut span_start = 0;
            for (s, &end) in p.spans.iter().zip(&bounds) {
                let (a, b) = (pos.max(span_start), line.end.min(end));
                if a < b {
                    self.set_span(s.style);
                    self.text(&joined[a..b]);
                    pos = b;
                }
                span_start = end;
            }
            command::line_feed(self.out);
        }
    }

    fn row(&mut self, row: &Row) -> Result<(), EncodeError> {
        self.set_font(row.font);
        self.set_size(row.size);
        self.set_align(Align::Left);
        let total = self.line_width(row.font, row.size);
        let specs: Vec<_> = row.cells.iter().map(|c| c.width).collect();
        let widths = layout::column_widths(&specs, usize::from(row.gap), total)?;
        let wrapped: Vec<Vec<_>> =
            row.cells.iter().zip(&widths).map(|(c, &w)| layout::wrap_ranges(&c.text, w)).collect();
        let height = wrapped.iter().map(Vec::len).max().unwrap_or(0);
        for line in 0..height {
            for (i, ((cell, &w), lines)) in row.cells.iter().zip(&widths).zip(&wrapped).enumerate()
            {
                if i > 0 {
                    self.set_span(SpanStyle::default());
                    self.spaces(usize::from(row.gap));
                }
                self.set_span(cell.style);
                let text = lines.get(line).map_or("", |r| &cell.text[r.clone()]);
                let len = text.chars().count();
                let pad = w.saturating_sub(len);
                let (before, after) = match cell.align {
                    Align::Left => (0, pad),
                    Align::Right => (pad, 0),
                    Align::Center => (pad / 2, pad - pad / 2),
                };
                self.spaces(before);
                self.text(text);
                self.spaces(after);
            }
            self.end_line();
        }
        Ok(())
    }

    fn rule(&mut self, ch: char) {
        self.set_font(Font::A);
        self.set_size(Size::NORMAL);
        self.set_align(Align::Left);
        self.set_span(SpanStyle::default());
        let width = self.line_width(Font::A, Size::NORMAL);
        self.char(ch);
        // Repeat the encoded character only, not a code page switch in front of it.
        let encoded = *self.out.last().unwrap_or(&b'-');
        self.out.resize(self.out.len() + width.saturating_sub(1), encoded);
        command::line_feed(self.out);
    }

    // --- graphics ----------------------------------------------------------------------

    fn barcode(&mut self, b: &Barcode) -> Result<(), EncodeError> {
        if !self.profile.features.barcodes {
            return Err(self.unsupported("1D barcodes"));
        }
        let (system, data) = barcode_payload(b)?;
        self.set_span(SpanStyle::default());
        self.set_align(b.align);
        command::barcode_hri(self.out, b.hri);
        command::barcode_height(self.out, b.height);
        command::barcode_module_width(self.out, b.module_width);
        command::barcode(self.out, system, &data);
        Ok(())
    }

    fn qr(&mut self, q: &QrCode) -> Result<(), EncodeError> {
        if !self.profile.features.qr {
            return Err(self.unsupported("QR codes"));
        }
        if q.data.len() > QR_MAX_DATA {
            return Err(EncodeError::QrTooLong { len: q.data.len() });
        }
        self.set_span(SpanStyle::default());
        self.set_align(q.align);
        command::qr_code(self.out, q.data.as_bytes(), q.module_size, q.ecc);
        Ok(())
    }

    fn image(&mut self, image: &Image) -> Result<(), EncodeError> {
        let max = self.profile.paper.dots_per_line;
        if image.bitmap.width() > max {
            return Err(EncodeError::ImageTooWide { width: image.bitmap.width(), max });
        }
        let features = self.profile.features;
        if !features.raster && !features.column_image {
            return Err(self.unsupported("images"));
        }
        self.set_span(SpanStyle::default());
        self.set_align(image.align);
        if features.raster {
            image.bitmap.write_raster(self.out, features.raster_band_rows);
        } else {
            image.bitmap.write_columns(self.out);
        }
        Ok(())
    }

    // --- paper and drawer --------------------------------------------------------------

    fn cut(&mut self, kind: CutKind) {
        let kind = match self.profile.features.cutter {
            Cutter::None => {
                command::feed_lines(self.out, self.options.tear_off_feed);
                return;
            }
            Cutter::FullOnly => CutKind::Full,
            Cutter::PartialOnly => CutKind::Partial,
            Cutter::PartialAndFull => kind,
        };
        command::cut(self.out, kind, 0);
    }

    fn drawer(&mut self, p: DrawerPulse) -> Result<(), EncodeError> {
        if !self.profile.features.drawer {
            return Err(self.unsupported("a drawer kick-out connector"));
        }
        command::drawer_pulse(self.out, p.pin, p.on_ms, p.off_ms);
        Ok(())
    }
}

/// The `GS k` system and data for a barcode, validated.
fn barcode_payload(b: &Barcode) -> Result<(BarcodeSystem, Vec<u8>), EncodeError> {
    let bad = |reason| EncodeError::BarcodeData { symbology: b.symbology, reason };
    let digits = |body: usize, system| {
        let d = b.data.as_bytes();
        if !d.iter().all(u8::is_ascii_digit) {
            return Err(bad("only digits are allowed"));
        }
        if d.len() == body + 1 {
            if !crate::gtin::is_valid(&b.data) {
                return Err(bad("wrong check digit"));
            }
        } else if d.len() != body {
            return Err(bad("wrong number of digits"));
        }
        // The printer computes the check digit itself from the body.
        Ok((system, d[..body].to_vec()))
    };
    match b.symbology {
        Symbology::Ean13 => digits(12, BarcodeSystem::Ean13),
        Symbology::Ean8 => digits(7, BarcodeSystem::Ean8),
        Symbology::UpcA => digits(11, BarcodeSystem::UpcA),
        Symbology::Code128 => {
            if b.data.is_empty() {
                return Err(bad("empty data"));
            }
            if !b.data.bytes().all(|c| (0x20..0x7F).contains(&c)) {
                return Err(bad("only printable ASCII is allowed"));
            }
            let syms: Vec<Sym> = b.data.bytes().map(Sym::Char).collect();
            finish_code128(&syms, bad)
        }
        Symbology::Gs1_128 => {
            let msg = if b.data.starts_with('(') {
                gs1::parse_hri(&b.data)?
            } else {
                gs1::parse(b.data.as_bytes())?
            };
            let mut syms = vec![Sym::Fnc1];
            for field in msg.symbol_fields() {
                match field {
                    Some(text) => syms.extend(text.bytes().map(Sym::Char)),
                    None => syms.push(Sym::Fnc1),
                }
            }
            finish_code128(&syms, bad)
        }
    }
}

fn finish_code128(
    syms: &[Sym],
    bad: impl Fn(&'static str) -> EncodeError,
) -> Result<(BarcodeSystem, Vec<u8>), EncodeError> {
    let data = code128_data(syms);
    if data.len() > 255 {
        return Err(bad("too long for one symbol"));
    }
    Ok((BarcodeSystem::Code128, data))
}

/// A Code 128 symbol character before code set selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sym {
    Fnc1,
    Char(u8),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CodeSet {
    B,
    C,
}

/// `GS k 73` data: code set selectors `{B` / `{C`, `{1` for FNC1, `{{` for a literal `{`, and
/// in code set C one byte (0–99) per digit pair. Runs of four or more digits go in code set C,
/// which halves their width; the rest in code set B (printable ASCII).
fn code128_data(syms: &[Sym]) -> Vec<u8> {
    let digit_run = |from: usize| {
        syms[from..].iter().take_while(|s| matches!(s, Sym::Char(c) if c.is_ascii_digit())).count()
    };
    let wants_c = |i: usize, current: Option<CodeSet>| {
        let run = digit_run(i);
        let to_end = run == syms.len() - i && run % 2 == 0 && run >= 2;
        run >= 4 || (to_end && (current == Some(CodeSet::C) || current.is_none()))
    };
    let mut out = Vec::with_capacity(syms.len() + 8);
    let mut set = None;
    let mut i = 0;
    while i < syms.len() {
        match syms[i] {
            Sym::Fnc1 => {
                if set.is_none() {
                    // A selector must come first; pick the one the data after FNC1 wants.
                    let next = if wants_c(i + 1, None) { CodeSet::C } else { CodeSet::B };
                    out.extend_from_slice(if next == CodeSet::C { b"{C" } else { b"{B" });
                    set = Some(next);
                }
                out.extend_from_slice(b"{1");
                i += 1;
            }
            Sym::Char(_) if wants_c(i, set) => {
                if set != Some(CodeSet::C) {
                    out.extend_from_slice(b"{C");
                    set = Some(CodeSet::C);
                }
                let run = digit_run(i);
                for pair in syms[i..i + run - run % 2].chunks_exact(2) {
                    if let [Sym::Char(a), Sym::Char(b)] = pair {
                        out.push((a - b'0') * 10 + (b - b'0'));
                    }
                }
                i += run - run % 2;
            }
            Sym::Char(c) => {
                if set != Some(CodeSet::B) {
                    out.extend_from_slice(b"{B");
                    set = Some(CodeSet::B);
                }
                if c == b'{' {
                    out.extend_from_slice(b"{{");
                } else {
                    out.push(c);
                }
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::Bitmap;
    use crate::profile::Cutter;
    use crate::receipt::{Cell, DrawerPin, HriPosition, QrEcc};

    fn profile(name: &str) -> PrinterProfile {
        PrinterProfile::builtin(name).unwrap()
    }

    fn encode(p: &PrinterProfile, r: &Receipt) -> Vec<u8> {
        Encoder::with_options(p, EncodeOptions { initialize: false, ..EncodeOptions::default() })
            .encode(r)
            .unwrap()
    }

    /// Encodes with modes known to be at their defaults (as after `ESC @`), minus the `ESC @`.
    fn encode_after_init(p: &PrinterProfile, r: &Receipt) -> Vec<u8> {
        let bytes = Encoder::new(p).encode(r).unwrap();
        assert_eq!(&bytes[..2], b"\x1b@");
        bytes[2..].to_vec()
    }

    #[test]
    fn plain_text_is_ascii_and_lf() {
        let p = profile("generic-80mm");
        assert_eq!(encode_after_init(&p, &Receipt::new().text("Hello")), b"Hello\n");
    }

    #[test]
    fn styles_are_sent_only_when_they_change() {
        let p = profile("generic-80mm");
        let r = Receipt::new()
            .paragraph(Paragraph::new("BIG").bold().size(Size::DOUBLE).align(Align::Center))
            .paragraph(Paragraph::new("also").bold().size(Size::DOUBLE).align(Align::Center))
            .text("x");
        let expected: &[u8] = b"\x1d!\x11\x1ba\x01\x1bE\x01BIG\n\
              also\n\
              \x1d!\x00\x1ba\x00\x1bE\x00x\n";
        assert_eq!(encode_after_init(&p, &r), expected);
    }

    #[test]
    fn spans_restyle_mid_line() {
        let p = profile("generic-80mm");
        let r = Receipt::new().paragraph(
            Paragraph::new("Total ")
                .span("9.50", SpanStyle { bold: true, underline: Underline::Double, invert: true })
                .font(Font::B),
        );
        assert_eq!(encode_after_init(&p, &r), b"\x1bM\x01Total \x1bE\x01\x1b-\x02\x1dB\x019.50\n");
    }

    #[test]
    fn unknown_modes_are_sent_without_initialize() {
        let p = profile("generic-80mm");
        assert_eq!(
            encode(&p, &Receipt::new().text("a")),
            b"\x1bM\x00\x1d!\x00\x1ba\x00\x1bE\x00\x1b-\x00\x1dB\x00a\n"
        );
    }

    #[test]
    fn code_pages_switch_per_character_mid_line() {
        let p = profile("generic-80mm");
        // é is in CP437 (0x82, slot 0); € is not, so ESC t 19 (CP858, € = 0xD5); ü is in CP858
        // too (0x81), so no switch back; Ж needs CP866 (slot 17, 0x86); ☃ is nowhere: '?'.
        // U+2010 (hyphen) is nowhere either but has a look-alike.
        let out = encode_after_init(&p, &Receipt::new().text("é€üЖ☃\u{2010}"));
        assert_eq!(out, b"\x1bt\x00\x82\x1bt\x13\xd5\x81\x1bt\x11\x86?-\n".as_slice());
    }

    #[test]
    fn control_characters_never_reach_the_printer() {
        let p = profile("generic-80mm");
        let out = encode_after_init(&p, &Receipt::new().text("a\x1bp\x00\x19\x19b\tc"));
        assert_eq!(out, b"a p   b c\n");
    }

    #[test]
    fn rows_lay_out_columns_for_each_paper_width() {
        let row = Row::new([
            Cell::fixed(2, "2x"),
            Cell::fill("Sparkling water 750ml"),
            Cell::fixed(6, "7.00").right(),
        ]);
        let r = Receipt::new().row(row);
        // 32 columns: 2 + 1 + 22 + 1 + 6. The name fits on one line.
        let out = encode_after_init(&profile("generic-58mm"), &r);
        assert_eq!(out, b"2x Sparkling water 750ml    7.00\n");
        // 48 columns: the name column is 38 wide.
        let out = encode_after_init(&profile("generic-80mm"), &r);
        let line = format!("2x {:<38} {:>6}\n", "Sparkling water 750ml", "7.00");
        assert_eq!(out, line.as_bytes());
        // Double width on 42 columns leaves 21: the name wraps inside its column (12 wide).
        let r = Receipt::new().row(
            Row::new([
                Cell::fixed(2, "2x"),
                Cell::fill("Sparkling water 750ml"),
                Cell::fixed(5, "7.00").right(),
            ])
            .size(Size::DOUBLE_WIDTH),
        );
        let out = encode_after_init(&profile("epson-tm-t88"), &r);
        assert_eq!(out, b"\x1d!\x102x Sparkling     7.00\n   water 750ml\n".as_slice());
    }

    #[test]
    fn rows_that_do_not_fit_are_refused_and_leave_the_buffer_alone() {
        let p = profile("generic-58mm");
        let r = Receipt::new().text("kept?").row(Row::new([Cell::fixed(40, "x"), Cell::fill("y")]));
        let mut out = b"before".to_vec();
        let err = Encoder::new(&p).encode_into(&r, &mut out).unwrap_err();
        assert_eq!(err, EncodeError::RowTooWide(RowTooWide { needed: 42, available: 32 }));
        assert_eq!(out, b"before");
    }

    #[test]
    fn centred_and_styled_cells() {
        let p = profile("generic-58mm");
        let r = Receipt::new()
            .row(Row::new([Cell::fixed(5, "ab").center(), Cell::fill("TOTAL").bold()]));
        let out = encode_after_init(&p, &r);
        assert_eq!(out, b" ab   \x1bE\x01TOTAL\n");
    }

    #[test]
    fn rules_repeat_the_encoded_character() {
        let p = profile("generic-58mm");
        let out = encode_after_init(&p, &Receipt::new().rule('═'));
        let mut expected = b"\x1bt\x00".to_vec();
        expected.extend_from_slice(&[0xCD; 32]);
        expected.push(b'\n');
        assert_eq!(out, expected);
    }

    #[test]
    fn ean_upc_barcodes_check_and_drop_the_check_digit() {
        let p = profile("generic-80mm");
        let r = Receipt::new().barcode(Barcode::new(Symbology::Ean13, "4006381333931"));
        assert_eq!(
            encode_after_init(&p, &r),
            [
                &b"\x1ba\x01"[..], // ESC a 1: centred
                b"\x1dH\x02",      // GS H 2: HRI below
                b"\x1dh\x50",      // GS h 80
                b"\x1dw\x02",      // GS w 2
                b"\x1dk\x43\x0c",  // GS k 67 12
                b"400638133393",
            ]
            .concat()
        );
        for (sym, data, ok) in [
            (Symbology::Ean13, "4006381333932", false),
            (Symbology::Ean13, "40063813339", false),
            (Symbology::Ean8, "9638507", true),
            (Symbology::Ean8, "96385074", true),
            (Symbology::UpcA, "036000291452", true),
            (Symbology::UpcA, "03600029145A", false),
        ] {
            let r = Receipt::new().barcode(Barcode::new(sym, data));
            assert_eq!(Encoder::new(&p).encode(&r).is_ok(), ok, "{sym:?} {data}");
        }
    }

    #[test]
    fn code128_packs_digits_in_code_set_c() {
        let chars = |s: &str| s.bytes().map(Sym::Char).collect::<Vec<_>>();
        assert_eq!(code128_data(&chars("AB{C")), b"{BAB{{C");
        assert_eq!(code128_data(&chars("12")), b"{C\x0c");
        assert_eq!(code128_data(&chars("123")), b"{B123");
        assert_eq!(code128_data(&chars("INV123456X")), b"{BINV{C\x0c\x22\x38{BX");
        assert_eq!(code128_data(&chars("12345")), b"{C\x0c\x22{B5");
        let mut b = Barcode::new(Symbology::Code128, "A\u{e9}");
        let p = profile("generic-80mm");
        assert!(Encoder::new(&p).encode(&Receipt::new().barcode(b.clone())).is_err());
        b.data = String::new();
        assert!(Encoder::new(&p).encode(&Receipt::new().barcode(b)).is_err());
    }

    #[test]
    fn gs1_128_starts_with_fnc1_and_separates_variable_fields() {
        let p = profile("generic-80mm");
        for data in
            ["(01)09506000134352(17)201225(10)ABC123", "]C1010950600013435217201225\u{1d}10ABC123"]
        {
            let mut b = Barcode::new(Symbology::Gs1_128, data);
            b.hri = HriPosition::None;
            let out = encode_after_init(&p, &Receipt::new().barcode(b));
            let mut expected = b"\x1ba\x01\x1dH\x00\x1dh\x50\x1dw\x02\x1dk\x49".to_vec();
            // {C FNC1, 26 digits as 13 pairs, then ABC123 in set B.
            let mut data = b"{C{1".to_vec();
            data.extend_from_slice(&[1, 9, 50, 60, 0, 13, 43, 52, 17, 20, 12, 25, 10]);
            data.extend_from_slice(b"{BABC123");
            expected.push(data.len() as u8);
            expected.extend_from_slice(&data);
            assert_eq!(out, expected, "{data:?}");
        }
        // A lot first: FNC1 after it.
        let b = Barcode::new(Symbology::Gs1_128, "(10)AB(01)09506000134352");
        let out = encode_after_init(&p, &Receipt::new().barcode(b));
        assert!(out.ends_with(b"{B{110AB{1{C\x01\x09\x32\x3c\x00\x0d\x2b\x34"));
        let bad = Barcode::new(Symbology::Gs1_128, "(01)09506000134353");
        assert!(matches!(
            Encoder::new(&p).encode(&Receipt::new().barcode(bad)),
            Err(EncodeError::Gs1(Gs1Error::CheckDigit { .. }))
        ));
    }

    #[test]
    fn qr_codes_and_their_limits() {
        let p = profile("generic-80mm");
        let mut q = QrCode::new("https://t.example/r/1");
        q.ecc = QrEcc::L;
        q.module_size = 4;
        q.align = Align::Right;
        let out = encode_after_init(&p, &Receipt::new().push(Block::Qr(q)));
        let mut expected = b"\x1ba\x02".to_vec();
        command::qr_code(&mut expected, b"https://t.example/r/1", 4, QrEcc::L);
        assert_eq!(out, expected);
        let too_long = Receipt::new().qr("9".repeat(QR_MAX_DATA + 1));
        assert_eq!(
            Encoder::new(&p).encode(&too_long),
            Err(EncodeError::QrTooLong { len: QR_MAX_DATA + 1 })
        );
        let mut no_qr = p.clone();
        no_qr.features.qr = false;
        assert!(matches!(
            Encoder::new(&no_qr).encode(&Receipt::new().qr("x")),
            Err(EncodeError::Unsupported { .. })
        ));
    }

    #[test]
    fn images_use_raster_or_fall_back_to_columns() {
        let mut p = profile("generic-58mm");
        let bmp = Bitmap::new(8, 2, vec![0xFF, 0x81]).unwrap();
        let r = Receipt::new().image(bmp.clone(), Align::Left);
        assert_eq!(encode_after_init(&p, &r), b"\x1dv0\x00\x01\x00\x02\x00\xff\x81");
        p.features.raster = false;
        let mut expected = Vec::new();
        bmp.write_columns(&mut expected);
        assert_eq!(encode_after_init(&p, &r), expected);
        p.features.column_image = false;
        assert!(Encoder::new(&p).encode(&r).is_err());
        let wide = Bitmap::new(400, 1, vec![0; 50]).unwrap();
        assert_eq!(
            Encoder::new(&profile("generic-58mm")).encode(&Receipt::new().image(wide, Align::Left)),
            Err(EncodeError::ImageTooWide { width: 400, max: 384 })
        );
    }

    #[test]
    fn cuts_follow_the_cutter_and_drawer_pulses() {
        let mut p = profile("generic-80mm");
        let r = Receipt::new().feed(3).cut(CutKind::Partial).kick_drawer(DrawerPulse {
            pin: DrawerPin::Pin5,
            on_ms: 50,
            off_ms: 500,
        });
        // ESC d 3, GS V 66 0, ESC p 1 25 250.
        assert_eq!(encode_after_init(&p, &r), b"\x1bd\x03\x1dVB\x00\x1bp\x01\x19\xfa");
        p.features.cutter = Cutter::FullOnly;
        assert_eq!(encode_after_init(&p, &Receipt::new().cut(CutKind::Partial)), b"\x1dVA\x00");
        p.features.cutter = Cutter::None;
        assert_eq!(encode_after_init(&p, &Receipt::new().cut(CutKind::Full)), b"\x1bd\x04");
        p.features.drawer = false;
        assert!(
            Encoder::new(&p).encode(&Receipt::new().kick_drawer(DrawerPulse::default())).is_err()
        );
    }

    #[test]
    fn empty_paragraphs_are_blank_lines() {
        let p = profile("generic-80mm");
        let r = Receipt::new()
            .push(Block::Paragraph(Paragraph { spans: vec![], ..Paragraph::default() }));
        assert_eq!(encode_after_init(&p, &r), b"\n");
        let r = Receipt::new().paragraph(Paragraph::new("").span("", SpanStyle::default()));
        assert_eq!(encode_after_init(&p, &r), b"\n");
    }

    /// Reads `GS k 73` data back into symbols, as a printer would.
    fn decode_code128(data: &[u8]) -> Vec<Sym> {
        let mut out = Vec::new();
        let mut set = None;
        let mut i = 0;
        while i < data.len() {
            match (data[i], data.get(i + 1)) {
                (b'{', Some(b'B')) => set = Some(CodeSet::B),
                (b'{', Some(b'C')) => set = Some(CodeSet::C),
                (b'{', Some(b'1')) => out.push(Sym::Fnc1),
                (b'{', Some(b'{')) => out.push(Sym::Char(b'{')),
                (b'{', _) => panic!("bad escape"),
                (b, _) if set == Some(CodeSet::C) => {
                    assert!(b < 100);
                    out.extend([Sym::Char(b'0' + b / 10), Sym::Char(b'0' + b % 10)]);
                    i += 1;
                    continue;
                }
                (b, _) => {
                    assert!(set == Some(CodeSet::B), "data before a code set");
                    out.push(Sym::Char(b));
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        out
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn code128_data_reads_back_to_the_same_symbols(
            parts in proptest::collection::vec(
                prop_oneof![
                    "[0-9]{1,9}".prop_map(Some),
                    "[ -~]{1,4}".prop_map(Some),
                    Just(None),
                ],
                1..8,
            )
        ) {
            let mut syms = Vec::new();
            for p in parts {
                match p {
                    Some(s) => syms.extend(s.bytes().map(Sym::Char)),
                    None => syms.push(Sym::Fnc1),
                }
            }
            let data = code128_data(&syms);
            let selector = data.starts_with(b"{B") || data.starts_with(b"{C");
            prop_assert!(selector, "no code set selector first");
            prop_assert_eq!(decode_code128(&data), syms);
        }

        #[test]
        fn text_never_reaches_the_printer_as_a_control_byte(text in "(?s).{0,80}") {
            // Any text, any script: between LFs the output holds no byte below 0x20 except
            // the ESC t switches the encoder itself makes.
            let p = profile("generic-80mm");
            let out = encode_after_init(&p, &Receipt::new().text(text));
            let mut i = 0;
            while i < out.len() {
                match out[i] {
                    0x1B if out.get(i + 1) == Some(&b't') => i += 3,
                    0x0A => i += 1,
                    b => {
                        prop_assert!(b >= 0x20 && b != 0x7F, "byte {:#x} at {}", b, i);
                        i += 1;
                    }
                }
            }
        }
    }
}
