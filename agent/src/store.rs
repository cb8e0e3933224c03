//! The store: one SQLite file holding this terminal's identity, the signed event log of
//! every device it has heard from, and the projections folded from that log.
//!
//! Every command runs in one `IMMEDIATE` transaction: decide (check against current
//! state), append the events to this device's hash chain, fold them into the projections,
//! sign a checkpoint over the new chain tip, commit. Either all of that is on disk or none
//! of it is; a refused command writes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use thorbis_domain::catalog::Item;
use thorbis_domain::device::{Device, DeviceConfig};
use thorbis_domain::drawer::{DrawerSession, ZReport};
use thorbis_domain::events::KitchenTicket;
use thorbis_domain::fold::Versioned;
use thorbis_domain::ids::{DrawerSessionId, ItemId, OrderId, StaffId, TicketId};
use thorbis_domain::kitchen::Ticket;
use thorbis_domain::order::{Order, OrderStatus, Totals};
use thorbis_domain::stock::{Availability, StockLevel};
use thorbis_domain::{
    Command, Currency, DomainEvent, EventMeta, Policy, Qty, Relation, decide, project,
};
use thorbis_sync_protocol::{
    BlobId, ChainTip, Checkpoint, DeviceId, DeviceKey, Event, EventId, EventKind, Hash32, Hlc,
    HlcClock, PublicKey, Signature, VersionVector, verify_checkpoint, verify_links,
};
use uuid::Uuid;

use crate::checkpoint::Checkpointer;
use crate::clock::{Clock, SystemClock};
use crate::error::StoreError;
use crate::ids::{ClockedIds, IdGen};
use crate::print::{self, Decision, JobState, PrintJob, PrintRouting};
use crate::projection::{SqlState, linked, list, read};
use crate::schema;

mod admission;
mod reads;
mod remote;
mod sign_in;
pub use admission::Quarantined;
pub use remote::{Applied, Enrollment, RequestSigner, StoreKeys};
pub use sign_in::{CheckedPin, PinCheck, TechnicianPinError};

/// Bumped whenever the fold changes what it stores; a store whose projections were built
/// by another version rebuilds them from the event log when it opens.
///
/// 2: staff records (`catalog.staff_upserted`) are folded; a store built by version 1 held
/// any such events as an unknown kind, unfolded.
/// 3: device records (`device.*`, from the tenant's reference log) are folded; the key ring
/// that verifies other devices' events is read from them.
/// 4: drawer sessions keep their recorded Z report (`drawer.z_reported`).
/// 5: tickets and drawer sessions record when they finished, and tickets their order, in
/// indexed columns (`aggregates.finished_*`, `aggregates.owner`).
pub const PROJECTION_VERSION: u32 = 5;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The SQLite file; created if missing.
    pub path: PathBuf,
    /// Business limits.
    pub policy: Policy,
    /// How far ahead of this terminal's clock another device's stamps may run.
    pub max_clock_ahead_ms: u64,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Seed for id generation; `None` seeds from the operating system.
    pub id_seed: Option<u64>,
    /// Seed for a new device key; `None` generates one from the operating system.
    pub device_key_seed: Option<[u8; 32]>,
    /// Which printer gets which kitchen tickets and receipts.
    pub print: PrintRouting,
}

impl StoreConfig {
    /// Production defaults for a store at `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            policy: Policy::default(),
            max_clock_ahead_ms: 5 * 60 * 1000,
            clock: Arc::new(SystemClock),
            id_seed: None,
            device_key_seed: None,
            print: PrintRouting::default(),
        }
    }
}

/// What a successful command wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The events appended, in order.
    pub events: Vec<EventId>,
}

/// An order with its computed figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderView {
    /// Its id.
    pub id: OrderId,
    /// Its facts.
    pub order: Order,
    /// Its figures.
    pub totals: Totals,
    /// What its amounts are in: the order's currency, or the store's
    /// ([`Store::currency`]) while it has no line to say.
    pub currency: Currency,
}

/// A kitchen ticket as a screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketView {
    /// Its id.
    pub id: TicketId,
    /// The order it came from.
    pub order_id: OrderId,
    /// The table, for dine-in.
    pub table: Option<String>,
    /// Station and lines.
    pub ticket: KitchenTicket,
    /// When it was sent (the sending event's clock stamp), for age timers.
    pub sent_at: Hlc,
}

/// What [`Store::verify_log`] checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Devices whose chains are held.
    pub devices: usize,
    /// Events checked.
    pub events: u64,
    /// Checkpoint signatures verified (this device's).
    pub signatures: u64,
}

/// This terminal's durable store.
#[derive(Debug)]
pub struct Store {
    // Private: readers go through `Store`'s methods, each backed by the index it needs.
    conn: Connection,
    // Declared after `conn` so it stops after the writer closes.
    _checkpointer: Checkpointer,
    path: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
    policy: Policy,
    device_id: DeviceId,
    key: Arc<DeviceKey>,
    tip: ChainTip,
    hlc: HlcClock,
    ids: IdGen,
    print: PrintRouting,
}

impl Store {
    /// Opens (creating if needed) the store, migrates it, and loads this device's identity.
    pub fn open(config: StoreConfig) -> Result<Store, StoreError> {
        let mut conn = Connection::open(&config.path)?;
        // The store holds the device's private key: its file is the owner's alone (SQLite
        // gives the WAL and shared-memory files the same permissions).
        crate::data_dir::restrict_file(&config.path)
            .map_err(|e| StoreError::Key(format!("restricting {}: {e}", config.path.display())))?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, thorbis_migrations::AGENT)?;
        let (device_id, key) = load_or_create_identity(&conn, &config)?;
        let tip = conn
            .query_row(
                "SELECT seq, hash FROM chain_tips WHERE device_id = ?1",
                [device_id.as_bytes()],
                |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )
            .optional()?
            .map(|(seq, hash)| Ok::<_, StoreError>(ChainTip { seq, hash: hash32(&hash)? }))
            .transpose()?
            .unwrap_or(ChainTip::GENESIS);
        let last = conn.query_row(
            "SELECT hlc_wall, hlc_counter FROM chain_tips ORDER BY hlc_wall DESC, hlc_counter DESC LIMIT 1",
            [],
            |r| Ok(Hlc { wall_ms: r.get(0)?, counter: r.get(1)? }),
        ).optional()?.unwrap_or_default();
        let ids = match config.id_seed {
            Some(seed) => IdGen::new(seed),
            None => IdGen::from_os().map_err(|_| StoreError::Key("no OS randomness".into()))?,
        };
        let checkpointer = Checkpointer::start(&config.path)?;
        let mut store = Store {
            conn,
            _checkpointer: checkpointer,
            path: config.path,
            clock: config.clock,
            policy: config.policy,
            device_id,
            key: Arc::new(key),
            tip,
            hlc: HlcClock::with_last(last, config.max_clock_ahead_ms),
            ids,
            print: config.print,
        };
        let built: Option<String> = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'projection_version'", [], |r| r.get(0))
            .optional()?;
        if built.as_deref() != Some(PROJECTION_VERSION.to_string().as_str()) {
            tracing::info!(?built, PROJECTION_VERSION, "rebuilding projections from the event log");
            store.rebuild_projections()?;
        }
        Ok(store)
    }

    /// The file this store lives in.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The blob folder beside this store (photos, drawn signatures and files of work
    /// orders). Its IO runs outside the store's lock: take it, release, then read or write.
    #[must_use]
    pub fn blobs(&self) -> crate::blobs::BlobStore {
        crate::blobs::BlobStore::beside(&self.path)
    }

    /// Whether the hub has confirmed holding the blob `id` in full.
    pub fn blob_uploaded(&self, id: BlobId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM blob_uploads WHERE blob = ?1")?
            .exists([id.to_string()])?)
    }

    /// Records that the hub holds the blob `id` in full.
    pub fn mark_blob_uploaded(&self, id: BlobId) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO blob_uploads (blob, uploaded_at_ms) VALUES (?1, ?2)",
            rusqlite::params![
                id.to_string(),
                i64::try_from(self.clock.now_ms()).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    /// This terminal's device id.
    #[must_use]
    pub fn device_id(&self) -> DeviceId {
        self.device_id
    }

    /// This terminal's public key.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// The head of this device's own chain.
    #[must_use]
    pub fn tip(&self) -> ChainTip {
        self.tip
    }

    /// A fresh UUIDv7 for a new order, line, payment...
    pub fn new_id(&mut self) -> Uuid {
        self.ids.uuid_at(self.clock.now_ms())
    }

    /// Runs one command in its own transaction.
    pub fn execute(&mut self, command: &Command) -> Result<Committed, StoreError> {
        self.execute_all(std::slice::from_ref(command))
    }

    /// Runs several commands in one transaction: all of them are recorded, or none (the
    /// first refusal rolls everything back). A register completing a sale uses this, so a
    /// sale is never half on disk.
    pub fn execute_all(&mut self, commands: &[Command]) -> Result<Committed, StoreError> {
        let now = self.clock.now_ms();
        // Work on copies so a refusal leaves the in-memory chain, clock and id stream as
        // they were, matching the rolled-back database.
        let mut hlc = self.hlc.clone();
        let mut ids = self.ids.clone();
        let mut tip = self.tip;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut state = SqlState::new(&tx);
        let mut appended: Vec<(Event, Hash32)> = Vec::new();
        let mut print_jobs = Vec::new();
        for command in commands {
            let mut source = ClockedIds { ids: &mut ids, clock: &*self.clock };
            for domain_event in decide(command, &state, &self.policy, &mut source)? {
                print_jobs.extend(print::jobs_for(&domain_event, &self.print));
                let event = Event {
                    device_id: self.device_id,
                    seq: tip.next_seq(),
                    hlc: hlc.tick(now),
                    prev_hash: tip.hash,
                    kind: EventKind::new(domain_event.kind())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    payload: domain_event.encode_payload(),
                };
                project(&mut state, &EventMeta { hlc: event.hlc, id: event.id() }, &domain_event)?;
                let hash = event.hash();
                tip = ChainTip { seq: event.seq, hash };
                appended.push((event, hash));
            }
        }
        let Some((last, _)) = appended.last() else {
            return Ok(Committed { events: Vec::new() });
        };
        let last_hlc = last.hlc;
        state.flush()?;
        drop(state);
        let checkpoint = self.key.sign_checkpoint(self.device_id, tip);
        {
            let mut insert = tx.prepare_cached(INSERT_EVENT)?;
            let count = appended.len();
            for (i, (event, hash)) in appended.iter().enumerate() {
                let signature = (i + 1 == count).then_some(&checkpoint.signature.0[..]);
                insert_event(&mut insert, event, hash, signature, now)?;
            }
        }
        set_tip(&tx, self.device_id, tip, last_hlc)?;
        for (printer, station, document) in &print_jobs {
            let id = ids.uuid_at(now);
            print::insert_job(&tx, id, printer, station.as_deref(), document, None, now)?;
        }
        tx.commit()?;
        self.hlc = hlc;
        self.ids = ids;
        self.tip = tip;
        Ok(Committed { events: appended.into_iter().map(|(e, _)| e.id()).collect() })
    }

    /// Routes the tickets and receipts of commands from now on (e.g. to the printers of
    /// the device configuration, read after opening).
    pub fn set_print_routing(&mut self, routing: PrintRouting) {
        self.print = routing;
    }

    /// Print jobs in any of `states`, oldest first.
    pub fn print_jobs(&self, states: &[JobState]) -> Result<Vec<PrintJob>, StoreError> {
        print::jobs(&self.conn, None, states)
    }

    /// Held and uncertain jobs, waiting for a person to print or discard them, oldest first.
    pub fn print_jobs_waiting(&self) -> Result<Vec<PrintJob>, StoreError> {
        print::waiting_jobs(&self.conn)
    }

    /// Queues a copy of a job (marked as a copy when printed). Returns the new job's id.
    pub fn reprint(&mut self, job_id: Uuid) -> Result<Uuid, StoreError> {
        let original = print::job(&self.conn, job_id)?
            .ok_or_else(|| StoreError::NotFound(format!("print job {job_id}")))?;
        let now = self.clock.now_ms();
        let id = self.ids.uuid_at(now);
        queue_copy(&self.conn, &original, id, now)?;
        Ok(id)
    }

    /// Settles a held or uncertain job for `by` (recorded, see [`PrintDecision`]): print it
    /// (an uncertain one as a copy, since part of it came out already) or discard it. The
    /// decision and its record are one transaction.
    pub fn decide_print_job(
        &mut self,
        job_id: Uuid,
        decision: Decision,
        by: StaffId,
    ) -> Result<(), StoreError> {
        let job = print::job(&self.conn, job_id)?
            .ok_or_else(|| StoreError::NotFound(format!("print job {job_id}")))?;
        let was = match job.state {
            JobState::Held => "held",
            JobState::Uncertain => "uncertain",
            other => {
                return Err(StoreError::Conflict(format!(
                    "print job {job_id} is {other:?}, not waiting for a decision"
                )));
            }
        };
        let now = self.clock.now_ms();
        let copy_id = self.ids.uuid_at(now);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO print_decisions (job_id, decision, was, staff_id, decided_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                job_id.as_bytes(),
                match decision {
                    Decision::Print => "print",
                    Decision::Discard => "discard",
                },
                was,
                by.0.as_bytes(),
                now
            ],
        )?;
        match decision {
            Decision::Discard => {
                print::set_state(&tx, job_id, JobState::Discarded, None, None, now)?;
            }
            Decision::Print if job.state == JobState::Held => {
                // Never sent: it can go out as the original, and must not go stale again.
                tx.execute(
                    "UPDATE print_jobs SET state = 'queued', created_ms = ?2, updated_ms = ?2 WHERE job_id = ?1",
                    params![job_id.as_bytes(), now],
                )?;
            }
            Decision::Print => {
                print::set_state(
                    &tx,
                    job_id,
                    JobState::Discarded,
                    None,
                    Some("reprinted as a copy"),
                    now,
                )?;
                queue_copy(&tx, &job, copy_id, now)?;
            }
        }
        tx.commit()?;
        tracing::info!(job = %job_id, ?decision, staff = %by, "print job decided");
        Ok(())
    }

    /// The latest decisions about held and uncertain jobs, newest first.
    pub fn print_decisions(&self, limit: u32) -> Result<Vec<PrintDecision>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT job_id, decision, was, staff_id, decided_ms FROM print_decisions
             INDEXED BY print_decisions_recent ORDER BY decided_ms DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, u64>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (job, decision, was, staff, decided_ms) = row?;
            let uuid = |bytes: Vec<u8>| {
                Uuid::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
            };
            Ok(PrintDecision {
                job_id: uuid(job)?,
                decision: if decision == "print" { Decision::Print } else { Decision::Discard },
                was_uncertain: was == "uncertain",
                by: StaffId(uuid(staff)?),
                decided_ms,
            })
        })
        .collect()
    }

    /// An order with its figures.
    pub fn order(&self, id: OrderId) -> Result<Option<OrderView>, StoreError> {
        let currency = self.currency()?;
        Ok(read::<Order>(&self.conn, id.0)?.map(|order| view(id.0, order, currency)))
    }

    /// Orders still open, oldest first.
    pub fn open_orders(&self) -> Result<Vec<OrderView>, StoreError> {
        let currency = self.currency()?;
        Ok(list::<Order>(&self.conn, true)?
            .into_iter()
            .filter(|(_, o)| o.status() == OrderStatus::Open)
            .map(|(id, o)| view(id, o, currency))
            .collect())
    }

    /// This terminal's own configuration, if the hub published one.
    pub fn own_device_config(&self) -> Result<Option<DeviceConfig>, StoreError> {
        own_device_config(&self.conn)
    }

    /// The store's currency: what new orders and drawers open in, and what a screen shows
    /// amounts in before an order has a line. The hub configures it per device; a terminal
    /// it has not configured (or a configuration without one) uses the seed's.
    pub fn currency(&self) -> Result<Currency, StoreError> {
        store_currency(&self.conn)
    }

    /// Every order, open and closed.
    pub fn all_orders(&self) -> Result<Vec<OrderView>, StoreError> {
        let currency = self.currency()?;
        Ok(list::<Order>(&self.conn, false)?
            .into_iter()
            .map(|(id, o)| view(id, o, currency))
            .collect())
    }

    /// Tickets waiting in the kitchen, oldest first; one station's, or all.
    pub fn kds_queue(&self, station: Option<&str>) -> Result<Vec<TicketView>, StoreError> {
        let mut queue: Vec<TicketView> = list::<Ticket>(&self.conn, true)?
            .into_iter()
            .filter_map(|(id, t)| reads::ticket_view(id, t))
            .filter(|t| station.is_none_or(|s| t.ticket.station == s))
            .collect();
        queue.sort_by_key(|t| (t.sent_at, t.id));
        Ok(queue)
    }

    /// A drawer session.
    pub fn drawer(&self, id: DrawerSessionId) -> Result<Option<DrawerSession>, StoreError> {
        read::<DrawerSession>(&self.conn, id.0)
    }

    /// Drawer sessions not yet closed.
    pub fn open_drawers(&self) -> Result<Vec<(DrawerSessionId, DrawerSession)>, StoreError> {
        Ok(list::<DrawerSession>(&self.conn, true)?
            .into_iter()
            .map(|(id, d)| (DrawerSessionId(id), d))
            .collect())
    }

    /// The Z report of a drawer session (final once the session is closed).
    pub fn z_report(&self, id: DrawerSessionId) -> Result<Option<ZReport>, StoreError> {
        let Some(session) = self.drawer(id)? else { return Ok(None) };
        let order_ids = linked(&self.conn, Relation::DrawerOrder, id.0)?;
        let mut orders = Vec::with_capacity(order_ids.len());
        for order_id in order_ids {
            if let Some(order) = read::<Order>(&self.conn, order_id)? {
                orders.push(order);
            }
        }
        Ok(Some(ZReport::new(&session, &orders)))
    }

    /// Stock on hand of an item (zero if it never moved).
    pub fn stock_on_hand(&self, item: ItemId) -> Result<Qty, StoreError> {
        Ok(read::<StockLevel>(&self.conn, item.0)?.unwrap_or_default().on_hand)
    }

    /// The catalog's current items.
    pub fn items(&self) -> Result<Vec<Item>, StoreError> {
        Ok(list::<Versioned<Item>>(&self.conn, false)?
            .into_iter()
            .filter_map(|(_, v)| v.current.map(|s| s.value))
            .collect())
    }

    /// Items currently 86'd.
    pub fn unavailable_items(&self) -> Result<Vec<ItemId>, StoreError> {
        Ok(list::<Availability>(&self.conn, true)?.into_iter().map(|(id, _)| ItemId(id)).collect())
    }

    /// The highest contiguous seq held per device.
    pub fn version_vector(&self) -> Result<VersionVector, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT device_id, seq FROM chain_tips")?;
        let mut vector = VersionVector::new();
        for row in stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, u64>(1)?)))? {
            let (device, seq) = row?;
            vector.advance(device_id(&device)?, seq);
        }
        Ok(vector)
    }

    /// Up to `limit` events of `device` after `after_seq`, in seq order, each with its
    /// checkpoint signature where one was made.
    pub fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(Event, Option<Signature>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT device_id, seq, hlc_wall, hlc_counter, prev_hash, hash, kind, payload, signature
             FROM events WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let mut rows = stmt.query(params![device.as_bytes(), after_seq, limit as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let (event, _, signature) = event_from_row(row)?;
            out.push((event, signature));
        }
        Ok(out)
    }

    /// Number of events held, all devices.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
    }

    /// SQLite's own consistency check; `"ok"` when the file is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Re-verifies every chain held: contiguous seqs, hash links, stored hashes, and this
    /// device's checkpoint signatures.
    pub fn verify_log(&self) -> Result<LogReport, StoreError> {
        let mut report = LogReport::default();
        let mut stmt = self.conn.prepare(
            "SELECT device_id, seq, hlc_wall, hlc_counter, prev_hash, hash, kind, payload, signature
             FROM events ORDER BY device_id, seq",
        )?;
        let mut rows = stmt.query([])?;
        let mut current: Option<(DeviceId, ChainTip)> = None;
        let public_key = self.key.public_key();
        while let Some(row) = rows.next()? {
            let (event, stored_hash, signature) = event_from_row(row)?;
            let from = match current {
                Some((device, tip)) if device == event.device_id => tip,
                _ => {
                    report.devices += 1;
                    ChainTip::GENESIS
                }
            };
            let tip = verify_links(from, std::slice::from_ref(&event))
                .map_err(|e| StoreError::Corrupt(format!("chain of {}: {e}", event.device_id)))?;
            if tip.hash != stored_hash {
                return Err(StoreError::Corrupt(format!(
                    "event {}:{} hash does not match its content",
                    event.device_id, event.seq
                )));
            }
            if let (Some(signature), true) = (signature, event.device_id == self.device_id) {
                let checkpoint = Checkpoint {
                    device_id: event.device_id,
                    seq: event.seq,
                    hash: tip.hash,
                    signature,
                };
                verify_checkpoint(&public_key, &checkpoint).map_err(|e| {
                    StoreError::Corrupt(format!("checkpoint at seq {}: {e}", event.seq))
                })?;
                report.signatures += 1;
            }
            report.events += 1;
            current = Some((event.device_id, tip));
        }
        Ok(report)
    }

    /// Drops every projection and folds the whole event log again.
    pub fn rebuild_projections(&mut self) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch("DELETE FROM aggregates; DELETE FROM links;")?;
        {
            let mut state = SqlState::new(&tx);
            let mut stmt = tx.prepare(
                "SELECT device_id, seq, hlc_wall, hlc_counter, prev_hash, hash, kind, payload, signature
                 FROM events ORDER BY device_id, seq",
            )?;
            let mut rows = stmt.query([])?;
            let mut since_flush = 0;
            while let Some(row) = rows.next()? {
                let (event, _, _) = event_from_row(row)?;
                // What admission refused stays unfolded (see `store/admission.rs`).
                if admission::is_quarantined(&tx, event.id())? {
                    continue;
                }
                if let Some(domain_event) =
                    DomainEvent::decode(event.kind.as_str(), &event.payload)?
                {
                    project(
                        &mut state,
                        &EventMeta { hlc: event.hlc, id: event.id() },
                        &domain_event,
                    )?;
                }
                since_flush += 1;
                if since_flush == 10_000 {
                    state.flush()?;
                    state.clear();
                    since_flush = 0;
                }
            }
            state.flush()?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('projection_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [PROJECTION_VERSION.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// SHA-256 over every projection row in key order: two replicas holding the same events
    /// have the same digest.
    pub fn projection_digest(&self) -> Result<Hash32, StoreError> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let mut stmt = self.conn.prepare(
            "SELECT kind, id, state FROM aggregates
             UNION ALL SELECT 'link:' || relation, CAST(from_id || to_id AS BLOB), '' FROM links
             ORDER BY 1, 2",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let kind: String = row.get(0)?;
            let id: Vec<u8> = row.get(1)?;
            let state: String = row.get(2)?;
            for part in [kind.as_bytes(), &id, state.as_bytes()] {
                ctx.update(&(part.len() as u64).to_be_bytes());
                ctx.update(part);
            }
        }
        hash32(ctx.finish().as_ref())
    }
}

/// An order with its figures; `store_currency` stands in until a line gives its currency.
pub(crate) fn view(id: Uuid, order: Order, store_currency: Currency) -> OrderView {
    let totals = order.totals();
    let currency = order.currency().unwrap_or(store_currency);
    OrderView { id: OrderId(id), order, totals, currency }
}

/// This terminal's configuration as the hub published it, read from `conn`.
fn own_device_config(conn: &Connection) -> Result<Option<DeviceConfig>, StoreError> {
    let id: Option<Vec<u8>> = conn
        .query_row("SELECT device_id FROM device WHERE singleton = 1", [], |r| r.get(0))
        .optional()?;
    let Some(id) = id else { return Ok(None) };
    let id = Uuid::from_bytes(*device_id(&id)?.as_bytes());
    Ok(read::<Device>(conn, id)?.and_then(|d| d.config).map(|c| c.value))
}

/// [`Store::currency`], for readers holding only a connection (the print worker). The one
/// place the seed's currency stands in for a configured one.
pub(crate) fn store_currency(conn: &Connection) -> Result<Currency, StoreError> {
    Ok(own_device_config(conn)?.and_then(|c| c.currency).unwrap_or(crate::seed::CURRENCY))
}

const INSERT_EVENT: &str = "INSERT INTO events
    (device_id, seq, hlc_wall, hlc_counter, prev_hash, hash, kind, payload, signature, stored_ms)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

fn insert_event(
    stmt: &mut rusqlite::CachedStatement<'_>,
    event: &Event,
    hash: &Hash32,
    signature: Option<&[u8]>,
    now_ms: u64,
) -> Result<(), StoreError> {
    stmt.execute(params![
        event.device_id.as_bytes(),
        event.seq,
        event.hlc.wall_ms,
        event.hlc.counter,
        event.prev_hash.0,
        hash.0,
        event.kind.as_str(),
        event.payload,
        signature,
        now_ms,
    ])?;
    Ok(())
}

fn set_tip(conn: &Connection, device: DeviceId, tip: ChainTip, hlc: Hlc) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO chain_tips (device_id, seq, hash, hlc_wall, hlc_counter) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (device_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
             hlc_wall = excluded.hlc_wall, hlc_counter = excluded.hlc_counter",
    )?
    .execute(params![device.as_bytes(), tip.seq, tip.hash.0, hlc.wall_ms, hlc.counter])?;
    Ok(())
}

fn event_from_row(
    row: &rusqlite::Row<'_>,
) -> Result<(Event, Hash32, Option<Signature>), StoreError> {
    let kind: String = row.get(6)?;
    let signature: Option<Vec<u8>> = row.get(8)?;
    let signature = signature
        .map(|s| {
            <[u8; 64]>::try_from(s.as_slice())
                .map(Signature)
                .map_err(|_| StoreError::Corrupt("signature is not 64 bytes".into()))
        })
        .transpose()?;
    let event = Event {
        device_id: device_id(&row.get::<_, Vec<u8>>(0)?)?,
        seq: row.get(1)?,
        hlc: Hlc { wall_ms: row.get(2)?, counter: row.get(3)? },
        prev_hash: hash32(&row.get::<_, Vec<u8>>(4)?)?,
        kind: EventKind::new(kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        payload: row.get(7)?,
    };
    Ok((event, hash32(&row.get::<_, Vec<u8>>(5)?)?, signature))
}

fn hash32(bytes: &[u8]) -> Result<Hash32, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash32)
        .map_err(|_| StoreError::Corrupt("hash is not 32 bytes".into()))
}

fn device_id(bytes: &[u8]) -> Result<DeviceId, StoreError> {
    <[u8; 16]>::try_from(bytes)
        .map(DeviceId::from_bytes)
        .map_err(|_| StoreError::Corrupt("device id is not 16 bytes".into()))
}

fn load_or_create_identity(
    conn: &Connection,
    config: &StoreConfig,
) -> Result<(DeviceId, DeviceKey), StoreError> {
    let existing = conn
        .query_row("SELECT device_id, signing_key FROM device WHERE singleton = 1", [], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    if let Some((id, secret)) = existing {
        // A 32-byte secret is a test identity's seed; anything else is a PKCS#8 document.
        let key = match <[u8; 32]>::try_from(secret.as_slice()) {
            Ok(seed) => DeviceKey::from_seed(&seed),
            Err(_) => DeviceKey::from_pkcs8(&secret),
        }
        .map_err(|e| StoreError::Key(e.to_string()))?;
        return Ok((device_id(&id)?, key));
    }
    let now = config.clock.now_ms();
    let (key, secret) = match config.device_key_seed {
        Some(seed) => {
            // Test identities: the seed itself is stored so reopening gives the same key.
            let key = DeviceKey::from_seed(&seed).map_err(|e| StoreError::Key(e.to_string()))?;
            (key, seed.to_vec())
        }
        None => DeviceKey::generate().map_err(|e| StoreError::Key(e.to_string()))?,
    };
    let mut ids = match config.id_seed {
        Some(seed) => IdGen::new(seed ^ 0x5eed),
        None => IdGen::from_os().map_err(|_| StoreError::Key("no OS randomness".into()))?,
    };
    let id = DeviceId::from_bytes(*ids.uuid_at(now).as_bytes());
    conn.execute(
        "INSERT INTO device (singleton, device_id, signing_key, public_key, created_ms)
         VALUES (1, ?1, ?2, ?3, ?4)",
        params![id.as_bytes(), secret, key.public_key().0, now],
    )?;
    tracing::info!(device = %id, "created device identity");
    Ok((id, key))
}

/// Queues job `id`, a copy of `original` (marked COPY when printed).
fn queue_copy(
    conn: &Connection,
    original: &PrintJob,
    id: Uuid,
    now: u64,
) -> Result<(), StoreError> {
    print::insert_job(
        conn,
        id,
        &original.printer,
        original.station.as_deref(),
        &original.document,
        Some(original.copy_of.unwrap_or(original.id)),
        now,
    )
}

/// A person's decision about a held or uncertain print job, as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintDecision {
    /// The job.
    pub job_id: Uuid,
    /// Print or discard.
    pub decision: Decision,
    /// Whether the job was uncertain (printed as a copy) rather than held.
    pub was_uncertain: bool,
    /// Who decided.
    pub by: StaffId,
    /// When (store clock, ms).
    pub decided_ms: u64,
}
