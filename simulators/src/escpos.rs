//! An incremental ESC/POS parser: bytes in, [`Command`]s and [`Diagnostic`]s out.
//!
//! It owns the byte grammar of ESC/POS as an Epson TM-series printer reads it, and nothing
//! else: it does not know about styles, code pages or paper (that is [`crate::receipt`]), and
//! it does no IO. It is written against the command reference, never against our own encoder
//! in `thorbis-drivers`, so that it is an independent check of any encoder's output.
//!
//! The shape follows mini-redis' `frame.rs`: [`step`] looks at the front of a buffer and says
//! "a command of `n` bytes", "not enough bytes yet" ([`Step::Incomplete`], a value, not an
//! error) or "these `n` bytes are not a command I know". [`Parser`] keeps the bytes of a
//! command split across reads until the rest arrives.
//!
//! Guarantees, checked by the property test and the fuzz target (`simulators/fuzz`): it never
//! panics, every byte is either part of a command or reported in a diagnostic, and no length
//! field can make it buffer more than [`MAX_IMAGE_BYTES`] (larger payloads are skipped as they
//! stream past, without being stored).

use std::fmt;

/// Largest raster or column image payload the parser will hold (4 MiB: a 576-dot-wide image
/// more than 50 000 dots tall, far beyond any receipt). Larger ones are skipped and reported.
pub const MAX_IMAGE_BYTES: usize = 4 * 1024 * 1024;

/// Longest NUL-terminated barcode data (`GS k m d... NUL`) before the command is declared
/// malformed: the printer's own limit is 255.
const MAX_NUL_BARCODE: usize = 255;

/// Longest tab table (`ESC D n... NUL`): 32 positions and the terminator.
const MAX_TABS: usize = 32;

const NUL: u8 = 0x00;
const HT: u8 = 0x09;
const LF: u8 = 0x0A;
const FF: u8 = 0x0C;
const CR: u8 = 0x0D;
const DLE: u8 = 0x10;
const CAN: u8 = 0x18;
const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;
const EOT: u8 = 0x04;
const ENQ: u8 = 0x05;
const DC4: u8 = 0x14;

/// A 1D symbology as selected by `GS k m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Symbology {
    /// UPC-A: 11 or 12 digits.
    UpcA,
    /// UPC-E: 6, 7, 8, 11 or 12 digits.
    UpcE,
    /// EAN-13 (JAN-13): 12 or 13 digits.
    Ean13,
    /// EAN-8 (JAN-8): 7 or 8 digits.
    Ean8,
    /// Code 39.
    Code39,
    /// Interleaved 2 of 5.
    Itf,
    /// Codabar (NW-7).
    Codabar,
    /// Code 93.
    Code93,
    /// Code 128, with `{A`/`{B`/`{C` code set switches and `{1` for FNC1.
    Code128,
    /// GS1-128 (`GS k 74`): Code 128 with a leading FNC1; the printer picks the code sets.
    Gs1_128,
    /// Code 128 with automatic code set selection (`GS k 79`).
    Code128Auto,
}

impl Symbology {
    /// The name used in text renderings and logs: `EAN13`, `CODE128`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Symbology::UpcA => "UPC-A",
            Symbology::UpcE => "UPC-E",
            Symbology::Ean13 => "EAN13",
            Symbology::Ean8 => "EAN8",
            Symbology::Code39 => "CODE39",
            Symbology::Itf => "ITF",
            Symbology::Codabar => "CODABAR",
            Symbology::Code93 => "CODE93",
            Symbology::Code128 | Symbology::Code128Auto => "CODE128",
            Symbology::Gs1_128 => "GS1-128",
        }
    }

    fn from_function_a(m: u8) -> Option<Symbology> {
        Some(match m {
            0 => Symbology::UpcA,
            1 => Symbology::UpcE,
            2 => Symbology::Ean13,
            3 => Symbology::Ean8,
            4 => Symbology::Code39,
            5 => Symbology::Itf,
            6 => Symbology::Codabar,
            _ => return None,
        })
    }

    fn from_function_b(m: u8) -> Option<Symbology> {
        match m {
            65..=71 => Symbology::from_function_a(m - 65),
            72 => Some(Symbology::Code93),
            73 => Some(Symbology::Code128),
            74 => Some(Symbology::Gs1_128),
            79 => Some(Symbology::Code128Auto),
            _ => None,
        }
    }
}

impl fmt::Display for Symbology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a cut happens and how much paper is fed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Cut {
    /// A partial cut leaves a hinge; a full cut separates the receipt.
    pub partial: bool,
    /// Dots (motion units) fed before cutting, for the forms that carry them.
    pub feed: u8,
}

/// One ESC/POS command, as the byte grammar sees it (values are raw parameters; their
/// meaning is applied by [`crate::receipt::Interpreter`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Printable bytes, still in the selected code page.
    Text(Vec<u8>),
    /// `LF`: print the line and feed one line.
    LineFeed,
    /// `CR`: ignored in standard mode when auto line feed is off, the Epson default.
    CarriageReturn,
    /// `HT`: move to the next tab stop.
    Tab,
    /// `ESC @`: reset every setting.
    Initialize,
    /// `ESC ! n`: font B, emphasis, double height/width and underline in one byte.
    PrintMode(u8),
    /// `ESC E n`: emphasis (bold).
    Emphasis(bool),
    /// `ESC - n`: underline 0, 1 or 2 dots.
    Underline(u8),
    /// `ESC G n`: double strike (looks bold).
    DoubleStrike(bool),
    /// `ESC M n`: font A (0), B (1), C (2).
    Font(u8),
    /// `ESC a n`: 0 left, 1 centre, 2 right.
    Justify(u8),
    /// `ESC t n`: code page slot; the profile says which page it is.
    CodePage(u8),
    /// `ESC R n`: international character set.
    InternationalSet(u8),
    /// `ESC d n`: print and feed `n` lines.
    FeedLines(u8),
    /// `ESC J n`: print and feed `n` dots.
    FeedDots(u8),
    /// `ESC 2`: default line spacing.
    DefaultLineSpacing,
    /// `ESC 3 n`: line spacing in dots.
    LineSpacing(u8),
    /// `ESC SP n`: extra dots to the right of each character.
    RightSpacing(u8),
    /// `GS ! n`: width (high nibble) and height (low nibble) multipliers minus one.
    CharacterSize(u8),
    /// `GS B n`: white on black.
    Reverse(bool),
    /// `ESC {` n: upside-down printing.
    UpsideDown(bool),
    /// `ESC $ nL nH`: absolute horizontal position in dots.
    AbsolutePosition(u16),
    /// `GS L nL nH`: left margin in dots.
    LeftMargin(u16),
    /// `GS W nL nH`: printing area width in dots.
    PrintAreaWidth(u16),
    /// `GS h n`: barcode height in dots.
    BarcodeHeight(u8),
    /// `GS w n`: barcode module width in dots.
    BarcodeWidth(u8),
    /// `GS H n`: HRI position (0 none, 1 above, 2 below, 3 both).
    HriPosition(u8),
    /// `GS f n`: HRI font.
    HriFont(u8),
    /// `GS k`: print a 1D barcode.
    Barcode {
        /// Which symbology.
        symbology: Symbology,
        /// The data bytes as sent (for Code 128, with its `{X` switches).
        data: Vec<u8>,
    },
    /// `GS ( k` cn=49 fn=65: QR model (49 = model 1, 50 = model 2, 51 = micro).
    QrModel(u8),
    /// `GS ( k` fn=67: QR module size in dots.
    QrModuleSize(u8),
    /// `GS ( k` fn=69: QR error correction (48 L, 49 M, 50 Q, 51 H).
    QrErrorCorrection(u8),
    /// `GS ( k` fn=80: store QR data in the symbol storage area.
    QrStore(Vec<u8>),
    /// `GS ( k` fn=81: print the stored QR symbol.
    QrPrint,
    /// `GS v 0`, `GS ( L` fn=112 or `GS *`: a raster image, rows of `width_bytes` bytes,
    /// most significant bit leftmost.
    RasterImage {
        /// Scale: bit 0 doubles width, bit 1 doubles height.
        scale: u8,
        /// Bytes per row.
        width_bytes: u16,
        /// Rows.
        height: u16,
        /// `width_bytes * height` bytes.
        data: Vec<u8>,
        /// `false` when the image is stored (`GS ( L` fn=112) and printed by a later command.
        print_now: bool,
    },
    /// `GS ( L` fn=50: print the graphics stored with fn=112.
    PrintStoredGraphics,
    /// `ESC * m n`: one stripe of a column image.
    ColumnImage {
        /// 0/1 (8 dots high, single/double density) or 32/33 (24 dots high).
        mode: u8,
        /// Columns.
        width: u16,
        /// `width` (8-dot) or `3 * width` (24-dot) bytes, one column after another.
        data: Vec<u8>,
    },
    /// `GS V` and `ESC i`/`ESC m`: cut.
    Cut(Cut),
    /// `ESC p m t1 t2` or `DLE DC4 1 m t`: pulse a drawer kick-out pin (0 = pin 2, 1 = pin 5).
    DrawerKick {
        /// 0 for pin 2, 1 for pin 5.
        pin: u8,
        /// On time in milliseconds.
        on_ms: u16,
        /// Off time in milliseconds.
        off_ms: u16,
    },
    /// `DLE EOT n`: real-time status request.
    StatusRequest(u8),
    /// `DLE ENQ n`: real-time request to the printer (recover, clear buffer).
    RealtimeRequest(u8),
    /// `GS r n`: transmit status (1 paper sensor, 2 drawer).
    TransmitStatus(u8),
    /// `GS I n`: transmit printer ID.
    TransmitId(u8),
    /// `GS a n`: automatic status back enable mask.
    AutoStatusBack(u8),
    /// `FS &` (true) / `FS .` (false): Kanji mode.
    Kanji(bool),
    /// A command the simulator understands and accepts but which has no effect on the
    /// rendered receipt (peripheral select, paper sensors, print speed...).
    Accepted(&'static str),
}

/// How bad a [`Diagnostic`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// A byte sequence that is not an ESC/POS command this printer knows.
    Unknown,
    /// A known command with parameters out of range or data it cannot print.
    Malformed,
    /// A known command the simulator deliberately does not model (page mode, PDF417...).
    Unsupported,
    /// The stream ended in the middle of a command.
    Truncated,
}

/// Something in the stream that was not printed as the sender probably intended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Offset in the stream of the first byte concerned.
    pub offset: u64,
    /// What kind of problem.
    pub kind: DiagnosticKind,
    /// A one-line description naming the command.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{} {:?}: {}", self.offset, self.kind, self.message)
    }
}

/// What the parser produced, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A command, with the offset of its first byte.
    Command {
        /// Offset in the stream.
        offset: u64,
        /// The command.
        command: Command,
    },
    /// A problem, reported and stepped over.
    Diagnostic(Diagnostic),
}

/// The result of looking at the front of a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// More bytes are needed before anything can be said.
    Incomplete,
    /// A command occupying the first `len` bytes.
    Command {
        /// Bytes consumed.
        len: usize,
        /// The command.
        command: Command,
    },
    /// The first `len` bytes are not a command the simulator prints: they are reported and
    /// dropped, and parsing resumes right after them.
    Report {
        /// Bytes consumed.
        len: usize,
        /// What is wrong.
        kind: DiagnosticKind,
        /// Description.
        message: String,
    },
    /// A command whose declared payload of `total` bytes (header included) is too large to
    /// hold: the parser drops `total` bytes as they arrive.
    Skip {
        /// Bytes to drop, counted from the start of the command.
        total: u64,
        /// Description.
        message: String,
    },
}

fn cmd(len: usize, command: Command) -> Step {
    Step::Command { len, command }
}

fn report(len: usize, kind: DiagnosticKind, message: impl Into<String>) -> Step {
    Step::Report { len, kind, message: message.into() }
}

fn le16(lo: u8, hi: u8) -> u16 {
    u16::from(lo) | (u16::from(hi) << 8)
}

/// Printable name of a command's prefix byte, for messages.
fn prefix_name(b: u8) -> &'static str {
    match b {
        ESC => "ESC",
        GS => "GS",
        FS => "FS",
        DLE => "DLE",
        _ => "?",
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() { format!("'{}'", char::from(b)) } else { format!("0x{b:02X}") }
}

/// Looks at the front of `buf` (never empty) and says what is there.
///
/// Pure and total: any input gives a [`Step`], and the lengths it reports are at least 1 and
/// never larger than `buf` (except [`Step::Skip`], whose `total` counts bytes still to come).
#[must_use]
pub fn step(buf: &[u8]) -> Step {
    let Some(&first) = buf.first() else { return Step::Incomplete };
    match first {
        LF => cmd(1, Command::LineFeed),
        CR => cmd(1, Command::CarriageReturn),
        HT => cmd(1, Command::Tab),
        FF => cmd(1, Command::Accepted("FF (page mode print)")),
        CAN => cmd(1, Command::Accepted("CAN (page mode cancel)")),
        ESC => step_esc(buf),
        GS => step_gs(buf),
        FS => step_fs(buf),
        DLE => step_dle(buf),
        0x20.. => {
            let len = buf.iter().position(|&b| b < 0x20).unwrap_or(buf.len());
            cmd(len, Command::Text(buf[..len].to_vec()))
        }
        _ => report(1, DiagnosticKind::Unknown, format!("control byte 0x{first:02X}")),
    }
}

/// `Some(bytes)` when `buf` holds at least `n` bytes.
fn need(buf: &[u8], n: usize) -> Option<&[u8]> {
    buf.get(..n)
}

macro_rules! need {
    ($buf:expr, $n:expr) => {
        match need($buf, $n) {
            Some(b) => b,
            None => return Step::Incomplete,
        }
    };
}

fn step_esc(buf: &[u8]) -> Step {
    use Command as C;
    let b = need!(buf, 2);
    let one = |f: fn(u8) -> Command| -> Step {
        match need(buf, 3) {
            Some(b) => cmd(3, f(b[2])),
            None => Step::Incomplete,
        }
    };
    match b[1] {
        b'@' => cmd(2, C::Initialize),
        b'!' => one(C::PrintMode),
        b'E' => one(|n| C::Emphasis(n & 1 == 1)),
        b'-' => one(C::Underline),
        b'G' => one(|n| C::DoubleStrike(n & 1 == 1)),
        b'M' => one(C::Font),
        b'a' => one(C::Justify),
        b't' => one(C::CodePage),
        b'R' => one(C::InternationalSet),
        b'd' => one(C::FeedLines),
        b'J' => one(C::FeedDots),
        b'2' => cmd(2, C::DefaultLineSpacing),
        b'3' => one(C::LineSpacing),
        b' ' => one(C::RightSpacing),
        b'{' => one(|n| C::UpsideDown(n & 1 == 1)),
        b'=' => one(|_| C::Accepted("ESC = (select peripheral)")),
        b'V' => one(|_| C::Accepted("ESC V (90 degree rotation)")),
        b'U' => one(|_| C::Accepted("ESC U (unidirectional printing)")),
        b'r' => one(|_| C::Accepted("ESC r (print colour)")),
        b'%' => one(|_| C::Accepted("ESC % (user-defined characters)")),
        b'?' => one(|_| C::Accepted("ESC ? (cancel user-defined character)")),
        b'T' => one(|_| C::Accepted("ESC T (page mode direction)")),
        b'e' => one(|_| C::Accepted("ESC e (reverse feed lines)")),
        b'K' => one(|_| C::Accepted("ESC K (reverse feed dots)")),
        // ESC v: paper sensor status, as GS r 1; ESC u: drawer connector status, as GS r 2.
        b'v' => one(|_| C::TransmitStatus(1)),
        b'u' => one(|_| C::TransmitStatus(2)),
        b'i' | b'm' => cmd(2, C::Cut(Cut { partial: true, feed: 0 })),
        b'S' => cmd(2, C::Accepted("ESC S (standard mode)")),
        b'L' => report(2, DiagnosticKind::Unsupported, "ESC L (page mode) is not simulated"),
        b'c' => {
            let b = need!(buf, 4);
            match b[2] {
                b'0' | b'1' | b'3' | b'4' | b'5' => {
                    cmd(4, C::Accepted("ESC c (paper type / sensors / panel keys)"))
                }
                other => report(
                    3,
                    DiagnosticKind::Unknown,
                    format!("ESC c {}: unknown function", describe(other)),
                ),
            }
        }
        b'$' => {
            let b = need!(buf, 4);
            cmd(4, C::AbsolutePosition(le16(b[2], b[3])))
        }
        b'\\' => {
            let _ = need!(buf, 4);
            cmd(4, C::Accepted("ESC \\ (relative position)"))
        }
        b'B' => {
            let _ = need!(buf, 4);
            cmd(4, C::Accepted("ESC B (buzzer)"))
        }
        b'p' => {
            let b = need!(buf, 5);
            // Pulse times are in units of 2 ms.
            cmd(
                5,
                C::DrawerKick {
                    pin: b[2] & 1,
                    on_ms: u16::from(b[3]) * 2,
                    off_ms: u16::from(b[4]) * 2,
                },
            )
        }
        b'W' => {
            let _ = need!(buf, 10);
            report(10, DiagnosticKind::Unsupported, "ESC W (page mode area) is not simulated")
        }
        b'D' => {
            // Tab positions, NUL-terminated, at most 32.
            match buf[2..].iter().take(MAX_TABS + 1).position(|&b| b == NUL) {
                Some(i) => cmd(3 + i, C::Accepted("ESC D (tab positions)")),
                None if buf.len() < 2 + MAX_TABS + 1 => Step::Incomplete,
                None => report(2, DiagnosticKind::Malformed, "ESC D: more than 32 tab positions"),
            }
        }
        b'&' => step_esc_define_chars(buf),
        b'*' => step_esc_star(buf),
        b'(' => {
            let b = need!(buf, 5);
            let len = 5 + usize::from(le16(b[3], b[4]));
            let _ = need!(buf, len);
            cmd(len, C::Accepted("ESC ( (beeper / extended function)"))
        }
        other => report(2, DiagnosticKind::Unknown, format!("ESC {}", describe(other))),
    }
}

/// `ESC & y c1 c2 [x d1..d(y*x)]...`: user-defined characters; only its length matters.
fn step_esc_define_chars(buf: &[u8]) -> Step {
    let b = need!(buf, 5);
    let (y, c1, c2) = (usize::from(b[2]), b[3], b[4]);
    if !(1..=3).contains(&y) || c1 < 32 || c2 > 126 || c1 > c2 {
        return report(5, DiagnosticKind::Malformed, "ESC &: parameters out of range");
    }
    let mut at = 5;
    for _ in c1..=c2 {
        let x = usize::from(*need!(buf, at + 1).last().unwrap_or(&0));
        if x > 12 {
            return report(at + 1, DiagnosticKind::Malformed, "ESC &: character wider than 12");
        }
        at += 1 + y * x;
        let _ = need!(buf, at);
    }
    cmd(at, Command::Accepted("ESC & (define user characters)"))
}

fn step_esc_star(buf: &[u8]) -> Step {
    let b = need!(buf, 5);
    let (mode, width) = (b[2], le16(b[3], b[4]));
    let per_column = match mode {
        0 | 1 => 1,
        32 | 33 => 3,
        _ => return report(5, DiagnosticKind::Malformed, format!("ESC *: bit image mode {mode}")),
    };
    let len = 5 + usize::from(width) * per_column;
    let data = need!(buf, len);
    cmd(len, Command::ColumnImage { mode, width, data: data[5..].to_vec() })
}

fn step_gs(buf: &[u8]) -> Step {
    use Command as C;
    let b = need!(buf, 2);
    let one = |f: fn(u8) -> Command| -> Step {
        match need(buf, 3) {
            Some(b) => cmd(3, f(b[2])),
            None => Step::Incomplete,
        }
    };
    let two = |f: fn(u16) -> Command| -> Step {
        match need(buf, 4) {
            Some(b) => cmd(4, f(le16(b[2], b[3]))),
            None => Step::Incomplete,
        }
    };
    match b[1] {
        b'!' => one(C::CharacterSize),
        b'B' => one(|n| C::Reverse(n & 1 == 1)),
        b'L' => two(C::LeftMargin),
        b'W' => two(C::PrintAreaWidth),
        b'h' => one(C::BarcodeHeight),
        b'w' => one(C::BarcodeWidth),
        b'H' => one(C::HriPosition),
        b'f' => one(C::HriFont),
        b'a' => one(C::AutoStatusBack),
        b'r' => one(C::TransmitStatus),
        b'I' => one(C::TransmitId),
        b'b' => one(|_| C::Accepted("GS b (smoothing)")),
        b'T' => one(|_| C::Accepted("GS T (start of line)")),
        b'j' => one(|_| C::Accepted("GS j (auto status back for ink)")),
        b'/' => match need(buf, 3) {
            Some(_) => stored_logo(3, "GS /"),
            None => Step::Incomplete,
        },
        b'P' => two(|_| C::Accepted("GS P (motion units)")),
        b'$' => two(|_| C::Accepted("GS $ (page mode vertical position)")),
        b'\\' => two(|_| C::Accepted("GS \\ (page mode relative position)")),
        b':' => cmd(2, C::Accepted("GS : (macro definition)")),
        b'^' => {
            let _ = need!(buf, 5);
            cmd(5, C::Accepted("GS ^ (run macro)"))
        }
        b'V' => step_gs_cut(buf),
        b'k' => step_gs_k(buf),
        b'v' => step_gs_v(buf),
        b'*' => step_gs_star(buf),
        b'(' => step_gs_paren(buf),
        b'8' => step_gs_8(buf),
        other => report(2, DiagnosticKind::Unknown, format!("GS {}", describe(other))),
    }
}

fn step_gs_cut(buf: &[u8]) -> Step {
    let b = need!(buf, 3);
    match b[2] {
        0 | 48 => cmd(3, Command::Cut(Cut { partial: false, feed: 0 })),
        1 | 49 => cmd(3, Command::Cut(Cut { partial: true, feed: 0 })),
        m @ (65 | 66 | 97 | 98 | 103 | 104) => {
            let b = need!(buf, 4);
            // 65/97/103 are the full cuts, 66/98/104 the partial ones.
            cmd(4, Command::Cut(Cut { partial: m % 2 == 0, feed: b[3] }))
        }
        m => report(3, DiagnosticKind::Malformed, format!("GS V: cut mode {m}")),
    }
}

fn step_gs_k(buf: &[u8]) -> Step {
    let b = need!(buf, 3);
    let m = b[2];
    if m <= 6 {
        // Function A: data runs to a NUL.
        let Some(symbology) = Symbology::from_function_a(m) else {
            return report(3, DiagnosticKind::Malformed, format!("GS k: barcode system {m}"));
        };
        let data = &buf[3..];
        match data.iter().take(MAX_NUL_BARCODE + 1).position(|&b| b == NUL) {
            Some(i) => cmd(4 + i, Command::Barcode { symbology, data: data[..i].to_vec() }),
            None if data.len() <= MAX_NUL_BARCODE => Step::Incomplete,
            None => report(
                3,
                DiagnosticKind::Malformed,
                format!("GS k {m}: no NUL within {MAX_NUL_BARCODE} data bytes"),
            ),
        }
    } else if (65..=79).contains(&m) {
        let b = need!(buf, 4);
        let len = 4 + usize::from(b[3]);
        let data = need!(buf, len);
        match Symbology::from_function_b(m) {
            Some(symbology) => cmd(len, Command::Barcode { symbology, data: data[4..].to_vec() }),
            None => report(
                len,
                DiagnosticKind::Unsupported,
                format!("GS k {m}: GS1 DataBar is not simulated"),
            ),
        }
    } else {
        report(3, DiagnosticKind::Malformed, format!("GS k: barcode system {m}"))
    }
}

fn image_too_large(what: &str, header: usize, payload: usize) -> Option<Step> {
    (payload > MAX_IMAGE_BYTES).then(|| Step::Skip {
        total: (header + payload) as u64,
        message: format!("{what}: {payload} bytes of image data exceed the simulator's limit"),
    })
}

fn step_gs_v(buf: &[u8]) -> Step {
    let b = need!(buf, 3);
    if b[2] != b'0' {
        return report(3, DiagnosticKind::Unknown, format!("GS v {}", describe(b[2])));
    }
    let b = need!(buf, 8);
    let scale = b[3];
    if !matches!(scale, 0..=3 | 48..=51) {
        return report(8, DiagnosticKind::Malformed, format!("GS v 0: mode {scale}"));
    }
    let (width_bytes, height) = (le16(b[4], b[5]), le16(b[6], b[7]));
    let payload = usize::from(width_bytes) * usize::from(height);
    if let Some(skip) = image_too_large("GS v 0", 8, payload) {
        return skip;
    }
    let data = need!(buf, 8 + payload);
    cmd(
        8 + payload,
        Command::RasterImage {
            scale: scale & 3,
            width_bytes,
            height,
            data: data[8..].to_vec(),
            print_now: true,
        },
    )
}

/// `GS * x y d...`: define a downloaded bit image, `x * 8` columns of `y * 8` dots, column
/// major. Kept as accepted only: the image is printed by `GS /`, which we do not model.
fn step_gs_star(buf: &[u8]) -> Step {
    let b = need!(buf, 4);
    let len = 4 + usize::from(b[2]) * usize::from(b[3]) * 8;
    let _ = need!(buf, len);
    cmd(len, Command::Accepted("GS * (define downloaded bit image)"))
}

/// `GS ( X pL pH ...`: every function in this family carries its length, so even unknown ones
/// are stepped over exactly.
fn step_gs_paren(buf: &[u8]) -> Step {
    let b = need!(buf, 5);
    let which = b[2];
    let body_len = usize::from(le16(b[3], b[4]));
    let len = 5 + body_len;
    let all = need!(buf, len);
    let body = &all[5..];
    match which {
        b'k' => gs_paren_k(len, body),
        b'L' => graphics(len, body, "GS ( L"),
        b'A' | b'C' | b'D' | b'E' | b'H' | b'K' | b'M' | b'N' | b'P' | b'Q' | b'z' => {
            cmd(len, Command::Accepted("GS ( (extended setting)"))
        }
        other => report(len, DiagnosticKind::Unknown, format!("GS ( {}", describe(other))),
    }
}

/// `GS 8 L p1 p2 p3 p4 m fn ...`: the 32-bit-length form of `GS ( L`.
fn step_gs_8(buf: &[u8]) -> Step {
    let b = need!(buf, 3);
    if b[2] != b'L' {
        return report(3, DiagnosticKind::Unknown, format!("GS 8 {}", describe(b[2])));
    }
    let b = need!(buf, 7);
    let body_len = u32::from_le_bytes([b[3], b[4], b[5], b[6]]) as usize;
    if let Some(skip) = image_too_large("GS 8 L", 7, body_len) {
        return skip;
    }
    let all = need!(buf, 7 + body_len);
    graphics(7 + body_len, &all[7..], "GS 8 L")
}

fn gs_paren_k(len: usize, body: &[u8]) -> Step {
    use Command as C;
    let [cn, fun, rest @ ..] = body else {
        return report(len, DiagnosticKind::Malformed, "GS ( k: shorter than 2 bytes");
    };
    if *cn != 49 {
        let name = match cn {
            48 => "PDF417",
            50 => "MaxiCode",
            51 => "GS1 DataBar",
            52 => "composite symbology",
            53 => "Aztec Code",
            54 => "DataMatrix",
            _ => "unknown 2D symbology",
        };
        return report(len, DiagnosticKind::Unsupported, format!("GS ( k cn={cn}: {name}"));
    }
    let first = rest.first().copied();
    let second = rest.get(1).copied();
    match (fun, first, second) {
        (65, Some(n1), _) => cmd(len, C::QrModel(n1)),
        (67, Some(n), _) => cmd(len, C::QrModuleSize(n)),
        (69, Some(n), _) => cmd(len, C::QrErrorCorrection(n)),
        (80, Some(48), _) => cmd(len, C::QrStore(rest[1..].to_vec())),
        (81, Some(48), _) => cmd(len, C::QrPrint),
        (82, Some(48), _) => cmd(len, C::Accepted("GS ( k (QR size information)")),
        _ => report(len, DiagnosticKind::Malformed, format!("GS ( k QR function {fun}")),
    }
}

/// The graphics functions shared by `GS ( L` and `GS 8 L`: `body` starts at `m`.
fn graphics(len: usize, body: &[u8], name: &str) -> Step {
    let [_m, fun, rest @ ..] = body else {
        return report(len, DiagnosticKind::Malformed, format!("{name}: shorter than 2 bytes"));
    };
    match fun {
        // a bx by c xL xH yL yH d...
        112 => {
            let [a, bx, by, _c, xl, xh, yl, yh, data @ ..] = rest else {
                return report(len, DiagnosticKind::Malformed, format!("{name} fn 112: short"));
            };
            if *a != 48 {
                return report(
                    len,
                    DiagnosticKind::Unsupported,
                    format!("{name} fn 112: multi-tone graphics"),
                );
            }
            let (width, height) = (le16(*xl, *xh), le16(*yl, *yh));
            let width_bytes = width.div_ceil(8);
            if data.len() != usize::from(width_bytes) * usize::from(height) {
                return report(
                    len,
                    DiagnosticKind::Malformed,
                    format!("{name} fn 112: data length does not match {width}x{height}"),
                );
            }
            let scale = u8::from(*bx == 2) | (u8::from(*by == 2) << 1);
            cmd(
                len,
                Command::RasterImage {
                    scale,
                    width_bytes,
                    height,
                    data: data.to_vec(),
                    print_now: false,
                },
            )
        }
        2 | 50 => cmd(len, Command::PrintStoredGraphics),
        // Print NV graphics (69) or download graphics (85): logos stored in the printer.
        69 | 85 => stored_logo(len, name),
        _ => cmd(len, Command::Accepted("GS ( L (graphics function)")),
    }
}

/// Printing an image stored in the printer (a logo): the simulator has none, so nothing is
/// printed and the sender is told.
fn stored_logo(len: usize, name: &str) -> Step {
    report(
        len,
        DiagnosticKind::Unsupported,
        format!("{name}: printing an image stored in the printer is not simulated"),
    )
}

fn step_fs(buf: &[u8]) -> Step {
    use Command as C;
    let b = need!(buf, 2);
    let fixed = |n: usize, what: &'static str| -> Step {
        if buf.len() < n { Step::Incomplete } else { cmd(n, C::Accepted(what)) }
    };
    match b[1] {
        b'&' => cmd(2, C::Kanji(true)),
        b'.' => cmd(2, C::Kanji(false)),
        b'!' => fixed(3, "FS ! (Kanji print mode)"),
        b'-' => fixed(3, "FS - (Kanji underline)"),
        b'C' => fixed(3, "FS C (Kanji code system)"),
        b'W' => fixed(3, "FS W (Kanji quadruple size)"),
        b'S' => fixed(4, "FS S (Kanji spacing)"),
        b'p' => match need(buf, 4) {
            Some(_) => stored_logo(4, "FS p"),
            None => Step::Incomplete,
        },
        b'2' => fixed(4 + 72, "FS 2 (define Kanji character)"),
        b'(' => {
            let b = need!(buf, 5);
            let len = 5 + usize::from(le16(b[3], b[4]));
            fixed(len, "FS ( (extended function)")
        }
        other => report(2, DiagnosticKind::Unknown, format!("FS {}", describe(other))),
    }
}

fn step_dle(buf: &[u8]) -> Step {
    let b = need!(buf, 2);
    match b[1] {
        EOT => {
            let b = need!(buf, 3);
            match b[2] {
                1..=4 => cmd(3, Command::StatusRequest(b[2])),
                // n = 7 and 8 take one more byte (ink / extended status).
                7 | 8 => {
                    let _ = need!(buf, 4);
                    cmd(4, Command::Accepted("DLE EOT 7/8 (extended status)"))
                }
                n => report(3, DiagnosticKind::Malformed, format!("DLE EOT {n}")),
            }
        }
        ENQ => {
            let b = need!(buf, 3);
            cmd(3, Command::RealtimeRequest(b[2]))
        }
        DC4 => {
            let b = need!(buf, 3);
            match b[2] {
                1 => {
                    let b = need!(buf, 5);
                    cmd(
                        5,
                        Command::DrawerKick {
                            pin: b[3] & 1,
                            on_ms: u16::from(b[4]) * 100,
                            off_ms: u16::from(b[4]) * 100,
                        },
                    )
                }
                2 | 3 | 7 => fixed_dle(buf, 5),
                8 => fixed_dle(buf, 10),
                n => report(3, DiagnosticKind::Malformed, format!("DLE DC4 {n}")),
            }
        }
        other => report(1, DiagnosticKind::Unknown, format!("DLE followed by {}", describe(other))),
    }
}

fn fixed_dle(buf: &[u8], n: usize) -> Step {
    if buf.len() < n { Step::Incomplete } else { cmd(n, Command::Accepted("DLE DC4 (real-time)")) }
}

/// An incremental parser: feed it bytes as they arrive, in any split.
///
/// ```
/// use thorbis_simulators::escpos::{Command, Event, Parser};
///
/// let mut p = Parser::new();
/// assert!(p.feed(b"\x1bE").is_empty()); // half a command: nothing yet
/// let events = p.feed(b"\x01Hi\n");
/// let commands: Vec<_> = events
///     .into_iter()
///     .filter_map(|e| match e { Event::Command { command, .. } => Some(command), _ => None })
///     .collect();
/// assert_eq!(commands, [Command::Emphasis(true), Command::Text(b"Hi".to_vec()), Command::LineFeed]);
/// ```
#[derive(Debug, Default)]
pub struct Parser {
    /// Bytes of a command not complete yet.
    pending: Vec<u8>,
    /// Stream offset of `pending[0]`.
    offset: u64,
    /// Bytes of an oversized command still to drop.
    skip: u64,
}

impl Parser {
    /// A parser at the start of a stream.
    #[must_use]
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Total bytes fed so far (the offset of the next byte).
    #[must_use]
    pub fn position(&self) -> u64 {
        self.offset + self.pending.len() as u64
    }

    /// Whether a command is half-received.
    #[must_use]
    pub fn is_mid_command(&self) -> bool {
        !self.pending.is_empty() || self.skip > 0
    }

    /// Parses `data`, returning every command and diagnostic it completes.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        self.feed_into(data, &mut out);
        out
    }

    /// As [`Parser::feed`], appending to `out`.
    pub fn feed_into(&mut self, mut data: &[u8], out: &mut Vec<Event>) {
        if self.skip > 0 {
            let n = usize::try_from(self.skip).unwrap_or(usize::MAX).min(data.len());
            self.skip -= n as u64;
            self.offset += n as u64;
            data = &data[n..];
        }
        self.pending.extend_from_slice(data);
        let mut at = 0;
        while at < self.pending.len() {
            let here = self.offset + at as u64;
            match step(&self.pending[at..]) {
                Step::Incomplete => break,
                Step::Command { len, command } => {
                    out.push(Event::Command { offset: here, command });
                    at += len;
                }
                Step::Report { len, kind, message } => {
                    out.push(Event::Diagnostic(Diagnostic { offset: here, kind, message }));
                    at += len;
                }
                Step::Skip { total, message } => {
                    out.push(Event::Diagnostic(Diagnostic {
                        offset: here,
                        kind: DiagnosticKind::Malformed,
                        message,
                    }));
                    let available = (self.pending.len() - at) as u64;
                    let now = total.min(available);
                    at += now as usize;
                    self.skip = total - now;
                }
            }
        }
        self.pending.drain(..at);
        self.offset += at as u64;
    }

    /// Ends the stream: a half-received command is reported as truncated and dropped.
    pub fn finish(&mut self) -> Option<Diagnostic> {
        let truncated = self.is_mid_command().then(|| Diagnostic {
            offset: self.offset,
            kind: DiagnosticKind::Truncated,
            message: match self.pending.first() {
                Some(&b) => format!(
                    "stream ended inside a {} command ({} bytes received)",
                    prefix_name(b),
                    self.pending.len()
                ),
                None => format!("stream ended {} bytes before the end of a command", self.skip),
            },
        });
        self.offset += self.pending.len() as u64 + self.skip;
        self.pending.clear();
        self.skip = 0;
        truncated
    }
}

/// Parses a whole stream at once: the commands, then any truncation.
#[must_use]
pub fn parse_all(data: &[u8]) -> Vec<Event> {
    let mut p = Parser::new();
    let mut out = p.feed(data);
    out.extend(p.finish().map(Event::Diagnostic));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(data: &[u8]) -> Vec<Command> {
        parse_all(data)
            .into_iter()
            .map(|e| match e {
                Event::Command { command, .. } => command,
                Event::Diagnostic(d) => panic!("unexpected diagnostic {d}"),
            })
            .collect()
    }

    fn diagnostics(data: &[u8]) -> Vec<Diagnostic> {
        parse_all(data)
            .into_iter()
            .filter_map(|e| match e {
                Event::Diagnostic(d) => Some(d),
                Event::Command { .. } => None,
            })
            .collect()
    }

    fn one(data: &[u8]) -> Command {
        let mut c = commands(data);
        assert_eq!(c.len(), 1, "{c:?}");
        c.remove(0)
    }

    #[test]
    fn text_and_line_controls() {
        assert_eq!(
            commands(b"ab\tc\r\n"),
            [
                Command::Text(b"ab".to_vec()),
                Command::Tab,
                Command::Text(b"c".to_vec()),
                Command::CarriageReturn,
                Command::LineFeed
            ]
        );
        assert_eq!(one(b"\xe9\x80\xff"), Command::Text(vec![0xE9, 0x80, 0xFF]));
    }

    #[test]
    fn esc_one_byte_commands() {
        assert_eq!(one(b"\x1b@"), Command::Initialize);
        assert_eq!(one(b"\x1b!\x38"), Command::PrintMode(0x38));
        assert_eq!(one(b"\x1bE\x01"), Command::Emphasis(true));
        assert_eq!(one(b"\x1bE\x00"), Command::Emphasis(false));
        assert_eq!(one(b"\x1b-\x02"), Command::Underline(2));
        assert_eq!(one(b"\x1bG\x01"), Command::DoubleStrike(true));
        assert_eq!(one(b"\x1bM\x01"), Command::Font(1));
        assert_eq!(one(b"\x1ba\x01"), Command::Justify(1));
        assert_eq!(one(b"\x1bt\x13"), Command::CodePage(19));
        assert_eq!(one(b"\x1bR\x02"), Command::InternationalSet(2));
        assert_eq!(one(b"\x1bd\x03"), Command::FeedLines(3));
        assert_eq!(one(b"\x1bJ\x10"), Command::FeedDots(16));
        assert_eq!(one(b"\x1b2"), Command::DefaultLineSpacing);
        assert_eq!(one(b"\x1b3\x18"), Command::LineSpacing(24));
        assert_eq!(one(b"\x1b \x02"), Command::RightSpacing(2));
        assert_eq!(one(b"\x1b{\x01"), Command::UpsideDown(true));
        assert_eq!(one(b"\x1b$\x10\x01"), Command::AbsolutePosition(272));
        assert!(matches!(one(b"\x1bc5\x00"), Command::Accepted(_)));
        assert!(matches!(one(b"\x1b=\x01"), Command::Accepted(_)));
        assert!(matches!(one(b"\x1bD\x08\x10\x00"), Command::Accepted(_)));
    }

    #[test]
    fn gs_settings() {
        assert_eq!(one(b"\x1d!\x11"), Command::CharacterSize(0x11));
        assert_eq!(one(b"\x1dB\x01"), Command::Reverse(true));
        assert_eq!(one(b"\x1dL\x00\x01"), Command::LeftMargin(256));
        assert_eq!(one(b"\x1dW\x40\x02"), Command::PrintAreaWidth(576));
        assert_eq!(one(b"\x1dh\x50"), Command::BarcodeHeight(80));
        assert_eq!(one(b"\x1dw\x03"), Command::BarcodeWidth(3));
        assert_eq!(one(b"\x1dH\x02"), Command::HriPosition(2));
        assert_eq!(one(b"\x1df\x00"), Command::HriFont(0));
        assert_eq!(one(b"\x1da\xff"), Command::AutoStatusBack(255));
        assert_eq!(one(b"\x1dr\x01"), Command::TransmitStatus(1));
        assert_eq!(one(b"\x1bv\x00"), Command::TransmitStatus(1));
        assert_eq!(one(b"\x1bu\x00"), Command::TransmitStatus(2));
        assert_eq!(one(b"\x1dIB"), Command::TransmitId(66));
        assert!(matches!(one(b"\x1bc0\x02"), Command::Accepted(_)));
        for logo in [b"\x1cp\x01\x00".as_slice(), b"\x1d/\x00", b"\x1d(L\x06\x000E  \x01\x01"] {
            assert_eq!(diagnostics(logo)[0].kind, DiagnosticKind::Unsupported, "{logo:?}");
        }
        assert_eq!(one(b"\x1c&"), Command::Kanji(true));
        assert_eq!(one(b"\x1c."), Command::Kanji(false));
    }

    #[test]
    fn barcodes_in_both_forms() {
        assert_eq!(
            one(b"\x1dk\x02400638133393\x00"),
            Command::Barcode { symbology: Symbology::Ean13, data: b"400638133393".to_vec() }
        );
        assert_eq!(
            one(b"\x1dk\x49\x06{BA-12"),
            Command::Barcode { symbology: Symbology::Code128, data: b"{BA-12".to_vec() }
        );
        for (m, s) in [
            (0, Symbology::UpcA),
            (1, Symbology::UpcE),
            (3, Symbology::Ean8),
            (4, Symbology::Code39),
            (5, Symbology::Itf),
            (6, Symbology::Codabar),
        ] {
            let mut a = vec![GS, b'k', m];
            a.extend_from_slice(b"12\x00");
            assert_eq!(one(&a), Command::Barcode { symbology: s, data: b"12".to_vec() });
            let b = [GS, b'k', m + 65, 2, b'1', b'2'];
            assert_eq!(one(&b), Command::Barcode { symbology: s, data: b"12".to_vec() });
        }
        assert_eq!(
            one(b"\x1dk\x4a\x0401\x1d0"),
            Command::Barcode { symbology: Symbology::Gs1_128, data: b"01\x1d0".to_vec() }
        );
        assert_eq!(diagnostics(b"\x1dk\x4b\x01x")[0].kind, DiagnosticKind::Unsupported);
        assert_eq!(
            one(b"\x1dk\x48\x03ABC"),
            Command::Barcode { symbology: Symbology::Code93, data: b"ABC".to_vec() }
        );
    }

    #[test]
    fn qr_functions() {
        assert_eq!(one(b"\x1d(k\x04\x00\x31\x41\x32\x00"), Command::QrModel(50));
        assert_eq!(one(b"\x1d(k\x03\x00\x31\x43\x06"), Command::QrModuleSize(6));
        assert_eq!(one(b"\x1d(k\x03\x00\x31\x45\x31"), Command::QrErrorCorrection(49));
        assert_eq!(one(b"\x1d(k\x06\x001P0abc"), Command::QrStore(b"abc".to_vec()));
        assert_eq!(one(b"\x1d(k\x03\x001Q0"), Command::QrPrint);
        let d = diagnostics(b"\x1d(k\x03\x00\x30\x41\x00");
        assert_eq!(d[0].kind, DiagnosticKind::Unsupported);
    }

    #[test]
    fn images() {
        assert_eq!(
            one(b"\x1dv0\x00\x01\x00\x02\x00\xf0\x0f"),
            Command::RasterImage {
                scale: 0,
                width_bytes: 1,
                height: 2,
                data: vec![0xF0, 0x0F],
                print_now: true
            }
        );
        assert_eq!(
            one(b"\x1b*\x21\x01\x00\x01\x02\x03"),
            Command::ColumnImage { mode: 33, width: 1, data: vec![1, 2, 3] }
        );
        // GS ( L fn 112: 8x1 image, then print.
        assert_eq!(
            commands(b"\x1d(L\x0b\x000p0\x01\x011\x08\x00\x01\x00\xaa\x1d(L\x02\x0002"),
            [
                Command::RasterImage {
                    scale: 0,
                    width_bytes: 1,
                    height: 1,
                    data: vec![0xAA],
                    print_now: false
                },
                Command::PrintStoredGraphics
            ]
        );
    }

    #[test]
    fn cuts_in_every_form() {
        let full = Command::Cut(Cut { partial: false, feed: 0 });
        let partial = Command::Cut(Cut { partial: true, feed: 0 });
        assert_eq!(one(b"\x1dV\x00"), full);
        assert_eq!(one(b"\x1dV0"), full);
        assert_eq!(one(b"\x1dV\x01"), partial);
        assert_eq!(one(b"\x1dV1"), partial);
        assert_eq!(one(b"\x1dVA\x03"), Command::Cut(Cut { partial: false, feed: 3 }));
        assert_eq!(one(b"\x1dVB\x03"), Command::Cut(Cut { partial: true, feed: 3 }));
        assert_eq!(one(b"\x1dVa\x00"), Command::Cut(Cut { partial: false, feed: 0 }));
        assert_eq!(one(b"\x1dVh\x05"), Command::Cut(Cut { partial: true, feed: 5 }));
        assert_eq!(one(b"\x1bi"), partial);
        assert_eq!(diagnostics(b"\x1dV\x07")[0].kind, DiagnosticKind::Malformed);
    }

    #[test]
    fn drawer_and_realtime() {
        assert_eq!(
            one(b"\x1bp\x00\x32\x64"),
            Command::DrawerKick { pin: 0, on_ms: 100, off_ms: 200 }
        );
        assert_eq!(
            one(b"\x10\x14\x01\x01\x02"),
            Command::DrawerKick { pin: 1, on_ms: 200, off_ms: 200 }
        );
        for n in 1..=4 {
            assert_eq!(one(&[DLE, EOT, n]), Command::StatusRequest(n));
        }
        assert_eq!(one(b"\x10\x05\x02"), Command::RealtimeRequest(2));
    }

    #[test]
    fn unknown_commands_are_reported_and_parsing_resyncs() {
        let events = parse_all(b"\x1bZ\x01\x1bE\x01ok\n\x07");
        let d: Vec<_> = events
            .iter()
            .filter_map(|e| if let Event::Diagnostic(d) = e { Some(d.clone()) } else { None })
            .collect();
        // ESC Z, then its parameter byte 0x01 (a stray control byte), then BEL.
        assert_eq!(d.len(), 3);
        assert_eq!((d[0].offset, d[0].kind), (0, DiagnosticKind::Unknown));
        assert_eq!((d[1].offset, d[2].offset), (2, 9));
        assert!(events.contains(&Event::Command { offset: 3, command: Command::Emphasis(true) }));
    }

    #[test]
    fn truncated_streams_report_at_the_end() {
        for cut in [b"\x1b".as_slice(), b"\x1d(k\x10\x001P0ab", b"\x1dv0\x00\x02\x00\x02\x00\x01"] {
            let d = diagnostics(cut);
            assert_eq!(d.len(), 1, "{cut:?}");
            assert_eq!(d[0].kind, DiagnosticKind::Truncated);
        }
    }

    /// Text runs end where a read ends; joins adjacent ones to compare with a whole parse.
    fn merge_text(events: Vec<Event>) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        for e in events {
            if let (
                Some(Event::Command { command: Command::Text(prev), .. }),
                Event::Command { command: Command::Text(more), .. },
            ) = (out.last_mut(), &e)
            {
                prev.extend_from_slice(more);
                continue;
            }
            out.push(e);
        }
        out
    }

    #[test]
    fn split_reads_give_the_same_commands() {
        let stream =
            b"\x1b@\x1b!\x38Big\n\x1dk\x49\x05{C\x01\x02\x03\x1d(k\x06\x001P0abc\x1dVA\x00";
        let whole = parse_all(stream);
        for chunk in 1..stream.len() {
            let mut p = Parser::new();
            let mut events = Vec::new();
            for part in stream.chunks(chunk) {
                p.feed_into(part, &mut events);
            }
            assert_eq!(p.finish(), None);
            assert_eq!(merge_text(events), whole, "chunk size {chunk}");
        }
    }

    #[test]
    fn huge_length_fields_are_skipped_without_buffering() {
        // GS 8 L announcing 4 GiB: the parser must not wait for it in memory.
        let mut p = Parser::new();
        let events = p.feed(b"\x1d8L\xff\xff\xff\xff0p");
        assert!(matches!(&events[0], Event::Diagnostic(d) if d.kind == DiagnosticKind::Malformed));
        assert!(p.pending.is_empty());
        let events = p.feed(&[b'x'; 1000]);
        assert!(events.is_empty());
        assert!(p.is_mid_command());
        // A 0xFFFF x 0xFFFF raster, same.
        let mut p = Parser::new();
        let _ = p.feed(b"\x1dv0\x00\xff\xff\xff\xff");
        assert!(p.pending.is_empty());
    }
}
