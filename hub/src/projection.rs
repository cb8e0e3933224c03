//! Relational projections of verified events, for reports.
//!
//! The fold itself is `thorbis_domain::project`, run unchanged: the domain's aggregates are
//! kept as JSON documents in `aggregates` (as the agent keeps them), loaded into an
//! in-memory cache for one push, folded, written back, and then summarized into
//! `orders`, `order_lines`, `payments`, `drawer_sessions`, `stock_levels` and
//! `work_orders` (through [`crate::dispatch::write_summaries`]) with the
//! domain's own figures (`Order::totals`, `DrawerSession::expected_cash`). No money math
//! happens here or in SQL.
//!
//! The domain's `Projections` trait is synchronous and Postgres is not, hence two passes:
//! [`Touched`] records which aggregates a run of events will touch, they are loaded in one
//! query, and an in-memory cache folds them (each deserialized once per push).
//!
//! A closed order keeps no document (migration 6): its `orders` row lists the events that
//! make it up (`event_refs`), and an event that reaches it later (a refund, a line relayed
//! late) has it rebuilt by folding those events again from the event log before its own.
//! Most orders open and close within one push, so most are never stored as documents at
//! all: the documents were the largest rows an ingest wrote.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Transaction;
use thorbis_domain::admit::{Quarantine, approvers, other_orders};
use thorbis_domain::authority::Author;
use thorbis_domain::catalog::Staff;
use thorbis_domain::command::ReadError;
use thorbis_domain::drawer::DrawerSession;
use thorbis_domain::fold::Versioned;
use thorbis_domain::order::{Order, OrderStatus, Totals};
use thorbis_domain::stock::StockLevel;
use thorbis_domain::work_order::WorkOrder;
use thorbis_domain::{Aggregate, DomainEvent, EventMeta, Projections, Relation, project};
use thorbis_sync_protocol::{DeviceId, EventId, Hlc};
use uuid::Uuid;

use crate::db::Wire;

mod admission;

/// Records the aggregates a fold would touch, without folding.
#[derive(Debug, Default)]
pub struct Touched(pub BTreeSet<(&'static str, Uuid)>);

impl Projections for Touched {
    type Error = std::convert::Infallible;

    fn update<A: Aggregate>(
        &mut self,
        id: Uuid,
        _f: impl FnOnce(&mut A),
    ) -> Result<(), Self::Error> {
        self.0.insert((A::KIND, id));
        Ok(())
    }

    fn link(&mut self, _relation: Relation, _from: Uuid, _to: Uuid) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// An aggregate as loaded (JSON) or as being folded (typed): each is deserialized and
/// serialized once per push, not once per event.
enum Slot {
    Stored(serde_json::Value),
    Live(Box<dyn Live>),
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Slot::Stored(v) => f.debug_tuple("Stored").field(v).finish(),
            Slot::Live(_) => f.write_str("Live(..)"),
        }
    }
}

/// An aggregate as the text stored in `aggregates.state` (a `json` column, see migration
/// 5): compact JSON but for a space after each `:` and `,`, the spacing Postgres used to
/// print when the column was `jsonb`, so text read back from the column looks as before.
fn document<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(2048);
    value.serialize(&mut serde_json::Serializer::with_formatter(&mut out, Spaced))?;
    // serde_json writes only UTF-8.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// The separators of [`document`].
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
    ) -> std::io::Result<()> {
        writer.write_all(b": ")
    }
}

/// A typed aggregate behind a box, so one map holds every kind.
trait Live {
    fn to_json(&self) -> Result<String, serde_json::Error>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<A: Aggregate> Live for A {
    // Straight to text: going through `serde_json::Value` allocated a tree per aggregate
    // and serialized it a second time when binding it (a tenth of the hub's CPU in the
    // ingest bench).
    fn to_json(&self) -> Result<String, serde_json::Error> {
        document(self)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Slot {
    /// The aggregate as `A`, deserializing it on first use.
    fn get<A: Aggregate>(&mut self) -> Result<&mut A, serde_json::Error> {
        if let Slot::Stored(value) = self {
            let aggregate: A = serde_json::from_value(std::mem::take(value))?;
            *self = Slot::Live(Box::new(aggregate));
        }
        let Slot::Live(live) = self else { unreachable!("made live just above") };
        // Keys carry `A::KIND`, so a slot only ever holds that kind's type.
        Ok(live.as_any_mut().downcast_mut::<A>().expect("one type per aggregate kind"))
    }

    /// A copy of the aggregate as `A`, for the summary rows.
    fn read<A: Aggregate>(&self) -> Result<A, serde_json::Error> {
        match self {
            Slot::Stored(value) => serde_json::from_value(value.clone()),
            Slot::Live(live) => {
                Ok(live.as_any().downcast_ref::<A>().expect("one type per aggregate kind").clone())
            }
        }
    }

    fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Slot::Stored(value) => document(value),
            Slot::Live(live) => live.to_json(),
        }
    }
}

/// Aggregates of one tenant loaded for one push, folded in memory.
#[derive(Debug, Default)]
struct Cache {
    docs: BTreeMap<(&'static str, Uuid), Slot>,
    links: BTreeSet<(&'static str, Uuid, Uuid)>,
    /// Location of the device whose event first touched each aggregate in this push.
    locations: BTreeMap<Uuid, Uuid>,
    /// Location of the device whose event is being folded.
    location: Uuid,
    /// The event being folded, recorded in [`Cache::refs`] for each order it touches.
    current: Option<EventId>,
    /// Per order, the `event_refs` (see [`push_ref`]) this push adds.
    refs: BTreeMap<Uuid, Vec<u8>>,
}

/// Bytes per entry of `orders.event_refs`: device id, then seq big-endian.
const REF_LEN: usize = 24;

/// Appends `event` to an `event_refs` list.
fn push_ref(refs: &mut Vec<u8>, event: EventId) {
    refs.extend_from_slice(&event.device_id.0);
    refs.extend_from_slice(&event.seq.to_be_bytes());
}

/// The events an `event_refs` list names, as device ids and seqs.
fn parse_refs(refs: &[u8]) -> Result<Vec<(Uuid, i64)>, ProjectionError> {
    if !refs.len().is_multiple_of(REF_LEN) {
        return Err(ProjectionError::Refs(format!("{} bytes", refs.len())));
    }
    refs.chunks_exact(REF_LEN)
        .map(|r| {
            let (device, seq) = r.split_at(16);
            let device =
                Uuid::from_slice(device).map_err(|e| ProjectionError::Refs(e.to_string()))?;
            let seq = u64::from_be_bytes(seq.try_into().expect("split at 16 of 24"));
            let seq = i64::try_from(seq).map_err(|e| ProjectionError::Refs(e.to_string()))?;
            Ok((device, seq))
        })
        .collect()
}

impl Projections for Cache {
    type Error = serde_json::Error;

    fn update<A: Aggregate>(
        &mut self,
        id: Uuid,
        f: impl FnOnce(&mut A),
    ) -> Result<(), Self::Error> {
        let slot =
            self.docs.entry((A::KIND, id)).or_insert_with(|| Slot::Live(Box::new(A::default())));
        f(slot.get::<A>()?);
        self.locations.entry(id).or_insert(self.location);
        if A::KIND == Order::KIND
            && let Some(event) = self.current
        {
            push_ref(self.refs.entry(id).or_default(), event);
        }
        Ok(())
    }

    fn link(&mut self, relation: Relation, from: Uuid, to: Uuid) -> Result<(), Self::Error> {
        self.links.insert((relation.as_str(), from, to));
        Ok(())
    }
}

/// Why projecting failed. Always internal: events were verified and decoded before.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// Postgres said no.
    #[error("projection query failed: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// A stored aggregate no longer deserializes.
    #[error("stored aggregate does not deserialize: {0}")]
    Json(#[from] serde_json::Error),
    /// An `orders.event_refs` list is malformed or names an event the log does not hold.
    #[error("order event references are broken: {0}")]
    Refs(String),
    /// A stored event an order is rebuilt from no longer decodes.
    #[error("stored event does not decode: {0}")]
    Event(#[from] thorbis_domain::events::PayloadError),
    /// Reading state for admission failed.
    #[error("reading state for admission failed: {0}")]
    Read(#[from] ReadError),
}

/// One decoded event to fold, with the location of its device.
#[derive(Debug)]
pub struct ToFold {
    /// Its place in the total order.
    pub meta: EventMeta,
    /// The event.
    pub event: DomainEvent,
    /// The location of the device that wrote it.
    pub location: Uuid,
    /// Who wrote it, as [`thorbis_domain::admit::admit_by`] passed it: the state checks
    /// of admission run as it is folded.
    pub author: Author,
    /// When the hub first stored it, if before this fold (a fact admitted again after it
    /// waited); `None` for one stored now.
    pub received_ms: Option<u64>,
}

/// The ids of every aggregate `events` fold into: what facts waiting for them may need.
#[must_use]
pub fn touched_ids(events: &[ToFold]) -> BTreeSet<Uuid> {
    let mut touched = Touched::default();
    for e in events {
        let Ok(()) = project(&mut touched, &e.meta, &e.event);
    }
    touched.0.into_iter().map(|(_, id)| id).collect()
}

/// Admits `events` against `tenant`'s state (see [`admission`]) and folds those that pass
/// into its projections inside `tx`, at `now`; returns those that did not, and why.
pub async fn fold(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    events: &[ToFold],
    now: u64,
) -> Result<Vec<(EventId, Quarantine)>, ProjectionError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut touched = Touched::default();
    for e in events {
        let Ok(()) = project(&mut touched, &e.meta, &e.event);
        // Admission reads the staff a fact names as approvers, and the other check of a
        // move, a merge or a stock sale.
        for staff in approvers(&e.event) {
            touched.0.insert((<Versioned<Staff> as Aggregate>::KIND, staff.0));
        }
        for order in other_orders(&e.event) {
            touched.0.insert((Order::KIND, order.0));
        }
    }
    let kinds: Vec<&str> = touched.0.iter().map(|(k, _)| *k).collect();
    let ids: Vec<Uuid> = touched.0.iter().map(|(_, id)| *id).collect();
    // Two pushes folding the same aggregate (two terminals selling one item, paying into
    // one drawer) must not both start from the same stored state, or the later commit
    // overwrites the earlier one's facts. A transaction-scoped lock per aggregate key,
    // taken before the load, serializes them: the second loads what the first committed.
    // Keys are locked in one order (the sorted set's), so two folds cannot deadlock; a
    // lock on a key whose row does not exist yet covers two pushes creating it at once. (A
    // push that then admits waiting facts folds a second time and takes their keys after
    // its own: Postgres breaks the rare deadlock that allows by failing one push, which its
    // device sends again.)
    tx.execute(
        &tx.prepare_cached(
            "SELECT pg_advisory_xact_lock(
                        hashtextextended($1::uuid::text || '/' || k.kind || '/' || k.id::text, 0))
               FROM unnest($2::text[], $3::uuid[]) AS k(kind, id)",
        )
        .await?,
        &[&tenant, &kinds, &ids],
    )
    .await?;
    // One primary-key probe per touched aggregate, and per order one on `orders` for its
    // event list. `OFFSET 0` keeps each lookup a lateral subquery: flattened into a join,
    // the generic plan of this prepared statement hashed the keys and scanned the tenant's
    // whole table on every push (an eighth of the database's time in the ingest bench,
    // growing with the table).
    let rows = tx
        .query(
            &tx.prepare_cached(
                "SELECT k.kind, k.id, a.state, o.refs, o.found
                   FROM unnest($2::text[], $3::uuid[]) AS k(kind, id)
                   LEFT JOIN LATERAL (SELECT state FROM aggregates
                                       WHERE tenant_id = $1 AND kind = k.kind AND id = k.id
                                      OFFSET 0) AS a ON true
                   LEFT JOIN LATERAL (SELECT event_refs AS refs, true AS found FROM orders
                                       WHERE k.kind = 'order' AND tenant_id = $1
                                         AND order_id = k.id
                                      OFFSET 0) AS o ON true
                  WHERE a.state IS NOT NULL OR o.found",
            )
            .await?,
            &[&tenant, &kinds, &ids],
        )
        .await?;
    let mut loaded = Loaded::default();
    let mut history_refs = Vec::new();
    for row in &rows {
        let (kind, id): (String, Uuid) = (row.get(0), row.get(1));
        let state: Option<serde_json::Value> = row.get(2);
        let refs: Option<&[u8]> = row.get(3);
        let found = row.get::<_, Option<bool>>(4).unwrap_or(false);
        let Some(&(kind, _)) = touched.0.iter().find(|(k, _)| *k == kind) else { continue };
        if kind == Order::KIND && found {
            loaded.stored_orders.push(id);
            match (refs, &state) {
                (None, _) => {
                    loaded.refs_unknown.insert(id);
                }
                // A closed order: no document, its events are folded again.
                (Some(refs), None) => {
                    history_refs.extend(parse_refs(refs)?.into_iter().map(|(d, s)| (id, d, s)));
                }
                (Some(_), Some(_)) => {}
            }
        }
        if let Some(state) = state {
            loaded.docs.push((kind, id, state));
        }
    }
    if !history_refs.is_empty() {
        loaded.history = history(tx, tenant, &history_refs).await?;
    }
    let known = admission::Known::load(tx, tenant, &loaded, events, now).await?;
    // The typed cache is not `Send`, so folding happens in a plain function between awaits.
    let (folded, quarantined) = fold_in_memory(loaded, events, &known)?;
    write(tx, wire, tenant, &folded).await?;
    Ok(quarantined)
}

/// The stored events `refs` (order, device, seq) name, decoded, each with its order.
async fn history(
    tx: &Transaction<'_>,
    tenant: Uuid,
    refs: &[(Uuid, Uuid, i64)],
) -> Result<Vec<(Uuid, EventMeta, DomainEvent)>, ProjectionError> {
    let orders: Vec<Uuid> = refs.iter().map(|r| r.0).collect();
    let devices: Vec<Uuid> = refs.iter().map(|r| r.1).collect();
    let seqs: Vec<i64> = refs.iter().map(|r| r.2).collect();
    let rows = tx
        .query(
            &tx.prepare_cached(
                "SELECT r.order_id, r.device_id, r.seq, e.hlc_wall_ms, e.hlc_counter, e.kind,
                        e.payload
                   FROM unnest($2::uuid[], $3::uuid[], $4::bigint[]) AS r(order_id, device_id, seq)
                  CROSS JOIN LATERAL (SELECT hlc_wall_ms, hlc_counter, kind, payload FROM events
                                       WHERE tenant_id = $1 AND device_id = r.device_id
                                         AND seq = r.seq
                                      OFFSET 0) AS e",
            )
            .await?,
            &[&tenant, &orders, &devices, &seqs],
        )
        .await?;
    if rows.len() != refs.len() {
        return Err(ProjectionError::Refs(format!(
            "{} of {} referenced events are stored",
            rows.len(),
            refs.len()
        )));
    }
    rows.iter()
        .map(|row| {
            let device: Uuid = row.get(1);
            let meta = EventMeta {
                hlc: Hlc {
                    wall_ms: row.get::<_, i64>(3) as u64,
                    counter: row.get::<_, i64>(4) as u32,
                },
                id: EventId {
                    device_id: DeviceId::from_bytes(device.into_bytes()),
                    seq: row.get::<_, i64>(2) as u64,
                },
            };
            let event = DomainEvent::decode(row.get(5), row.get(6))?.ok_or_else(|| {
                ProjectionError::Refs(format!("event {} is of no folded kind", meta.id))
            })?;
            Ok((row.get(0), meta, event))
        })
        .collect()
}

/// What was stored of the aggregates a push touches.
#[derive(Debug, Default)]
struct Loaded {
    /// Stored documents.
    docs: Vec<(&'static str, Uuid, serde_json::Value)>,
    /// Orders with an `orders` row: only they can have lines to replace.
    stored_orders: Vec<Uuid>,
    /// Orders whose event list is not known (written before migration 6): they keep
    /// their document even when closed.
    refs_unknown: BTreeSet<Uuid>,
    /// The events of closed orders without a document, to fold again.
    history: Vec<(Uuid, EventMeta, DomainEvent)>,
}

/// What one push's fold produced, ready to write.
#[derive(Debug, Default)]
struct Folded {
    /// Kind, id and the aggregate as JSON text.
    docs: Vec<(&'static str, Uuid, String)>,
    /// Order documents to delete: the order closed, its event list stands in for them.
    dropped: Vec<Uuid>,
    links: BTreeSet<(&'static str, Uuid, Uuid)>,
    locations: BTreeMap<Uuid, Uuid>,
    /// Each order with its totals, computed once for `orders` and `order_lines`.
    orders: Vec<(Uuid, Order, Totals)>,
    /// Per order, the `event_refs` to append.
    refs: BTreeMap<Uuid, Vec<u8>>,
    /// Orders that were stored before this push: only they can have lines to replace.
    stored_orders: Vec<Uuid>,
    drawers: Vec<(Uuid, DrawerSession)>,
    stock: Vec<(Uuid, StockLevel)>,
    work_orders: Vec<(Uuid, WorkOrder)>,
}

type Quarantined = Vec<(EventId, Quarantine)>;

fn fold_in_memory(
    loaded: Loaded,
    events: &[ToFold],
    known: &admission::Known,
) -> Result<(Folded, Quarantined), ProjectionError> {
    let mut cache = Cache::default();
    let mut had_doc = BTreeSet::new();
    for (kind, id, state) in loaded.docs {
        had_doc.insert((kind, id));
        cache.docs.insert((kind, id), Slot::Stored(state));
    }
    // A closed order's own events first, into that order only (the other aggregates they
    // touched, a drawer say, already hold them).
    for (id, meta, event) in &loaded.history {
        let slot = cache
            .docs
            .entry((Order::KIND, *id))
            .or_insert_with(|| Slot::Live(Box::new(Order::default())));
        slot.get::<Order>()?.apply(*id, meta, event);
    }
    let mut quarantined = Vec::new();
    for e in events {
        if let Err(reason) = known.admit(&cache, e)? {
            quarantined.push((e.meta.id, reason));
            continue;
        }
        cache.location = e.location;
        cache.current = Some(e.meta.id);
        project(&mut cache, &e.meta, &e.event)?;
    }
    let mut folded = Folded {
        links: cache.links,
        locations: cache.locations,
        refs: cache.refs,
        stored_orders: loaded.stored_orders,
        ..Folded::default()
    };
    for ((kind, id), slot) in &cache.docs {
        if *kind == Order::KIND {
            let order = slot.read::<Order>()?;
            if order.status() == OrderStatus::Closed && !loaded.refs_unknown.contains(id) {
                if had_doc.contains(&(*kind, *id)) {
                    folded.dropped.push(*id);
                }
            } else {
                folded.docs.push((kind, *id, slot.to_json()?));
            }
            let totals = order.totals();
            folded.orders.push((*id, order, totals));
            continue;
        }
        folded.docs.push((kind, *id, slot.to_json()?));
        match *kind {
            DrawerSession::KIND => folded.drawers.push((*id, slot.read::<DrawerSession>()?)),
            StockLevel::KIND => folded.stock.push((*id, slot.read::<StockLevel>()?)),
            WorkOrder::KIND => folded.work_orders.push((*id, slot.read::<WorkOrder>()?)),
            _ => {}
        }
    }
    Ok((folded, quarantined))
}

/// Writes the folded documents back and refreshes the summary rows in a handful of
/// statements per push whatever its size (columns as arrays through `unnest`). Writing a
/// row at a time made round trips the bottleneck: the ingest bench went from about 13,000
/// to about 27,000 events/s with this. The `unnest` calls sit in the select list, where
/// Postgres steps through the arrays in lockstep; in `FROM` it first copies every row
/// into a tuplestore (a fifth more time per statement). Each takes the tenant id from the
/// tenant's own row (`FROM tenants t ... WHERE t.tenant_id = $1`, one index probe) rather
/// than from the parameter: on Citus an `INSERT ... SELECT` from the tenant's shard runs
/// on that shard, where one selecting from nothing but arrays is sent as a `COPY`, which
/// Postgres refuses under row-level security. The statements touch different
/// tables, so they are pipelined on the transaction's connection rather than waiting for
/// each other's replies (Postgres still runs them one after another, in the order they were
/// sent; an error in one aborts the transaction and is returned).
async fn write(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    folded: &Folded,
) -> Result<(), ProjectionError> {
    tokio::try_join!(
        write_aggregates(tx, tenant, folded),
        write_orders(tx, wire, tenant, folded),
        write_order_details(tx, tenant, &folded.orders, &folded.stored_orders),
        write_drawers_and_stock(tx, tenant, &folded.drawers, &folded.stock),
        async {
            crate::dispatch::write_summaries(tx, tenant, &folded.work_orders)
                .await
                .map_err(ProjectionError::from)
        },
    )?;
    Ok(())
}

async fn write_aggregates(
    tx: &Transaction<'_>,
    tenant: Uuid,
    folded: &Folded,
) -> Result<(), ProjectionError> {
    if !folded.docs.is_empty() {
        let kinds: Vec<&str> = folded.docs.iter().map(|d| d.0).collect();
        let ids: Vec<Uuid> = folded.docs.iter().map(|d| d.1).collect();
        let states: Vec<&str> = folded.docs.iter().map(|d| d.2.as_str()).collect();
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO aggregates (tenant_id, kind, id, state)
             SELECT t.tenant_id, u.kind, u.id, u.state::json FROM tenants t,
             (SELECT unnest($2::text[]), unnest($3::uuid[]), unnest($4::text[]))
                 AS u(kind, id, state)
              WHERE t.tenant_id = $1
             ON CONFLICT (tenant_id, kind, id) DO UPDATE SET state = EXCLUDED.state",
            )
            .await?,
            &[&tenant, &kinds, &ids, &states],
        )
        .await?;
    }
    if !folded.dropped.is_empty() {
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM aggregates WHERE tenant_id = $1 AND kind = 'order' AND id = ANY($2)",
            )
            .await?,
            &[&tenant, &folded.dropped],
        )
        .await?;
    }
    if !folded.links.is_empty() {
        let relations: Vec<&str> = folded.links.iter().map(|l| l.0).collect();
        let from: Vec<Uuid> = folded.links.iter().map(|l| l.1).collect();
        let to: Vec<Uuid> = folded.links.iter().map(|l| l.2).collect();
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO aggregate_links (tenant_id, relation, from_id, to_id)
             SELECT t.tenant_id, u.* FROM tenants t,
             (SELECT unnest($2::text[]), unnest($3::uuid[]), unnest($4::uuid[]))
                 AS u(relation, from_id, to_id)
              WHERE t.tenant_id = $1
             ON CONFLICT DO NOTHING",
            )
            .await?,
            &[&tenant, &relations, &from, &to],
        )
        .await?;
    }
    Ok(())
}

async fn write_orders(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    folded: &Folded,
) -> Result<(), ProjectionError> {
    // An order first stored by this push gets a plain insert: its key is locked (see
    // `fold`) and was not found after the lock was taken, so nothing can conflict, and
    // `ON CONFLICT` costs every row a speculative insertion. Most pushes have no others.
    let (stored, new): (Vec<_>, Vec<_>) =
        folded.orders.iter().partition(|(id, ..)| folded.stored_orders.contains(id));
    tokio::try_join!(
        write_order_rows(tx, wire, tenant, folded, &new, false),
        write_order_rows(tx, wire, tenant, folded, &stored, true),
    )?;
    Ok(())
}

/// The `orders` rows of `orders`: inserted, or with `upsert` updated where they exist.
async fn write_order_rows(
    tx: &Transaction<'_>,
    wire: Wire,
    tenant: Uuid,
    folded: &Folded,
    orders: &[&(Uuid, Order, Totals)],
    upsert: bool,
) -> Result<(), ProjectionError> {
    const INSERT: &str = "INSERT INTO orders (tenant_id, order_id, location_id, status, currency,
             subtotal, discounts, comps, voids, net, tax, total, paid, tips, refunded, balance,
             opened_at_ms, closed_at_ms, event_refs)
         SELECT t.tenant_id, u.order_id, u.location_id, u.status, u.currency, u.subtotal,
                u.discounts, u.comps, u.voids, u.net, u.tax, u.total, u.paid, u.tips,
                u.refunded, u.balance, u.opened_at_ms, u.closed_at_ms, {refs}
           FROM tenants t,
             (SELECT unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::text[]),
             unnest($5::text[]), unnest($6::bigint[]), unnest($7::bigint[]),
             unnest($8::bigint[]), unnest($9::bigint[]), unnest($10::bigint[]),
             unnest($11::bigint[]), unnest($12::bigint[]), unnest($13::bigint[]),
             unnest($14::bigint[]), unnest($15::bigint[]), unnest($16::bigint[]),
             unnest($17::bigint[]), unnest($18::bigint[]), unnest({array}))
             AS u(order_id, location_id, status, currency, subtotal, discounts, comps,
                  voids, net, tax, total, paid, tips, refunded, balance, opened_at_ms,
                  closed_at_ms, event_refs)
          WHERE t.tenant_id = $1";
    const UPSERT: &str = "
         ON CONFLICT (tenant_id, order_id) DO UPDATE SET
             -- NULL (not known, see migration 6) stays NULL: || is strict.
             event_refs = orders.event_refs || EXCLUDED.event_refs,
             location_id = COALESCE(orders.location_id, EXCLUDED.location_id),
             status = EXCLUDED.status, currency = EXCLUDED.currency, subtotal = EXCLUDED.subtotal,
             discounts = EXCLUDED.discounts, comps = EXCLUDED.comps, voids = EXCLUDED.voids,
             net = EXCLUDED.net, tax = EXCLUDED.tax, total = EXCLUDED.total, paid = EXCLUDED.paid,
             tips = EXCLUDED.tips, refunded = EXCLUDED.refunded, balance = EXCLUDED.balance,
             opened_at_ms = EXCLUDED.opened_at_ms, closed_at_ms = EXCLUDED.closed_at_ms";
    if orders.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = orders.iter().map(|(id, ..)| *id).collect();
    let locations: Vec<Option<Uuid>> =
        ids.iter().map(|id| folded.locations.get(id).copied()).collect();
    // Every order here was touched by a new event, so each has references to add.
    let refs =
        wire.column(ids.iter().map(|id| Some(folded.refs.get(id).map_or(&[][..], Vec::as_slice))));
    let statuses: Vec<&str> = orders
        .iter()
        .map(|(_, o, _)| match o.status() {
            OrderStatus::Unknown => "unknown",
            OrderStatus::Open => "open",
            OrderStatus::Closed => "closed",
        })
        .collect();
    let currencies: Vec<Option<String>> =
        orders.iter().map(|(_, o, _)| o.currency().map(|c| c.code().to_owned())).collect();
    let column =
        |f: fn(&Totals) -> i64| -> Vec<i64> { orders.iter().map(|(.., t)| f(t)).collect() };
    let opened: Vec<Option<i64>> = orders
        .iter()
        .map(|(_, o, _)| o.opened.as_ref().map(|s| s.meta.hlc.wall_ms as i64))
        .collect();
    let closed: Vec<Option<i64>> = orders
        .iter()
        .map(|(_, o, _)| o.closed.as_ref().map(|s| s.meta.hlc.wall_ms as i64))
        .collect();
    let insert =
        INSERT.replace("{refs}", &wire.bytes("u.event_refs")).replace("{array}", &wire.array(19));
    let statement = tx.prepare_cached(&if upsert { insert + UPSERT } else { insert }).await?;
    tx.execute(
        &statement,
        &[
            &tenant,
            &ids,
            &locations,
            &statuses,
            &currencies,
            &column(|t| t.subtotal.0),
            &column(|t| t.discounts.0),
            &column(|t| t.comps.0),
            &column(|t| t.voids.0),
            &column(|t| t.net.0),
            &column(|t| t.tax.inclusive.0 + t.tax.exclusive.0),
            &column(|t| t.total.0),
            &column(|t| t.paid.0),
            &column(|t| t.tips.0),
            &column(|t| t.refunded.0),
            &column(|t| t.balance.0),
            &opened,
            &closed,
            refs.param(),
        ],
    )
    .await?;
    Ok(())
}

/// Lines (replaced wholesale: voids and discounts change earlier lines' figures) and
/// payments of the orders touched. Lines are written only with their order's document, in
/// the same transaction, so an order first stored by this push has none to delete.
async fn write_order_details(
    tx: &Transaction<'_>,
    tenant: Uuid,
    orders: &[(Uuid, Order, Totals)],
    stored: &[Uuid],
) -> Result<(), ProjectionError> {
    if orders.is_empty() {
        return Ok(());
    }
    if !stored.is_empty() {
        tx.execute(
            &tx.prepare_cached(
                "DELETE FROM order_lines WHERE tenant_id = $1 AND order_id = ANY($2)",
            )
            .await?,
            &[&tenant, &stored],
        )
        .await?;
    }
    let (mut order, mut line, mut position, mut item, mut name, mut qty) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut gross, mut line_discount, mut order_discount, mut comp, mut net, mut voided) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut pay_id, mut pay_order, mut tender, mut amount, mut tip, mut session, mut taken) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut taken_by = Vec::new();
    for (id, o, totals) in orders {
        // `totals().lines` follows `lines_in_order()`, so the two zip line for line.
        for (i, (t, added)) in totals.lines.iter().zip(o.lines_in_order()).enumerate() {
            order.push(*id);
            line.push(t.line_id.0);
            position.push(i as i32);
            item.push(added.value.item_id.0);
            name.push(added.value.name.as_str());
            qty.push(added.value.qty.0);
            gross.push(t.gross.0);
            line_discount.push(t.line_discount.0);
            order_discount.push(t.order_discount.0);
            comp.push(t.comp.0);
            net.push(t.net.0);
            voided.push(t.voided);
        }
        for (payment_id, p) in &o.payments {
            pay_id.push(payment_id.0);
            pay_order.push(*id);
            tender.push(p.value.tender.label());
            amount.push(p.value.amount.0);
            tip.push(p.value.tip.0);
            session.push(p.value.drawer_session.map(|s| s.0));
            taken.push(p.meta.hlc.wall_ms as i64);
            taken_by.push(p.value.taken_by.map(|s| s.0));
        }
    }
    tx.execute(
        &tx.prepare_cached("INSERT INTO order_lines (tenant_id, order_id, line_id, position, item_id, name, qty_milli,
             gross, line_discount, order_discount, comp, net, voided)
         SELECT t.tenant_id, u.* FROM tenants t,
             (SELECT unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::int[]),
             unnest($5::uuid[]), unnest($6::text[]), unnest($7::bigint[]), unnest($8::bigint[]),
             unnest($9::bigint[]), unnest($10::bigint[]), unnest($11::bigint[]),
             unnest($12::bigint[]), unnest($13::bool[]))
             AS u(order_id, line_id, position, item_id, name, qty_milli, gross,
                  line_discount, order_discount, comp, net, voided)
          WHERE t.tenant_id = $1").await?,
        &[
            &tenant,
            &order,
            &line,
            &position,
            &item,
            &name,
            &qty,
            &gross,
            &line_discount,
            &order_discount,
            &comp,
            &net,
            &voided,
        ],
    )
    .await?;
    tx.execute(
        &tx.prepare_cached(
            "INSERT INTO payments (tenant_id, payment_id, order_id, tender, amount, tip,
             drawer_session_id, taken_at_ms, taken_by)
         SELECT t.tenant_id, u.* FROM tenants t,
             (SELECT unnest($2::uuid[]), unnest($3::uuid[]), unnest($4::text[]),
             unnest($5::bigint[]), unnest($6::bigint[]), unnest($7::uuid[]),
             unnest($8::bigint[]), unnest($9::uuid[]))
             AS u(payment_id, order_id, tender, amount, tip, drawer_session_id,
                  taken_at_ms, taken_by)
          WHERE t.tenant_id = $1
         ON CONFLICT (tenant_id, payment_id) DO NOTHING",
        )
        .await?,
        &[&tenant, &pay_id, &pay_order, &tender, &amount, &tip, &session, &taken, &taken_by],
    )
    .await?;
    Ok(())
}

async fn write_drawers_and_stock(
    tx: &Transaction<'_>,
    tenant: Uuid,
    drawers: &[(Uuid, DrawerSession)],
    stock: &[(Uuid, StockLevel)],
) -> Result<(), ProjectionError> {
    if !drawers.is_empty() {
        let ids: Vec<Uuid> = drawers.iter().map(|(id, _)| *id).collect();
        let currency: Vec<Option<String>> =
            drawers.iter().map(|(_, d)| d.currency().map(|c| c.code().to_owned())).collect();
        let open: Vec<bool> = drawers.iter().map(|(_, d)| d.is_open()).collect();
        let float: Vec<i64> =
            drawers.iter().map(|(_, d)| d.opened.as_ref().map_or(0, |o| o.value.float.0)).collect();
        let expected: Vec<i64> = drawers.iter().map(|(_, d)| d.expected_cash().0).collect();
        let counted: Vec<Option<i64>> =
            drawers.iter().map(|(_, d)| d.count.as_ref().map(|c| c.value.counted.0)).collect();
        let paid_in: Vec<i64> = drawers.iter().map(|(_, d)| d.paid_in.0).collect();
        let paid_out: Vec<i64> = drawers.iter().map(|(_, d)| d.paid_out.0).collect();
        let no_sales: Vec<i32> = drawers.iter().map(|(_, d)| d.no_sales as i32).collect();
        let device: Vec<Option<Uuid>> = drawers
            .iter()
            .map(|(_, d)| d.opened.as_ref().map(|o| Uuid::from_bytes(o.meta.id.device_id.0)))
            .collect();
        let at = |s: Option<EventMeta>| s.map(|m| m.hlc.wall_ms as i64);
        let opened_at: Vec<Option<i64>> =
            drawers.iter().map(|(_, d)| at(d.opened.as_ref().map(|o| o.meta))).collect();
        let closed_at: Vec<Option<i64>> =
            drawers.iter().map(|(_, d)| at(d.closed.as_ref().map(|c| c.meta))).collect();
        let opened_by: Vec<Option<Uuid>> = drawers
            .iter()
            .map(|(_, d)| d.opened.as_ref().and_then(|o| o.value.opened_by).map(|s| s.0))
            .collect();
        let closed_by: Vec<Option<Uuid>> = drawers
            .iter()
            .map(|(_, d)| d.closed.as_ref().and_then(|c| c.value.by).map(|s| s.0))
            .collect();
        let z_report: Vec<Option<String>> = drawers
            .iter()
            .map(|(_, d)| d.z_report.as_ref().map(|z| document(&z.value.report)).transpose())
            .collect::<Result<_, _>>()?;
        tx.execute(
            &tx.prepare_cached("INSERT INTO drawer_sessions (tenant_id, session_id, currency, open, float_amount,
                 expected_cash, counted, paid_in, paid_out, no_sales, device_id, opened_at_ms,
                 closed_at_ms, opened_by, closed_by, z_report)
             SELECT t.tenant_id, u.* FROM tenants t,
             (SELECT unnest($2::uuid[]), unnest($3::text[]), unnest($4::bool[]),
                 unnest($5::bigint[]), unnest($6::bigint[]), unnest($7::bigint[]),
                 unnest($8::bigint[]), unnest($9::bigint[]), unnest($10::int[]),
                 unnest($11::uuid[]), unnest($12::bigint[]), unnest($13::bigint[]),
                 unnest($14::uuid[]), unnest($15::uuid[]), unnest($16::text[])::json)
                 AS u(session_id, currency, open, float_amount, expected_cash, counted,
                      paid_in, paid_out, no_sales, device_id, opened_at_ms, closed_at_ms,
                      opened_by, closed_by, z_report)
              WHERE t.tenant_id = $1
             ON CONFLICT (tenant_id, session_id) DO UPDATE SET currency = EXCLUDED.currency,
                 open = EXCLUDED.open, float_amount = EXCLUDED.float_amount,
                 expected_cash = EXCLUDED.expected_cash, counted = EXCLUDED.counted,
                 paid_in = EXCLUDED.paid_in, paid_out = EXCLUDED.paid_out, no_sales = EXCLUDED.no_sales,
                 device_id = EXCLUDED.device_id, opened_at_ms = EXCLUDED.opened_at_ms,
                 closed_at_ms = EXCLUDED.closed_at_ms, opened_by = EXCLUDED.opened_by,
                 closed_by = EXCLUDED.closed_by, z_report = EXCLUDED.z_report").await?,
            &[
                &tenant, &ids, &currency, &open, &float, &expected, &counted, &paid_in, &paid_out,
                &no_sales, &device, &opened_at, &closed_at, &opened_by, &closed_by, &z_report,
            ],
        )
        .await?;
    }
    if !stock.is_empty() {
        let ids: Vec<Uuid> = stock.iter().map(|(id, _)| *id).collect();
        let on_hand: Vec<i64> = stock.iter().map(|(_, s)| s.on_hand.0).collect();
        let movements: Vec<i64> = stock.iter().map(|(_, s)| s.movements as i64).collect();
        tx.execute(
            &tx.prepare_cached(
                "INSERT INTO stock_levels (tenant_id, item_id, on_hand_milli, movements)
             SELECT t.tenant_id, u.* FROM tenants t,
             (SELECT unnest($2::uuid[]), unnest($3::bigint[]), unnest($4::bigint[]))
                 AS u(item_id, on_hand_milli, movements)
              WHERE t.tenant_id = $1
             ON CONFLICT (tenant_id, item_id) DO UPDATE SET
                 on_hand_milli = EXCLUDED.on_hand_milli, movements = EXCLUDED.movements",
            )
            .await?,
            &[&tenant, &ids, &on_hand, &movements],
        )
        .await?;
    }
    Ok(())
}
