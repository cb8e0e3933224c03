//! Attachments as the device takes them in: a photo from the camera or a file, the
//! customer's signature drawn on the screen. [`prepare`] turns what was uploaded into the
//! bytes that become a blob:
//!
//! * the type is read from the bytes ([`MediaType::sniff`]), never from a name;
//! * a picture is decoded within bounds (so a small file that claims to be a gigapixel
//!   image is refused before it is allocated), turned upright by its EXIF orientation,
//!   scaled down so its longest edge is at most [`Limits::max_edge_px`], and encoded
//!   again: a photo as JPEG, a signature as PNG. Encoding again drops every piece of
//!   metadata the camera wrote (GPS position, serial numbers);
//! * a PDF is kept as it is;
//! * the result must fit [`Limits::max_bytes`], or the technician is told the sizes.
//!
//! Pure: bytes in, bytes out. The store keeps the result ([`BlobRef::of`] names it).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};
use thorbis_domain::attachment::{
    AttachmentError, AttachmentKind, BlobRef, MAX_ATTACHMENT_BYTES, MediaType, megabytes,
};

/// The largest upload [`prepare`] reads, before resizing: a phone's full-size photo fits.
pub const MAX_UPLOAD_BYTES: usize = 40 * 1024 * 1024;
/// The most pixels a picture may have to be decoded at all (about 100 megapixels).
const MAX_PIXELS: u64 = 100_000_000;
/// JPEG quality of a photo as kept.
const JPEG_QUALITY: u8 = 85;

/// A device's limits for attachments (its configuration's `[attachments]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest edge of a kept picture, in pixels.
    pub max_edge_px: u32,
    /// The largest kept blob, in bytes (at most [`MAX_ATTACHMENT_BYTES`]).
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_edge_px: 1600, max_bytes: MAX_ATTACHMENT_BYTES }
    }
}

/// An upload ready to keep: its bytes and their reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub blob: BlobRef,
}

/// Why an upload is not kept.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not a type this kind takes, or over the cap.
    #[error(transparent)]
    Refused(#[from] AttachmentError),
    /// The upload is larger than anything a device reads.
    #[error("this file is {} and the largest upload is {}", megabytes(*.0), megabytes(MAX_UPLOAD_BYTES as u64))]
    UploadTooLarge(u64),
    /// A picture too large to decode.
    #[error("this picture is {width} × {height} pixels; the largest taken is about 100 megapixels")]
    TooManyPixels {
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
    },
    /// The picture does not decode.
    #[error("this picture cannot be read (the file is damaged or not really a {0})")]
    Unreadable(MediaType),
}

/// Checks and converts an upload of `kind` into the bytes to keep (see the crate's docs).
pub fn prepare(
    upload: &[u8],
    kind: AttachmentKind,
    limits: &Limits,
) -> Result<Prepared, MediaError> {
    let size = u64::try_from(upload.len()).unwrap_or(u64::MAX);
    if upload.len() > MAX_UPLOAD_BYTES {
        return Err(MediaError::UploadTooLarge(size));
    }
    if upload.is_empty() {
        return Err(AttachmentError::Empty.into());
    }
    let media = MediaType::sniff(upload).ok_or(AttachmentError::UnknownType)?;
    if !kind.takes(media) {
        return Err(AttachmentError::WrongType { kind, media }.into());
    }
    let bytes = if media.is_image() {
        let picture = decode(upload, media)?;
        let picture = shrink(picture, limits.max_edge_px);
        encode(&picture, kind)?
    } else {
        upload.to_vec()
    };
    let max = limits.max_bytes.min(MAX_ATTACHMENT_BYTES);
    let kept = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if kept > max {
        return Err(AttachmentError::TooLarge { bytes: kept, max }.into());
    }
    let blob = BlobRef::of(&bytes)?;
    blob.check(kind)?;
    Ok(Prepared { bytes, blob })
}

/// Decodes a picture within [`MAX_PIXELS`], upright.
fn decode(upload: &[u8], media: MediaType) -> Result<DynamicImage, MediaError> {
    let unreadable = |_| MediaError::Unreadable(media);
    let format = match media {
        MediaType::Png => image::ImageFormat::Png,
        MediaType::Jpeg | MediaType::Pdf => image::ImageFormat::Jpeg,
    };
    // The header alone first: a picture that claims too many pixels is refused unread.
    let mut header = ImageReader::new(Cursor::new(upload));
    header.set_format(format);
    let (width, height) = header.into_dimensions().map_err(unreadable)?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(MediaError::TooManyPixels { width, height });
    }
    let mut reader = ImageReader::new(Cursor::new(upload));
    reader.set_format(format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    picture.apply_orientation(orientation);
    Ok(picture)
}

/// Scales `picture` down (never up) so its longest edge is at most `max_edge`.
fn shrink(picture: DynamicImage, max_edge: u32) -> DynamicImage {
    let max_edge = max_edge.max(1);
    if picture.width() <= max_edge && picture.height() <= max_edge {
        return picture;
    }
    picture.resize(max_edge, max_edge, image::imageops::FilterType::Triangle)
}

/// Encodes a kept picture: a signature as PNG (sharp lines, transparency), anything else
/// as JPEG.
fn encode(picture: &DynamicImage, kind: AttachmentKind) -> Result<Vec<u8>, MediaError> {
    let mut out = Cursor::new(Vec::new());
    let failed = |media| move |_| MediaError::Unreadable(media);
    if kind == AttachmentKind::Signature {
        picture.write_to(&mut out, image::ImageFormat::Png).map_err(failed(MediaType::Png))?;
    } else {
        let rgb = DynamicImage::ImageRgb8(picture.to_rgb8());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        rgb.write_with_encoder(encoder).map_err(failed(MediaType::Jpeg))?;
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    /// A `width` × `height` test picture with a gradient (so JPEG has something to keep).
    fn photo(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
        let picture = RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut out = Cursor::new(Vec::new());
        picture.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_photo_is_scaled_to_the_longest_edge_and_kept_as_jpeg() {
        let upload = photo(4000, 3000, image::ImageFormat::Png);
        let limits = Limits { max_edge_px: 1600, ..Limits::default() };
        let kept = prepare(&upload, AttachmentKind::Photo, &limits).unwrap();
        assert_eq!(kept.blob.media_type, MediaType::Jpeg);
        let back = image::load_from_memory(&kept.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (1600, 1200));
        assert_eq!(kept.blob, BlobRef::of(&kept.bytes).unwrap());
    }

    #[test]
    fn a_small_photo_keeps_its_size_but_loses_its_metadata() {
        // A JPEG with an APP1 (EXIF) segment carrying a GPS-like marker after SOI.
        let plain = photo(64, 48, image::ImageFormat::Jpeg);
        let marker = b"Exif\0\0GPS-51.5007,-0.1246";
        let mut tagged = plain[..2].to_vec();
        tagged.extend_from_slice(&[0xFF, 0xE1]);
        tagged.extend_from_slice(&u16::try_from(marker.len() + 2).unwrap().to_be_bytes());
        tagged.extend_from_slice(marker);
        tagged.extend_from_slice(&plain[2..]);
        let kept = prepare(&tagged, AttachmentKind::Photo, &Limits::default()).unwrap();
        let back = image::load_from_memory(&kept.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
        assert!(!kept.bytes.windows(3).any(|w| w == b"GPS"), "metadata is dropped");
    }

    #[test]
    fn a_signature_stays_png_and_a_pdf_stays_as_it_is() {
        let drawn = photo(600, 200, image::ImageFormat::Png);
        let kept = prepare(&drawn, AttachmentKind::Signature, &Limits::default()).unwrap();
        assert_eq!(kept.blob.media_type, MediaType::Png);
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".to_vec();
        let kept = prepare(&pdf, AttachmentKind::File, &Limits::default()).unwrap();
        assert_eq!(kept.bytes, pdf);
        assert!(prepare(&pdf, AttachmentKind::Photo, &Limits::default()).is_err());
    }

    #[test]
    fn what_is_too_large_or_not_a_picture_is_refused_with_a_reason() {
        let pdf = [b"%PDF-1.4\n".as_slice(), &vec![b' '; 2 * 1024 * 1024]].concat();
        let small = Limits { max_bytes: 1024 * 1024, ..Limits::default() };
        let refused = prepare(&pdf, AttachmentKind::File, &small).unwrap_err();
        assert_eq!(refused.to_string(), "this file is 2.1 MB and a job takes files up to 1.0 MB");
        let refused = prepare(b"<html>", AttachmentKind::File, &small).unwrap_err();
        assert_eq!(refused.to_string(), "this file is not a photo (JPEG or PNG) or a PDF");
        let refused = prepare(b"\xFF\xD8\xFF\xE0 not really", AttachmentKind::Photo, &small);
        assert!(matches!(refused, Err(MediaError::Unreadable(MediaType::Jpeg))), "{refused:?}");
    }

    #[test]
    fn a_picture_claiming_too_many_pixels_is_refused_before_decoding() {
        // A PNG that claims 20,000 × 20,000 pixels (1.2 GB decoded), with a few bytes of data.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let ihdr =
            [&20_000u32.to_be_bytes()[..], &20_000u32.to_be_bytes(), &[8, 2, 0, 0, 0]].concat();
        chunk(&mut png, *b"IHDR", &ihdr);
        chunk(&mut png, *b"IDAT", &[0x78, 0x9c, 0x03, 0x00]);
        chunk(&mut png, *b"IEND", &[]);
        let refused = prepare(&png, AttachmentKind::Photo, &Limits::default()).unwrap_err();
        assert!(
            matches!(refused, MediaError::TooManyPixels { width: 20_000, height: 20_000 }),
            "{refused:?}"
        );
    }

    fn chunk(png: &mut Vec<u8>, kind: [u8; 4], data: &[u8]) {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        png.extend_from_slice(&kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
}
