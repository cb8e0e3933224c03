//! 86 board: mark menu items unavailable ("86'd") and back on, by the roles that run the
//! kitchen's stock (kitchen, manager, owner). Each tap is one `SetAvailability` command
//! recorded with the member of staff, so it reaches every terminal through sync like any
//! other event; the POS grid greys 86'd items and the domain refuses to ring them up.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use thorbis_domain::Command;
use thorbis_domain::catalog::Item;
use thorbis_domain::ids::ItemId;
use thorbis_web::components::{hidden, plural};
use thorbis_web::respond::{Href, post_then_redirect};
use uuid::Uuid;

use super::access::StockKeeper;
use super::action::{run, store_currency};
use super::html::{Message, message, page};
use super::{UiError, UiState};
use crate::guard::csrf_field;
use thorbis_agent::SignedIn;

#[derive(Debug, Deserialize, Default)]
pub(crate) struct BoardQuery {
    msg: Option<String>,
    item: Option<String>,
}

/// `GET /pos/availability`.
pub(crate) async fn board(
    State(state): State<UiState>,
    who: StockKeeper,
    Query(q): Query<BoardQuery>,
) -> Result<Response, UiError> {
    let item = q.item.as_deref().and_then(|s| Uuid::try_parse(s).ok()).map(ItemId);
    // Confirmations are chosen from a fixed list, with the item's name read from the
    // catalog, never echoed from the address.
    let name = match item {
        Some(id) => state.with_store(move |store| store.item(id)).await?.map(|i| i.name),
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
                store.categories()?,
                store.items()?.into_iter().filter(|i| i.active).collect::<Vec<_>>(),
                store.unavailable_items()?,
            ))
        })
        .await?;
    items.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
    let count = items.iter().filter(|i| off.contains(&i.id)).count();
    let mut sections: Vec<(String, Vec<&Item>)> = categories
        .iter()
        .map(|c| (c.name.clone(), items.iter().filter(|i| i.category == Some(c.id)).collect()))
        .collect();
    let other: Vec<_> = items
        .iter()
        .filter(|i| i.category.is_none_or(|c| !categories.iter().any(|k| k.id == c)))
        .collect();
    sections.push(("Other".into(), other));
    let body = html! {
        h1 { "86 board" }
        p.muted { "Tap an item to 86 it on every terminal; tap it again when it is back." }
        (message(msg.as_ref()))
        p #off-count { (plural(count, "item")) " 86'd." }
        @for (name, items) in sections.iter().filter(|(_, items)| !items.is_empty()) {
            h2 { (name) }
            div.grid.items {
                @for item in items {
                    @let is_off = off.contains(&item.id);
                    form.tile-form method="post" action="/pos/availability" {
                        (csrf_field())
                        (hidden("item", item.id.0))
                        (hidden("available", if is_off { "1" } else { "0" }))
                        button.tile.avail.out[is_off] type="submit" data-avail=(item.name)
                            aria-pressed=(is_off) {
                            (item.name)
                            @if is_off {
                                span.state.out { "86'd · tap when back" }
                            } @else {
                                span.muted { "Available · tap to 86" }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok((status, page("86 board", "availability", Some(who), &state.indicators(), body))
        .into_response())
}

/// The 86 board's form: an item, and `0` to 86 it or `1` for back on.
#[derive(Debug, Deserialize)]
pub(crate) struct SetAvailability {
    #[serde(default)]
    item: String,
    #[serde(default)]
    available: String,
}

/// `POST /pos/availability`: `item` (id) and `available` (`0` to 86 it, `1` for back on).
pub(crate) async fn set(
    State(state): State<UiState>,
    who: StockKeeper,
    Form(form): Form<SetAvailability>,
) -> Result<Response, UiError> {
    let item = Uuid::try_parse(form.item.trim()).map(ItemId);
    let available = match form.available.trim() {
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
    let currency = store_currency(&state).await?;
    let refusal = run(&state, vec![command], currency).await?.err();
    let to = || {
        let msg = if available { "on" } else { "off" };
        Href::new("/pos/availability").param("msg", msg).param("item", item_id.0).into_string()
    };
    post_then_redirect(refusal, to, |e| refused(&state, &who, e)).await
}

async fn refused(state: &UiState, who: &SignedIn, text: String) -> Result<Response, UiError> {
    render(state, who, Some(Message::Error(text)), StatusCode::UNPROCESSABLE_ENTITY).await
}
