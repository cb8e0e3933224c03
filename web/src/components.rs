//! The pieces screens are built from: inline messages (never a dialog), buttons, inputs
//! and figure lists. Each renders the classes the stylesheet styles.

use maud::{Markup, Render, html};

/// An inline message above a form: an error (`role="alert"`) or a confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Something was refused; nothing changed.
    Error(String),
    /// Something was done.
    Info(String),
    /// Something was done, and needs a second look (an expired item rung up).
    Warning(String),
}

impl Render for Message {
    fn render(&self) -> Markup {
        match self {
            Message::Error(text) => html! { p.msg.err role="alert" id="msg" { (text) } },
            Message::Info(text) => html! { p.msg.ok role="status" id="msg" { (text) } },
            Message::Warning(text) => html! { p.msg.warn role="alert" id="msg" { (text) } },
        }
    }
}

/// An optional message: nothing when there is none.
#[must_use]
pub fn message(msg: Option<&Message>) -> Markup {
    html! { @if let Some(m) = msg { (m) } }
}

/// A form's last row: its primary submit button, and a way back that changes nothing.
#[must_use]
pub fn submit_or_cancel(id: &str, label: &str, cancel: impl Render) -> Markup {
    html! {
        div.row {
            button.btn.primary type="submit" id=(id) { (label) }
            a.btn.ghost href=(cancel) { "Cancel" }
        }
    }
}

/// A link styled as a button.
#[must_use]
pub fn link_button(class: &str, href: &str, id: Option<&str>, label: impl Render) -> Markup {
    html! { a class=(class) href=(href) id=[id] { (label) } }
}

/// A radio button with its label, one of a row of choices named `name`.
#[must_use]
pub fn radio(name: &str, value: &str, checked: bool, id: Option<&str>, label: &str) -> Markup {
    html! {
        label.choice {
            input type="radio" name=(name) value=(value) id=[id] checked[checked];
            (label)
        }
    }
}

/// A hidden form field (ids, positions: anything with a text form).
#[must_use]
pub fn hidden(name: &str, value: impl std::fmt::Display) -> Markup {
    html! { input type="hidden" name=(name) value=(value); }
}

/// A one-line text input (never autocompleted: these are shared terminals). Build it with
/// the methods below; it renders as `<input>` alone, or inside a label with [`labelled`].
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct Input<'a> {
    name: &'a str,
    id: Option<&'a str>,
    value: Option<&'a str>,
    kind: Option<&'a str>,
    inputmode: Option<&'a str>,
    class: Option<&'a str>,
    placeholder: Option<&'a str>,
    maxlength: Option<u16>,
    autofocus: bool,
    disabled: bool,
    aria_label: Option<&'a str>,
}

impl<'a> Input<'a> {
    /// A text field named `name`.
    pub fn new(name: &'a str) -> Self {
        Input { name, ..Input::default() }
    }
    /// Its element id.
    pub fn id(self, id: &'a str) -> Self {
        Input { id: Some(id), ..self }
    }
    /// Its value (what was typed before, kept after a refusal).
    pub fn value(self, value: &'a str) -> Self {
        Input { value: Some(value), ..self }
    }
    /// A whole number: the numeric keypad.
    pub fn numeric(self) -> Self {
        Input { inputmode: Some("numeric"), ..self }
    }
    /// An amount or weight: the decimal keypad.
    pub fn decimal(self) -> Self {
        Input { inputmode: Some("decimal"), ..self }
    }
    /// Its `type` (`email`, `password`, `search`; text when not set).
    pub fn kind(self, kind: &'a str) -> Self {
        Input { kind: Some(kind), ..self }
    }
    /// A PIN: hidden as typed, the numeric keypad.
    pub fn pin(self) -> Self {
        Input { kind: Some("password"), inputmode: Some("numeric"), ..self }
    }
    /// Its classes.
    pub fn class(self, class: &'a str) -> Self {
        Input { class: Some(class), ..self }
    }
    /// A hint shown while empty.
    pub fn placeholder(self, placeholder: &'a str) -> Self {
        Input { placeholder: Some(placeholder), ..self }
    }
    /// At most `n` characters.
    pub fn maxlength(self, n: u16) -> Self {
        Input { maxlength: Some(n), ..self }
    }
    /// Focused when the page opens.
    pub fn autofocus(self) -> Self {
        Input { autofocus: true, ..self }
    }
    /// Its accessible name, for an input without a visible label (a cell of a table whose
    /// column header names it).
    pub fn aria_label(self, label: &'a str) -> Self {
        Input { aria_label: Some(label), ..self }
    }
    /// Disabled when `disabled`.
    pub fn disabled(self, disabled: bool) -> Self {
        Input { disabled, ..self }
    }
}

impl Render for Input<'_> {
    fn render(&self) -> Markup {
        html! {
            input name=(self.name) id=[self.id] type=[self.kind] class=[self.class]
                inputmode=[self.inputmode] value=[self.value] placeholder=[self.placeholder]
                maxlength=[self.maxlength] autocomplete="off" autofocus[self.autofocus]
                disabled[self.disabled] aria-label=[self.aria_label];
        }
    }
}

/// A field with its label: the label's text, then the input.
#[must_use]
pub fn labelled(label: impl Render, input: impl Render) -> Markup {
    html! { label { (label) " " (input) } }
}

/// One row of a figure list ([`figures`]): a label and an amount.
#[must_use]
pub fn figure(label: impl Render, id: &str, value: impl Render) -> Markup {
    html! { dt { (label) } dd id=(id) class="money" { (value) } }
}

/// A list of labelled amounts (totals, a Z report): `rows` from [`figure`].
#[must_use]
pub fn figures(id: &str, rows: impl Render) -> Markup {
    html! { dl.totals id=(id) { (rows) } }
}

/// "1 item", "2 items": `count` and `noun` with an `s` unless it is one.
#[must_use]
pub fn plural(count: usize, noun: &str) -> String {
    format!("{count} {noun}{}", if count == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_inputs_escape_what_they_show() {
        let m = Message::Error("<b>no</b>".into()).render().into_string();
        assert_eq!(m, "<p class=\"msg err\" role=\"alert\" id=\"msg\">&lt;b&gt;no&lt;/b&gt;</p>");
        let input = Input::new("table").id("table").value("\"><script>").numeric().render();
        let input = input.into_string();
        assert!(input.contains("value=\"&quot;&gt;&lt;script&gt;\""), "{input}");
        assert!(input.contains("inputmode=\"numeric\" ") && input.contains("autocomplete=\"off\""));
        assert!(!input.contains("autofocus") && !input.contains("disabled"), "{input}");
        let pin = Input::new("pin").pin().maxlength(16).autofocus().render().into_string();
        assert!(pin.contains("type=\"password\"") && pin.contains("maxlength=\"16\""), "{pin}");
        assert!(pin.contains(" autofocus"), "{pin}");
        assert_eq!(plural(1, "item"), "1 item");
        assert_eq!(plural(0, "guest"), "0 guests");
    }
}
