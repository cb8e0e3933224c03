//! The receipt model: what to print, with no byte in sight.
//!
//! A [`Receipt`] is a list of [`Block`]s. Text blocks carry styles and alignment; rows lay text
//! out in columns that wrap within their cells; barcodes, QR codes and images carry their
//! data. Widths are never given in characters of one paper size: rows use fixed and flexible
//! columns, and the encoder fits them to the printer profile (32, 42, 48 columns...), so one
//! receipt prints on any printer. The model is serde-serializable so a print queue can store
//! jobs durably.
//!
//! ```
//! use thorbis_drivers::receipt::{Receipt, Paragraph, Row, Cell, Size};
//! use thorbis_drivers::command::{Align, CutKind};
//!
//! let receipt = Receipt::new()
//!     .paragraph(Paragraph::new("THORBIS CAFÉ").bold().size(Size::DOUBLE).align(Align::Center))
//!     .rule('-')
//!     .row(Row::new([Cell::fill("Flat white"), Cell::fixed(8, "4.50").right()]))
//!     .qr("https://thorbis.example/r/123")
//!     .cut(CutKind::Partial);
//! assert_eq!(receipt.blocks.len(), 5);
//! ```

use serde::{Deserialize, Serialize};

pub use crate::command::{Align, CutKind, DrawerPin, HriPosition, QrEcc};
use crate::image::Bitmap;
pub use crate::profile::Font;

/// A document to print, top to bottom.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The blocks, in print order.
    pub blocks: Vec<Block>,
}

/// One vertical piece of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Block {
    /// Styled text, word-wrapped to the paper width.
    Paragraph(Paragraph),
    /// Text in columns, each cell wrapped within its column.
    Row(Row),
    /// A character repeated across the full width (`-`, `=`).
    Rule {
        /// The character.
        ch: char,
    },
    /// A 1D barcode.
    Barcode(Barcode),
    /// A QR code.
    Qr(QrCode),
    /// A monochrome image.
    Image(Image),
    /// Blank lines.
    Feed {
        /// How many.
        lines: u8,
    },
    /// Cut the paper (or feed past the tear bar on printers without a cutter).
    Cut {
        /// Partial or full; falls back to what the printer has.
        kind: CutKind,
    },
    /// Pulse the cash drawer connector.
    Drawer(DrawerPulse),
}

/// Character size multipliers, 1–8 each (`GS !`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Size {
    /// Width multiplier: a double-width line holds half the characters.
    pub width: u8,
    /// Height multiplier.
    pub height: u8,
}

impl Size {
    /// 1×1.
    pub const NORMAL: Size = Size { width: 1, height: 1 };
    /// 2×2.
    pub const DOUBLE: Size = Size { width: 2, height: 2 };
    /// 2× wide, normal height.
    pub const DOUBLE_WIDTH: Size = Size { width: 2, height: 1 };
    /// Normal width, 2× high: same characters per line, taller.
    pub const DOUBLE_HEIGHT: Size = Size { width: 1, height: 2 };

    /// `width` × `height`, each clamped to 1–8.
    #[must_use]
    pub fn new(width: u8, height: u8) -> Size {
        Size { width: width.clamp(1, 8), height: height.clamp(1, 8) }
    }
}

impl Default for Size {
    fn default() -> Self {
        Size::NORMAL
    }
}

/// Underline thickness (`ESC -`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Underline {
    /// No underline.
    #[default]
    None,
    /// One dot.
    Single,
    /// Two dots.
    Double,
}

/// Styles that can change within a line without changing its width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpanStyle {
    /// Emphasized.
    #[serde(default)]
    pub bold: bool,
    /// Underline.
    #[serde(default)]
    pub underline: Underline,
    /// White on black.
    #[serde(default)]
    pub invert: bool,
}

/// A run of text with one [`SpanStyle`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The text.
    pub text: String,
    /// Its style.
    #[serde(default)]
    pub style: SpanStyle,
}

/// Text that wraps to the paper width. Size and font apply to the whole paragraph because they
/// decide how many characters fit on a line; bold, underline and invert may change per span.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    /// The runs of text; `\n` inside a span forces a line break.
    pub spans: Vec<Span>,
    /// Justification.
    #[serde(default)]
    pub align: Align,
    /// Character size.
    #[serde(default)]
    pub size: Size,
    /// Font.
    #[serde(default)]
    pub font: Font,
}

impl Paragraph {
    /// One unstyled span.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Paragraph {
        Paragraph {
            spans: vec![Span { text: text.into(), style: SpanStyle::default() }],
            ..Paragraph::default()
        }
    }

    /// Appends a span.
    #[must_use]
    pub fn span(mut self, text: impl Into<String>, style: SpanStyle) -> Paragraph {
        self.spans.push(Span { text: text.into(), style });
        self
    }

    fn map_styles(mut self, f: impl Fn(&mut SpanStyle)) -> Paragraph {
        for s in &mut self.spans {
            f(&mut s.style);
        }
        self
    }

    /// Makes every span bold.
    #[must_use]
    pub fn bold(self) -> Paragraph {
        self.map_styles(|s| s.bold = true)
    }

    /// Underlines every span.
    #[must_use]
    pub fn underline(self, u: Underline) -> Paragraph {
        self.map_styles(|s| s.underline = u)
    }

    /// Inverts every span.
    #[must_use]
    pub fn invert(self) -> Paragraph {
        self.map_styles(|s| s.invert = true)
    }

    /// Sets the justification.
    #[must_use]
    pub fn align(mut self, align: Align) -> Paragraph {
        self.align = align;
        self
    }

    /// Sets the character size.
    #[must_use]
    pub fn size(mut self, size: Size) -> Paragraph {
        self.size = size;
        self
    }

    /// Sets the font.
    #[must_use]
    pub fn font(mut self, font: Font) -> Paragraph {
        self.font = font;
        self
    }
}

/// How wide a column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnWidth {
    /// Exactly this many characters.
    Fixed(u16),
    /// A share of what the fixed columns and gaps leave, by weight.
    Fill(u16),
}

/// One cell of a [`Row`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The text, wrapped within the column.
    pub text: String,
    /// The column width.
    pub width: ColumnWidth,
    /// Alignment within the column (padding with spaces).
    #[serde(default)]
    pub align: Align,
    /// Style of this cell's text.
    #[serde(default)]
    pub style: SpanStyle,
}

impl Cell {
    /// A flexible column of weight 1.
    #[must_use]
    pub fn fill(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            width: ColumnWidth::Fill(1),
            align: Align::Left,
            style: SpanStyle::default(),
        }
    }

    /// A column of `width` characters.
    #[must_use]
    pub fn fixed(width: u16, text: impl Into<String>) -> Cell {
        Cell { width: ColumnWidth::Fixed(width), ..Cell::fill(text) }
    }

    /// Right-aligns the cell (amounts).
    #[must_use]
    pub fn right(mut self) -> Cell {
        self.align = Align::Right;
        self
    }

    /// Centres the cell.
    #[must_use]
    pub fn center(mut self) -> Cell {
        self.align = Align::Center;
        self
    }

    /// Makes the cell bold.
    #[must_use]
    pub fn bold(mut self) -> Cell {
        self.style.bold = true;
        self
    }
}

/// Text in columns. Cells are separated by `gap` spaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The cells, left to right.
    pub cells: Vec<Cell>,
    /// Spaces between cells.
    #[serde(default = "one")]
    pub gap: u16,
    /// Character size for the whole row.
    #[serde(default)]
    pub size: Size,
    /// Font for the whole row.
    #[serde(default)]
    pub font: Font,
}

fn one() -> u16 {
    1
}

impl Row {
    /// A row of these cells, one space apart.
    #[must_use]
    pub fn new(cells: impl IntoIterator<Item = Cell>) -> Row {
        Row { cells: cells.into_iter().collect(), gap: 1, size: Size::NORMAL, font: Font::A }
    }

    /// Sets the gap between cells.
    #[must_use]
    pub fn gap(mut self, gap: u16) -> Row {
        self.gap = gap;
        self
    }

    /// Sets the size.
    #[must_use]
    pub fn size(mut self, size: Size) -> Row {
        self.size = size;
        self
    }

    /// Sets the font.
    #[must_use]
    pub fn font(mut self, font: Font) -> Row {
        self.font = font;
        self
    }
}

/// 1D barcode symbologies the encoder prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// EAN-13: 12 digits, or 13 with a check digit that must be right.
    Ean13,
    /// EAN-8: 7 or 8 digits.
    Ean8,
    /// UPC-A: 11 or 12 digits.
    UpcA,
    /// Code 128, printable ASCII; digit runs are packed in code set C.
    Code128,
    /// GS1-128: data as a GS1 element string, either `(01)…(17)…` or with GS separators.
    Gs1_128,
}

/// A 1D barcode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    /// The symbology.
    pub symbology: Symbology,
    /// The data as described by [`Symbology`].
    pub data: String,
    /// Bar height in dots.
    #[serde(default = "default_bar_height")]
    pub height: u8,
    /// Narrow bar width in dots, 2–6.
    #[serde(default = "default_module")]
    pub module_width: u8,
    /// Where the digits are printed.
    #[serde(default)]
    pub hri: HriPosition,
    /// Justification.
    #[serde(default = "center")]
    pub align: Align,
}

fn default_bar_height() -> u8 {
    80
}
fn default_module() -> u8 {
    2
}
fn center() -> Align {
    Align::Center
}
fn default_qr_module() -> u8 {
    6
}

impl Barcode {
    /// A centred barcode, 80 dots high, module width 2, digits below.
    #[must_use]
    pub fn new(symbology: Symbology, data: impl Into<String>) -> Barcode {
        Barcode {
            symbology,
            data: data.into(),
            height: default_bar_height(),
            module_width: default_module(),
            hri: HriPosition::Below,
            align: Align::Center,
        }
    }
}

/// A QR code (model 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCode {
    /// The payload, sent as UTF-8 bytes.
    pub data: String,
    /// Module size in dots, 1–16.
    #[serde(default = "default_qr_module")]
    pub module_size: u8,
    /// Error correction.
    #[serde(default)]
    pub ecc: QrEcc,
    /// Justification.
    #[serde(default = "center")]
    pub align: Align,
}

impl QrCode {
    /// Centred, module size 6, error correction M.
    #[must_use]
    pub fn new(data: impl Into<String>) -> QrCode {
        QrCode {
            data: data.into(),
            module_size: default_qr_module(),
            ecc: QrEcc::M,
            align: Align::Center,
        }
    }
}

/// A monochrome image block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The pixels.
    pub bitmap: Bitmap,
    /// Justification.
    #[serde(default = "center")]
    pub align: Align,
}

/// A drawer kick: which pin and how long (`ESC p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DrawerPulse {
    /// Connector pin 2 or 5.
    #[serde(default)]
    pub pin: DrawerPin,
    /// Pulse on-time in milliseconds (2–510; solenoids usually want 50–200).
    pub on_ms: u16,
    /// Off-time after the pulse in milliseconds.
    pub off_ms: u16,
}

impl Default for DrawerPulse {
    /// Pin 2, 100 ms on, 200 ms off: within every common drawer's rating.
    fn default() -> Self {
        DrawerPulse { pin: DrawerPin::Pin2, on_ms: 100, off_ms: 200 }
    }
}

impl Receipt {
    /// An empty receipt.
    #[must_use]
    pub fn new() -> Receipt {
        Receipt::default()
    }

    /// Appends any block.
    #[must_use]
    pub fn push(mut self, block: Block) -> Receipt {
        self.blocks.push(block);
        self
    }

    /// Appends a plain, left-aligned paragraph.
    #[must_use]
    pub fn text(self, text: impl Into<String>) -> Receipt {
        self.paragraph(Paragraph::new(text))
    }

    /// Appends a paragraph.
    #[must_use]
    pub fn paragraph(self, p: Paragraph) -> Receipt {
        self.push(Block::Paragraph(p))
    }

    /// Appends a row of columns.
    #[must_use]
    pub fn row(self, row: Row) -> Receipt {
        self.push(Block::Row(row))
    }

    /// Appends a full-width rule of `ch`.
    #[must_use]
    pub fn rule(self, ch: char) -> Receipt {
        self.push(Block::Rule { ch })
    }

    /// Appends a barcode.
    #[must_use]
    pub fn barcode(self, barcode: Barcode) -> Receipt {
        self.push(Block::Barcode(barcode))
    }

    /// Appends a QR code with default settings.
    #[must_use]
    pub fn qr(self, data: impl Into<String>) -> Receipt {
        self.push(Block::Qr(QrCode::new(data)))
    }

    /// Appends an image.
    #[must_use]
    pub fn image(self, bitmap: Bitmap, align: Align) -> Receipt {
        self.push(Block::Image(Image { bitmap, align }))
    }

    /// Appends blank lines.
    #[must_use]
    pub fn feed(self, lines: u8) -> Receipt {
        self.push(Block::Feed { lines })
    }

    /// Appends a cut.
    #[must_use]
    pub fn cut(self, kind: CutKind) -> Receipt {
        self.push(Block::Cut { kind })
    }

    /// Appends a drawer kick.
    #[must_use]
    pub fn kick_drawer(self, pulse: DrawerPulse) -> Receipt {
        self.push(Block::Drawer(pulse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_through_json() {
        let r = Receipt::new()
            .paragraph(Paragraph::new("Hi").bold().size(Size::new(3, 9)))
            .row(Row::new([Cell::fill("a"), Cell::fixed(6, "1.00").right()]))
            .barcode(Barcode::new(Symbology::Ean13, "400638133393"))
            .image(Bitmap::new(8, 1, vec![0xAA]).unwrap(), Align::Left)
            .kick_drawer(DrawerPulse::default())
            .cut(CutKind::Full);
        let json = serde_json::to_string(&r).unwrap();
        let back: Receipt = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        let Block::Paragraph(p) = &r.blocks[0] else { panic!("paragraph expected") };
        assert_eq!(p.size, Size { width: 3, height: 8 });
    }
}
