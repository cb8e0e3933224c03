//! Taking payments and issuing refunds.

use crate::events::{
    DomainEvent as E, PaymentTaken, RefundIssued, RefundLine, StockMoved, StockReason, Tender,
};
use crate::ids::{DrawerSessionId, LineId, OrderId, PaymentId, RefundId, StaffId};
use crate::money::{Currency, Money, Qty};
use crate::order::{Order, OrderStatus};

use super::check::{
    existing_order, live_line, open_drawer, open_order, positive, reasoned_approval, settle,
    tracks_stock,
};
use super::{CommandError, Cx, Decided, ReadModel, TenderInput};

/// What [`super::Command::TakePayment`] carries.
pub(super) struct NewPayment<'a> {
    pub order_id: &'a OrderId,
    pub payment_id: &'a PaymentId,
    pub tender: &'a TenderInput,
    pub amount: &'a Option<Money>,
    pub tip: &'a Money,
    pub drawer_session: &'a Option<DrawerSessionId>,
    pub staff: &'a Option<StaffId>,
}

pub(super) fn take_payment(cx: &Cx<'_, impl ReadModel>, payment: &NewPayment<'_>) -> Decided {
    let order_id = *payment.order_id;
    let order = open_order(cx.state, order_id)?;
    if order.payments.contains_key(payment.payment_id) {
        return Err(CommandError::DuplicateId(payment.payment_id.0));
    }
    let currency = order.currency().unwrap_or(Currency::USD);
    let balance = order.totals().balance;
    if balance.as_minor() <= 0 {
        return Err(CommandError::NothingToPay(order_id));
    }
    let pays = match payment.amount {
        Some(a) => positive(*a, "a payment", cx.policy)?,
        None => balance,
    };
    if pays > balance {
        return Err(CommandError::TenderExceedsBalance { amount: pays, balance });
    }
    let tip = *payment.tip;
    check_tip(cx, pays, tip)?;
    let tender = settle(payment.tender, pays + tip, cx.policy)?;
    check_drawer(cx, *payment.drawer_session, currency, &tender)?;
    Ok(vec![E::PaymentTaken(PaymentTaken {
        order_id,
        payment_id: *payment.payment_id,
        amount: pays,
        tip,
        tender,
        drawer_session: *payment.drawer_session,
        taken_by: *payment.staff,
    })])
}

/// A tip is zero or more, and at most the policy's share of what it is on.
fn check_tip(cx: &Cx<'_, impl ReadModel>, pays: Money, tip: Money) -> Result<(), CommandError> {
    if tip.is_negative() {
        return Err(CommandError::InvalidAmount { what: "a tip", rule: "zero or more" });
    }
    let limit = pays.percent_bps(cx.policy.max_tip_bps);
    if tip > limit {
        return Err(CommandError::TipTooLarge { tip, limit });
    }
    Ok(())
}

/// A named drawer session must be open in the order's currency; cash needs one.
fn check_drawer(
    cx: &Cx<'_, impl ReadModel>,
    session: Option<DrawerSessionId>,
    currency: Currency,
    tender: &Tender,
) -> Result<(), CommandError> {
    if let Some(session) = session {
        open_drawer(cx.state, session, currency)?;
    } else if matches!(tender, Tender::Cash { .. }) {
        return Err(CommandError::DrawerRequired);
    }
    Ok(())
}

/// What [`super::Command::Refund`] carries.
pub(super) struct NewRefund<'a> {
    pub order_id: &'a OrderId,
    pub refund_id: &'a RefundId,
    pub amount: &'a Money,
    pub lines: &'a [(LineId, Qty)],
    pub tender: &'a TenderInput,
    pub reason: &'a String,
    pub approved_by: &'a Option<StaffId>,
    pub drawer_session: &'a Option<DrawerSessionId>,
}

pub(super) fn refund(cx: &Cx<'_, impl ReadModel>, refund: &NewRefund<'_>) -> Decided {
    let order_id = *refund.order_id;
    let refund_id = *refund.refund_id;
    let amount = *refund.amount;
    let order = existing_order(cx.state, order_id)?;
    if order.status() != OrderStatus::Closed {
        return Err(CommandError::OrderOpen(order_id));
    }
    if order.refunds.contains_key(&refund_id) {
        return Err(CommandError::DuplicateId(refund_id.0));
    }
    let approved_by = reasoned_approval(cx.state, refund.reason, *refund.approved_by, "a refund")?;
    positive(amount, "a refund", cx.policy)?;
    let totals = order.totals();
    let refundable = totals.paid + totals.tips - totals.refunded;
    if amount > refundable {
        return Err(CommandError::RefundExceedsPaid { amount, refundable });
    }
    let returned = returned_lines(&order, order_id, refund.lines)?;
    let currency = order.currency().unwrap_or(Currency::USD);
    let tender = match refund.tender {
        // Cash refunds hand the amount back exactly: no change.
        TenderInput::Cash { .. } => Tender::Cash { tendered: amount, change: Money::ZERO },
        other => settle(other, amount, cx.policy)?,
    };
    check_drawer(cx, *refund.drawer_session, currency, &tender)?;
    let mut events = Vec::with_capacity(1 + returned.len());
    for l in &returned {
        if tracks_stock(cx.state, l.item_id)? {
            events.push(E::StockMoved(StockMoved {
                item_id: l.item_id,
                delta: l.qty,
                reason: StockReason::Refund { refund_id },
            }));
        }
    }
    events.insert(
        0,
        E::RefundIssued(RefundIssued {
            refund_id,
            order_id,
            amount,
            lines: returned,
            tender,
            reason: refund.reason.clone(),
            approved_by: Some(approved_by),
            drawer_session: *refund.drawer_session,
        }),
    );
    Ok(events)
}

/// The lines handed back, each at most what is left of it to return.
fn returned_lines(
    order: &Order,
    order_id: OrderId,
    lines: &[(LineId, Qty)],
) -> Result<Vec<RefundLine>, CommandError> {
    let mut returned = Vec::with_capacity(lines.len());
    for &(line_id, qty) in lines {
        let line = live_line(order, order_id, line_id)?;
        let left = line.qty - order.refunded_qty(line_id);
        if qty.0 <= 0 || qty > left {
            return Err(CommandError::ReturnExceedsSold { line: line_id, qty, left });
        }
        returned.push(RefundLine { line_id, item_id: line.item_id, qty });
    }
    Ok(returned)
}
