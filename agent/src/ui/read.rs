//! Read-only queries the screens need beyond the `Store`'s own read methods: staff,
//! categories and modifier groups of the catalog, recently bumped tickets, and the
//! original print job of a document. They read
//! the same projections the store folds, through its connection, and never write.

use std::collections::BTreeMap;

use thorbis_domain::catalog::{Category, ModifierGroup, Staff};
use thorbis_domain::fold::Versioned;
use thorbis_domain::ids::{ModifierGroupId, StaffId, TicketId};
use thorbis_domain::kitchen::Ticket;

use crate::print::{Document, JobState, PrintJob};
use crate::projection::{list, read};
use crate::{Store, StoreError, TicketView};

/// The first print job of `document` (not a copy), whatever state it is in.
pub(crate) fn original_job(
    store: &Store,
    document: &Document,
) -> Result<Option<PrintJob>, StoreError> {
    Ok(store
        .print_jobs(&JobState::ALL)?
        .into_iter()
        .find(|j| j.document == *document && j.copy_of.is_none()))
}

/// A member of staff's current record.
pub(crate) fn staff(store: &Store, id: StaffId) -> Result<Option<Staff>, StoreError> {
    Ok(read::<Versioned<Staff>>(&store.conn, id.0)?.and_then(|v| v.current).map(|s| s.value))
}

/// Active staff, by name.
pub(crate) fn active_staff(store: &Store) -> Result<Vec<Staff>, StoreError> {
    let mut staff: Vec<Staff> = list::<Versioned<Staff>>(&store.conn, false)?
        .into_iter()
        .filter_map(|(_, v)| v.current.map(|s| s.value))
        .filter(|s| s.active)
        .collect();
    staff.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
    Ok(staff)
}

/// Menu categories, in grid order.
pub(crate) fn categories(store: &Store) -> Result<Vec<Category>, StoreError> {
    let mut categories: Vec<Category> = list::<Versioned<Category>>(&store.conn, false)?
        .into_iter()
        .filter_map(|(_, v)| v.current.map(|s| s.value))
        .collect();
    categories.sort_by(|a, b| a.position.cmp(&b.position).then(a.name.cmp(&b.name)));
    Ok(categories)
}

/// Every modifier group, by id.
pub(crate) fn modifier_groups(
    store: &Store,
) -> Result<BTreeMap<ModifierGroupId, ModifierGroup>, StoreError> {
    Ok(list::<Versioned<ModifierGroup>>(&store.conn, false)?
        .into_iter()
        .filter_map(|(_, v)| v.current.map(|s| (s.value.id, s.value)))
        .collect())
}

/// Bumped tickets (of one station, or all), most recently bumped first, at most `limit`.
pub(crate) fn bumped_tickets(
    store: &Store,
    station: Option<&str>,
    limit: usize,
) -> Result<Vec<TicketView>, StoreError> {
    let mut bumped: Vec<(thorbis_sync_protocol::Hlc, TicketView)> =
        list::<Ticket>(&store.conn, false)?
            .into_iter()
            .filter(|(_, t)| t.is_bumped())
            .filter_map(|(id, t)| {
                let at = t.bumped.as_ref()?.meta.hlc;
                let content = t.content?;
                Some((
                    at,
                    TicketView {
                        id: TicketId(id),
                        order_id: content.value.order_id,
                        table: content.value.table,
                        ticket: content.value.ticket,
                        sent_at: content.meta.hlc,
                    },
                ))
            })
            .filter(|(_, t)| station.is_none_or(|s| t.ticket.station == s))
            .collect();
    bumped.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(bumped.into_iter().take(limit).map(|(_, t)| t).collect())
}
