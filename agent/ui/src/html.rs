//! The terminal's page: the shared shell ([`thorbis_web::layout`]) with the terminal's bar
//! (the indicators, the screens the signed-in role may use, sign out) and its script.

use maud::{Markup, html};
use thorbis_web::layout::Page;

use super::SyncState;
use super::access::{Access, Availability, Field, Kitchen, Manage, Pos, Register};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;
use thorbis_agent::print::PrinterStatus;
use thorbis_drivers::status::DrawerState;

pub(crate) use thorbis_web::components::{Message, message};

/// The terminal's script (PIN pad, quick cash, form swap, live regions).
pub(crate) const SCRIPT_PATH: &str = "/assets/app.js";

/// What the indicator bar shows.
#[derive(Clone, Debug)]
pub(crate) struct Indicators {
    pub(crate) sync: SyncState,
    /// `None` when no printer is configured.
    pub(crate) printers: Option<Vec<PrinterStatus>>,
}

impl maud::Render for Indicators {
    /// The bar's content (the part the page refreshes in place).
    fn render(&self) -> Markup {
        html! {
            @match &self.sync {
                SyncState::NotConfigured => span.ind id="ind-sync" { "sync: not configured" },
                SyncState::Online { backlog } => {
                    span.ind.on id="ind-sync" { "● online" }
                    span.ind id="ind-backlog" { "backlog " (backlog) }
                }
                SyncState::Offline { backlog } => {
                    span.ind.off id="ind-sync" { "○ offline" }
                    span.ind id="ind-backlog" { "backlog " (backlog) }
                }
            }
            @match &self.printers {
                None => span.ind id="ind-printer" { "printer: none" },
                Some(printers) if printers.is_empty() => {
                    span.ind id="ind-printer" { "printer: starting" }
                }
                Some(printers) => span.ind id="ind-printer" {
                    @for (i, p) in printers.iter().enumerate() {
                        @let (class, state) = match (&p.problem, p.reachable) {
                            (Some(problem), _) => ("off", problem.as_str()),
                            (None, true) => ("on", "ready"),
                            (None, false) => ("off", "unreachable"),
                        };
                        @if i > 0 { " · " }
                        "printer " (p.name) ": " b class=(class) { (state) }
                        @if let Some(remedy) = p.remedy { " — " (remedy) }
                        @if p.queue_depth > 0 { " (" (p.queue_depth) " waiting)" }
                    }
                },
            }
            @for p in self.printers.iter().flatten() {
                @if let Some(open_ms) = p.drawer_left_open_ms {
                    span.ind.off id="ind-drawer" role="alert" {
                        "drawer left open " (open_ms / 60_000) " min: close it"
                    }
                } @else if p.health.as_ref().and_then(|h| h.drawer) == Some(DrawerState::Open) {
                    span.ind id="ind-drawer" { "drawer open" }
                }
            }
        }
    }
}

/// How long ago `then_ms` was, for people.
pub(crate) fn ago(now_ms: u64, then_ms: u64) -> String {
    let minutes = now_ms.saturating_sub(then_ms) / 60_000;
    match minutes {
        0 => "just now".into(),
        1..60 => format!("{minutes} min ago"),
        _ => format!("{} h {} min ago", minutes / 60, minutes % 60),
    }
}

/// A full page: the bar with the indicators and who is signed in, and `body` as its
/// `<main>` (marked `data-swap` when someone is signed in: see `assets/app.js`).
pub(crate) fn page(
    title: &str,
    screen: &str,
    who: Option<&SignedIn>,
    indicators: &Indicators,
    body: Markup,
) -> Markup {
    let bar = html! {
        span #indicators .indicators { (indicators) }
        nav {
            @if let Some(who) = who {
                @if Field::allows(who.role) { a.btn.ghost href="/field" id="nav-field" { "My day" } }
                @if Pos::allows(who.role) { a.btn.ghost href="/pos" { "Checks" } }
                @if Kitchen::allows(who.role) { a.btn.ghost href="/kds" { "Kitchen" } }
                @if Register::allows(who.role) {
                    a.btn.ghost href="/register" { "Register" }
                    a.btn.ghost href="/drawer" { "Drawer" }
                }
                @if Availability::allows(who.role) {
                    a.btn.ghost href="/pos/availability" id="nav-86" { "86" }
                }
                @if Manage::allows(who.role) {
                    a.btn.ghost href="/printing" id="nav-printing" { "Printing" }
                    a.btn.ghost href="/sessions" id="nav-sessions" { "Sessions" }
                    a.btn.ghost href="/held" id="nav-held" { "Held back" }
                }
                span.who id="who" { (who.name) " · " (format!("{:?}", who.role).to_lowercase()) }
                form.inline method="post" action="/signout" {
                    (csrf_field())
                    button.btn.ghost type="submit" { "Sign out" }
                }
            }
        }
    };
    // Signed-in screens keep their bar from one form to the next, so the script may post
    // their forms and swap `<main>` in place.
    Page { title, screen, scripts: &[SCRIPT_PATH], swap: who.is_some() }.render(bar, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use maud::Render as _;

    #[test]
    fn ages_read_as_people_say_them() {
        assert_eq!(ago(100_000, 100_000), "just now");
        assert_eq!(ago(59_999, 0), "just now");
        assert_eq!(ago(5 * 60_000, 0), "5 min ago");
        assert_eq!(ago(125 * 60_000, 0), "2 h 5 min ago");
        assert_eq!(ago(0, 10), "just now", "a clock step back is not the future");
    }

    #[test]
    fn printer_problems_say_what_to_do_and_an_open_drawer_shows() {
        let printer = PrinterStatus {
            name: "Kitchen".into(),
            reachable: true,
            problem: Some("paper out".into()),
            remedy: Some("load paper"),
            queue_depth: 3,
            ..PrinterStatus::default()
        };
        let front = PrinterStatus {
            name: "Front".into(),
            reachable: true,
            health: Some(thorbis_drivers::status::PrinterStatus {
                drawer: Some(DrawerState::Open),
                ..thorbis_drivers::status::PrinterStatus::default()
            }),
            ..PrinterStatus::default()
        };
        let bar =
            Indicators { sync: SyncState::NotConfigured, printers: Some(vec![printer, front]) };
        let bar = bar.render().into_string();
        assert!(bar.contains("paper out</b> — load paper (3 waiting)"), "{bar}");
        assert!(bar.contains("drawer open") && !bar.contains("left open"), "{bar}");
        let left = PrinterStatus {
            name: "Front".into(),
            drawer_left_open_ms: Some(6 * 60_000),
            ..PrinterStatus::default()
        };
        let bar = Indicators { sync: SyncState::NotConfigured, printers: Some(vec![left]) };
        assert!(bar.render().into_string().contains("drawer left open 6 min: close it"));
    }

    #[test]
    fn the_indicators_say_sync_and_printer_state() {
        let bar = Indicators { sync: SyncState::NotConfigured, printers: None };
        let bar = bar.render().into_string();
        assert!(bar.contains("sync: not configured") && bar.contains("printer: none"), "{bar}");
        let bar = Indicators { sync: SyncState::Offline { backlog: 7 }, printers: Some(vec![]) };
        let bar = bar.render().into_string();
        assert!(bar.contains("offline") && bar.contains("backlog 7"), "{bar}");
    }

    #[test]
    fn the_page_carries_the_bar_and_marks_signed_in_pages_for_swapping() {
        let indicators = Indicators { sync: SyncState::NotConfigured, printers: None };
        let who = SignedIn {
            staff_id: thorbis_domain::ids::StaffId(uuid::Uuid::nil()),
            name: "<Sam>".into(),
            role: thorbis_domain::catalog::Role::Kitchen,
        };
        let page = page("Kitchen", "kds", Some(&who), &indicators, html! { "x" }).into_string();
        assert!(page.contains("<span class=\"indicators\" id=\"indicators\">"), "{page}");
        assert!(page.contains("&lt;Sam&gt; · kitchen") && page.contains("id=\"nav-86\""), "{page}");
        assert!(
            !page.contains("href=\"/register\"") && page.contains("<main data-swap>x"),
            "{page}"
        );
        let signed_out = super::page("Sign in", "signin", None, &indicators, html! {});
        assert!(!signed_out.into_string().contains("data-swap"));
    }
}
