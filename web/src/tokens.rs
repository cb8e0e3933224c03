//! Design tokens: the colours and sizes every screen uses. The stylesheet declares the
//! same values as CSS custom properties (`--blue`, ...); these constants are for what is
//! drawn outside it (SVG charts, the desktop shell's window background).

/// The page background: dark first.
pub const BACKGROUND: &str = "#000";
/// Text.
pub const FOREGROUND: &str = "#fff";
/// Secondary text.
pub const MUTED: &str = "#9a9a9a";
/// Rules and borders.
pub const LINE: &str = "#2a2a2a";
/// Panel background.
pub const PANEL: &str = "#0d0d0d";
/// The accent: links, primary buttons, focus.
pub const ACCENT: &str = "#1C8BFF";
/// Waiting too long.
pub const WARN: &str = "#ffb020";
/// Late, refused, offline.
pub const LATE: &str = "#ff4d4d";
/// Done, online.
pub const OK: &str = "#3ddc84";

/// The smallest touch target, in CSS pixels (most buttons are 56).
pub const TOUCH_MIN_PX: u32 = 44;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_declares_the_tokens() {
        let css = crate::assets::STYLESHEET;
        for (name, value) in [
            ("--bg", BACKGROUND),
            ("--fg", FOREGROUND),
            ("--muted", MUTED),
            ("--line", LINE),
            ("--panel", PANEL),
            ("--blue", ACCENT),
            ("--warn", WARN),
            ("--late", LATE),
            ("--ok", OK),
        ] {
            assert!(css.contains(&format!("{name}: {value};")), "{name} is not {value}");
        }
        assert!(css.contains(&format!("{TOUCH_MIN_PX}px minimum")));
    }
}
