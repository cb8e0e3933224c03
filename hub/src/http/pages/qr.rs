//! QR codes as SVG, drawn on the server: one path of dark modules, with the quiet zone
//! the standard asks for, so a phone or a terminal's camera reads it off the screen.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};
use thorbis_web::{Markup, html};

/// Modules of light margin around the code (the standard's quiet zone).
const QUIET: usize = 4;

/// `text` as an SVG QR code labelled `label` for screen readers, or `None` if it does not
/// fit in a QR code.
pub(super) fn svg(text: &str, label: &str) -> Option<Markup> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let size = width + 2 * QUIET;
    let mut path = String::new();
    for (i, color) in code.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % width + QUIET, i / width + QUIET);
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Some(html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}"))
            width="240" height="240" role="img" aria-label=(label) shape-rendering="crispEdges" {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(path) fill="#000" {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_draws_as_svg_modules() {
        let svg = svg("ABCD-EFGH-1234", "Enrollment code").unwrap().into_string();
        assert!(svg.starts_with("<svg class=\"qr\""), "{svg}");
        assert!(svg.contains("aria-label=\"Enrollment code\""));
        // Version 1 (21 modules) plus the quiet zone on both sides.
        assert!(svg.contains("viewBox=\"0 0 29 29\""), "{svg}");
        // The finder pattern's top-left module is dark, just inside the quiet zone.
        assert!(svg.contains("M4 4h1v1h-1z"), "{svg}");
        assert!(svg.matches('M').count() > 100);
    }
}
