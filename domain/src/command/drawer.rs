//! Cash drawer sessions: opening, pay-ins and pay-outs, no-sales, the blind count, closing.

use crate::drawer::{DrawerSession, ZReport};
use crate::events::{
    DomainEvent as E, DrawerCashMoved, DrawerClosed, DrawerCounted, DrawerNoSale, DrawerOpened,
    DrawerZReported,
};
use crate::ids::{DrawerSessionId, StaffId};
use crate::money::{Currency, Money};

use super::check::{drawer, positive, text};
use super::{CommandError, Cx, Decided, ReadModel};

pub(super) fn open_drawer(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    currency: Currency,
    float: Money,
    opened_by: Option<StaffId>,
) -> Decided {
    if cx.state.get::<DrawerSession>(session_id.0)?.is_some_and(|d| d.opened.is_some()) {
        return Err(CommandError::DrawerExists(session_id));
    }
    if float.is_negative() || float > cx.policy.max_amount {
        return Err(CommandError::InvalidAmount { what: "a float", rule: "zero or more" });
    }
    Ok(vec![E::DrawerOpened(DrawerOpened { session_id, currency, float, opened_by })])
}

pub(super) fn pay_in(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    amount: Money,
    reason: &str,
    by: Option<StaffId>,
) -> Decided {
    let moved = cash_moved(cx, session_id, amount, reason, by)?;
    Ok(vec![E::DrawerPaidIn(moved)])
}

pub(super) fn pay_out(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    amount: Money,
    reason: &str,
    by: Option<StaffId>,
) -> Decided {
    let moved = cash_moved(cx, session_id, amount, reason, by)?;
    Ok(vec![E::DrawerPaidOut(moved)])
}

/// A pay-in or pay-out: an open session, a positive amount and a reason.
fn cash_moved(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    amount: Money,
    reason: &str,
    by: Option<StaffId>,
) -> Result<DrawerCashMoved, CommandError> {
    drawer(cx.state, session_id)?;
    positive(amount, "a pay-in or pay-out", cx.policy)?;
    text(reason, "a reason")?;
    Ok(DrawerCashMoved { session_id, amount, reason: reason.to_owned(), by })
}

pub(super) fn no_sale(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    reason: &str,
    by: Option<StaffId>,
) -> Decided {
    drawer(cx.state, session_id)?;
    text(reason, "a reason")?;
    Ok(vec![E::DrawerNoSale(DrawerNoSale { session_id, reason: reason.to_owned(), by })])
}

pub(super) fn count_drawer(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    counted: Money,
    by: Option<StaffId>,
) -> Decided {
    drawer(cx.state, session_id)?;
    if counted.is_negative() || counted > cx.policy.max_amount {
        return Err(CommandError::InvalidAmount { what: "a count", rule: "zero or more" });
    }
    Ok(vec![E::DrawerCounted(DrawerCounted { session_id, counted, by })])
}

pub(super) fn close_drawer(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    by: Option<StaffId>,
) -> Decided {
    let session = drawer(cx.state, session_id)?;
    if session.count.is_none() {
        return Err(CommandError::DrawerNotCounted(session_id));
    }
    Ok(vec![E::DrawerClosed(DrawerClosed { session_id, by })])
}

pub(super) fn z_report(
    cx: &Cx<'_, impl ReadModel>,
    session_id: DrawerSessionId,
    report: &ZReport,
    by: Option<StaffId>,
) -> Decided {
    let session = cx
        .state
        .get::<DrawerSession>(session_id.0)?
        .filter(|d| d.opened.is_some())
        .ok_or(CommandError::UnknownDrawer(session_id))?;
    if session.closed.is_none() {
        return Err(CommandError::DrawerNotClosed(session_id));
    }
    if session.z_report.is_some() {
        return Err(CommandError::ZReportExists(session_id));
    }
    if !report.matches_drawer(&session) {
        return Err(CommandError::ZReportMismatch(session_id));
    }
    Ok(vec![E::DrawerZReported(DrawerZReported { session_id, report: report.clone(), by })])
}
