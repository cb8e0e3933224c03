//! Checks shared by every area: catalog and aggregate lookups, amounts, free text, card
//! details, tender settlement and approvers.

use crate::catalog::{Item, Staff};
use crate::drawer::DrawerSession;
use crate::events::{LineAdded, Tender};
use crate::fold::Versioned;
use crate::ids::{DrawerSessionId, ItemId, LineId, OrderId, StaffId, TicketId};
use crate::kitchen::Ticket;
use crate::money::{Currency, Money};
use crate::order::{Order, OrderStatus};
use crate::tax::{TaxCategory, TaxRate};

use super::{CommandError, Policy, ReadModel, TenderInput};

pub(super) fn item(state: &impl ReadModel, id: ItemId) -> Result<Item, CommandError> {
    state
        .get::<Versioned<Item>>(id.0)?
        .and_then(|v| v.current)
        .map(|s| s.value)
        .ok_or(CommandError::UnknownItem(id))
}

pub(super) fn tracks_stock(state: &impl ReadModel, id: ItemId) -> Result<bool, CommandError> {
    Ok(state
        .get::<Versioned<Item>>(id.0)?
        .and_then(|v| v.current)
        .is_some_and(|s| s.value.track_stock))
}

pub(super) fn taxes(state: &impl ReadModel, item: &Item) -> Result<Vec<TaxRate>, CommandError> {
    let Some(category) = item.tax_category else { return Ok(Vec::new()) };
    let Some(category) = state.get::<Versioned<TaxCategory>>(category.0)?.and_then(|v| v.current)
    else {
        return Ok(Vec::new());
    };
    let mut rates = Vec::with_capacity(category.value.rates.len());
    for id in &category.value.rates {
        if let Some(rate) = state.get::<Versioned<TaxRate>>(id.0)?.and_then(|v| v.current) {
            rates.push(rate.value);
        }
    }
    Ok(rates)
}

pub(super) fn existing_order(state: &impl ReadModel, id: OrderId) -> Result<Order, CommandError> {
    state
        .get::<Order>(id.0)?
        .filter(|o| o.status() != OrderStatus::Unknown)
        .ok_or(CommandError::UnknownOrder(id))
}

pub(super) fn open_order(state: &impl ReadModel, id: OrderId) -> Result<Order, CommandError> {
    let order = existing_order(state, id)?;
    if order.status() == OrderStatus::Closed {
        return Err(CommandError::OrderClosed(id));
    }
    Ok(order)
}

pub(super) fn live_line(
    order: &Order,
    order_id: OrderId,
    line_id: LineId,
) -> Result<&LineAdded, CommandError> {
    let line = order
        .lines
        .get(&line_id)
        .ok_or(CommandError::UnknownLine { order: order_id, line: line_id })?;
    if order.voids.contains_key(&line_id) {
        return Err(CommandError::LineVoided(line_id));
    }
    if let Some(to) = order.moved_out.get(&line_id) {
        return Err(CommandError::LineMoved { line: line_id, to: to.value });
    }
    Ok(&line.value)
}

pub(super) fn ticket(state: &impl ReadModel, id: TicketId) -> Result<Ticket, CommandError> {
    state
        .get::<Ticket>(id.0)?
        .filter(|t| t.content.is_some())
        .ok_or(CommandError::UnknownTicket(id))
}

pub(super) fn drawer(
    state: &impl ReadModel,
    id: DrawerSessionId,
) -> Result<DrawerSession, CommandError> {
    let session = state
        .get::<DrawerSession>(id.0)?
        .filter(|d| d.opened.is_some())
        .ok_or(CommandError::UnknownDrawer(id))?;
    if !session.is_open() {
        return Err(CommandError::DrawerClosed(id));
    }
    Ok(session)
}

pub(super) fn open_drawer(
    state: &impl ReadModel,
    id: DrawerSessionId,
    currency: Currency,
) -> Result<DrawerSession, CommandError> {
    let session = drawer(state, id)?;
    match session.currency() {
        Some(c) if c != currency => Err(CommandError::CurrencyMismatch {
            got: c.code().to_owned(),
            expected: currency.code().to_owned(),
        }),
        _ => Ok(session),
    }
}

/// Turns what the cashier entered into the recorded tender, for `due` (amount plus tip).
pub(super) fn settle(
    input: &TenderInput,
    due: Money,
    policy: &Policy,
) -> Result<Tender, CommandError> {
    match input {
        TenderInput::Cash { tendered } => {
            amount(*tendered, "cash tendered", policy)?;
            if *tendered < due {
                return Err(CommandError::TenderTooSmall { tendered: *tendered, amount: due });
            }
            let change = *tendered - due;
            if change > policy.max_change {
                return Err(CommandError::ChangeTooLarge { change, limit: policy.max_change });
            }
            Ok(Tender::Cash { tendered: *tendered, change })
        }
        TenderInput::Card { brand, last4, auth_code } => card(brand, last4, auth_code),
        TenderInput::Other { name } => {
            text(name, "a tender name")?;
            Ok(Tender::Other { name: name.clone() })
        }
    }
}

/// A card tender as recorded: the brand, the last four digits and the terminal's
/// authorization code, and never anything more of the card number.
fn card(brand: &str, last4: &str, auth_code: &str) -> Result<Tender, CommandError> {
    let brand = brand.trim();
    if brand.is_empty()
        || brand.len() > 20
        || !brand.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
    {
        return Err(CommandError::InvalidCard("brand must be 1 to 20 letters"));
    }
    if last4.len() != 4 || !last4.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::InvalidCard("exactly the last four digits are recorded"));
    }
    if auth_code.is_empty()
        || auth_code.len() > 12
        || !auth_code.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(CommandError::InvalidCard(
            "authorization code must be 1 to 12 letters or digits",
        ));
    }
    Ok(Tender::Card {
        brand: brand.to_ascii_uppercase(),
        last4: last4.to_owned(),
        auth_code: auth_code.to_owned(),
    })
}

pub(super) fn amount(
    value: Money,
    what: &'static str,
    policy: &Policy,
) -> Result<Money, CommandError> {
    if value.is_negative() || value > policy.max_amount {
        return Err(CommandError::InvalidAmount { what, rule: "zero or more, within the limit" });
    }
    Ok(value)
}

pub(super) fn positive(
    value: Money,
    what: &'static str,
    policy: &Policy,
) -> Result<Money, CommandError> {
    if value.as_minor() <= 0 || value > policy.max_amount {
        return Err(CommandError::InvalidAmount { what, rule: "above zero, within the limit" });
    }
    Ok(value)
}

/// Free text (reasons, names, notes): not empty, not huge, and never anything that looks
/// like a card number, so a PAN typed into a note is refused rather than stored.
pub(super) fn text(value: &str, what: &str) -> Result<(), CommandError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(CommandError::InvalidText(format!("{what} is required")));
    }
    if trimmed.chars().count() > 200 {
        return Err(CommandError::InvalidText(format!("{what} is longer than 200 characters")));
    }
    if looks_like_card_number(trimmed) {
        return Err(CommandError::InvalidText(format!(
            "{what} looks like it contains a card number, which is never recorded"
        )));
    }
    Ok(())
}

/// The approver named on a command: a published, active member of staff whose role may
/// approve ([`crate::approval::may_approve`]). The agent verifies the PIN; this makes the
/// recorded id provably a manager's.
pub(super) fn approver(state: &impl ReadModel, id: StaffId) -> Result<StaffId, CommandError> {
    let staff = state
        .get::<Versioned<Staff>>(id.0)?
        .and_then(|v| v.current)
        .map(|s| s.value)
        .ok_or(CommandError::UnknownApprover(id))?;
    if !crate::approval::may_approve(&staff) {
        return Err(CommandError::NotAnApprover(id));
    }
    Ok(id)
}

/// Checks the approver if one is named.
pub(super) fn optional_approver(
    state: &impl ReadModel,
    id: Option<StaffId>,
) -> Result<Option<StaffId>, CommandError> {
    id.map(|id| approver(state, id)).transpose()
}

/// True when `s` holds 13 to 19 digits in a row (spaces and dashes allowed between them)
/// that pass the Luhn check.
#[must_use]
pub fn looks_like_card_number(s: &str) -> bool {
    let mut digits: Vec<u8> = Vec::new();
    let check = |digits: &mut Vec<u8>| {
        let found = (13..=19).contains(&digits.len()) && luhn(digits)
            || digits.len() > 19 && digits.windows(16).any(luhn);
        digits.clear();
        found
    };
    for c in s.chars() {
        match c {
            '0'..='9' => digits.push(c as u8 - b'0'),
            ' ' | '-' if !digits.is_empty() => {}
            _ => {
                if check(&mut digits) {
                    return true;
                }
            }
        }
    }
    check(&mut digits)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A reason and a manager's approval, both required (voids, comps): returns the approver.
pub(super) fn reasoned_approval(
    state: &impl ReadModel,
    reason: &str,
    approved_by: Option<StaffId>,
    what: &'static str,
) -> Result<StaffId, CommandError> {
    text(reason, "a reason")?;
    let approved_by = approved_by.ok_or(CommandError::ApprovalRequired(what))?;
    approver(state, approved_by)?;
    Ok(approved_by)
}
