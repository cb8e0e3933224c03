//! Printer profiles: what a model can do, as data.
//!
//! Receipt printers that all "speak ESC/POS" still differ in paper width, in which `ESC t n`
//! selects which code page, and in whether they cut, print QR codes or take `GS v 0` raster
//! images. Those facts live in JSON (`drivers/profiles/*.json`, shipped inside the crate) so
//! that a new model is a new file, not new code. The encoder reads a profile and never guesses.

use serde::{Deserialize, Serialize};

use crate::codepage::CodePage;

/// The built-in profiles, `(name, JSON)`.
const BUILTIN: [(&str, &str); 3] = [
    ("generic-80mm", include_str!("../profiles/generic-80mm.json")),
    ("epson-tm-t88", include_str!("../profiles/epson-tm-t88.json")),
    ("generic-58mm", include_str!("../profiles/generic-58mm.json")),
];

/// Everything the encoder needs to know about one printer model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    /// Short identifier, `"epson-tm-t88"`.
    pub name: String,
    /// Free text for people reading the file.
    #[serde(default)]
    pub description: String,
    /// Paper and print head geometry.
    pub paper: Paper,
    /// Code pages the printer has, in order of preference: when a character is missing from
    /// the current page, the encoder switches to the first page in this list that has it.
    pub code_pages: Vec<CodePageSlot>,
    /// Optional capabilities.
    pub features: Features,
}

/// Paper and print head geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paper {
    /// Roll width in millimetres (58, 80).
    pub width_mm: u16,
    /// Printable dots per line: the widest raster image the printer takes.
    pub dots_per_line: u16,
    /// Characters per line in font A at normal size (32, 42 or 48 on common models).
    pub columns_font_a: u16,
    /// Characters per line in font B at normal size.
    pub columns_font_b: u16,
}

/// One code page and the `ESC t n` number that selects it on this model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodePageSlot {
    /// The table.
    pub page: CodePage,
    /// `n` in `ESC t n`.
    pub slot: u8,
}

/// Optional capabilities of a model.
#[allow(clippy::struct_excessive_bools)] // Each flag is an independent hardware capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// `GS ( k` QR codes.
    pub qr: bool,
    /// `GS k` 1D barcodes.
    pub barcodes: bool,
    /// `GS v 0` raster images.
    pub raster: bool,
    /// `ESC *` column images, the fallback for printers without `GS v 0`.
    pub column_image: bool,
    /// Rows per `GS v 0` command: printers with small buffers need images sent in bands.
    pub raster_band_rows: u16,
    /// Which cuts the printer performs.
    pub cutter: Cutter,
    /// A drawer kick-out connector (`ESC p`).
    pub drawer: bool,
    /// Real-time status (`DLE EOT n`).
    pub status: bool,
    /// A paper near-end sensor, so `DLE EOT 4` bits 2–3 mean something.
    pub paper_near_end_sensor: bool,
}

/// Cuts a printer can perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cutter {
    /// No cutter: the encoder feeds paper past the tear bar instead.
    None,
    /// Full cuts only.
    FullOnly,
    /// Partial cuts only (one point left uncut).
    PartialOnly,
    /// Both.
    PartialAndFull,
}

/// A profile file that does not parse or does not make sense.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not valid profile JSON.
    #[error("printer profile is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Parsed, but inconsistent.
    #[error("printer profile {name:?} is invalid: {reason}")]
    Invalid {
        /// The profile's name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// No built-in profile has that name.
    #[error("no built-in printer profile named {0:?}")]
    UnknownBuiltin(String),
}

/// The font selected by `ESC M`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Font {
    /// The larger default font (12×24 dots on most models).
    #[default]
    A,
    /// The smaller font (9×17 dots on most models).
    B,
}

impl PrinterProfile {
    /// Parses and checks a profile from JSON.
    pub fn from_json(json: &str) -> Result<PrinterProfile, ProfileError> {
        let profile: PrinterProfile = serde_json::from_str(json)?;
        profile.validate()?;
        Ok(profile)
    }

    /// A profile shipped with the crate: `"generic-80mm"`, `"epson-tm-t88"`, `"generic-58mm"`.
    pub fn builtin(name: &str) -> Result<PrinterProfile, ProfileError> {
        let (_, json) = BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ProfileError::UnknownBuiltin(name.to_owned()))?;
        PrinterProfile::from_json(json)
    }

    /// Names of the built-in profiles.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(n, _)| *n)
    }

    /// Checks what serde cannot: non-zero geometry, at least one code page, no page twice.
    pub fn validate(&self) -> Result<(), ProfileError> {
        let invalid = |reason| Err(ProfileError::Invalid { name: self.name.clone(), reason });
        let p = &self.paper;
        if p.dots_per_line == 0 || p.columns_font_a == 0 || p.columns_font_b == 0 {
            return invalid("paper geometry must be non-zero");
        }
        if self.code_pages.is_empty() {
            return invalid("at least one code page is needed");
        }
        for (i, a) in self.code_pages.iter().enumerate() {
            if self.code_pages[..i].iter().any(|b| b.page == a.page) {
                return invalid("a code page is listed twice");
            }
        }
        if self.features.raster && self.features.raster_band_rows == 0 {
            return invalid("raster_band_rows must be non-zero when raster is supported");
        }
        Ok(())
    }

    /// Characters per line in `font` at normal width.
    #[must_use]
    pub fn columns(&self, font: Font) -> u16 {
        match font {
            Font::A => self.paper.columns_font_a,
            Font::B => self.paper.columns_font_b,
        }
    }

    /// The `ESC t` number of `page`, if the printer has it.
    #[must_use]
    pub fn slot_of(&self, page: CodePage) -> Option<u8> {
        self.code_pages.iter().find(|s| s.page == page).map(|s| s.slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_cover_32_42_48_columns() {
        let mut widths: Vec<u16> = PrinterProfile::builtin_names()
            .map(|n| PrinterProfile::builtin(n).unwrap().columns(Font::A))
            .collect();
        widths.sort_unstable();
        assert_eq!(widths, [32, 42, 48]);
        let tm = PrinterProfile::builtin("epson-tm-t88").unwrap();
        assert_eq!(tm.slot_of(CodePage::Cp858), Some(19));
        assert_eq!(tm.features.cutter, Cutter::PartialAndFull);
    }

    #[test]
    fn unknown_builtin_and_bad_profiles_are_refused() {
        assert!(matches!(PrinterProfile::builtin("nope"), Err(ProfileError::UnknownBuiltin(_))));
        let mut p = PrinterProfile::builtin("generic-58mm").unwrap();
        p.code_pages.push(p.code_pages[0]);
        let json = serde_json::to_string(&p).unwrap();
        assert!(matches!(PrinterProfile::from_json(&json), Err(ProfileError::Invalid { .. })));
        assert!(matches!(PrinterProfile::from_json("{\"name\": 1}"), Err(ProfileError::Json(_))));
    }
}
