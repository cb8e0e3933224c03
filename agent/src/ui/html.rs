//! HTML building: the one escaping helper every rendered value goes through, the page shell
//! and the indicator bar.

use std::fmt::Write as _;

use axum::response::Html;

use crate::SignedIn;
use crate::print::PrinterStatus;

use super::SyncState;

/// Escapes text for HTML element content and double-quoted attribute values.
#[must_use]
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no business on a screen; newlines and tabs read as
            // spaces.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An inline message above a form: an error (`role="alert"`) or a confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    /// Something was refused; nothing changed.
    Error(String),
    /// Something was done.
    Info(String),
}

impl Message {
    pub(crate) fn render(&self) -> String {
        match self {
            Message::Error(text) => {
                format!("<p class=\"msg err\" role=\"alert\" id=\"msg\">{}</p>", esc(text))
            }
            Message::Info(text) => {
                format!("<p class=\"msg ok\" role=\"status\" id=\"msg\">{}</p>", esc(text))
            }
        }
    }
}

/// Renders an optional message.
pub(crate) fn message(msg: Option<&Message>) -> String {
    msg.map(Message::render).unwrap_or_default()
}

/// What the indicator bar shows.
#[derive(Clone, Debug)]
pub(crate) struct Indicators {
    pub(crate) sync: SyncState,
    /// `None` when no printer is configured.
    pub(crate) printers: Option<Vec<PrinterStatus>>,
}

impl Indicators {
    /// The bar's content (the part the page refreshes in place).
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        match &self.sync {
            SyncState::NotConfigured => {
                out.push_str("<span class=\"ind\" id=\"ind-sync\">sync: not configured</span>");
            }
            SyncState::Online { backlog } => {
                let _ = write!(
                    out,
                    "<span class=\"ind on\" id=\"ind-sync\">● online</span><span class=\"ind\" id=\"ind-backlog\">backlog {backlog}</span>"
                );
            }
            SyncState::Offline { backlog } => {
                let _ = write!(
                    out,
                    "<span class=\"ind off\" id=\"ind-sync\">○ offline</span><span class=\"ind\" id=\"ind-backlog\">backlog {backlog}</span>"
                );
            }
        }
        match &self.printers {
            None => out.push_str("<span class=\"ind\" id=\"ind-printer\">printer: none</span>"),
            Some(printers) if printers.is_empty() => {
                out.push_str("<span class=\"ind\" id=\"ind-printer\">printer: starting</span>");
            }
            Some(printers) => {
                out.push_str("<span class=\"ind\" id=\"ind-printer\">");
                for (i, p) in printers.iter().enumerate() {
                    let (class, state) = match (&p.problem, p.reachable) {
                        (Some(problem), _) => ("off", problem.as_str()),
                        (None, true) => ("on", "ready"),
                        (None, false) => ("off", "unreachable"),
                    };
                    if i > 0 {
                        out.push_str(" · ");
                    }
                    let _ = write!(
                        out,
                        "printer {}: <b class=\"{class}\">{}</b>",
                        esc(&p.name),
                        esc(state)
                    );
                    if p.queue_depth > 0 {
                        let _ = write!(out, " ({} waiting)", p.queue_depth);
                    }
                }
                out.push_str("</span>");
            }
        }
        out
    }
}

/// A full page: head, the indicator bar with who is signed in, and `body` as its `<main>`
/// (marked `data-swap` when someone is signed in: see `assets/app.js`).
pub(crate) fn page(
    title: &str,
    screen: &str,
    who: Option<&SignedIn>,
    indicators: &Indicators,
    body: &str,
) -> Html<String> {
    let mut nav = String::new();
    if let Some(who) = who {
        let role = format!("{:?}", who.role).to_lowercase();
        if super::may_use_pos(who.role) {
            nav.push_str("<a class=\"btn ghost\" href=\"/pos\">Checks</a>");
        }
        if super::may_use_kds(who.role) {
            nav.push_str("<a class=\"btn ghost\" href=\"/kds\">Kitchen</a>");
        }
        if super::may_use_register(who.role) {
            nav.push_str("<a class=\"btn ghost\" href=\"/register\">Register</a><a class=\"btn ghost\" href=\"/drawer\">Drawer</a>");
        }
        if super::may_set_availability(who.role) {
            nav.push_str("<a class=\"btn ghost\" href=\"/pos/availability\" id=\"nav-86\">86</a>");
        }
        let _ = write!(
            nav,
            "<span class=\"who\" id=\"who\">{} · {}</span><form method=\"post\" action=\"/signout\" class=\"inline\"><button class=\"btn ghost\" type=\"submit\">Sign out</button></form>",
            esc(&who.name),
            esc(&role)
        );
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · Thorbis</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
<script src=\"/assets/app.js\" defer></script></head>\
<body data-screen=\"{screen}\"><header class=\"bar\"><span class=\"brand\">Thorbis</span>\
<span id=\"indicators\" class=\"indicators\">{indicators}</span><nav>{nav}</nav></header>\
<main{swap}>{body}</main></body></html>",
        title = esc(title),
        screen = esc(screen),
        // Signed-in screens keep their header from one form to the next, so the script
        // may post their forms and swap `<main>` in place.
        swap = if who.is_some() { " data-swap" } else { "" },
        indicators = indicators.render(),
    ))
}

/// A page without the indicator bar, for errors.
pub(crate) fn bare_page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · Thorbis</title>\
<link rel=\"stylesheet\" href=\"/assets/app.css\"></head><body><main>{body}</main></body></html>",
        esc(title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(esc("plain"), "plain");
        assert_eq!(
            esc("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a \"b\" & c"), "a &quot;b&quot; &amp; c");
        assert_eq!(esc("line\nbreak\u{0}"), "line break ");
        assert_eq!(esc("Crème brûlée 🍮"), "Crème brûlée 🍮");
        // Already-escaped text is escaped again, never trusted.
        assert_eq!(esc("&lt;"), "&amp;lt;");
    }

    #[test]
    fn messages_and_indicators_escape_what_they_show() {
        let m = Message::Error("<b>no</b>".into()).render();
        assert!(m.contains("&lt;b&gt;no&lt;/b&gt;") && m.contains("role=\"alert\""), "{m}");
        let bar = Indicators { sync: SyncState::NotConfigured, printers: None }.render();
        assert!(bar.contains("sync: not configured") && bar.contains("printer: none"), "{bar}");
        let bar =
            Indicators { sync: SyncState::Offline { backlog: 7 }, printers: Some(vec![]) }.render();
        assert!(bar.contains("offline") && bar.contains("backlog 7"), "{bar}");
    }
}
