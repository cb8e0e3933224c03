//! Contested first-writer-wins slots: why a late, back-dated fact cannot take a slot a
//! replica has already seen filled.
//!
//! The folds keep the earliest fact per slot by [`EventMeta`] (clock stamp first): the
//! first payment recorded under a payment id, the first close of an order. That makes the
//! fold commutative, but it also means whoever stamps earliest wins, and a device can stamp
//! what it likes. A device that has seen another terminal's payment could sign a payment
//! under the same id, stamped a minute earlier, and every replica would replace the real
//! one with it.
//!
//! So before folding, each replica asks [`contest`] about every slot a fact claims
//! ([`Slot::claimed_by`]) that is already held by another device's fact:
//!
//! - **Minted slots** (an order, a line, a payment, a refund, a discount, a kitchen ticket,
//!   a drawer session) are named by an id the first writer minted. No honest device ever
//!   claims an id another device minted, so such a claim is refused whatever its stamp.
//! - **Shared slots** (a line's void or comp, an order's close or merge, a course's hold or
//!   fire, a drawer's close and Z report) can be claimed by two honest terminals at once,
//!   each unaware of the other. A claim stamped later than the holder folds as usual (the
//!   holder stays). A claim stamped earlier would displace it: it is taken only if it
//!   reaches this replica within a grace period of the holder, as concurrent claims
//!   crossing on the LAN do. One that arrives later than that is refused: by then the
//!   holder was shown, printed or paid against, and a back-dated fact must not rewrite it.
//!
//! The price of refusing late claims is that a replica that saw the two claims in the
//! other order may keep the other one. Among honest devices this only happens for shared
//! slots claimed more than the grace period apart, where both claims say the same thing
//! (the line is voided, the order closed) and differ in who did it; honest devices never
//! claim one another's minted ids. A forger whose copy of a minted slot reaches some
//! replica first holds it there (the real claim is refused there, its alert naming the
//! forger as the holder) and is refused everywhere else, its device named.
//! A fact claiming a slot held by its own device is left to the fold: a device's own chain
//! is ordered and checked by the clock bounds.

use crate::command::{ReadError, ReadModel};
use crate::drawer::DrawerSession;
use crate::events::DomainEvent;
use crate::fold::{EventMeta, Stamped};
use crate::ids::{DiscountId, DrawerSessionId, LineId, OrderId, PaymentId, RefundId, TicketId};
use crate::kitchen::Ticket;
use crate::order::Order;

/// A first-writer-wins slot of an aggregate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Slot {
    /// An order's opening (minted).
    Order(OrderId),
    /// A line (minted).
    Line(OrderId, LineId),
    /// A discount (minted).
    Discount(OrderId, DiscountId),
    /// A payment (minted).
    Payment(OrderId, PaymentId),
    /// A refund (minted).
    Refund(OrderId, RefundId),
    /// A kitchen ticket's content (minted).
    Ticket(TicketId),
    /// A drawer session's opening (minted).
    Drawer(DrawerSessionId),
    /// A line's void (shared).
    Void(OrderId, LineId),
    /// A line's comp (shared).
    Comp(OrderId, LineId),
    /// Where a line moved to (shared).
    MovedOut(OrderId, LineId),
    /// An order's close (shared).
    Closed(OrderId),
    /// An order's merge into another (shared).
    Merged(OrderId),
    /// A course's hold (shared).
    CourseHeld(OrderId, u16),
    /// A course's firing (shared).
    CourseFired(OrderId, u16),
    /// A drawer session's close (shared).
    DrawerClosed(DrawerSessionId),
    /// A drawer session's Z report (shared).
    ZReport(DrawerSessionId),
}

impl Slot {
    /// Whether the slot is named by an id its first writer minted, so that no other
    /// device ever honestly claims it.
    #[must_use]
    pub fn is_minted(self) -> bool {
        matches!(
            self,
            Slot::Order(_)
                | Slot::Line(..)
                | Slot::Discount(..)
                | Slot::Payment(..)
                | Slot::Refund(..)
                | Slot::Ticket(_)
                | Slot::Drawer(_)
        )
    }

    /// Every first-writer-wins slot `event` claims (none for facts folded otherwise: sums,
    /// last-writer-wins values, catalog records).
    #[must_use]
    pub fn claimed_by(event: &DomainEvent) -> Vec<Slot> {
        use DomainEvent as E;
        match event {
            E::OrderOpened(e) => vec![Slot::Order(e.order_id)],
            E::LineAdded(e) => vec![Slot::Line(e.order_id, e.line_id)],
            E::LineVoided(e) => vec![Slot::Void(e.order_id, e.line_id)],
            E::LineComped(e) => vec![Slot::Comp(e.order_id, e.line_id)],
            E::DiscountApplied(e) => vec![Slot::Discount(e.order_id, e.discount_id)],
            E::LinesMovedOut(e) => e.lines.iter().map(|l| Slot::MovedOut(e.order_id, *l)).collect(),
            E::LinesMovedIn(e) => e
                .lines
                .iter()
                .flat_map(|m| {
                    let line = m.line.line_id;
                    std::iter::once(Slot::Line(e.order_id, line))
                        .chain(m.comp.as_ref().map(|_| Slot::Comp(e.order_id, line)))
                        .chain(
                            m.discounts.iter().map(|d| Slot::Discount(e.order_id, d.discount_id)),
                        )
                })
                .collect(),
            E::OrderMerged(e) => vec![Slot::Merged(e.order_id)],
            E::OrderClosed(e) => vec![Slot::Closed(e.order_id)],
            E::SentToKitchen(e) => e.tickets.iter().map(|t| Slot::Ticket(t.ticket_id)).collect(),
            E::CourseHeld(e) => vec![Slot::CourseHeld(e.order_id, e.course)],
            E::CourseFired(e) => vec![Slot::CourseFired(e.order_id, e.course)],
            E::PaymentTaken(e) => vec![Slot::Payment(e.order_id, e.payment_id)],
            E::RefundIssued(e) => vec![Slot::Refund(e.order_id, e.refund_id)],
            E::DrawerOpened(e) => vec![Slot::Drawer(e.session_id)],
            E::DrawerClosed(e) => vec![Slot::DrawerClosed(e.session_id)],
            E::DrawerZReported(e) => vec![Slot::ZReport(e.session_id)],
            E::ItemUpserted(_)
            | E::CategoryUpserted(_)
            | E::ModifierGroupUpserted(_)
            | E::TaxRateUpserted(_)
            | E::TaxCategoryUpserted(_)
            | E::StaffUpserted(_)
            | E::AvailabilitySet(_)
            | E::LineRepriced(_)
            | E::OrderTransferred(_)
            | E::TicketBumped(_)
            | E::TicketRecalled(_)
            | E::DrawerPaidIn(_)
            | E::DrawerPaidOut(_)
            | E::DrawerNoSale(_)
            | E::DrawerCounted(_)
            | E::StockMoved(_)
            | E::WorkOrderDispatched(_)
            | E::WorkOrderChanged(_)
            | E::WorkOrderPartUsed(_)
            | E::DeviceRegistered(_)
            | E::DeviceRevoked(_)
            | E::DeviceConfigured(_) => Vec::new(),
        }
    }

    /// The fact holding the slot in this replica's state, if any.
    pub fn holder(self, state: &impl ReadModel) -> Result<Option<EventMeta>, ReadError> {
        fn meta<T>(slot: Option<&Stamped<T>>) -> Option<EventMeta> {
            slot.map(|s| s.meta)
        }
        let order = |id: OrderId| state.get::<Order>(id.0);
        let drawer = |id: DrawerSessionId| state.get::<DrawerSession>(id.0);
        Ok(match self {
            Slot::Order(o) => order(o)?.and_then(|o| meta(o.opened.as_ref())),
            Slot::Line(o, l) => order(o)?.and_then(|o| meta(o.lines.get(&l))),
            Slot::Discount(o, d) => order(o)?.and_then(|o| meta(o.discounts.get(&d))),
            Slot::Payment(o, p) => order(o)?.and_then(|o| meta(o.payments.get(&p))),
            Slot::Refund(o, r) => order(o)?.and_then(|o| meta(o.refunds.get(&r))),
            Slot::Void(o, l) => order(o)?.and_then(|o| meta(o.voids.get(&l))),
            Slot::Comp(o, l) => order(o)?.and_then(|o| meta(o.comps.get(&l))),
            Slot::MovedOut(o, l) => order(o)?.and_then(|o| meta(o.moved_out.get(&l))),
            Slot::Closed(o) => order(o)?.and_then(|o| meta(o.closed.as_ref())),
            Slot::Merged(o) => order(o)?.and_then(|o| meta(o.merged.as_ref())),
            Slot::CourseHeld(o, c) => order(o)?.and_then(|o| meta(o.held_courses.get(&c))),
            Slot::CourseFired(o, c) => order(o)?.and_then(|o| meta(o.fired_courses.get(&c))),
            Slot::Ticket(t) => state.get::<Ticket>(t.0)?.and_then(|t| meta(t.content.as_ref())),
            Slot::Drawer(s) => drawer(s)?.and_then(|d| meta(d.opened.as_ref())),
            Slot::DrawerClosed(s) => drawer(s)?.and_then(|d| meta(d.closed.as_ref())),
            Slot::ZReport(s) => drawer(s)?.and_then(|d| meta(d.z_report.as_ref())),
        })
    }
}

/// In words a manager reads in an alert.
impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slot::Order(o) => write!(f, "the opening of order {o}"),
            Slot::Line(o, l) => write!(f, "line {l} of order {o}"),
            Slot::Discount(o, d) => write!(f, "discount {d} of order {o}"),
            Slot::Payment(o, p) => write!(f, "payment {p} of order {o}"),
            Slot::Refund(o, r) => write!(f, "refund {r} of order {o}"),
            Slot::Ticket(t) => write!(f, "kitchen ticket {t}"),
            Slot::Drawer(s) => write!(f, "the opening of drawer session {s}"),
            Slot::Void(o, l) => write!(f, "the void of line {l} of order {o}"),
            Slot::Comp(o, l) => write!(f, "the comp of line {l} of order {o}"),
            Slot::MovedOut(o, l) => write!(f, "the move of line {l} off order {o}"),
            Slot::Closed(o) => write!(f, "the close of order {o}"),
            Slot::Merged(o) => write!(f, "the merge of order {o}"),
            Slot::CourseHeld(o, c) => write!(f, "the hold of course {c} of order {o}"),
            Slot::CourseFired(o, c) => write!(f, "the firing of course {c} of order {o}"),
            Slot::DrawerClosed(s) => write!(f, "the close of drawer session {s}"),
            Slot::ZReport(s) => write!(f, "the Z report of drawer session {s}"),
        }
    }
}

/// The fact holding a slot, as this replica saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// The holder.
    pub meta: EventMeta,
    /// When this replica stored it, by its own clock; `None` if it does not know, which
    /// counts as "long ago" so that no late claim is let through for want of a time.
    pub first_seen_ms: Option<u64>,
}

/// A claim on a slot, as this replica receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The claiming fact.
    pub meta: EventMeta,
    /// When it reached this replica, by the same clock as [`Held::first_seen_ms`].
    pub received_ms: u64,
}

/// Why a claim on a held slot is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another device's claim on an id that the holder's device minted.
    Taken,
    /// A claim stamped before the holder that arrived more than the grace period after it.
    Backdated,
}

/// Decides a claim on `slot` held by `held` (see the module docs). `Ok` means fold it as
/// usual: first writer wins by stamp, and nothing already seen is displaced unfairly.
pub fn contest(slot: Slot, held: &Held, claim: &Claim, grace_ms: u64) -> Result<(), Refused> {
    if held.meta.id == claim.meta.id || held.meta.id.device_id == claim.meta.id.device_id {
        return Ok(());
    }
    if slot.is_minted() {
        return Err(Refused::Taken);
    }
    let displaces = claim.meta < held.meta;
    let seen = held.first_seen_ms.unwrap_or(0);
    if displaces && claim.received_ms > seen.saturating_add(grace_ms) {
        return Err(Refused::Backdated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
    use uuid::Uuid;

    use super::*;

    const GRACE: u64 = 60_000;

    fn meta(device: u8, seq: u64, wall_ms: u64) -> EventMeta {
        EventMeta {
            hlc: Hlc { wall_ms, counter: 0 },
            id: EventId { device_id: DeviceId::from_bytes([device; 16]), seq },
        }
    }

    fn order() -> OrderId {
        OrderId(Uuid::from_u128(7))
    }

    #[test]
    fn another_devices_minted_id_is_never_taken() {
        let slot = Slot::Payment(order(), PaymentId(Uuid::from_u128(9)));
        let held = Held { meta: meta(1, 5, 10_000), first_seen_ms: Some(10_100) };
        for (stamp, arrives) in [(9_000, 10_200), (11_000, 10_200), (9_999, 10_000)] {
            let claim = Claim { meta: meta(2, 3, stamp), received_ms: arrives };
            assert_eq!(contest(slot, &held, &claim, GRACE), Err(Refused::Taken));
        }
        // The holder's own device, or the holder itself again, is the fold's business.
        let again = Claim { meta: held.meta, received_ms: 99_999 };
        assert_eq!(contest(slot, &held, &again, GRACE), Ok(()));
        let own = Claim { meta: meta(1, 9, 9_000), received_ms: 99_999 };
        assert_eq!(contest(slot, &held, &own, GRACE), Ok(()));
    }

    #[test]
    fn a_late_backdated_close_is_refused_and_crossing_closes_are_not() {
        let slot = Slot::Closed(order());
        let held = Held { meta: meta(1, 5, 100_000), first_seen_ms: Some(100_050) };
        // Stamped earlier, arrives within the grace period: concurrent, taken.
        let crossing = Claim { meta: meta(2, 3, 99_000), received_ms: 100_060 };
        assert_eq!(contest(slot, &held, &crossing, GRACE), Ok(()));
        // Stamped earlier, arrives an hour later: back-dated, refused.
        let late = Claim { meta: meta(2, 3, 99_000), received_ms: 3_700_000 };
        assert_eq!(contest(slot, &held, &late, GRACE), Err(Refused::Backdated));
        // Stamped later: it displaces nothing, whenever it arrives.
        let after = Claim { meta: meta(2, 3, 100_001), received_ms: 3_700_000 };
        assert_eq!(contest(slot, &held, &after, GRACE), Ok(()));
        // A holder of unknown age counts as long seen.
        let unknown = Held { first_seen_ms: None, ..held };
        assert_eq!(contest(slot, &unknown, &crossing, GRACE), Err(Refused::Backdated));
    }

    proptest! {
        /// Whatever it is stamped, a fact that arrives after the grace period cannot take
        /// a slot held by another device's fact from it.
        #[test]
        fn nothing_seen_is_displaced_late(
            held_wall in 0u64..1_000_000,
            claim_wall in 0u64..1_000_000,
            seen in 0u64..1_000_000,
            delay in 0u64..1_000_000,
            minted in any::<bool>(),
        ) {
            let slot = if minted { Slot::Line(order(), LineId(Uuid::nil())) } else { Slot::Void(order(), LineId(Uuid::nil())) };
            let held = Held { meta: meta(1, 2, held_wall), first_seen_ms: Some(seen) };
            let claim = Claim { meta: meta(2, 2, claim_wall), received_ms: seen + delay };
            let verdict = contest(slot, &held, &claim, GRACE);
            let displaces = claim.meta < held.meta;
            if displaces && delay > GRACE {
                prop_assert!(verdict.is_err());
            }
            if !minted && !displaces {
                prop_assert_eq!(verdict, Ok(()));
            }
        }
    }
}
