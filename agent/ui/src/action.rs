//! Running a screen's commands: one transaction through the store, a refusal turned into
//! text a cashier can act on (amounts in the order's currency), and the live screens told
//! when something was written. Every screen that posts commands (POS, register, returns,
//! drawer, kitchen display, availability) goes through here, as does finding the order a
//! path or form names.

use thorbis_domain::command::CommandError;
use thorbis_domain::ids::OrderId;
use thorbis_domain::{Command, Currency, Money};
use uuid::Uuid;

use super::{UiError, UiState};
use thorbis_agent::{OrderView, StoreError};

/// The store's currency ([`Store::currency`](thorbis_agent::Store::currency)): what new orders
/// and drawers open in, and what refusals that name no order word amounts in.
pub(crate) async fn store_currency(state: &UiState) -> Result<Currency, UiError> {
    state.with_store(|store| store.currency()).await
}

/// An order's id from a path segment or form field; anything else is not found.
pub(crate) fn order_id(raw: &str) -> Result<OrderId, UiError> {
    Uuid::try_parse(raw).map(OrderId).map_err(|_| UiError::NotFound)
}

/// The order as it stands now; not found if there is none.
pub(crate) async fn order_view(state: &UiState, order_id: OrderId) -> Result<OrderView, UiError> {
    state.with_store(move |store| store.order(order_id)).await?.ok_or(UiError::NotFound)
}

/// Runs `commands` in one transaction; a refusal comes back as its text (nothing was
/// written).
pub(crate) async fn run(
    state: &UiState,
    commands: Vec<Command>,
    currency: Currency,
) -> Result<Result<(), String>, UiError> {
    let result = state
        .with_store(move |store| match store.execute_all(&commands) {
            Ok(_) => Ok(Ok(())),
            Err(StoreError::Refused(e)) => Ok(Err(refusal_text(&e, currency))),
            Err(other) => Err(other),
        })
        .await?;
    if result.is_ok() {
        state.notify();
    }
    Ok(result)
}

/// Text for a refused command, with amounts in the order's currency.
pub(crate) fn refusal_text(e: &CommandError, currency: Currency) -> String {
    let m = |x: &Money| x.format(currency);
    match e {
        CommandError::TenderTooSmall { tendered, amount } => {
            format!("Cash of {} does not cover {} due.", m(tendered), m(amount))
        }
        CommandError::ChangeTooLarge { change, limit } => format!(
            "Change of {} is over the {} limit: check the amount tendered.",
            m(change),
            m(limit)
        ),
        CommandError::TenderExceedsBalance { amount, balance } => {
            format!("{} is more than the {} balance.", m(amount), m(balance))
        }
        CommandError::OrderUnpaid { balance, .. } => format!("{} is still to pay.", m(balance)),
        CommandError::TipTooLarge { tip, limit } => {
            format!("A tip of {} is over the {} limit.", m(tip), m(limit))
        }
        CommandError::NothingToSend => "Nothing new to send to the kitchen.".into(),
        CommandError::ApprovalRequired(what) => format!(
            "{} requires a manager's approval: choose the manager and enter their PIN.",
            capitalised(what)
        ),
        CommandError::Modifiers(e) => format!("{}.", capitalised(&e.to_string())),
        other => format!("{}.", capitalised(&other.to_string())),
    }
}

pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
