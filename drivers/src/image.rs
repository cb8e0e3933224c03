//! Monochrome bitmaps and their two ESC/POS encodings.
//!
//! Thermal heads print dots, not greys, so images are 1 bit per pixel here; converting a
//! photo or logo (thresholding, dithering) happens before, with [`Bitmap::from_luma`] as the
//! simple case. Two encodings exist because printers differ: `GS v 0` raster bands (row
//! major, what current models want, sent in bands so small buffers do not overflow) and
//! `ESC *` 24-dot column bands (column major, the fallback old and cheap printers all take).

use serde::{Deserialize, Serialize};

use crate::command;

/// A 1-bit image: rows top to bottom, each `width.div_ceil(8)` bytes, most significant bit
/// leftmost, 1 = black (a printed dot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bitmap {
    width: u16,
    height: u16,
    bits: Vec<u8>,
}

/// Pixel data that does not match the stated size.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bitmap of {width}×{height} needs {expected} bytes, got {got}")]
pub struct BitmapSizeError {
    /// Stated width.
    pub width: u16,
    /// Stated height.
    pub height: u16,
    /// Bytes needed.
    pub expected: usize,
    /// Bytes given.
    pub got: usize,
}

impl Bitmap {
    /// Wraps packed rows (see the type docs).
    pub fn new(width: u16, height: u16, bits: Vec<u8>) -> Result<Bitmap, BitmapSizeError> {
        let expected = usize::from(width).div_ceil(8) * usize::from(height);
        if bits.len() != expected {
            return Err(BitmapSizeError { width, height, expected, got: bits.len() });
        }
        Ok(Bitmap { width, height, bits })
    }

    /// Thresholds 8-bit grey pixels (0 black, 255 white, row major): darker than `threshold`
    /// prints.
    pub fn from_luma(
        width: u16,
        height: u16,
        luma: &[u8],
        threshold: u8,
    ) -> Result<Bitmap, BitmapSizeError> {
        let (w, h) = (usize::from(width), usize::from(height));
        if luma.len() != w * h {
            return Err(BitmapSizeError { width, height, expected: w * h, got: luma.len() });
        }
        let stride = w.div_ceil(8);
        let mut bits = vec![0u8; stride * h];
        for y in 0..h {
            for x in 0..w {
                if luma[y * w + x] < threshold {
                    bits[y * stride + x / 8] |= 0x80 >> (x % 8);
                }
            }
        }
        Ok(Bitmap { width, height, bits })
    }

    /// Width in dots.
    #[must_use]
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height in dots.
    #[must_use]
    pub fn height(&self) -> u16 {
        self.height
    }

    /// Bytes per row.
    #[must_use]
    pub fn stride(&self) -> usize {
        usize::from(self.width).div_ceil(8)
    }

    /// The packed rows.
    #[must_use]
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Whether the dot at `(x, y)` is black; outside the image is white.
    #[must_use]
    pub fn get(&self, x: usize, y: usize) -> bool {
        if x >= usize::from(self.width) || y >= usize::from(self.height) {
            return false;
        }
        self.bits[y * self.stride() + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// `GS v 0` commands, `band_rows` rows each (at least one).
    pub fn write_raster(&self, out: &mut Vec<u8>, band_rows: u16) {
        let stride = self.stride();
        let band_rows = band_rows.max(1);
        let mut y = 0u16;
        while y < self.height {
            let rows = band_rows.min(self.height - y);
            let start = usize::from(y) * stride;
            let end = start + usize::from(rows) * stride;
            command::raster_band(out, stride as u16, rows, &self.bits[start..end]);
            y += rows;
        }
    }

    /// `ESC *` 24-dot column bands with the line spacing set so bands touch, then restored.
    pub fn write_columns(&self, out: &mut Vec<u8>) {
        let w = usize::from(self.width);
        command::line_spacing(out, 24);
        let mut data = Vec::with_capacity(w * 3);
        for band in (0..usize::from(self.height)).step_by(24) {
            data.clear();
            for x in 0..w {
                for byte in 0..3 {
                    let mut b = 0u8;
                    for bit in 0..8 {
                        if self.get(x, band + byte * 8 + bit) {
                            b |= 0x80 >> bit;
                        }
                    }
                    data.push(b);
                }
            }
            command::column_band(out, self.width, &data);
            command::line_feed(out);
        }
        command::default_line_spacing(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_is_checked() {
        assert!(Bitmap::new(9, 2, vec![0; 4]).is_ok());
        assert_eq!(
            Bitmap::new(9, 2, vec![0; 3]),
            Err(BitmapSizeError { width: 9, height: 2, expected: 4, got: 3 })
        );
        assert!(Bitmap::from_luma(2, 2, &[0; 3], 128).is_err());
    }

    #[test]
    fn luma_threshold_packs_msb_first() {
        let luma = [0, 255, 255, 255, 255, 255, 255, 255, 10, 200];
        let bmp = Bitmap::from_luma(10, 1, &luma, 128).unwrap();
        assert_eq!(bmp.bits(), &[0b1000_0000, 0b1000_0000]);
        assert!(bmp.get(0, 0) && bmp.get(8, 0) && !bmp.get(9, 0) && !bmp.get(50, 0));
    }

    #[test]
    fn raster_is_banded() {
        // 8×3 image, bands of 2 rows: GS v 0 with yL = 2, then yL = 1.
        let bmp = Bitmap::new(8, 3, vec![0x01, 0x02, 0x03]).unwrap();
        let mut out = Vec::new();
        bmp.write_raster(&mut out, 2);
        assert_eq!(
            out,
            [
                0x1D, 0x76, 0x30, 0, 1, 0, 2, 0, 0x01, 0x02, // band 1
                0x1D, 0x76, 0x30, 0, 1, 0, 1, 0, 0x03, // band 2
            ]
        );
    }

    #[test]
    fn column_format_transposes() {
        // 2×9 image: column 0 all black for 9 rows, column 1 white.
        let bmp = Bitmap::new(2, 9, vec![0x80; 9]).unwrap();
        let mut out = Vec::new();
        bmp.write_columns(&mut out);
        assert_eq!(
            out,
            [
                0x1B, 0x33, 24, // ESC 3 24: bands touch
                0x1B, 0x2A, 33, 2, 0, // ESC * 33, 2 columns
                0xFF, 0x80, 0x00, // column 0: rows 0-7, row 8, nothing
                0x00, 0x00, 0x00, // column 1
                0x0A, // LF prints the band
                0x1B, 0x32, // ESC 2 restores the spacing
            ]
        );
    }
}
