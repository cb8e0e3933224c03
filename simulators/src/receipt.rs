//! The receipt model and the [`Interpreter`] that builds it from parsed commands.
//!
//! The interpreter is the printer's "print buffer" logic: it holds the current settings
//! (styles, alignment, code page, barcode and QR parameters), turns text bytes into
//! characters through the profile's code page, wraps lines at the paper width and collects
//! what a printer would put on paper into a [`Receipt`]. A receipt ends at a cut.
//!
//! It never does IO and never renders pixels (that is [`crate::render`]); it knows nothing
//! about sockets, status or timing (that is [`crate::printer`]).

use crate::barcode;
use crate::escpos::{Command, Cut, Diagnostic, DiagnosticKind, Event, Symbology};
use crate::profile::{Charset, SimProfile};

/// One of the printer's built-in fonts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Font {
    /// 12 x 24 dots.
    #[default]
    A,
    /// 9 x 17 dots.
    B,
    /// 9 x 17 dots on most printers that have it.
    C,
}

impl Font {
    /// Character cell width and height in dots.
    #[must_use]
    pub fn cell(self) -> (u32, u32) {
        match self {
            Font::A => (12, 24),
            Font::B | Font::C => (9, 17),
        }
    }
}

/// Horizontal alignment of a line, barcode, QR code or image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Align {
    /// Flush left.
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// Character styling, as in effect when the characters were received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Style {
    /// `ESC E` / `ESC G` / `ESC !` bit 3.
    pub bold: bool,
    /// Underline thickness in dots: 0, 1 or 2.
    pub underline: u8,
    /// Width multiplier 1..=8.
    pub width: u8,
    /// Height multiplier 1..=8.
    pub height: u8,
    /// White on black (`GS B`).
    pub invert: bool,
    /// Font.
    pub font: Font,
    /// Upside-down (`ESC {`), recorded, not drawn rotated.
    pub upside_down: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            bold: false,
            underline: 0,
            width: 1,
            height: 1,
            invert: false,
            font: Font::A,
            upside_down: false,
        }
    }
}

/// Characters printed with one style.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    /// The characters, decoded from the code page.
    pub text: String,
    /// Their style.
    pub style: Style,
}

/// One printed line of text.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    /// Runs left to right; empty for a blank line.
    pub runs: Vec<Run>,
    /// Alignment in effect when the line was printed.
    pub align: Align,
}

impl Line {
    /// The line's characters without styles.
    #[must_use]
    pub fn text(&self) -> String {
        self.runs.iter().map(|r| r.text.as_str()).collect()
    }
}

/// A 1-bit image, rows top to bottom, `width.div_ceil(8)` bytes a row, MSB leftmost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    /// Width in dots.
    pub width: u32,
    /// Height in dots.
    pub height: u32,
    /// Packed rows.
    pub bits: Vec<u8>,
}

impl Bitmap {
    /// A blank bitmap.
    #[must_use]
    pub fn new(width: u32, height: u32) -> Bitmap {
        Bitmap { width, height, bits: vec![0; (width.div_ceil(8) * height) as usize] }
    }

    /// Whether the dot at `(x, y)` is black (false outside the bitmap).
    #[must_use]
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let i = (y * self.width.div_ceil(8) + x / 8) as usize;
        self.bits.get(i).is_some_and(|b| b & (0x80 >> (x % 8)) != 0)
    }

    /// Sets the dot at `(x, y)`; outside the bitmap does nothing.
    pub fn set(&mut self, x: u32, y: u32) {
        if x < self.width && y < self.height {
            let i = (y * self.width.div_ceil(8) + x / 8) as usize;
            self.bits[i] |= 0x80 >> (x % 8);
        }
    }

    /// The bitmap scaled by whole factors.
    #[must_use]
    pub fn scaled(&self, sx: u32, sy: u32) -> Bitmap {
        let mut out = Bitmap::new(self.width * sx, self.height * sy);
        for y in 0..out.height {
            for x in 0..out.width {
                if self.get(x / sx, y / sy) {
                    out.set(x, y);
                }
            }
        }
        out
    }

    /// Appends `other`'s rows below this bitmap's (widths must match).
    fn append_rows(&mut self, other: &Bitmap) {
        debug_assert_eq!(self.width, other.width);
        self.bits.extend_from_slice(&other.bits);
        self.height += other.height;
    }
}

/// QR error correction level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum EcLevel {
    /// About 7 %.
    L,
    /// About 15 %.
    M,
    /// About 25 %.
    Q,
    /// About 30 %.
    H,
}

/// A 1D barcode on the receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarcodeBlock {
    /// Symbology.
    pub symbology: Symbology,
    /// The bars the printer computed from the data.
    pub linear: barcode::Linear,
    /// Narrow module width in dots (`GS w`).
    pub module_width: u8,
    /// Bar height in dots (`GS h`).
    pub height: u8,
    /// HRI position: 0 none, 1 above, 2 below, 3 both.
    pub hri_position: u8,
    /// Alignment.
    pub align: Align,
}

/// A QR code on the receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrBlock {
    /// The stored data.
    pub data: Vec<u8>,
    /// Module size in dots (`GS ( k` fn 67).
    pub module_size: u8,
    /// Error correction level.
    pub ec: EcLevel,
    /// Alignment.
    pub align: Align,
}

/// Something the printer put on paper (or did to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    /// A line of text (possibly blank).
    Line(Line),
    /// A 1D barcode.
    Barcode(BarcodeBlock),
    /// A QR code.
    Qr(QrBlock),
    /// An image.
    Image {
        /// The dots.
        bitmap: Bitmap,
        /// Alignment.
        align: Align,
    },
    /// Paper fed by a number of dots without printing (`ESC J`).
    Feed {
        /// Dots.
        dots: u32,
    },
    /// The paper was cut.
    Cut(Cut),
    /// A drawer kick pulse was sent.
    DrawerPulse {
        /// 0 = pin 2, 1 = pin 5.
        pin: u8,
    },
}

/// What came out of the printer between two cuts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// Blocks top to bottom.
    pub blocks: Vec<Block>,
    /// Printable width in dots, from the profile.
    pub width: u32,
}

impl Receipt {
    /// Whether the receipt ended with a cut.
    #[must_use]
    pub fn is_cut(&self) -> bool {
        matches!(self.blocks.last(), Some(Block::Cut(_)))
    }

    /// Whether anything at all was printed or done.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

/// A receipt with the diagnostics collected while it was received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Finished {
    /// The receipt.
    pub receipt: Receipt,
    /// Problems found, in stream order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Something the interpreter asks its owner (the printer) to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A receipt is complete (a cut was received).
    Cut(Finished),
    /// Pulse the drawer kick-out connector.
    DrawerKick {
        /// 0 = pin 2, 1 = pin 5.
        pin: u8,
    },
    /// `DLE EOT n` reached the print position (the real-time answer is the printer's job).
    StatusRequest(u8),
    /// `GS r n` (or `ESC u`/`ESC v`): transmit a status byte.
    TransmitStatus(u8),
    /// `GS I n`: transmit printer identification.
    TransmitId(u8),
    /// `GS a n`: enable automatic status back for the categories in mask `n`.
    AutoStatusBack(u8),
}

/// The print buffer and settings of a printer: applies [`Command`]s in order.
#[derive(Debug)]
pub struct Interpreter {
    profile: SimProfile,
    style: Style,
    align: Align,
    code_page: Charset,
    line_spacing: u32,
    right_spacing: u32,
    left_margin: u32,
    area_width: u32,
    kanji: bool,
    kanji_reported: bool,
    barcode_height: u8,
    barcode_width: u8,
    hri_position: u8,
    qr_size: u8,
    qr_ec: EcLevel,
    qr_data: Option<Vec<u8>>,
    stored_graphics: Option<Bitmap>,
    /// Runs of the line being filled, and its width so far in dots.
    current: Vec<Run>,
    current_width: u32,
    /// Column image stripes of the current line (`ESC *`), printed at the next line feed.
    columns: Option<Bitmap>,
    /// Whether the last block is an image made of column stripes that the next stripe may
    /// extend (python-escpos and others send an image as one stripe per line).
    columns_open: bool,
    receipt: Receipt,
    diagnostics: Vec<Diagnostic>,
}

impl Interpreter {
    /// A printer just switched on.
    #[must_use]
    pub fn new(profile: SimProfile) -> Interpreter {
        let width = u32::from(profile.dots_per_line);
        let code_page = profile
            .charset(0)
            .unwrap_or(Charset::Shared(thorbis_drivers::codepage::CodePage::Cp437));
        Interpreter {
            profile,
            style: Style::default(),
            align: Align::Left,
            code_page,
            line_spacing: 30,
            right_spacing: 0,
            left_margin: 0,
            area_width: width,
            kanji: false,
            kanji_reported: false,
            barcode_height: 162,
            barcode_width: 3,
            hri_position: 0,
            qr_size: 3,
            qr_ec: EcLevel::L,
            qr_data: None,
            stored_graphics: None,
            current: Vec::new(),
            current_width: 0,
            columns: None,
            columns_open: false,
            receipt: Receipt { blocks: Vec::new(), width },
            diagnostics: Vec::new(),
        }
    }

    /// The code page `ESC t` last selected.
    #[must_use]
    pub fn code_page(&self) -> Charset {
        self.code_page
    }

    /// Whether anything is waiting: text in the line buffer or blocks since the last cut.
    #[must_use]
    pub fn has_content(&self) -> bool {
        !self.current.is_empty() || self.columns.is_some() || !self.receipt.blocks.is_empty()
    }

    /// Records a diagnostic against the current receipt.
    pub fn diagnose(&mut self, d: Diagnostic) {
        tracing::debug!(%d, "escpos diagnostic");
        self.diagnostics.push(d);
    }

    /// Applies a parser event (a command or a diagnostic).
    pub fn apply_event(&mut self, event: Event) -> Option<Effect> {
        match event {
            Event::Command { offset, command } => self.apply(offset, command),
            Event::Diagnostic(d) => {
                self.diagnose(d);
                None
            }
        }
    }

    /// Ends the current receipt without a cut (the sender hung up): prints what is in the
    /// line buffer and returns the receipt, or `None` when nothing was printed. Paper fed
    /// after the last cut (blank lines, dot feeds) is not a receipt: encoders often send a
    /// line feed after the cut.
    pub fn flush(&mut self) -> Option<Finished> {
        self.print_line_buffer(false);
        let blank = |b: &Block| match b {
            Block::Line(l) => l.runs.iter().all(|r| r.text.trim().is_empty()),
            Block::Feed { .. } => true,
            _ => false,
        };
        let printed = !self.receipt.blocks.iter().all(blank);
        let result = (printed || !self.diagnostics.is_empty()).then(|| self.take());
        self.receipt.blocks.clear();
        result
    }

    fn take(&mut self) -> Finished {
        let width = self.receipt.width;
        self.columns_open = false;
        Finished {
            receipt: std::mem::replace(&mut self.receipt, Receipt { blocks: Vec::new(), width }),
            diagnostics: std::mem::take(&mut self.diagnostics),
        }
    }

    fn report(&mut self, offset: u64, kind: DiagnosticKind, message: String) {
        self.diagnose(Diagnostic { offset, kind, message });
    }

    fn push(&mut self, block: Block) {
        self.columns_open = false;
        self.receipt.blocks.push(block);
    }

    /// Prints the line buffer. `feed` says whether an empty buffer still makes a blank line.
    fn print_line_buffer(&mut self, feed: bool) {
        if let Some(stripe) = self.columns.take() {
            match self.receipt.blocks.last_mut() {
                Some(Block::Image { bitmap, .. })
                    if self.columns_open && bitmap.width == stripe.width =>
                {
                    bitmap.append_rows(&stripe);
                }
                _ => self.push(Block::Image { bitmap: stripe, align: self.align }),
            }
            self.columns_open = true;
            if self.current.is_empty() {
                return;
            }
        }
        if self.current.is_empty() && !feed {
            return;
        }
        let runs = std::mem::take(&mut self.current);
        self.current_width = 0;
        self.push(Block::Line(Line { runs, align: self.align }));
    }

    fn char_width(&self) -> u32 {
        let (w, _) = self.style.font.cell();
        (w + self.right_spacing) * u32::from(self.style.width)
    }

    fn printable_width(&self) -> u32 {
        self.area_width.min(self.receipt.width.saturating_sub(self.left_margin)).max(1)
    }

    fn put_char(&mut self, c: char) {
        let w = self.char_width();
        if self.current_width + w > self.printable_width() && !self.current.is_empty() {
            // The line is full: a printer prints it and carries on with the next one.
            self.print_line_buffer(true);
        }
        self.current_width += w;
        match self.current.last_mut() {
            Some(run) if run.style == self.style => run.text.push(c),
            _ => self.current.push(Run { text: c.to_string(), style: self.style }),
        }
    }

    fn text(&mut self, offset: u64, bytes: &[u8]) {
        // Reported at the first high byte, not the run's start: runs end where reads end, and
        // the report must not depend on how the stream was split.
        if let Some(i) = bytes.iter().position(|&b| b >= 0x80)
            && self.kanji
            && !self.kanji_reported
        {
            self.kanji_reported = true;
            self.report(
                offset + i as u64,
                DiagnosticKind::Unsupported,
                "Kanji mode is on (FS &): printing bytes through the code page instead".into(),
            );
        }
        for (i, &b) in bytes.iter().enumerate() {
            let c = self.code_page.decode(b);
            if c == char::REPLACEMENT_CHARACTER {
                self.report(
                    offset + i as u64,
                    DiagnosticKind::Malformed,
                    format!("byte 0x{b:02X} is undefined in {}", self.code_page.name()),
                );
            }
            self.put_char(c);
        }
    }

    fn reset(&mut self) {
        let fresh = Interpreter::new(self.profile.clone());
        self.style = fresh.style;
        self.align = fresh.align;
        self.code_page = fresh.code_page;
        self.line_spacing = fresh.line_spacing;
        self.right_spacing = fresh.right_spacing;
        self.left_margin = fresh.left_margin;
        self.area_width = fresh.area_width;
        self.kanji = false;
        self.barcode_height = fresh.barcode_height;
        self.barcode_width = fresh.barcode_width;
        self.hri_position = fresh.hri_position;
        self.qr_size = fresh.qr_size;
        self.qr_ec = fresh.qr_ec;
    }

    /// Applies one command found at `offset`.
    #[allow(clippy::too_many_lines)] // One arm per command reads better than a split table.
    pub fn apply(&mut self, offset: u64, command: Command) -> Option<Effect> {
        use Command as C;
        match command {
            C::Text(bytes) => self.text(offset, &bytes),
            C::LineFeed => self.print_line_buffer(true),
            C::CarriageReturn
            | C::Accepted(_)
            | C::HriFont(_)
            | C::QrModel(_)
            | C::RealtimeRequest(_) => {}
            C::Tab => {
                // Default tab stops: every 8 character widths.
                let cell = self.char_width().max(1);
                let column = self.current_width / cell;
                for _ in column..(column / 8 + 1) * 8 {
                    self.put_char(' ');
                }
            }
            C::Initialize => {
                if !self.current.is_empty() {
                    self.report(
                        offset,
                        DiagnosticKind::Malformed,
                        "ESC @ discarded text that was never printed (no LF before it)".into(),
                    );
                }
                self.current.clear();
                self.current_width = 0;
                self.columns = None;
                self.reset();
            }
            C::PrintMode(n) => {
                self.style.font = if n & 1 == 1 { Font::B } else { Font::A };
                self.style.bold = n & 0x08 != 0;
                self.style.height = if n & 0x10 != 0 { 2 } else { 1 };
                self.style.width = if n & 0x20 != 0 { 2 } else { 1 };
                self.style.underline = u8::from(n & 0x80 != 0);
            }
            C::Emphasis(on) | C::DoubleStrike(on) => self.style.bold = on,
            C::Underline(n) => self.style.underline = n % 48 % 3,
            C::Font(n) => {
                self.style.font = match n {
                    0 | 48 => Font::A,
                    1 | 49 => Font::B,
                    _ => Font::C,
                }
            }
            C::Justify(n) => {
                self.align = match n {
                    0 | 48 => Align::Left,
                    1 | 49 => Align::Center,
                    2 | 50 => Align::Right,
                    _ => {
                        self.report(offset, DiagnosticKind::Malformed, format!("ESC a {n}"));
                        self.align
                    }
                }
            }
            C::CodePage(n) => match self.profile.charset(n) {
                Some(cp) => self.code_page = cp,
                None => self.report(
                    offset,
                    DiagnosticKind::Unsupported,
                    format!("ESC t {n}: no code page in that slot on {}", self.profile.name),
                ),
            },
            C::InternationalSet(n) => {
                if n != 0 {
                    self.report(
                        offset,
                        DiagnosticKind::Unsupported,
                        format!("ESC R {n}: international character set accepted, not applied"),
                    );
                }
            }
            C::FeedLines(n) => {
                let blank = if self.current.is_empty() && self.columns.is_none() {
                    n
                } else {
                    self.print_line_buffer(true);
                    n.saturating_sub(1)
                };
                for _ in 0..blank {
                    self.print_line_buffer(true);
                }
            }
            C::FeedDots(n) => {
                self.print_line_buffer(false);
                self.push(Block::Feed { dots: u32::from(n) });
            }
            C::DefaultLineSpacing => self.line_spacing = 30,
            C::LineSpacing(n) => self.line_spacing = u32::from(n),
            C::RightSpacing(n) => self.right_spacing = u32::from(n),
            C::CharacterSize(n) => {
                self.style.width = ((n >> 4) & 7) + 1;
                self.style.height = (n & 7) + 1;
            }
            C::Reverse(on) => self.style.invert = on,
            C::UpsideDown(on) => self.style.upside_down = on,
            C::AbsolutePosition(dots) => {
                let target = u32::from(dots);
                let cell = self.char_width().max(1);
                while self.current_width + cell <= target.min(self.printable_width()) {
                    self.put_char(' ');
                }
            }
            C::LeftMargin(n) => self.left_margin = u32::from(n),
            C::PrintAreaWidth(n) => self.area_width = u32::from(n),
            C::BarcodeHeight(n) => self.barcode_height = n.max(1),
            C::BarcodeWidth(n) => self.barcode_width = n.clamp(1, 6),
            C::HriPosition(n) => self.hri_position = n % 48 % 4,
            C::Barcode { symbology, data } => self.barcode(offset, symbology, &data),
            C::QrModuleSize(n) => self.qr_size = n.clamp(1, 16),
            C::QrErrorCorrection(n) => {
                self.qr_ec = match n {
                    48 => EcLevel::L,
                    49 => EcLevel::M,
                    50 => EcLevel::Q,
                    51 => EcLevel::H,
                    _ => {
                        self.report(offset, DiagnosticKind::Malformed, format!("QR EC level {n}"));
                        self.qr_ec
                    }
                }
            }
            C::QrStore(data) => self.qr_data = Some(data),
            C::QrPrint => self.qr(offset),
            C::RasterImage { scale, width_bytes, height, data, print_now } => {
                let bitmap = Bitmap {
                    width: u32::from(width_bytes) * 8,
                    height: u32::from(height),
                    bits: data,
                }
                .scaled(1 + u32::from(scale & 1), 1 + u32::from(scale >> 1 & 1));
                if print_now {
                    self.print_line_buffer(false);
                    self.push(Block::Image { bitmap, align: self.align });
                } else {
                    self.stored_graphics = Some(bitmap);
                }
            }
            C::PrintStoredGraphics => match self.stored_graphics.take() {
                Some(bitmap) => {
                    self.print_line_buffer(false);
                    self.push(Block::Image { bitmap, align: self.align });
                }
                None => self.report(
                    offset,
                    DiagnosticKind::Malformed,
                    "print graphics: nothing stored".into(),
                ),
            },
            C::ColumnImage { mode, width, data } => self.column_image(mode, width, &data),
            C::Cut(cut) => {
                self.print_line_buffer(false);
                self.push(Block::Cut(cut));
                return Some(Effect::Cut(self.take()));
            }
            C::DrawerKick { pin, .. } => {
                self.receipt.blocks.push(Block::DrawerPulse { pin });
                return Some(Effect::DrawerKick { pin });
            }
            C::StatusRequest(n) => return Some(Effect::StatusRequest(n)),
            C::TransmitStatus(n) => return Some(Effect::TransmitStatus(n)),
            C::TransmitId(n) => return Some(Effect::TransmitId(n)),
            C::AutoStatusBack(n) => return Some(Effect::AutoStatusBack(n)),
            C::Kanji(on) => self.kanji = on,
        }
        None
    }

    fn barcode(&mut self, offset: u64, symbology: Symbology, data: &[u8]) {
        match barcode::encode(symbology, data) {
            Ok(linear) => {
                self.print_line_buffer(false);
                self.push(Block::Barcode(BarcodeBlock {
                    symbology,
                    linear,
                    module_width: self.barcode_width,
                    height: self.barcode_height,
                    hri_position: self.hri_position,
                    align: self.align,
                }));
            }
            Err(why) => self.report(offset, DiagnosticKind::Malformed, why),
        }
    }

    fn qr(&mut self, offset: u64) {
        let Some(data) = self.qr_data.clone() else {
            self.report(offset, DiagnosticKind::Malformed, "QR print: no data stored".into());
            return;
        };
        let ec = match self.qr_ec {
            EcLevel::L => qrcode::EcLevel::L,
            EcLevel::M => qrcode::EcLevel::M,
            EcLevel::Q => qrcode::EcLevel::Q,
            EcLevel::H => qrcode::EcLevel::H,
        };
        // Version 40 capacities in byte and numeric mode: anything up to the first fits, so
        // the (slow) encoder only settles the cases in between.
        let (bytes_max, digits_max) = match self.qr_ec {
            EcLevel::L => (2953, 7089),
            EcLevel::M => (2331, 5596),
            EcLevel::Q => (1663, 3993),
            EcLevel::H => (1273, 3057),
        };
        let fits = data.len() <= bytes_max
            || (data.len() <= digits_max
                && qrcode::QrCode::with_error_correction_level(&data, ec).is_ok());
        if !fits {
            // A printer prints nothing when the data does not fit a symbol.
            self.report(
                offset,
                DiagnosticKind::Malformed,
                format!(
                    "QR print: {} bytes do not fit a QR code at level {:?}",
                    data.len(),
                    self.qr_ec
                ),
            );
            return;
        }
        self.print_line_buffer(false);
        self.push(Block::Qr(QrBlock {
            data,
            module_size: self.qr_size,
            ec: self.qr_ec,
            align: self.align,
        }));
    }

    fn column_image(&mut self, mode: u8, width: u16, data: &[u8]) {
        let rows = if mode >= 32 { 24 } else { 8 };
        let mut stripe = Bitmap::new(u32::from(width), rows);
        let per_col = (rows / 8) as usize;
        for (x, col) in data.chunks(per_col).enumerate() {
            for (k, byte) in col.iter().enumerate() {
                for bit in 0..8 {
                    if byte & (0x80 >> bit) != 0 {
                        stripe.set(x as u32, k as u32 * 8 + bit);
                    }
                }
            }
        }
        // Single density doubles each column; 8-dot modes print each dot three dots tall.
        let sx = if mode == 0 || mode == 32 { 2 } else { 1 };
        let sy = if mode < 32 { 3 } else { 1 };
        let stripe = stripe.scaled(sx, sy);
        match &mut self.columns {
            // Two stripes on one line sit side by side; keep the first, it is what counts.
            Some(_) => {}
            None => self.columns = Some(stripe),
        }
    }
}

/// Parses and interprets a whole stream with a fresh printer: every receipt it contains
/// (the last one possibly without a cut) and the effects in between.
#[must_use]
pub fn interpret_all(profile: &SimProfile, data: &[u8]) -> Vec<Finished> {
    let mut parser = crate::escpos::Parser::new();
    let mut interp = Interpreter::new(profile.clone());
    let mut out = Vec::new();
    for event in parser.feed(data) {
        if let Some(Effect::Cut(f)) = interp.apply_event(event) {
            out.push(f);
        }
    }
    if let Some(d) = parser.finish() {
        interp.diagnose(d);
    }
    out.extend(interp.flush());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(data: &[u8]) -> Finished {
        let mut all = interpret_all(&SimProfile::default(), data);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0)
    }

    fn lines(f: &Finished) -> Vec<String> {
        f.receipt
            .blocks
            .iter()
            .filter_map(|b| if let Block::Line(l) = b { Some(l.text()) } else { None })
            .collect()
    }

    #[test]
    fn styles_apply_to_runs() {
        let f = receipt(b"\x1b@a\x1bE\x01b\x1bE\x00\x1d!\x11c\n\x1dV\x00");
        let Block::Line(line) = &f.receipt.blocks[0] else { panic!() };
        assert_eq!(line.runs.len(), 3);
        assert!(line.runs[1].style.bold);
        assert_eq!((line.runs[2].style.width, line.runs[2].style.height), (2, 2));
        assert!(f.receipt.is_cut());
        assert!(f.diagnostics.is_empty());
    }

    #[test]
    fn feeds_and_wrapping() {
        let f = receipt(b"x\x1bd\x03y\n");
        assert_eq!(lines(&f), ["x", "", "", "y"]);
        let long = vec![b'w'; 50];
        let f = receipt(&[long.as_slice(), b"\n"].concat());
        assert_eq!(lines(&f), ["w".repeat(48), "ww".to_owned()]);
    }

    #[test]
    fn code_pages_switch_mid_line() {
        // CP858 0xD5 is the euro sign; CP437 0x81 is u-umlaut.
        let f = receipt(b"\x1bt\x13\xd5 \x1bt\x00\x81\n");
        assert_eq!(lines(&f), ["\u{20ac} \u{fc}"]);
        let f = receipt(b"\x1bt\x01x\n");
        assert_eq!(f.diagnostics.len(), 1);
    }

    #[test]
    fn column_stripes_merge_into_one_image() {
        let stripe = b"\x1b*\x21\x02\x00\xff\xff\xff\x00\x00\x00\n";
        let f = receipt(&[stripe.as_slice(), stripe, stripe].concat());
        let [Block::Image { bitmap, .. }] = f.receipt.blocks.as_slice() else { panic!() };
        assert_eq!((bitmap.width, bitmap.height), (2, 72));
        assert!(bitmap.get(0, 0) && !bitmap.get(1, 0));
    }

    #[test]
    fn feeds_after_the_last_cut_are_not_a_receipt() {
        let all = interpret_all(&SimProfile::default(), b"x\n\x1dV\x00\n\r\n\x1bJ\x10");
        assert_eq!(all.len(), 1);
        let all = interpret_all(&SimProfile::default(), b"x\n\x1dV\x00\n\x1bp\x00\x01\x01");
        assert_eq!(all.len(), 2, "a drawer pulse after the cut is something done");
    }

    #[test]
    fn undefined_bytes_and_oversized_qr_data_are_reported() {
        let f = receipt(b"\x1bt\x10\x81\n");
        assert_eq!(f.diagnostics.len(), 1);
        let mut big = b"\x1d(k\x00\x20\x31\x50\x30".to_vec();
        big.extend(std::iter::repeat_n(b'x', 0x2000 - 3));
        big.extend_from_slice(b"\x1d(k\x03\x001Q0");
        let f = receipt(&big);
        assert!(f.receipt.blocks.is_empty());
        assert_eq!(f.diagnostics.len(), 1);
    }

    #[test]
    fn kanji_report_does_not_depend_on_read_boundaries() {
        // Found by the fuzzer: the report used to carry the offset of the text run, and runs
        // end where reads end.
        let data = b"\x1c&ab\xe9\n";
        let whole = receipt(data);
        for at in 0..data.len() {
            let mut p = crate::escpos::Parser::new();
            let mut i = Interpreter::new(SimProfile::default());
            for part in [&data[..at], &data[at..]] {
                for e in p.feed(part) {
                    i.apply_event(e);
                }
            }
            assert_eq!(i.flush().as_ref(), Some(&whole), "split at {at}");
        }
        assert_eq!(whole.diagnostics[0].offset, 4);
    }

    #[test]
    fn bad_barcode_data_is_a_diagnostic() {
        let f = receipt(b"\x1dk\x02ABC\x00");
        assert!(f.receipt.blocks.is_empty());
        assert_eq!(f.diagnostics[0].kind, DiagnosticKind::Malformed);
    }
}
