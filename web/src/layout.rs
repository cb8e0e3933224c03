//! The page shell every screen shares: head (stylesheet, the product's scripts), the top
//! bar (brand, then what the product puts there), and the screen as `<main>`.

use maud::{DOCTYPE, Markup, Render, html};

use crate::assets::STYLESHEET_PATH;

/// What a page's shell needs besides its bar and body.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    /// The title, before " · Thorbis".
    pub title: &'a str,
    /// The screen's name, as `<body data-screen>` (tests and scripts key on it).
    pub screen: &'a str,
    /// Scripts to load (deferred), by path.
    pub scripts: &'a [&'a str],
    /// Marks `<main data-swap>`: the product's script may post the page's forms and swap
    /// the answer's `<main>` in place (only where the bar stays the same from one form to
    /// the next).
    pub swap: bool,
}

impl Page<'_> {
    /// The whole document: `bar` goes into the top bar after the brand, `body` into
    /// `<main>`.
    #[must_use]
    pub fn render(&self, bar: impl Render, body: impl Render) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title) " · Thorbis" }
                    link rel="stylesheet" href=(STYLESHEET_PATH);
                    @for src in self.scripts { script src=(src) defer {} }
                }
                body data-screen=(self.screen) {
                    header.bar { span.brand { "Thorbis" } (bar) }
                    main data-swap[self.swap] { (body) }
                }
            }
        }
    }
}

/// A page without the bar or scripts, for errors.
#[must_use]
pub fn bare_page(title: &str, body: impl Render) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) " · Thorbis" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body { main { (body) } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_escapes_what_it_is_given() {
        let page = Page { title: "<T>", screen: "a\"b", scripts: &["/x.js"], swap: true }
            .render(html! { "bar" }, html! { p { "<b>" } })
            .into_string();
        assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
        assert!(page.contains("<title>&lt;T&gt; · Thorbis</title>"), "{page}");
        assert!(page.contains("data-screen=\"a&quot;b\""), "{page}");
        assert!(page.contains("<main data-swap><p>&lt;b&gt;</p></main>"), "{page}");
        assert!(page.contains("<script src=\"/x.js\" defer></script>"), "{page}");
        let bare = bare_page("Error", html! { "x" }).into_string();
        assert!(bare.contains("<main>x</main>") && !bare.contains("data-swap"), "{bare}");
    }
}
