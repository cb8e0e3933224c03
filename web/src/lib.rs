//! The look Thorbis Edge's web products share: the terminal UI (served by the agent on
//! loopback) and the hub console use this crate so the two have one design.
//!
//! - [`tokens`]: the design tokens (dark first, electric blue `#1C8BFF`), the same values
//!   the stylesheet declares as CSS custom properties.
//! - [`assets`]: the stylesheet, compiled in and served with an `ETag`.
//! - [`layout`]: the page shell (head, the top bar, `<main>`) and a bare error page.
//! - [`components`]: inline messages, buttons, inputs, figure lists.
//! - [`form`]: typed text to values (counts, short text, money in minor units) with
//!   messages a cashier can act on.
//! - [`respond`]: post-then-redirect, and URLs with encoded query values.
//! - [`when`]: times in UTC as every screen and document writes them.
//! - [`pdf`]: a work order's invoice as a one-page PDF, from the domain's figures.
//!
//! Everything renders through [`maud`]: a value interpolated into a template is escaped by
//! the macro, so nothing reaches a page unescaped by accident. The only pre-escaped text
//! is the compiled-in stylesheet. No modals: panels open inline, in the page.
//!
//! Invariant: this crate **holds no business rule**. It knows money's shape (minor units,
//! a currency's exponent) but not what may be sold, approved or refunded.

pub mod assets;
pub mod components;
pub mod form;
pub mod layout;
pub mod pdf;
pub mod respond;
pub mod tokens;
pub mod when;

pub use maud::{DOCTYPE, Markup, Render, html};
