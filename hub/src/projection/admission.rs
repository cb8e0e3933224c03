//! The hub's half of admission that needs state ([`admit_in_context`]), run as a push is
//! folded: a device writes only about its own location's orders, drawers and tickets and
//! its assigned work orders, approvers are managers who exist, and a late, back-dated
//! fact does not take a slot another device already holds. The checks that need no state
//! ran before (see [`crate::log`]); every terminal runs both again.
//!
//! The domain asks through [`AdmitContext`]: aggregates come from the push's cache (the
//! fold loads what a push touches, plus the staff it names as approvers), a device's role
//! and location from the tenant's `devices` rows, and when a contested slot's holder was
//! first stored from the event log (`received_at_ms`), read before folding starts.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};

use deadpool_postgres::Transaction;
use thorbis_domain::Aggregate;
use thorbis_domain::admit::{AdmitContext, FactMeta, Quarantine, admit_in_context};
use thorbis_domain::command::{ReadError, ReadModel};
use thorbis_domain::device::DeviceRole;
use thorbis_domain::ids::LocationId;
use thorbis_domain::order::Order;
use thorbis_domain::slot::Slot as Claimed;
use thorbis_sync_protocol::{DeviceId, EventId};
use uuid::Uuid;

use super::{Cache, Loaded, ProjectionError, ToFold};
use crate::log::hub_log;

/// What admission knows besides the cache, read before a push is folded.
#[derive(Debug)]
pub(super) struct Known {
    tenant: Uuid,
    now: u64,
    /// The tenant's devices: role and location.
    devices: BTreeMap<DeviceId, (DeviceRole, LocationId)>,
    /// When the hub stored the facts, held before this push, that hold a slot it claims.
    first_seen: BTreeMap<EventId, u64>,
    /// The facts being folded, and when the hub first stored each (now, unless one is
    /// admitted again after it waited).
    batch: BTreeMap<EventId, u64>,
}

impl Known {
    pub(super) async fn load(
        tx: &Transaction<'_>,
        tenant: Uuid,
        loaded: &Loaded,
        events: &[ToFold],
        now: u64,
    ) -> Result<Self, ProjectionError> {
        let batch: BTreeMap<EventId, u64> =
            events.iter().map(|e| (e.meta.id, e.received_ms.unwrap_or(now))).collect();
        let mut holders = BTreeSet::new();
        let view = LoadedView(loaded);
        for e in events {
            for slot in Claimed::claimed_by(&e.event) {
                if let Some(held) = slot.holder(&view)?
                    && !batch.contains_key(&held.id)
                {
                    holders.insert(held.id);
                }
            }
        }
        let rows = tx
            .query(
                &tx.prepare_cached(
                    "SELECT device_id, role, location_id FROM devices WHERE tenant_id = $1",
                )
                .await?,
                &[&tenant],
            )
            .await?;
        let devices = rows
            .iter()
            .filter_map(|r| {
                let role = DeviceRole::parse(r.get(1))?;
                let device: Uuid = r.get(0);
                Some((DeviceId::from_bytes(device.into_bytes()), (role, LocationId(r.get(2)))))
            })
            .collect();
        let mut first_seen = BTreeMap::new();
        if !holders.is_empty() {
            let ids: Vec<Uuid> = holders.iter().map(|h| Uuid::from_bytes(h.device_id.0)).collect();
            let seqs: Vec<i64> = holders.iter().map(|h| h.seq as i64).collect();
            let rows = tx
                .query(
                    &tx.prepare_cached(
                        "SELECT h.device_id, h.seq, e.received_at_ms
                           FROM unnest($2::uuid[], $3::bigint[]) AS h(device_id, seq)
                          CROSS JOIN LATERAL (SELECT received_at_ms FROM events
                                               WHERE tenant_id = $1 AND device_id = h.device_id
                                                 AND seq = h.seq
                                              OFFSET 0) AS e",
                    )
                    .await?,
                    &[&tenant, &ids, &seqs],
                )
                .await?;
            for r in &rows {
                let device: Uuid = r.get(0);
                let id = EventId {
                    device_id: DeviceId::from_bytes(device.into_bytes()),
                    seq: r.get::<_, i64>(1) as u64,
                };
                first_seen.insert(id, r.get::<_, i64>(2) as u64);
            }
        }
        Ok(Self { tenant, now, devices, first_seen, batch })
    }

    /// The state checks' verdict on `e`, against `cache` as folded so far.
    pub(super) fn admit(
        &self,
        cache: &Cache,
        e: &ToFold,
    ) -> Result<Result<(), Quarantine>, ReadError> {
        let received_ms = e.received_ms.unwrap_or(self.now);
        let fact = FactMeta { meta: e.meta, previous: None, received_ms, from_author: false };
        admit_in_context(&fact, &e.event, &e.author, &Context { known: self, cache })
    }
}

/// The cache as the domain reads it, with what [`Known`] read.
struct Context<'a> {
    known: &'a Known,
    cache: &'a Cache,
}

impl ReadModel for Context<'_> {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        self.cache
            .docs
            .get(&(A::KIND, id))
            .map(|slot| slot.read::<A>().map_err(|e| ReadError(Box::new(e))))
            .transpose()
    }
}

impl AdmitContext for Context<'_> {
    fn is_hub_log(&self, device: DeviceId) -> bool {
        device == hub_log(self.known.tenant)
    }

    fn first_seen_ms(&self, event: EventId) -> Option<u64> {
        self.known.first_seen.get(&event).copied().or_else(|| self.known.batch.get(&event).copied())
    }

    fn credential(&self, device: DeviceId) -> Option<(DeviceRole, LocationId)> {
        self.known.devices.get(&device).copied()
    }
}

/// What a push loaded, before folding, as the domain reads it: to find the holders of the
/// slots the push claims. A closed order is rebuilt from its events.
struct LoadedView<'a>(&'a Loaded);

impl ReadModel for LoadedView<'_> {
    fn get<A: Aggregate>(&self, id: Uuid) -> Result<Option<A>, ReadError> {
        if A::KIND == Order::KIND {
            let mut events = self.0.history.iter().filter(|(order, ..)| *order == id).peekable();
            if events.peek().is_some() {
                let mut order = Order::default();
                for (_, meta, event) in events {
                    order.apply(id, meta, event);
                }
                let order: Box<dyn Any> = Box::new(order);
                return Ok(order.downcast::<A>().ok().map(|a| *a));
            }
        }
        self.0
            .docs
            .iter()
            .find(|(kind, doc, _)| *kind == A::KIND && *doc == id)
            .map(|(_, _, value)| {
                serde_json::from_value::<A>(value.clone()).map_err(|e| ReadError(Box::new(e)))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_order_is_read_from_its_events() {
        use thorbis_domain::events::{OrderOpened, ServiceMode};
        use thorbis_domain::ids::OrderId;
        use thorbis_domain::{Currency, DomainEvent, EventMeta};
        let id = Uuid::from_u128(5);
        let meta = EventMeta {
            hlc: thorbis_sync_protocol::Hlc { wall_ms: 1, counter: 0 },
            id: EventId { device_id: DeviceId([1; 16]), seq: 1 },
        };
        let opened = DomainEvent::OrderOpened(OrderOpened {
            order_id: OrderId(id),
            currency: Currency::USD,
            mode: ServiceMode::TakeOut,
            table: None,
            guests: None,
            opened_by: None,
        });
        let loaded = Loaded { history: vec![(id, meta, opened)], ..Loaded::default() };
        let order = LoadedView(&loaded).get::<Order>(id).unwrap().expect("rebuilt");
        assert_eq!(order.opened.map(|o| o.meta), Some(meta));
        assert!(LoadedView(&loaded).get::<Order>(Uuid::from_u128(6)).unwrap().is_none());
    }
}
