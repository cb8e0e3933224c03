//! Orders: opening, lines, voids, comps, discounts and closing.

use crate::catalog::{Item, ModifierGroup, resolve_modifiers};
use crate::events::{
    DiscountApplied, DiscountRule, DiscountScope, DomainEvent as E, LineAdded, LineComped,
    LineModifier, LineRepriced, LineVoided, OrderClosed, OrderOpened, ServiceMode, StockMoved,
    StockReason,
};
use crate::fold::Versioned;
use crate::ids::{DiscountId, ItemId, LineId, ModifierId, OrderId, StaffId};
use crate::money::{Currency, Money, Qty};
use crate::order::Order;
use crate::stock::Availability;

use super::check::{
    amount, approver, item, live_line, open_order as open, optional_approver, positive,
    reasoned_approval, taxes, text, tracks_stock,
};
use super::{CommandError, Cx, Decided, PriceOverride, ReadModel};

pub(super) fn open_order(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    currency: Currency,
    mode: ServiceMode,
    table: Option<&str>,
    guests: Option<u16>,
    opened_by: Option<StaffId>,
) -> Decided {
    if cx.state.get::<Order>(order_id.0)?.is_some() {
        return Err(CommandError::OrderExists(order_id));
    }
    if let Some(t) = table {
        text(t, "table")?;
    }
    Ok(vec![E::OrderOpened(OrderOpened {
        order_id,
        currency,
        mode,
        table: table.map(str::to_owned),
        guests,
        opened_by,
    })])
}

/// What [`super::Command::AddLine`] carries.
pub(super) struct NewLine<'a> {
    pub order_id: &'a OrderId,
    pub line_id: &'a LineId,
    pub item_id: &'a ItemId,
    pub qty: &'a Qty,
    pub modifiers: &'a [ModifierId],
    pub seat: &'a Option<u16>,
    pub course: &'a Option<u16>,
    pub note: &'a Option<String>,
    pub price_override: &'a Option<PriceOverride>,
}

pub(super) fn add_line(cx: &Cx<'_, impl ReadModel>, line: &NewLine<'_>) -> Decided {
    let order = open(cx.state, *line.order_id)?;
    if order.lines.contains_key(line.line_id) {
        return Err(CommandError::LineExists(*line.line_id));
    }
    let item = sellable_item(cx, *line.item_id, *line.qty)?;
    if let Some(n) = line.note {
        text(n, "note")?;
    }
    let modifiers = chosen_modifiers(cx.state, &item, line.modifiers)?;
    let unit_price = match line.price_override {
        Some(o) => {
            let price = amount(o.unit_price, "an overridden price", cx.policy)?;
            approver(cx.state, o.approved_by)?;
            price
        }
        None => item.price,
    };
    Ok(vec![E::LineAdded(LineAdded {
        order_id: *line.order_id,
        line_id: *line.line_id,
        item_id: *line.item_id,
        name: item.name.clone(),
        unit_price,
        qty: *line.qty,
        modifiers,
        seat: *line.seat,
        course: *line.course,
        taxes: taxes(cx.state, &item)?,
        station: item.station.clone(),
        note: line.note.clone(),
        price_override_by: line.price_override.map(|o| o.approved_by),
    })])
}

/// The item, if it can be sold now in quantity `qty`.
fn sellable_item(
    cx: &Cx<'_, impl ReadModel>,
    item_id: ItemId,
    qty: Qty,
) -> Result<Item, CommandError> {
    let item = item(cx.state, item_id)?;
    if !item.active {
        return Err(CommandError::ItemRetired(item.name));
    }
    if !cx.state.get::<Availability>(item_id.0)?.unwrap_or_default().is_available() {
        return Err(CommandError::ItemUnavailable(item.name));
    }
    let max = cx.policy.max_line_qty;
    if qty.0 <= 0 || qty > max {
        return Err(CommandError::InvalidQuantity { got: qty, max });
    }
    if !item.sold_by_weight && !qty.is_whole() {
        return Err(CommandError::WholeUnitsOnly(item.name));
    }
    Ok(item)
}

/// The modifiers chosen for `item`, checked against its published groups.
fn chosen_modifiers(
    state: &impl ReadModel,
    item: &Item,
    chosen: &[ModifierId],
) -> Result<Vec<LineModifier>, CommandError> {
    let groups = item
        .modifier_groups
        .iter()
        .map(|g| {
            state
                .get::<Versioned<ModifierGroup>>(g.0)
                .map(|v| v.and_then(|v| v.current).map(|s| s.value))
        })
        .filter_map(Result::transpose)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(resolve_modifiers(&groups, chosen)?
        .into_iter()
        .map(|m| LineModifier {
            modifier_id: m.id,
            name: m.name.clone(),
            price_delta: m.price_delta,
        })
        .collect())
}

pub(super) fn void_line(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    line_id: LineId,
    reason: &str,
    approved_by: Option<StaffId>,
) -> Decided {
    let order = open(cx.state, order_id)?;
    live_line(&order, order_id, line_id)?;
    let approved_by = reasoned_approval(cx.state, reason, approved_by, "a void")?;
    Ok(vec![E::LineVoided(LineVoided {
        order_id,
        line_id,
        reason: reason.to_owned(),
        approved_by: Some(approved_by),
    })])
}

pub(super) fn reprice_line(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    line_id: LineId,
    unit_price: Money,
    approved_by: Option<StaffId>,
) -> Decided {
    let order = open(cx.state, order_id)?;
    live_line(&order, order_id, line_id)?;
    let unit_price = amount(unit_price, "an overridden price", cx.policy)?;
    let approved_by = approved_by.ok_or(CommandError::ApprovalRequired("a price override"))?;
    approver(cx.state, approved_by)?;
    Ok(vec![E::LineRepriced(LineRepriced {
        order_id,
        line_id,
        unit_price,
        approved_by: Some(approved_by),
    })])
}

pub(super) fn comp_line(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    line_id: LineId,
    reason: &str,
    approved_by: Option<StaffId>,
) -> Decided {
    let order = open(cx.state, order_id)?;
    live_line(&order, order_id, line_id)?;
    if order.comps.contains_key(&line_id) {
        return Err(CommandError::LineComped(line_id));
    }
    let approved_by = reasoned_approval(cx.state, reason, approved_by, "a comp")?;
    Ok(vec![E::LineComped(LineComped {
        order_id,
        line_id,
        reason: reason.to_owned(),
        approved_by: Some(approved_by),
    })])
}

pub(super) fn apply_discount(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    discount_id: DiscountId,
    scope: DiscountScope,
    rule: DiscountRule,
    reason: &str,
    approved_by: Option<StaffId>,
) -> Decided {
    let order = open(cx.state, order_id)?;
    if order.discounts.contains_key(&discount_id) {
        return Err(CommandError::DuplicateId(discount_id.0));
    }
    if let DiscountScope::Line(line) = scope {
        live_line(&order, order_id, line)?;
    }
    text(reason, "a reason")?;
    if needs_approval(cx, rule)? && approved_by.is_none() {
        return Err(CommandError::ApprovalRequired("a discount this large"));
    }
    // Whoever is recorded as approving must be able to, even where no approval was needed.
    optional_approver(cx.state, approved_by)?;
    Ok(vec![E::DiscountApplied(DiscountApplied {
        order_id,
        discount_id,
        scope,
        rule,
        reason: reason.to_owned(),
        approved_by,
    })])
}

/// Whether a discount by `rule` is above the policy's threshold (after checking its size).
fn needs_approval(cx: &Cx<'_, impl ReadModel>, rule: DiscountRule) -> Result<bool, CommandError> {
    match rule {
        DiscountRule::PercentBps(bps) => {
            if bps == 0 || bps > 10_000 {
                return Err(CommandError::InvalidAmount {
                    what: "a discount",
                    rule: "between 0.01% and 100%",
                });
            }
            Ok(bps > cx.policy.discount_approval_bps)
        }
        DiscountRule::Amount(a) => {
            positive(a, "a discount", cx.policy)?;
            Ok(a > cx.policy.discount_approval_amount)
        }
    }
}

pub(super) fn close_order(
    cx: &Cx<'_, impl ReadModel>,
    order_id: OrderId,
    closed_by: Option<StaffId>,
) -> Decided {
    let order = open(cx.state, order_id)?;
    let balance = order.totals().balance;
    if balance.as_minor() > 0 {
        return Err(CommandError::OrderUnpaid { order: order_id, balance });
    }
    let mut events = vec![E::OrderClosed(OrderClosed { order_id, closed_by })];
    for line in order.live_lines() {
        if tracks_stock(cx.state, line.item_id)? {
            events.push(E::StockMoved(StockMoved {
                item_id: line.item_id,
                delta: -line.qty,
                reason: StockReason::Sale { order_id },
            }));
        }
    }
    Ok(events)
}
