//! 86 board: mark menu items unavailable ("86'd") and back on, by the roles that run the
//! kitchen's stock (kitchen, manager, owner). Each tap is one `SetAvailability` command
//! recorded with the member of staff, so it reaches every terminal through sync like any
//! other event; the POS grid greys 86'd items and the domain refuses to ring them up.

use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use thorbis_domain::ids::ItemId;
use thorbis_domain::{Command, Currency};
use uuid::Uuid;

use super::action::run;
use super::form::Fields;
use super::html::{Message, esc, message, page};
use super::{UiError, UiState, may_set_availability, read};
use crate::SignedIn;

fn require(who: &SignedIn) -> Result<(), UiError> {
    if may_set_availability(who.role) { Ok(()) } else { Err(UiError::Forbidden) }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct BoardQuery {
    msg: Option<String>,
    item: Option<String>,
}

/// `GET /pos/availability`.
pub(crate) async fn board(
    State(state): State<UiState>,
    who: SignedIn,
    Query(q): Query<BoardQuery>,
) -> Result<Response, UiError> {
    require(&who)?;
    let item = q.item.as_deref().and_then(|s| Uuid::try_parse(s).ok()).map(ItemId);
    // Confirmations are chosen from a fixed list, with the item's name read from the
    // catalog, never echoed from the address.
    let name = match item {
        Some(id) => {
            state
                .with_store(move |store| {
                    Ok(store.items()?.into_iter().find(|i| i.id == id).map(|i| i.name))
                })
                .await?
        }
        None => None,
    };
    let msg = match (q.msg.as_deref(), name) {
        (Some("off"), Some(name)) => Some(Message::Info(format!("{name} is 86'd."))),
        (Some("on"), Some(name)) => Some(Message::Info(format!("{name} is back on."))),
        _ => None,
    };
    render(&state, &who, msg, StatusCode::OK).await
}

async fn render(
    state: &UiState,
    who: &SignedIn,
    msg: Option<Message>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let (categories, mut items, off) = state
        .with_store(|store| {
            Ok((
                read::categories(store)?,
                store.items()?.into_iter().filter(|i| i.active).collect::<Vec<_>>(),
                store.unavailable_items()?,
            ))
        })
        .await?;
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
    let mut body = format!(
        "<h1>86 board</h1><p class=\"muted\">Tap an item to 86 it on every terminal; tap it again when it is back.</p>{}",
        message(msg.as_ref())
    );
    let count = items.iter().filter(|i| off.contains(&i.id)).count();
    let _ = write!(
        body,
        "<p id=\"off-count\">{count} item{} 86'd.</p>",
        if count == 1 { "" } else { "s" }
    );
    let mut sections: Vec<(String, Vec<&thorbis_domain::catalog::Item>)> = categories
        .iter()
        .map(|c| (c.name.clone(), items.iter().filter(|i| i.category == Some(c.id)).collect()))
        .collect();
    let other: Vec<_> = items
        .iter()
        .filter(|i| i.category.is_none_or(|c| !categories.iter().any(|k| k.id == c)))
        .collect();
    sections.push(("Other".into(), other));
    for (name, items) in sections.iter().filter(|(_, items)| !items.is_empty()) {
        let _ = write!(body, "<h2>{}</h2><div class=\"grid items\">", esc(name));
        for item in items {
            let is_off = off.contains(&item.id);
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/pos/availability\" class=\"tile-form\">\
<input type=\"hidden\" name=\"item\" value=\"{id}\"><input type=\"hidden\" name=\"available\" value=\"{to}\">\
<button class=\"tile avail{class}\" type=\"submit\" data-avail=\"{name}\" aria-pressed=\"{is_off}\">{name}<span class=\"{state_class}\">{state}</span></button></form>",
                id = item.id.0,
                to = if is_off { "1" } else { "0" },
                class = if is_off { " out" } else { "" },
                name = esc(&item.name),
                state_class = if is_off { "state out" } else { "muted" },
                state = if is_off { "86'd · tap when back" } else { "Available · tap to 86" },
            );
        }
        body.push_str("</div>");
    }
    Ok((status, page("86 board", "availability", Some(who), &state.indicators(), &body))
        .into_response())
}

/// `POST /pos/availability`: `item` (id) and `available` (`0` to 86 it, `1` for back on).
pub(crate) async fn set(
    State(state): State<UiState>,
    who: SignedIn,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    require(&who)?;
    let fields = Fields(fields);
    let item = Uuid::try_parse(fields.get("item").trim()).map(ItemId);
    let available = match fields.get("available") {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("Choose 86 or back on."),
    };
    let (item_id, available) = match (item, available) {
        (Ok(i), Ok(a)) => (i, a),
        (Err(_), _) => return refused(&state, &who, "Unknown item.".into()).await,
        (_, Err(e)) => return refused(&state, &who, e.into()).await,
    };
    let command = Command::SetAvailability { item_id, available, by: Some(who.staff_id) };
    match run(&state, vec![command], Currency::USD).await? {
        Ok(()) => {
            let msg = if available { "on" } else { "off" };
            Ok(Redirect::to(&format!("/pos/availability?msg={msg}&item={}", item_id.0))
                .into_response())
        }
        Err(e) => refused(&state, &who, e).await,
    }
}

async fn refused(state: &UiState, who: &SignedIn, text: String) -> Result<Response, UiError> {
    render(state, who, Some(Message::Error(text)), StatusCode::UNPROCESSABLE_ENTITY).await
}
