//! ESC/POS commands, one function each, appending their bytes to a buffer.
//!
//! These are the only place byte values of commands appear; the receipt encoder
//! ([`crate::encoder`]) decides *which* to send, these say *how*. Argument ranges are clamped
//! to what the command accepts, because a printer given an out-of-range parameter usually
//! prints the rest of the job as garbage. Each test cites the command it checks.

use crate::profile::Font;

/// `ESC`, the prefix of most commands.
pub const ESC: u8 = 0x1B;
/// `GS`, the prefix of the newer commands (and the GS1 field separator).
pub const GS: u8 = 0x1D;
/// `DLE`, the prefix of real-time commands.
pub const DLE: u8 = 0x10;
/// `EOT`.
pub const EOT: u8 = 0x04;
/// Line feed: print the buffer and advance one line.
pub const LF: u8 = 0x0A;

/// `ESC @`: reset modes (styles, alignment, code page) to the power-on defaults.
pub fn initialize(out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESC, b'@']);
}

/// `LF`.
pub fn line_feed(out: &mut Vec<u8>) {
    out.push(LF);
}

/// `ESC t n`: select character code table `n` (model-specific numbering, see the profile).
pub fn select_code_table(out: &mut Vec<u8>, n: u8) {
    out.extend_from_slice(&[ESC, b't', n]);
}

/// `ESC E n`: emphasized (bold) on or off.
pub fn bold(out: &mut Vec<u8>, on: bool) {
    out.extend_from_slice(&[ESC, b'E', u8::from(on)]);
}

/// `ESC - n`: underline off (0), one dot (1) or two dots (2).
pub fn underline(out: &mut Vec<u8>, dots: u8) {
    out.extend_from_slice(&[ESC, b'-', dots.min(2)]);
}

/// `GS ! n`: character size, width and height multipliers 1–8 (bits 4–6 width, 0–2 height).
pub fn char_size(out: &mut Vec<u8>, width: u8, height: u8) {
    let w = width.clamp(1, 8) - 1;
    let h = height.clamp(1, 8) - 1;
    out.extend_from_slice(&[GS, b'!', (w << 4) | h]);
}

/// `GS B n`: white-on-black (reverse) printing on or off.
pub fn invert(out: &mut Vec<u8>, on: bool) {
    out.extend_from_slice(&[GS, b'B', u8::from(on)]);
}

/// Justification for `ESC a`.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    /// Flush left (the default).
    #[default]
    Left,
    /// Centred.
    Center,
    /// Flush right.
    Right,
}

/// `ESC a n`: justification 0 left, 1 centre, 2 right. Takes effect at the start of a line.
pub fn align(out: &mut Vec<u8>, align: Align) {
    let n = match align {
        Align::Left => 0,
        Align::Center => 1,
        Align::Right => 2,
    };
    out.extend_from_slice(&[ESC, b'a', n]);
}

/// `ESC M n`: font A (0) or B (1).
pub fn font(out: &mut Vec<u8>, font: Font) {
    out.extend_from_slice(&[ESC, b'M', u8::from(font == Font::B)]);
}

/// `ESC d n`: print and feed `n` lines.
pub fn feed_lines(out: &mut Vec<u8>, n: u8) {
    out.extend_from_slice(&[ESC, b'd', n]);
}

/// `ESC 2`: default line spacing (about 1/6 inch).
pub fn default_line_spacing(out: &mut Vec<u8>) {
    out.extend_from_slice(&[ESC, b'2']);
}

/// `ESC 3 n`: line spacing of `n` motion units (dots on 203 dpi heads).
pub fn line_spacing(out: &mut Vec<u8>, n: u8) {
    out.extend_from_slice(&[ESC, b'3', n]);
}

/// The kind of cut for `GS V`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutKind {
    /// Cut through completely.
    Full,
    /// Leave one point uncut so the receipt hangs until torn.
    Partial,
}

/// `GS V m n` (function B, m = 65 full / 66 partial): feed to the cutting position plus `n`
/// motion units, then cut. Function B is used because function A (`GS V 0`) cuts where the
/// paper is, which on most printers cuts through the last printed lines.
pub fn cut(out: &mut Vec<u8>, kind: CutKind, extra_feed: u8) {
    let m = match kind {
        CutKind::Full => 65,
        CutKind::Partial => 66,
    };
    out.extend_from_slice(&[GS, b'V', m, extra_feed]);
}

/// The connector pin that `ESC p` pulses.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum DrawerPin {
    /// Drawer kick-out connector pin 2 (`m = 0`), the usual first drawer.
    #[default]
    #[serde(rename = "pin2")]
    Pin2,
    /// Pin 5 (`m = 1`), the usual second drawer.
    #[serde(rename = "pin5")]
    Pin5,
}

/// `ESC p m t1 t2`: pulse pin `m` on for `t1 × 2 ms`, off for `t2 × 2 ms`.
///
/// Times are rounded up to the next 2 ms and clamped to 2–510 ms; `off` is at least `on`,
/// because Epson documents that the printer waits `t2` only if `t2 ≥ t1`.
pub fn drawer_pulse(out: &mut Vec<u8>, pin: DrawerPin, on_ms: u16, off_ms: u16) {
    let units = |ms: u16| ms.div_ceil(2).clamp(1, 255) as u8;
    let m = match pin {
        DrawerPin::Pin2 => 0,
        DrawerPin::Pin5 => 1,
    };
    let t1 = units(on_ms);
    let t2 = units(off_ms).max(t1);
    out.extend_from_slice(&[ESC, b'p', m, t1, t2]);
}

/// Where `GS H` prints the human-readable interpretation of a barcode.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum HriPosition {
    /// Not printed.
    None,
    /// Above the bars.
    Above,
    /// Below the bars (the usual place).
    #[default]
    Below,
    /// Both.
    Both,
}

/// `GS H n`: HRI position.
pub fn barcode_hri(out: &mut Vec<u8>, pos: HriPosition) {
    let n = match pos {
        HriPosition::None => 0,
        HriPosition::Above => 1,
        HriPosition::Below => 2,
        HriPosition::Both => 3,
    };
    out.extend_from_slice(&[GS, b'H', n]);
}

/// `GS h n`: barcode height in dots (1–255).
pub fn barcode_height(out: &mut Vec<u8>, dots: u8) {
    out.extend_from_slice(&[GS, b'h', dots.max(1)]);
}

/// `GS w n`: barcode module width in dots (2–6).
pub fn barcode_module_width(out: &mut Vec<u8>, dots: u8) {
    out.extend_from_slice(&[GS, b'w', dots.clamp(2, 6)]);
}

/// Barcode systems of `GS k` function B, by their `m` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BarcodeSystem {
    /// `m = 65`, 11 digits (the printer adds the check digit).
    UpcA = 65,
    /// `m = 67`, 12 digits.
    Ean13 = 67,
    /// `m = 68`, 7 digits.
    Ean8 = 68,
    /// `m = 73`, code set selectors `{A {B {C` and `{1` for FNC1 inside the data.
    Code128 = 73,
}

/// `GS k m n d1..dn` (function B). `data` longer than 255 bytes is the caller's bug; it is
/// truncated rather than sent with a wrong length byte.
pub fn barcode(out: &mut Vec<u8>, system: BarcodeSystem, data: &[u8]) {
    let data = &data[..data.len().min(255)];
    out.extend_from_slice(&[GS, b'k', system as u8, data.len() as u8]);
    out.extend_from_slice(data);
}

/// QR error correction level.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum QrEcc {
    /// About 7% recoverable.
    L,
    /// About 15% recoverable (the default).
    #[default]
    M,
    /// About 25%.
    Q,
    /// About 30%.
    H,
}

/// The most bytes a QR code stores (version 40, numeric, level L).
pub const QR_MAX_DATA: usize = 7089;

/// `GS ( k` function 165, 167, 169, 180, 181: model 2, module size, error correction, store
/// the data, print. Data over [`QR_MAX_DATA`] bytes is the caller's bug and is truncated.
pub fn qr_code(out: &mut Vec<u8>, data: &[u8], module_size: u8, ecc: QrEcc) {
    let data = &data[..data.len().min(QR_MAX_DATA)];
    // Function 165: select model 2 (`49 65 50 0`).
    out.extend_from_slice(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]);
    // Function 167: module size in dots.
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 67, module_size.clamp(1, 16)]);
    // Function 169: error correction level, 48 + L/M/Q/H.
    let e = match ecc {
        QrEcc::L => 48,
        QrEcc::M => 49,
        QrEcc::Q => 50,
        QrEcc::H => 51,
    };
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 69, e]);
    // Function 180: store data; the length counts `cn fn m` too.
    let len = data.len() + 3;
    out.extend_from_slice(&[GS, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 49, 80, 48]);
    out.extend_from_slice(data);
    // Function 181: print the stored symbol.
    out.extend_from_slice(&[GS, b'(', b'k', 3, 0, 49, 81, 48]);
}

/// `GS v 0 m xL xH yL yH d..`: one raster band, `width_bytes` bytes per row, normal scale.
pub fn raster_band(out: &mut Vec<u8>, width_bytes: u16, rows: u16, data: &[u8]) {
    let [xl, xh] = width_bytes.to_le_bytes();
    let [yl, yh] = rows.to_le_bytes();
    out.extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
    out.extend_from_slice(data);
}

/// `ESC * 33 nL nH d..`: one 24-dot-high column-format band, 3 bytes per column (top byte
/// first, most significant bit topmost), `columns` columns, double density.
pub fn column_band(out: &mut Vec<u8>, columns: u16, data: &[u8]) {
    let [nl, nh] = columns.to_le_bytes();
    out.extend_from_slice(&[ESC, b'*', 33, nl, nh]);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn text_and_mode_commands() {
        // ESC @ — initialize printer.
        assert_eq!(bytes(initialize), [0x1B, 0x40]);
        // ESC t n — select character code table 19 (PC858 on Epson).
        assert_eq!(bytes(|o| select_code_table(o, 19)), [0x1B, 0x74, 19]);
        // ESC E n — emphasized on / off.
        assert_eq!(bytes(|o| bold(o, true)), [0x1B, 0x45, 1]);
        assert_eq!(bytes(|o| bold(o, false)), [0x1B, 0x45, 0]);
        // ESC - n — underline, n clamped to 2 dots.
        assert_eq!(bytes(|o| underline(o, 1)), [0x1B, 0x2D, 1]);
        assert_eq!(bytes(|o| underline(o, 9)), [0x1B, 0x2D, 2]);
        // GS ! n — double width and height: 0x11; width 3, height 1: 0x20; 8×8: 0x77.
        assert_eq!(bytes(|o| char_size(o, 2, 2)), [0x1D, 0x21, 0x11]);
        assert_eq!(bytes(|o| char_size(o, 3, 1)), [0x1D, 0x21, 0x20]);
        assert_eq!(bytes(|o| char_size(o, 9, 8)), [0x1D, 0x21, 0x77]);
        assert_eq!(bytes(|o| char_size(o, 0, 0)), [0x1D, 0x21, 0x00]);
        // GS B n — reverse printing.
        assert_eq!(bytes(|o| invert(o, true)), [0x1D, 0x42, 1]);
        // ESC a n — justification.
        assert_eq!(bytes(|o| align(o, Align::Left)), [0x1B, 0x61, 0]);
        assert_eq!(bytes(|o| align(o, Align::Center)), [0x1B, 0x61, 1]);
        assert_eq!(bytes(|o| align(o, Align::Right)), [0x1B, 0x61, 2]);
        // ESC M n — character font.
        assert_eq!(bytes(|o| font(o, Font::A)), [0x1B, 0x4D, 0]);
        assert_eq!(bytes(|o| font(o, Font::B)), [0x1B, 0x4D, 1]);
        // LF; ESC d n — print and feed n lines; ESC 2 / ESC 3 n — line spacing.
        assert_eq!(bytes(line_feed), [0x0A]);
        assert_eq!(bytes(|o| feed_lines(o, 4)), [0x1B, 0x64, 4]);
        assert_eq!(bytes(default_line_spacing), [0x1B, 0x32]);
        assert_eq!(bytes(|o| line_spacing(o, 24)), [0x1B, 0x33, 24]);
    }

    #[test]
    fn cut_and_drawer() {
        // GS V 65 n — feed to cutting position + n, full cut; GS V 66 n — partial.
        assert_eq!(bytes(|o| cut(o, CutKind::Full, 0)), [0x1D, 0x56, 65, 0]);
        assert_eq!(bytes(|o| cut(o, CutKind::Partial, 3)), [0x1D, 0x56, 66, 3]);
        // ESC p m t1 t2 — pin 2, 100 ms on, 200 ms off: t1 = 50, t2 = 100.
        assert_eq!(bytes(|o| drawer_pulse(o, DrawerPin::Pin2, 100, 200)), [0x1B, 0x70, 0, 50, 100]);
        // Pin 5, odd milliseconds round up, t2 raised to t1, 1000 ms clamps to 255 units.
        assert_eq!(bytes(|o| drawer_pulse(o, DrawerPin::Pin5, 51, 10)), [0x1B, 0x70, 1, 26, 26]);
        assert_eq!(
            bytes(|o| drawer_pulse(o, DrawerPin::Pin2, 1000, 1000)),
            [0x1B, 0x70, 0, 255, 255]
        );
    }

    #[test]
    fn barcode_commands() {
        // GS H n — HRI below; GS h n — height 80; GS w n — module width clamped to 2..=6.
        assert_eq!(bytes(|o| barcode_hri(o, HriPosition::Below)), [0x1D, 0x48, 2]);
        assert_eq!(bytes(|o| barcode_height(o, 80)), [0x1D, 0x68, 80]);
        assert_eq!(bytes(|o| barcode_module_width(o, 1)), [0x1D, 0x77, 2]);
        assert_eq!(bytes(|o| barcode_module_width(o, 7)), [0x1D, 0x77, 6]);
        // GS k m n d1..dn — EAN-13 (m = 67), 12 digits.
        assert_eq!(
            bytes(|o| barcode(o, BarcodeSystem::Ean13, b"400638133393")),
            [&[0x1D, 0x6B, 67, 12][..], b"400638133393"].concat()
        );
        // GS k 73 — CODE128 with code set B selector.
        assert_eq!(
            bytes(|o| barcode(o, BarcodeSystem::Code128, b"{BAB")),
            [0x1D, 0x6B, 73, 4, b'{', b'B', b'A', b'B']
        );
    }

    #[test]
    fn qr_sequence() {
        let got = bytes(|o| qr_code(o, b"HI", 6, QrEcc::Q));
        let expected: Vec<u8> = [
            // GS ( k pL pH cn fn n1 n2 — fn 65: select model 2.
            &[0x1D, 0x28, 0x6B, 4, 0, 49, 65, 50, 0][..],
            // fn 67: module size 6.
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 67, 6],
            // fn 69: error correction Q (50).
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 69, 50],
            // fn 80: store 2 bytes of data, pL = 2 + 3.
            &[0x1D, 0x28, 0x6B, 5, 0, 49, 80, 48, b'H', b'I'],
            // fn 81: print.
            &[0x1D, 0x28, 0x6B, 3, 0, 49, 81, 48],
        ]
        .concat();
        assert_eq!(got, expected);
        // A 300-byte payload needs pH: 303 = 0x012F.
        let long = bytes(|o| qr_code(o, &[b'A'; 300], 3, QrEcc::L));
        assert_eq!(&long[25..33], &[0x1D, 0x28, 0x6B, 0x2F, 0x01, 49, 80, 48]);
    }

    #[test]
    fn image_bands() {
        // GS v 0 m xL xH yL yH — 2 bytes wide, 1 row.
        assert_eq!(
            bytes(|o| raster_band(o, 2, 1, &[0xF0, 0x0F])),
            [0x1D, 0x76, 0x30, 0, 2, 0, 1, 0, 0xF0, 0x0F]
        );
        // ESC * 33 nL nH — 300 columns: nL = 0x2C, nH = 1.
        let band = bytes(|o| column_band(o, 300, &[]));
        assert_eq!(band, [0x1B, 0x2A, 33, 0x2C, 0x01]);
    }
}
