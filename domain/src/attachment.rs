//! A work order's attachments: photos, the customer's drawn signature and files, each a
//! content-addressed blob ([`BlobId`]) that the document names and the device keeps beside
//! its store. The rules about them live here: what a blob may be ([`MediaType`], sniffed
//! from its bytes, never taken from a file name or a browser's word), how large
//! ([`MAX_ATTACHMENT_BYTES`]), and which kind takes which type.

use std::fmt;

use serde::{Deserialize, Serialize};
use thorbis_sync_protocol::{BlobId, DeviceId};

/// The largest blob a work order takes, after the device resized it. A device's own limit
/// (its configuration) may be lower, never higher.
pub const MAX_ATTACHMENT_BYTES: u64 = 8 * 1024 * 1024;

/// What a blob's bytes are, as their first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MediaType {
    /// `image/jpeg`.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// `image/png`.
    #[serde(rename = "image/png")]
    Png,
    /// `application/pdf`.
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl MediaType {
    const ALL: [Self; 3] = [Self::Jpeg, Self::Png, Self::Pdf];

    /// The MIME type.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    /// Parses a MIME type this crate wrote.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The file name extension, without the dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Pdf => "pdf",
        }
    }

    /// Whether this is a picture a page can show.
    #[must_use]
    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png)
    }

    /// What `bytes` are, from their signature; `None` for anything else.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else {
            None
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an attachment is to the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A photo from the camera or a picture file.
    Photo,
    /// The customer's signature, drawn on the screen.
    Signature,
    /// Any other document (a PDF).
    File,
}

impl AttachmentKind {
    const ALL: [Self; 3] = [Self::Photo, Self::Signature, Self::File];

    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Signature => "signature",
            Self::File => "file",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether an attachment of this kind may be of `media`: a photo is a picture, a
    /// drawn signature a PNG, a file a picture or a PDF.
    #[must_use]
    pub fn takes(self, media: MediaType) -> bool {
        match self {
            Self::Photo => media.is_image(),
            Self::Signature => media == MediaType::Png,
            Self::File => true,
        }
    }
}

/// A blob as a document names it: its id, type and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    pub id: BlobId,
    pub media_type: MediaType,
    /// Its size in bytes.
    pub bytes: u64,
}

impl BlobRef {
    /// The reference to `bytes`, if they are a type a work order takes and within
    /// [`MAX_ATTACHMENT_BYTES`].
    pub fn of(bytes: &[u8]) -> Result<Self, AttachmentError> {
        let media_type = MediaType::sniff(bytes).ok_or(AttachmentError::UnknownType)?;
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if size == 0 {
            return Err(AttachmentError::Empty);
        }
        if size > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge { bytes: size, max: MAX_ATTACHMENT_BYTES });
        }
        Ok(Self { id: BlobId::of(bytes), media_type, bytes: size })
    }

    /// Whether the reference is one a work order may hold.
    pub fn check(&self, kind: AttachmentKind) -> Result<(), AttachmentError> {
        if self.bytes == 0 {
            return Err(AttachmentError::Empty);
        }
        if self.bytes > MAX_ATTACHMENT_BYTES {
            return Err(AttachmentError::TooLarge { bytes: self.bytes, max: MAX_ATTACHMENT_BYTES });
        }
        if !kind.takes(self.media_type) {
            return Err(AttachmentError::WrongType { kind, media: self.media_type });
        }
        Ok(())
    }
}

/// One attachment of a work order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub blob: BlobRef,
    pub kind: AttachmentKind,
    /// The file's name as the device had it (or a name the device gave it).
    pub name: String,
    /// The device that attached it.
    pub by: Option<DeviceId>,
    pub at_ms: i64,
}

/// Why a blob is not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachmentError {
    /// The bytes are none of the types a work order takes.
    #[error("this file is not a photo (JPEG or PNG) or a PDF")]
    UnknownType,
    /// Nothing was sent.
    #[error("the file is empty")]
    Empty,
    /// Larger than the cap.
    #[error("this file is {} and a job takes files up to {}", megabytes(*bytes), megabytes(*max))]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The cap.
        max: u64,
    },
    /// A kind that does not take this type.
    #[error("a {} cannot be a {media} file", kind.as_str())]
    WrongType {
        /// The attachment's kind.
        kind: AttachmentKind,
        /// The blob's type.
        media: MediaType,
    },
}

/// `bytes` as megabytes with one decimal, for messages ("12.5 MB").
#[must_use]
pub fn megabytes(bytes: u64) -> String {
    let tenths = bytes.saturating_mul(10).div_ceil(1024 * 1024);
    format!("{}.{} MB", tenths / 10, tenths % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_is_read_from_the_bytes() {
        assert_eq!(MediaType::sniff(b"\xFF\xD8\xFF\xE0rest"), Some(MediaType::Jpeg));
        assert_eq!(MediaType::sniff(b"\x89PNG\r\n\x1a\nrest"), Some(MediaType::Png));
        assert_eq!(MediaType::sniff(b"%PDF-1.7"), Some(MediaType::Pdf));
        assert_eq!(MediaType::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(BlobRef::of(b"GIF89a"), Err(AttachmentError::UnknownType));
    }

    #[test]
    fn a_blob_over_the_cap_is_refused_with_its_size() {
        let reference = BlobRef {
            id: BlobId::of(b"x"),
            media_type: MediaType::Jpeg,
            bytes: 12 * 1024 * 1024 + 512 * 1024,
        };
        let refused = reference.check(AttachmentKind::Photo).unwrap_err();
        assert_eq!(refused.to_string(), "this file is 12.5 MB and a job takes files up to 8.0 MB");
    }

    #[test]
    fn a_kind_takes_its_types_only() {
        let png = BlobRef { id: BlobId::of(b"x"), media_type: MediaType::Png, bytes: 10 };
        let pdf = BlobRef { media_type: MediaType::Pdf, ..png };
        assert!(png.check(AttachmentKind::Signature).is_ok());
        assert!(pdf.check(AttachmentKind::File).is_ok());
        assert!(pdf.check(AttachmentKind::Photo).is_err());
        assert!(pdf.check(AttachmentKind::Signature).is_err());
    }
}
