//! The domain's aggregates, stored in SQLite.
//!
//! [`SqlState`] implements the domain's [`Projections`] (write) and [`ReadModel`] (read)
//! traits over one connection or transaction, so commands are decided and events folded by
//! exactly the code the in-memory reference fold runs. Aggregates are cached for the life
//! of a `SqlState` (one transaction): a sale touches its order several times, and
//! deserializing it once and writing it once keeps a commit cheap.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use thorbis_domain::command::ReadError;
use thorbis_domain::{Aggregate, Projections, ReadModel, Relation};
use uuid::Uuid;

use crate::error::StoreError;

/// An aggregate with its type erased, so one cache holds orders, tickets and drawers.
trait Erased: Any {
    fn to_json(&self) -> String;
    fn active(&self) -> bool;
    fn finished_at(&self) -> Option<thorbis_sync_protocol::Hlc>;
    fn owner(&self) -> Option<Uuid>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<A: Aggregate + 'static> Erased for A {
    fn to_json(&self) -> String {
        serde_json::to_string(self).expect("aggregates always serialize")
    }
    fn active(&self) -> bool {
        self.is_active()
    }
    fn finished_at(&self) -> Option<thorbis_sync_protocol::Hlc> {
        Aggregate::finished_at(self)
    }
    fn owner(&self) -> Option<Uuid> {
        Aggregate::owner(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

struct Entry {
    value: Option<Box<dyn Erased>>,
    dirty: bool,
}

/// Aggregates read from and written to the `aggregates` table through one connection.
pub(crate) struct SqlState<'c> {
    conn: &'c Connection,
    cache: RefCell<HashMap<(&'static str, Uuid), Entry>>,
}

impl<'c> SqlState<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self { conn, cache: RefCell::new(HashMap::new()) }
    }

    fn load<A: Aggregate + 'static>(&self, id: Uuid) -> Result<(), StoreError> {
        let key = (A::KIND, id);
        if self.cache.borrow().contains_key(&key) {
            return Ok(());
        }
        let value = read::<A>(self.conn, id)?.map(|a| Box::new(a) as Box<dyn Erased>);
        self.cache.borrow_mut().insert(key, Entry { value, dirty: false });
        Ok(())
    }

    /// Writes every changed aggregate back.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO aggregates (kind, id, active, state, finished_wall, finished_counter, owner)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (kind, id) DO UPDATE SET active = excluded.active, state = excluded.state,
                 finished_wall = excluded.finished_wall,
                 finished_counter = excluded.finished_counter, owner = excluded.owner",
        )?;
        for ((kind, id), entry) in self.cache.borrow_mut().iter_mut() {
            if !entry.dirty {
                continue;
            }
            if let Some(value) = &entry.value {
                let finished = value.finished_at();
                stmt.execute(params![
                    kind,
                    id.as_bytes(),
                    value.active(),
                    value.to_json(),
                    finished.map(|h| h.wall_ms),
                    finished.map(|h| h.counter),
                    value.owner().map(|o| *o.as_bytes()),
                ])?;
            }
            entry.dirty = false;
        }
        Ok(())
    }

    /// Forgets cached aggregates (after a flush), bounding memory during a rebuild.
    pub(crate) fn clear(&self) {
        self.cache.borrow_mut().clear();
    }
}

impl ReadModel for SqlState<'_> {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        self.load::<A>(id).map_err(|e| ReadError(Box::new(e)))?;
        let cache = self.cache.borrow();
        let entry = &cache[&(A::KIND, id)];
        Ok(entry.value.as_ref().map(|v| downcast::<A>(v.as_any()).clone()))
    }
}

impl Projections for SqlState<'_> {
    type Error = StoreError;

    fn update<A: Aggregate>(&mut self, id: Uuid, f: impl FnOnce(&mut A)) -> Result<(), StoreError> {
        self.load::<A>(id)?;
        let cache = self.cache.get_mut();
        let entry = cache.get_mut(&(A::KIND, id)).expect("loaded above");
        let value = entry.value.get_or_insert_with(|| Box::new(A::default()));
        f(value.as_any_mut().downcast_mut::<A>().expect("cache entries are keyed by kind"));
        entry.dirty = true;
        Ok(())
    }

    fn link(&mut self, relation: Relation, from: Uuid, to: Uuid) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO links (relation, from_id, to_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![relation.as_str(), from.as_bytes(), to.as_bytes()])?;
        Ok(())
    }
}

/// The ids `from` is linked to by `relation`.
pub(crate) fn linked(
    conn: &Connection,
    relation: Relation,
    from: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT to_id FROM links WHERE relation = ?1 AND from_id = ?2 ORDER BY to_id",
    )?;
    let rows =
        stmt.query_map(params![relation.as_str(), from.as_bytes()], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|r| {
        Uuid::from_slice(&r?).map_err(|_| StoreError::Corrupt("link with a malformed id".into()))
    })
    .collect()
}

fn downcast<A: Aggregate>(value: &dyn Any) -> &A {
    // Entries are keyed by `A::KIND`, and each kind names one type.
    value.downcast_ref::<A>().expect("cache entries are keyed by kind")
}

/// Reads one aggregate straight from the table.
pub(crate) fn read<A: Aggregate>(conn: &Connection, id: Uuid) -> Result<Option<A>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT state FROM aggregates WHERE kind = ?1 AND id = ?2")?;
    let json: Option<String> =
        stmt.query_row(params![A::KIND, id.as_bytes()], |r| r.get(0)).optional()?;
    json.map(|j| decode::<A>(&j, id)).transpose()
}

/// The live aggregates of a kind, by the `aggregates_active` partial index. Named: left to
/// itself, SQLite walks the primary key instead (it, too, gives `ORDER BY id`, and needs no
/// second lookup for `state`), reading every order or ticket ever recorded to find the few
/// still open.
pub(crate) const ACTIVE: &str = "SELECT id, state FROM aggregates INDEXED BY aggregates_active
    WHERE kind = ?1 AND active = 1 ORDER BY id";

/// Every aggregate of one kind, or only the active ones, in id order.
pub(crate) fn list<A: Aggregate>(
    conn: &Connection,
    active_only: bool,
) -> Result<Vec<(Uuid, A)>, StoreError> {
    let sql = if active_only {
        ACTIVE
    } else {
        "SELECT id, state FROM aggregates WHERE kind = ?1 ORDER BY id"
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let rows =
        stmt.query_map([A::KIND], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, json) = row?;
        let id = Uuid::from_slice(&id)
            .map_err(|_| StoreError::Corrupt(format!("{} row with a malformed id", A::KIND)))?;
        out.push((id, decode::<A>(&json, id)?));
    }
    Ok(out)
}

fn decode<A: Aggregate>(json: &str, id: Uuid) -> Result<A, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("{} {id} does not decode: {e}", A::KIND)))
}
