//! The menu side of an open check: category tabs, seat and course pickers, the item grid
//! (86'd items greyed), the inline modifier panel of an item with choices, and adding a
//! line from either.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use thorbis_domain::catalog::Item;
use thorbis_domain::ids::{CategoryId, ItemId, LineId, ModifierId};
use thorbis_domain::{Command, Money, Qty};
use thorbis_web::components::{Input, hidden, labelled, submit_or_cancel};
use thorbis_web::form::{self, Fields};
use thorbis_web::respond::{Href, post_then_redirect};
use uuid::Uuid;

use super::super::access::PosStaff;
use super::super::html::Message;
use super::{CheckData, Screen, UiError, UiState, order_id, parse_id, refuse, run};
use crate::guard::csrf_field;

/// The check's address keeping the category, seat and course chosen.
fn keep(base: &str, cat: Option<CategoryId>, seat: Option<u16>, course: Option<u16>) -> Href {
    Href::new(base)
        .param_opt("cat", cat.map(|c| c.0))
        .param_opt("seat", seat)
        .param_opt("course", course)
}

/// The menu: tabs, pickers, and the item grid or an item's modifier panel.
pub(super) fn menu(data: &CheckData, screen: &Screen, base: &str) -> Markup {
    let category = screen.category.or_else(|| data.categories.first().map(|c| c.id));
    let guests = data.order.order.opened.as_ref().and_then(|x| x.value.guests).unwrap_or(4).min(12);
    let here = keep(base, category, screen.seat, screen.course);
    let panel = screen
        .panel
        .as_ref()
        .and_then(|(id, typed)| Some((data.items.iter().find(|i| i.id == *id)?, typed)));
    let cur = data.order.currency;
    html! {
        nav.tabs #categories {
            @for c in &data.categories {
                a.tab.on[Some(c.id) == category] href=(keep(base, Some(c.id), screen.seat, screen.course)) {
                    (c.name)
                }
            }
        }
        div.pickers {
            span.label { "Seat" }
            a.chip.on[screen.seat.is_none()] href=(keep(base, category, None, screen.course)) { "—" }
            @for s in 1..=guests {
                a.chip.on[screen.seat == Some(s)] href=(keep(base, category, Some(s), screen.course))
                    data-seat=(s) { (s) }
            }
            span.label { "Course" }
            @for c in 1..=3 {
                a.chip.on[screen.course.unwrap_or(1) == c] href=(keep(base, category, screen.seat, Some(c)))
                    data-course=(c) { (c) }
            }
        }
        @if let Some((item, typed)) = panel {
            (modifier_panel(data, item, typed, screen, base, &here))
        } @else {
            div.grid.items #items {
                @for item in data.items.iter().filter(|i| i.category == category) {
                    @if data.unavailable.contains(&item.id) {
                        span.tile.item.off data-item=(item.name) { (item.name) span.muted { "86'd" } }
                    } @else if item.modifier_groups.is_empty() {
                        form.tile-form method="post" action={ (base) "/lines" } {
                            (csrf_field())
                            (hidden("item", item.id.0))
                            (hidden_position(category, screen.seat, screen.course))
                            button.tile.item type="submit" data-item=(item.name) {
                                (item.name) span.money { (item.price.format(cur)) }
                            }
                        }
                    } @else {
                        a.tile.item href=(here.clone().param("item", item.id.0)) data-item=(item.name) {
                            (item.name)
                            span.money { (item.price.format(cur)) }
                            span.muted { "choices…" }
                        }
                    }
                }
            }
        }
    }
}

/// The category, seat and course a menu tile adds its line with.
fn hidden_position(category: Option<CategoryId>, seat: Option<u16>, course: Option<u16>) -> Markup {
    html! {
        @if let Some(c) = category { (hidden("cat", c.0)) }
        @if let Some(s) = seat { (hidden("seat", s)) }
        (hidden("course", course.unwrap_or(1)))
    }
}

/// An item's modifier panel: a group per fieldset (radio for one choice, checkboxes for
/// several), seat, course and quantity, with what was typed kept after a refusal.
fn modifier_panel(
    data: &CheckData,
    item: &Item,
    typed: &Fields,
    screen: &Screen,
    base: &str,
    back: &Href,
) -> Markup {
    let cur = data.order.currency;
    let chosen = typed.all("mod");
    let fresh = typed.is_empty();
    let seat = if fresh {
        screen.seat.map(|s| s.to_string()).unwrap_or_default()
    } else {
        typed.get("seat").to_owned()
    };
    let course =
        if fresh { screen.course.unwrap_or(1).to_string() } else { typed.get("course").to_owned() };
    let qty = if fresh { "1".to_owned() } else { typed.get("qty").to_owned() };
    html! {
        section.panel #modifiers {
            h2 { (item.name) " " span.money { (item.price.format(cur)) } }
            form.stack #modifier-form method="post" action={ (base) "/lines" } {
                (csrf_field())
                (hidden("item", item.id.0))
                (hidden("panel", "1"))
                @if let Some(c) = screen.category { (hidden("cat", c.0)) }
                @for group in item.modifier_groups.iter().filter_map(|id| data.groups.get(id)) {
                    @let rule = match (group.min, group.max) {
                        (1, 1) => "choose 1".to_owned(),
                        (0, max) => format!("optional, up to {max}"),
                        (min, max) if min == max => format!("choose {min}"),
                        (min, max) => format!("choose {min} to {max}"),
                    };
                    @let kind = if group.max == 1 { "radio" } else { "checkbox" };
                    fieldset.group data-group=(group.name) {
                        legend { (group.name) " " span.muted { (rule) } }
                        div.grid.choices {
                            @for m in &group.modifiers {
                                @let id = m.id.0.to_string();
                                label.choice {
                                    input type=(kind) name="mod" value=(id)
                                        checked[chosen.contains(&id.as_str())] data-modifier=(m.name);
                                    " " (m.name)
                                    @if m.price_delta != Money::ZERO {
                                        " " span.money { "+" (m.price_delta.format(cur)) }
                                    }
                                }
                            }
                        }
                    }
                }
                div.row {
                    (labelled("Seat", Input::new("seat").id("seat").numeric().value(&seat)))
                    (labelled("Course", Input::new("course").id("course").numeric().value(&course)))
                    (labelled("Qty", Input::new("qty").id("qty").numeric().value(&qty)))
                }
                (submit_or_cancel("add-item", "Add to check", back))
            }
        }
    }
}

/// `POST /pos/checks/{order}/lines`: adds a line (from a menu tile or the modifier panel).
pub(crate) async fn add_line(
    State(state): State<UiState>,
    who: PosStaff,
    Path(order): Path<String>,
    Form(fields): Form<Fields>,
) -> Result<Response, UiError> {
    let order_id = order_id(&order)?;
    let item_id = ItemId(Uuid::try_parse(fields.get("item")).map_err(|_| UiError::NotFound)?);
    let category = parse_id(Some(fields.get("cat"))).map(CategoryId);
    let from_panel = fields.get("panel") == "1";
    let parsed = (|| {
        let seat = form::optional_count(fields.get("seat"), "Seat", 1, 99)?;
        let course = form::optional_count(fields.get("course"), "Course", 1, 9)?;
        let qty = match fields.get("qty") {
            "" => 1,
            raw => form::count(raw, "Quantity", 1, 99)?,
        };
        let mut modifiers = Vec::new();
        for raw in fields.all("mod") {
            let id = Uuid::try_parse(raw).map_err(|_| "Unknown choice.".to_owned())?;
            modifiers.push(ModifierId(id));
        }
        Ok::<_, String>((seat, course, qty, modifiers))
    })();
    let refusal = match parsed {
        Err(e) => Some(e),
        Ok((seat, course, qty, modifiers)) => {
            let line_id = state.with_store(|store| Ok(LineId(store.new_id()))).await?;
            let command = Command::AddLine {
                order_id,
                line_id,
                item_id,
                qty: Qty::units(i64::from(qty)),
                modifiers,
                seat,
                course,
                note: None,
                price_override: None,
            };
            let currency = state
                .with_store(move |store| match store.order(order_id)? {
                    Some(o) => Ok(o.currency),
                    None => store.currency(),
                })
                .await?;
            run(&state, vec![command], currency).await?.err()
        }
    };
    // Back to the grid keeping the category (and the pickers, unless the panel set them).
    let seat = form::optional_count(fields.get("seat"), "Seat", 1, 99).ok().flatten();
    let course = form::optional_count(fields.get("course"), "Course", 1, 9).ok().flatten();
    let (seat, course) = if from_panel { (None, None) } else { (seat, course) };
    let to = || keep(&format!("/pos/checks/{}", order_id.0), category, seat, course).into_string();
    post_then_redirect(refusal, to, |e| {
        let screen = Screen {
            category,
            seat,
            course,
            panel: from_panel.then_some((item_id, fields)),
            msg: Some(Message::Error(e)),
            ..Screen::default()
        };
        refuse(&state, &who, order_id, screen)
    })
    .await
}
