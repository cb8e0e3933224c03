//! Renderers: a [`Receipt`] as plain text, and as a PNG picture of the paper.
//!
//! The text rendering is what tests compare: one line per printed line, characters only
//! (styles dropped), and a marker line for each barcode, QR code and image, such as
//! `[BARCODE EAN13 4006381333931]`, `[QR https://example.com]` or `[IMAGE 384x120]`. Cuts,
//! drawer pulses and dot feeds print nothing, so they are not in it.
//!
//! The PNG is one pixel per printer dot: text from the `font8x8` bitmap font scaled to the
//! printer's cell (12 x 24 for font A) and to double width/height, 1D bars from the modules
//! the printer computed (with a quiet zone), QR codes from the `qrcode` crate at the module
//! size the sender asked for. It is made to be looked at and to be read by a barcode decoder,
//! not to match a particular printer pixel for pixel.

use std::fmt::Write as _;

use font8x8::UnicodeFonts;

use crate::receipt::{Align, Block, Receipt, Run};

/// Margin around the paper in the PNG, in dots.
const MARGIN: u32 = 16;
/// Quiet zone each side of a 1D barcode, in modules.
const QUIET_MODULES: u32 = 10;
/// Quiet zone around a QR code, in modules.
const QR_QUIET: u32 = 4;
/// Minimum vertical advance of a text line (Epson's default 1/6 inch).
const LINE_SPACING: u32 = 30;
/// Largest picture the renderer will allocate: about 65 000 dots (8 m of paper) at 608 wide.
const MAX_PIXELS: usize = 40_000_000;

/// Why a PNG could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    /// The receipt is too long to draw.
    #[error("receipt of {width}x{height} dots is too large to render")]
    TooLarge {
        /// Width in dots.
        width: u32,
        /// Height in dots.
        height: u32,
    },
}

/// The receipt as text: one line per printed line, markers for graphics.
#[must_use]
pub fn text(receipt: &Receipt) -> String {
    let mut out = String::new();
    for block in &receipt.blocks {
        match block {
            Block::Line(line) => {
                out.push_str(&line.text());
                out.push('\n');
            }
            Block::Barcode(b) => {
                let _ = writeln!(out, "[BARCODE {} {}]", b.symbology, b.linear.hri);
            }
            Block::Qr(q) => {
                let _ = writeln!(out, "[QR {}]", String::from_utf8_lossy(&q.data));
            }
            Block::Image { bitmap, .. } => {
                let _ = writeln!(out, "[IMAGE {}x{}]", bitmap.width, bitmap.height);
            }
            Block::Feed { .. } | Block::Cut(_) | Block::DrawerPulse { .. } => {}
        }
    }
    out
}

/// A grey-scale canvas, 0 = black, 255 = white.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: u32, y: u32, black: bool) {
        if x < self.width && y < self.height {
            self.pixels[(y * self.width + x) as usize] = if black { 0 } else { 255 };
        }
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, black: bool) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy, black);
            }
        }
    }
}

/// The euro sign, missing from `font8x8` and common on receipts (rows, LSB leftmost).
const EURO: [u8; 8] = [0x3C, 0x42, 0x0F, 0x02, 0x0F, 0x42, 0x3C, 0x00];

fn glyph(c: char) -> Option<[u8; 8]> {
    if c == '\u{20ac}' {
        return Some(EURO);
    }
    font8x8::BASIC_FONTS
        .get(c)
        .or_else(|| font8x8::LATIN_FONTS.get(c))
        .or_else(|| font8x8::BOX_FONTS.get(c))
        .or_else(|| font8x8::BLOCK_FONTS.get(c))
        .or_else(|| font8x8::GREEK_FONTS.get(c))
        .or_else(|| font8x8::MISC_FONTS.get(c))
}

fn run_width(run: &Run) -> u32 {
    let (w, _) = run.style.font.cell();
    run.text.chars().count() as u32 * w * u32::from(run.style.width)
}

fn run_height(run: &Run) -> u32 {
    run.style.font.cell().1 * u32::from(run.style.height)
}

fn x_for(align: Align, content: u32, paper: u32) -> u32 {
    MARGIN
        + match align {
            Align::Left => 0,
            Align::Center => paper.saturating_sub(content) / 2,
            Align::Right => paper.saturating_sub(content),
        }
}

/// Draws one character cell with its top-left corner at `(x, y)`.
fn draw_char(canvas: &mut Canvas, x: u32, y: u32, c: char, run: &Run, baseline: u32) {
    let (cw, ch) = run.style.font.cell();
    let (sx, sy) = (u32::from(run.style.width), u32::from(run.style.height));
    let (width, height) = (cw * sx, ch * sy);
    let top = y + baseline - height;
    if run.style.invert {
        canvas.fill(x, top, width, height, true);
    }
    let ink = !run.style.invert;
    // The 8x8 glyph sits in the cell with a sixth of the height above and below it.
    let pad = ch / 6;
    let glyph_h = ch - 2 * pad;
    match glyph(c) {
        Some(rows) => {
            for py in 0..glyph_h {
                let row = rows[(py * 8 / glyph_h) as usize];
                for px in 0..cw {
                    let gx = px * 8 / cw;
                    let on = row & (1 << gx) != 0
                        || (run.style.bold && px > 0 && row & (1 << ((px - 1) * 8 / cw)) != 0);
                    if on {
                        canvas.fill(x + px * sx, top + (pad + py) * sy, sx, sy, ink);
                    }
                }
            }
        }
        None if c == ' ' => {}
        None => {
            // A character the font lacks: an outlined box, like a printer's missing glyph.
            canvas.fill(x + sx, top + pad * sy, width - 2 * sx, sy, ink);
            canvas.fill(x + sx, top + (ch - pad) * sy, width - 2 * sx, sy, ink);
            canvas.fill(x + sx, top + pad * sy, sx, glyph_h * sy, ink);
            canvas.fill(x + width - 2 * sx, top + pad * sy, sx, glyph_h * sy, ink);
        }
    }
    if run.style.underline > 0 {
        let thick = u32::from(run.style.underline);
        canvas.fill(x, top + height - thick, width, thick, ink);
    }
}

fn draw_text(canvas: &mut Canvas, x: u32, y: u32, text: &str) {
    let run = Run { text: text.to_owned(), style: crate::receipt::Style::default() };
    let (cw, ch) = run.style.font.cell();
    for (i, c) in text.chars().enumerate() {
        draw_char(canvas, x + i as u32 * cw, y, c, &run, ch);
    }
}

/// Height of a block in dots and its drawing, shared by the measuring and drawing passes.
fn block_height(block: &Block) -> u32 {
    match block {
        Block::Line(line) => line.runs.iter().map(run_height).max().unwrap_or(0).max(LINE_SPACING),
        Block::Barcode(b) => {
            let hri = if b.hri_position == 0 { 0 } else { 24 + 4 };
            u32::from(b.height) + hri * if b.hri_position == 3 { 2 } else { 1 } + 8
        }
        Block::Qr(q) => {
            qr_matrix(q).map_or(24, |(w, _)| (w + 2 * QR_QUIET) * u32::from(q.module_size))
        }
        Block::Image { bitmap, .. } => bitmap.height,
        Block::Feed { dots } => *dots,
        Block::Cut(_) => 12,
        Block::DrawerPulse { .. } => 0,
    }
}

fn qr_matrix(q: &crate::receipt::QrBlock) -> Option<(u32, Vec<bool>)> {
    use crate::receipt::EcLevel;
    let ec = match q.ec {
        EcLevel::L => qrcode::EcLevel::L,
        EcLevel::M => qrcode::EcLevel::M,
        EcLevel::Q => qrcode::EcLevel::Q,
        EcLevel::H => qrcode::EcLevel::H,
    };
    let code = qrcode::QrCode::with_error_correction_level(&q.data, ec).ok()?;
    let dark = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
    Some((code.width() as u32, dark))
}

fn module_width(b: &crate::receipt::BarcodeBlock) -> u32 {
    // A one-dot module is legal on paper but too thin for a decoder reading the PNG.
    u32::from(b.module_width).max(2)
}

fn block_width(block: &Block) -> u32 {
    match block {
        Block::Line(line) => line.runs.iter().map(run_width).sum(),
        Block::Barcode(b) => (b.linear.modules.len() as u32 + 2 * QUIET_MODULES) * module_width(b),
        Block::Image { bitmap, .. } => bitmap.width,
        Block::Qr(_) | Block::Feed { .. } | Block::Cut(_) | Block::DrawerPulse { .. } => 0,
    }
}

/// The receipt as a PNG image, one pixel per dot, black on white.
pub fn png(receipt: &Receipt) -> Result<Vec<u8>, RenderError> {
    let paper = receipt
        .blocks
        .iter()
        .map(block_width)
        .chain(std::iter::once(receipt.width))
        .max()
        .unwrap_or(receipt.width);
    let width = paper + 2 * MARGIN;
    let height = receipt.blocks.iter().map(block_height).sum::<u32>() + 2 * MARGIN;
    if (width as usize).saturating_mul(height as usize) > MAX_PIXELS {
        return Err(RenderError::TooLarge { width, height });
    }
    let mut canvas = Canvas { width, height, pixels: vec![255; width as usize * height as usize] };
    let mut y = MARGIN;
    for block in &receipt.blocks {
        let h = block_height(block);
        draw_block(&mut canvas, block, y, paper);
        y += h;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header()?;
        writer.write_image_data(&canvas.pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

fn draw_block(canvas: &mut Canvas, block: &Block, y: u32, paper: u32) {
    match block {
        Block::Line(line) => {
            let baseline = line.runs.iter().map(run_height).max().unwrap_or(0);
            let mut x = x_for(line.align, block_width(block), paper);
            for run in &line.runs {
                let (cw, _) = run.style.font.cell();
                let step = cw * u32::from(run.style.width);
                for c in run.text.chars() {
                    draw_char(canvas, x, y, c, run, baseline);
                    x += step;
                }
            }
        }
        Block::Barcode(b) => {
            let mw = module_width(b);
            let x0 = x_for(b.align, block_width(block), paper);
            let mut top = y;
            let hri_w = b.linear.hri.chars().count() as u32 * 12;
            let hri_x = x_for(b.align, hri_w, paper).max(x0);
            if b.hri_position & 1 == 1 {
                draw_text(canvas, hri_x, top, &b.linear.hri);
                top += 28;
            }
            for (i, &bar) in b.linear.modules.iter().enumerate() {
                if bar {
                    let x = x0 + (QUIET_MODULES + i as u32) * mw;
                    canvas.fill(x, top, mw, u32::from(b.height), true);
                }
            }
            if b.hri_position & 2 == 2 {
                draw_text(canvas, hri_x, top + u32::from(b.height) + 4, &b.linear.hri);
            }
        }
        Block::Qr(q) => {
            let Some((n, dark)) = qr_matrix(q) else {
                draw_text(canvas, MARGIN, y, "[QR data too long]");
                return;
            };
            let m = u32::from(q.module_size);
            let side = (n + 2 * QR_QUIET) * m;
            let x0 = x_for(q.align, side, paper);
            for (i, &d) in dark.iter().enumerate() {
                if d {
                    let (mx, my) = (i as u32 % n, i as u32 / n);
                    canvas.fill(x0 + (QR_QUIET + mx) * m, y + (QR_QUIET + my) * m, m, m, true);
                }
            }
        }
        Block::Image { bitmap, align } => {
            let x0 = x_for(*align, bitmap.width, paper);
            for yy in 0..bitmap.height {
                for xx in 0..bitmap.width {
                    if bitmap.get(xx, yy) {
                        canvas.set(x0 + xx, y + yy, true);
                    }
                }
            }
        }
        Block::Cut(_) => {
            // A dashed line where the knife went.
            for x in (0..canvas.width).step_by(8) {
                canvas.fill(x, y + 6, 4, 1, true);
            }
        }
        Block::Feed { .. } | Block::DrawerPulse { .. } => {}
    }
}
