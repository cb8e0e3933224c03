//! The reads the terminal's screens make beyond orders and the kitchen queue: the catalog's
//! staff, categories and modifier groups, recently bumped tickets and an order's tickets,
//! recent shifts, a document's print job, and the mark live screens watch for change.
//!
//! Each is backed by the index it needs: nothing here lists every ticket, drawer session
//! or print job ever recorded. "Recent" lists read the `aggregates_finished` index newest
//! first and stop at their limit; an order's tickets come from `aggregates_owner`; a
//! document's job from `print_jobs_document` (migration 6).

use std::collections::BTreeMap;

use rusqlite::params;
use thorbis_domain::Aggregate;
use thorbis_domain::catalog::{Category, Item, ModifierGroup, Staff};
use thorbis_domain::drawer::DrawerSession;
use thorbis_domain::fold::Versioned;
use thorbis_domain::ids::{
    DrawerSessionId, ItemId, LocationId, ModifierGroupId, OrderId, StaffId, TicketId, WorkOrderId,
};
use thorbis_domain::kitchen::Ticket;
use thorbis_domain::work_order::{WorkOrder, WorkOrderView};
use uuid::Uuid;

use super::{Store, TicketView};
use crate::error::StoreError;
use crate::print::{self, Document, PrintJob};
use crate::projection::{list, read};

/// How many of the most recent bumps one station's "recently bumped" looks through: a
/// station with none among them shows none, rather than the query reading back through
/// every ticket ever bumped.
const BUMPED_LOOKBACK: usize = 500;

/// The aggregates of a kind that belong to one (`aggregates_owner`).
const OWNED: &str = "SELECT id, state FROM aggregates WHERE kind = ?1 AND owner = ?2 ORDER BY id";

/// The most recently finished aggregates of a kind (`aggregates_finished`).
const FINISHED: &str = "SELECT id, state FROM aggregates
    WHERE kind = ?1 AND finished_wall IS NOT NULL
    ORDER BY finished_wall DESC, finished_counter DESC, id DESC LIMIT ?2";

/// How many copies a print job has (`print_jobs_copy_of`).
const COPIES: &str = "SELECT COUNT(*) FROM print_jobs WHERE copy_of = ?1";

/// A ticket as screens show it; `None` until its content is known here.
pub(super) fn ticket_view(id: Uuid, t: Ticket) -> Option<TicketView> {
    let content = t.content?;
    Some(TicketView {
        id: TicketId(id),
        order_id: content.value.order_id,
        table: content.value.table,
        ticket: content.value.ticket,
        sent_at: content.meta.hlc,
    })
}

impl Store {
    /// A member of staff's current record (disabled ones too).
    /// On a technician's laptop, its technician (once the PIN is set) is the only one.
    pub fn staff(&self, id: StaffId) -> Result<Option<Staff>, StoreError> {
        if self.is_technician()? {
            return Ok(self.technician_record()?.filter(|t| t.id == id));
        }
        Ok(read::<Versioned<Staff>>(&self.conn, id.0)?.and_then(|v| v.current).map(|s| s.value))
    }

    /// The location this store serves: its enrollment's (`None` before enrollment).
    pub fn location(&self) -> Result<Option<LocationId>, StoreError> {
        Ok(self.enrollment()?.map(|e| LocationId(e.location_id)))
    }

    /// Active staff of this location, by name: on a technician's laptop, its technician
    /// once the PIN is set.
    pub fn active_staff(&self) -> Result<Vec<Staff>, StoreError> {
        if self.is_technician()? {
            return Ok(self.technician_record()?.into_iter().collect());
        }
        let here = self.location()?;
        let mut staff: Vec<Staff> = current::<Staff>(self)?
            .into_iter()
            .filter(|s| s.active && here.is_none_or(|l| s.works_at(l)))
            .collect();
        staff.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.0.cmp(&b.id.0)));
        Ok(staff)
    }

    /// The work orders this store holds, by id, as their merged documents show them (a
    /// technician's laptop holds those dispatched to it).
    pub fn work_orders(&self) -> Result<Vec<(Uuid, WorkOrderView)>, StoreError> {
        Ok(list::<WorkOrder>(&self.conn, false)?
            .into_iter()
            .filter_map(|(id, order)| order.view().map(|view| (id, view)))
            .collect())
    }

    /// One work order as its merged document shows it.
    pub fn work_order(&self, id: WorkOrderId) -> Result<Option<WorkOrderView>, StoreError> {
        Ok(read::<WorkOrder>(&self.conn, id.0)?.and_then(|order| order.view()))
    }

    /// Menu categories, in grid order.
    pub fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let mut categories = current::<Category>(self)?;
        categories.sort_by(|a, b| a.position.cmp(&b.position).then(a.name.cmp(&b.name)));
        Ok(categories)
    }

    /// Every modifier group, by id.
    pub fn modifier_groups(&self) -> Result<BTreeMap<ModifierGroupId, ModifierGroup>, StoreError> {
        Ok(current::<ModifierGroup>(self)?.into_iter().map(|g| (g.id, g)).collect())
    }

    /// One catalog item's current record.
    pub fn item(&self, id: ItemId) -> Result<Option<Item>, StoreError> {
        Ok(read::<Versioned<Item>>(&self.conn, id.0)?.and_then(|v| v.current).map(|s| s.value))
    }

    /// Bumped tickets (of one station, or all), most recently bumped first, at most
    /// `limit`. One station's are looked for among the last few hundred bumps only.
    pub fn recently_bumped(
        &self,
        station: Option<&str>,
        limit: usize,
    ) -> Result<Vec<TicketView>, StoreError> {
        let lookback = if station.is_some() { BUMPED_LOOKBACK.max(limit) } else { limit };
        Ok(self
            .recently_finished::<Ticket>(lookback)?
            .into_iter()
            .filter_map(|(id, t)| ticket_view(id, t))
            .filter(|t| station.is_none_or(|s| t.ticket.station == s))
            .take(limit)
            .collect())
    }

    /// Every ticket of an order, each with whether it is bumped, in id order.
    pub fn order_tickets(&self, order: OrderId) -> Result<Vec<(TicketView, bool)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(OWNED)?;
        let rows = stmt.query_map(params![Ticket::KIND, order.0.as_bytes()], row)?;
        let mut out = Vec::new();
        for r in rows {
            let (id, t) = decode::<Ticket>(r?)?;
            let bumped = t.is_bumped();
            out.extend(ticket_view(id, t).map(|v| (v, bumped)));
        }
        Ok(out)
    }

    /// Closed drawer sessions, most recently closed first, at most `limit`.
    pub fn recently_closed_drawers(
        &self,
        limit: usize,
    ) -> Result<Vec<(DrawerSessionId, DrawerSession)>, StoreError> {
        Ok(self
            .recently_finished::<DrawerSession>(limit)?
            .into_iter()
            .map(|(id, d)| (DrawerSessionId(id), d))
            .collect())
    }

    /// The first print job of `document` (not a copy), whatever state it is in.
    pub fn original_print_job(&self, document: &Document) -> Result<Option<PrintJob>, StoreError> {
        print::original_job(&self.conn, document)
    }

    /// How many copies of a print job were queued.
    pub fn print_copies(&self, job: Uuid) -> Result<u64, StoreError> {
        Ok(self.conn.query_row(COPIES, [job.as_bytes()], |r| r.get(0))?)
    }

    /// A number that changes whenever this store takes in an event, its own or another
    /// device's: the sum of the per-device chain tips (the version vector), one row per
    /// device. Live screens compare it instead of counting events.
    pub fn change_mark(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(SUM(seq), 0) FROM chain_tips", [], |r| r.get(0))?)
    }

    /// Aggregates of kind `A` that finished, newest first, at most `limit`, by index.
    fn recently_finished<A: Aggregate>(&self, limit: usize) -> Result<Vec<(Uuid, A)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(FINISHED)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![A::KIND, limit], row)?;
        rows.map(|r| decode::<A>(r?)).collect()
    }
}

/// The current version of every record of a catalog kind (a small, bounded table).
fn current<T>(store: &Store) -> Result<Vec<T>, StoreError>
where
    Versioned<T>: Aggregate,
{
    Ok(list::<Versioned<T>>(&store.conn, false)?
        .into_iter()
        .filter_map(|(_, v)| v.current.map(|s| s.value))
        .collect())
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, String)> {
    Ok((r.get(0)?, r.get(1)?))
}

fn decode<A: Aggregate>((id, json): (Vec<u8>, String)) -> Result<(Uuid, A), StoreError> {
    let id = Uuid::from_slice(&id)
        .map_err(|_| StoreError::Corrupt(format!("{} row with a malformed id", A::KIND)))?;
    let value = serde_json::from_str(&json)
        .map_err(|e| StoreError::Corrupt(format!("{} {id} does not decode: {e}", A::KIND)))?;
    Ok((id, value))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use thorbis_domain::ids::LineId;
    use thorbis_domain::{Command, Money, Qty};

    use super::*;
    use crate::StoreConfig;
    use crate::print::PrintRouting;
    use crate::seed::{self, SaleIds};

    /// SQLite's plan for `sql`, one line per step.
    fn plan(store: &Store, sql: &str) -> String {
        let mut stmt = store.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows =
            stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3)).unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_screens_reads_answer_from_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let print = PrintRouting {
            stations: BTreeMap::from([
                ("grill".into(), "kitchen".into()),
                ("fryer".into(), "kitchen".into()),
            ]),
            receipt_printer: Some("front".into()),
        };
        let mut store = Store::open(StoreConfig {
            id_seed: Some(7),
            print,
            ..StoreConfig::new(dir.path().join("a.db"))
        })
        .unwrap();
        store.execute_all(&seed::catalog()).unwrap();
        let mark = store.change_mark().unwrap();

        // A check with a grill and a fryer ticket; the fryer's is bumped.
        let order = OrderId(store.new_id());
        let (burger, fries) = (LineId(store.new_id()), LineId(store.new_id()));
        store
            .execute_all(&[
                seed::open_order(order, Some("4")),
                seed::line(order, burger, seed::BURGER, Qty::ONE, vec![seed::MEDIUM_RARE]),
                seed::line(order, fries, seed::FRIES, Qty::ONE, vec![]),
                Command::SendToKitchen { order_id: order },
            ])
            .unwrap();
        assert!(store.change_mark().unwrap() > mark, "a write moves the mark");
        let tickets = store.order_tickets(order).unwrap();
        assert_eq!(tickets.len(), 2);
        let fryer = tickets.iter().find(|(t, _)| t.ticket.station == "fryer").unwrap().0.id;
        store.execute(&Command::BumpTicket { ticket_id: fryer }).unwrap();
        let bumped = store.recently_bumped(None, 5).unwrap();
        assert_eq!(bumped.iter().map(|t| t.id).collect::<Vec<_>>(), [fryer]);
        assert!(store.recently_bumped(Some("grill"), 5).unwrap().is_empty());
        let done: Vec<bool> = store.order_tickets(order).unwrap().iter().map(|(_, d)| *d).collect();
        assert_eq!(done.iter().filter(|d| **d).count(), 1);
        // A recall takes it off the recent list.
        store.execute(&Command::RecallTicket { ticket_id: fryer }).unwrap();
        assert!(store.recently_bumped(None, 5).unwrap().is_empty());

        // A sale's receipt, a copy, and a closed shift.
        let drawer = DrawerSessionId(store.new_id());
        store.execute(&seed::open_drawer(drawer)).unwrap();
        let ids = SaleIds::new(|| store.new_id());
        store.execute_all(&seed::typical_sale(ids, drawer)).unwrap();
        let receipt = Document::Receipt { order_id: ids.order };
        let original = store.original_print_job(&receipt).unwrap().unwrap();
        assert_eq!(store.print_copies(original.id).unwrap(), 0);
        store.reprint(original.id).unwrap();
        assert_eq!(store.print_copies(original.id).unwrap(), 1);
        assert_eq!(store.original_print_job(&receipt).unwrap().unwrap().id, original.id);
        assert!(store.recently_closed_drawers(5).unwrap().is_empty());
        store
            .execute_all(&[
                Command::CountDrawer { session_id: drawer, counted: Money(100_00), staff: None },
                Command::CloseDrawer { session_id: drawer, staff: None },
            ])
            .unwrap();
        let closed = store.recently_closed_drawers(5).unwrap();
        assert_eq!(closed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [drawer]);

        // Rebuilt projections fill the indexed columns the same way.
        store.rebuild_projections().unwrap();
        assert_eq!(store.recently_closed_drawers(5).unwrap().len(), 1);
        assert_eq!(store.order_tickets(order).unwrap().len(), 2);

        for (sql, index) in [
            (FINISHED, "aggregates_finished"),
            (OWNED, "aggregates_owner"),
            (COPIES, "print_jobs_copy_of"),
            (crate::projection::ACTIVE, "aggregates_active"),
            (
                "SELECT job_id FROM print_jobs WHERE document = ?1 AND copy_of IS NULL",
                "print_jobs_document",
            ),
        ] {
            let plan = plan(&store, sql);
            assert!(plan.contains(index), "{sql}: {plan}");
        }
    }
}
