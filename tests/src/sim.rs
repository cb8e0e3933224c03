//! A deterministic simulation of the sync protocol ([`thorbis_sync_protocol::sync`]):
//! agents and a hub exchanging signed events through in-memory links under injected
//! faults.
//!
//! Everything (workload, faults, time) comes from one seed, so a failing seed replays
//! exactly. No IO, no threads, no real clock: [`run`] is a pure function of its seed.
//!
//! # The world
//!
//! Three to five agents, each writing domain events (orders opened, lines added, the same
//! orders paid and closed from several terminals, availability and stock of shared items)
//! into its own signed chain, one checkpoint per command, folded into a
//! [`thorbis_domain::State`]. A hub that writes nothing, verifies and relays, with the
//! real hub's rule for what it cannot take now ([`Strictness::Refuse`]: it refuses the
//! message where a terminal defers, through the same check,
//! [`thorbis_sync_protocol::receive::Runs::check`]). Every agent is linked to the hub and
//! to every other agent, one `PeerState` per link and side.
//!
//! # Faults
//!
//! Messages are dropped, duplicated, delayed by up to seconds (so reordered), and
//! `Events` messages garbled (one byte flipped); links are partitioned and healed one at
//! a time or an agent is cut off from everyone; any replica (hub included) crashes and
//! restarts, now and then part way through storing a received batch (a prefix of whole
//! signed runs is durable, the peer states and the projections are lost, the log is
//! kept); agents' clocks are set anywhere within a day either way and stepped backwards.
//!
//! # What is checked
//!
//! Then the faults stop, links and clocks are healed, a day passes (so stamps written by
//! a clock a day ahead come within every replica's bound) and the system must quiesce
//! within a bounded number of steps: every event a device committed is in every replica's
//! log exactly once (contiguous seqs, identical chains), every event was folded exactly
//! once, and every replica's [`thorbis_domain::State`] is identical. No step may panic.

use std::collections::{BTreeMap, BTreeSet};

use ring::digest;
use thorbis_domain::events::{
    AvailabilitySet, LineAdded, OrderClosed, OrderOpened, PaymentTaken, ServiceMode, StockMoved,
    StockReason, Tender,
};
use thorbis_domain::ids::{ItemId, LineId, OrderId, PaymentId};
use thorbis_domain::{Currency, DomainEvent, EventMeta, Money, Qty, State};
use thorbis_sync_protocol::sync::{
    EventSource, KeyRing, Message, PeerState, Strictness, SyncConfig, decode_message,
    encode_message,
};
use thorbis_sync_protocol::{
    ChainTip, DeviceId, DeviceKey, Event, EventKind, Hash32, Hlc, HlcClock, PublicKey, Signature,
    VersionVector,
};
use uuid::Uuid;

/// Sim time starts here (Unix ms, mid-2025) so skews of a day stay positive.
const T0: u64 = 1_750_000_000_000;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// The clock bound every replica uses, as the agent does.
const MAX_AHEAD_MS: u64 = 5 * 60 * 1000;
/// The type byte of `Events` on the wire.
const EVENTS_TYPE: u8 = 2;

/// SplitMix64: tiny, fast, and good enough to drive a simulation.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`); the modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next_u64(), self.next_u64())
    }
}

/// An in-memory durable event log: survives a crash.
#[derive(Clone, Debug, Default)]
pub struct MemLog {
    chains: BTreeMap<DeviceId, Vec<(Event, Option<Signature>)>>,
}

impl MemLog {
    /// Appends one event; panics (a simulation failure) on a duplicate, a gap or a broken
    /// link, which is how "exactly once, contiguous" is enforced.
    fn append(&mut self, event: Event, sig: Option<Signature>) {
        let chain = self.chains.entry(event.device_id).or_default();
        let tip = chain.last().map_or(ChainTip::GENESIS, |(e, _)| ChainTip::of(e));
        assert_eq!(
            event.seq,
            tip.next_seq(),
            "event {:?} does not follow the log's tip",
            event.id()
        );
        assert_eq!(event.prev_hash, tip.hash, "event {:?} does not link to the tip", event.id());
        chain.push((event, sig));
    }

    fn max_hlc(&self) -> Hlc {
        self.chains.values().flatten().map(|(e, _)| e.hlc).max().unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.chains.values().map(Vec::len).sum()
    }
}

impl EventSource for MemLog {
    fn vector(&self) -> VersionVector {
        self.chains.iter().map(|(d, chain)| (*d, chain.len() as u64)).collect()
    }

    fn events_after(
        &self,
        device: DeviceId,
        after_seq: u64,
        limit: usize,
    ) -> Vec<(Event, Option<Signature>)> {
        let chain = self.chains.get(&device).map_or(&[][..], Vec::as_slice);
        let start = usize::try_from(after_seq).unwrap_or(usize::MAX).min(chain.len());
        chain[start..].iter().take(limit).cloned().collect()
    }

    fn tip(&self, device: DeviceId) -> ChainTip {
        self.chains
            .get(&device)
            .and_then(|chain| chain.last())
            .map_or(ChainTip::GENESIS, |(e, _)| ChainTip::of(e))
    }
}

#[derive(Debug, Default)]
struct Keys(BTreeMap<DeviceId, PublicKey>);

impl KeyRing for Keys {
    fn public_key(&self, device: &DeviceId) -> Option<PublicKey> {
        self.0.get(device).copied()
    }
}

/// One replica: an agent (with a device key, writing its own events) or the hub.
#[derive(Debug)]
struct Node {
    device: Option<(DeviceId, DeviceKey)>,
    /// Durable: survives a crash.
    log: MemLog,
    /// Volatile, rebuilt from the log on restart, like the agent's projections.
    state: State,
    clock: HlcClock,
    skew_ms: i64,
    peers: BTreeMap<usize, PeerState>,
}

impl Node {
    fn local_now(&self, now: u64) -> u64 {
        now.saturating_add_signed(self.skew_ms)
    }

    fn store(&mut self, event: Event, sig: Option<Signature>) {
        if let Ok(Some(domain)) = DomainEvent::decode(event.kind.as_str(), &event.payload) {
            let meta = EventMeta { hlc: event.hlc, id: event.id() };
            assert!(self.state.apply(&meta, &domain), "event {:?} folded twice", event.id());
        }
        self.log.append(event, sig);
    }

    /// Loses everything volatile: peer states, projections (rebuilt from the durable log)
    /// and the clock (restored from the greatest stamp in the log).
    fn restart(&mut self, links: &[usize]) {
        // The hub answers for what it cannot take now as the real one does: it refuses.
        let strictness = if self.device.is_some() { Strictness::Defer } else { Strictness::Refuse };
        self.peers = links.iter().map(|&p| (p, PeerState::new(config(strictness)))).collect();
        self.state = State::default();
        for chain in self.log.chains.values() {
            for (event, _) in chain {
                if let Ok(Some(domain)) = DomainEvent::decode(event.kind.as_str(), &event.payload) {
                    self.state.apply(&EventMeta { hlc: event.hlc, id: event.id() }, &domain);
                }
            }
        }
        self.clock = HlcClock::with_last(self.log.max_hlc(), MAX_AHEAD_MS);
    }
}

fn config(strictness: Strictness) -> SyncConfig {
    SyncConfig {
        // Small batches so runs are cut, resent and overtaken often.
        max_batch_events: 4,
        max_ahead_ms: MAX_AHEAD_MS,
        retry_base_ms: 200,
        retry_max_ms: 5_000,
        strictness,
    }
}

#[derive(Debug)]
struct Packet {
    at: u64,
    order: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// What one run did, for the summary line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Events committed by agents.
    pub events: u64,
    /// Messages put on the wire.
    pub messages: u64,
    /// Messages dropped (fault or partition).
    pub dropped: u64,
    /// Crashes (agents and hub), mid-batch ones included.
    pub crashes: u64,
    /// Messages refused: garbled (undecodable, or failing verification), or refused by
    /// the hub for what a terminal would defer (a gap, a stamp too far ahead).
    pub refused: u64,
    /// Events refused for now by the clock bound (and delivered later).
    pub deferred: u64,
    /// Steps the healing phase needed to converge.
    pub heal_steps: u64,
}

impl Stats {
    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Stats) {
        self.events += other.events;
        self.messages += other.messages;
        self.dropped += other.dropped;
        self.crashes += other.crashes;
        self.refused += other.refused;
        self.deferred += other.deferred;
        self.heal_steps = self.heal_steps.max(other.heal_steps);
    }
}

struct World {
    rng: Rng,
    now: u64,
    nodes: Vec<Node>,
    links: Vec<Vec<usize>>,
    keys: Keys,
    cut: BTreeSet<(usize, usize)>,
    network: Vec<Packet>,
    order: u64,
    faults: bool,
    orders: Vec<OrderId>,
    items: Vec<ItemId>,
    stats: Stats,
}

/// Steps with writes and faults.
const ACTIVE_STEPS: u64 = 80;
/// Most steps the healed system may take to converge.
const HEAL_STEPS: u64 = 2_000;
/// Most commands one agent writes.
const MAX_COMMANDS: usize = 5;

/// Runs one seed to the end. `Err` describes the first broken invariant; a panic inside is
/// also a failure (the caller catches it).
pub fn run(seed: u64) -> Result<Stats, String> {
    let mut rng = Rng::new(seed);
    let agents = 3 + rng.index(3);
    let hub = agents;
    let mut keys = Keys::default();
    let mut nodes = Vec::new();
    for a in 0..=agents {
        let device = (a < agents).then(|| {
            let id = DeviceId::from_bytes(rng.uuid().into_bytes());
            let mut key_seed = [0; 32];
            key_seed[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            let key = DeviceKey::from_seed(&key_seed).expect("any 32 bytes are a seed");
            keys.0.insert(id, key.public_key());
            (id, key)
        });
        nodes.push(Node {
            device,
            log: MemLog::default(),
            state: State::default(),
            clock: HlcClock::new(MAX_AHEAD_MS),
            skew_ms: 0,
            peers: BTreeMap::new(),
        });
    }
    // Every agent talks to the hub and to every other agent (LAN).
    let links: Vec<Vec<usize>> =
        (0..=agents).map(|n| (0..=agents).filter(|&p| p != n).collect()).collect();
    for (n, node) in nodes.iter_mut().enumerate() {
        node.restart(&links[n]);
    }
    let items = (0..3).map(|_| ItemId(rng.uuid())).collect();
    let mut world = World {
        rng,
        now: T0,
        nodes,
        links,
        keys,
        cut: BTreeSet::new(),
        network: Vec::new(),
        order: 0,
        faults: true,
        orders: Vec::new(),
        items,
        stats: Stats::default(),
    };
    let mut commands = vec![0; agents];

    for _ in 0..ACTIVE_STEPS {
        world.now += 1 + world.rng.below(300);
        world.inject_faults(agents);
        if world.rng.chance(180) {
            let a = world.rng.index(agents);
            if commands[a] < MAX_COMMANDS {
                commands[a] += 1;
                world.commit(a);
            }
        }
        world.step();
    }

    // Heal: links back, clocks right, no more faults. Then let a day and a bit pass, so
    // that events stamped by a clock a day ahead are within every replica's bound.
    world.faults = false;
    world.cut.clear();
    for node in &mut world.nodes {
        node.skew_ms = 0;
    }
    world.now += DAY_MS + HOUR_MS;
    let expected: VersionVector = world.nodes[..agents].iter().map(|n| n.log.vector()).fold(
        VersionVector::new(),
        |mut v, o| {
            v.merge(&o);
            v
        },
    );
    for step in 0..=HEAL_STEPS {
        if world.network.is_empty() && world.nodes.iter().all(|n| n.log.vector() == expected) {
            world.stats.heal_steps = step;
            return world.check(hub, &expected).map(|()| world.stats);
        }
        world.now += 50 + world.rng.below(500);
        world.step();
    }
    let behind: Vec<String> = world
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.log.vector() != expected)
        .map(|(i, n)| format!("node {i} holds {:?}", n.log.vector()))
        .collect();
    Err(format!(
        "no convergence after {HEAL_STEPS} healed steps ({} packets in flight): expected {expected:?}; {}",
        world.network.len(),
        behind.join("; ")
    ))
}

impl World {
    fn inject_faults(&mut self, agents: usize) {
        let nodes = self.nodes.len();
        if self.rng.chance(30) {
            // Partition (or heal) one link.
            let a = self.rng.index(nodes);
            let b = (a + 1 + self.rng.index(nodes - 1)) % nodes;
            let pair = (a.min(b), a.max(b));
            if !self.cut.remove(&pair) {
                self.cut.insert(pair);
            }
        }
        if self.rng.chance(10) {
            // Cut one agent off from everyone (a LAN cable pulled).
            let a = self.rng.index(agents);
            for p in 0..nodes {
                if p != a {
                    self.cut.insert((a.min(p), a.max(p)));
                }
            }
        }
        if self.rng.chance(10) {
            self.cut.clear();
        }
        if self.rng.chance(10) {
            // Any replica may crash, the hub included.
            let n = self.rng.index(nodes);
            self.crash(n);
        }
        if self.rng.chance(20) {
            let a = self.rng.index(agents);
            let node = &mut self.nodes[a];
            node.skew_ms = if self.rng.chance(500) {
                // Set anywhere within a day either way.
                self.rng.below(2 * DAY_MS + 1) as i64 - DAY_MS as i64
            } else {
                // A backward step (NTP correcting, someone fixing the time by hand).
                (node.skew_ms - self.rng.below(HOUR_MS) as i64).max(-(DAY_MS as i64))
            };
        }
    }

    fn crash(&mut self, a: usize) {
        self.stats.crashes += 1;
        let links = self.links[a].clone();
        self.nodes[a].restart(&links);
    }

    /// Agent `a` runs one command: one to three domain events, one signature at the end,
    /// as the agent commits a command in one transaction.
    fn commit(&mut self, a: usize) {
        let mut facts = Vec::new();
        let choice = self.rng.below(5);
        let order = if self.orders.is_empty() || choice == 0 {
            let order = OrderId(self.rng.uuid());
            self.orders.push(order);
            facts.push(DomainEvent::OrderOpened(OrderOpened {
                order_id: order,
                currency: Currency::USD,
                mode: ServiceMode::TakeOut,
                table: None,
                guests: None,
                opened_by: None,
            }));
            order
        } else {
            self.orders[self.rng.index(self.orders.len())]
        };
        let item = self.items[self.rng.index(self.items.len())];
        match choice {
            0 | 1 => facts.push(DomainEvent::LineAdded(LineAdded {
                order_id: order,
                line_id: LineId(self.rng.uuid()),
                item_id: item,
                name: "espresso".into(),
                unit_price: Money(2_50 + self.rng.below(500) as i64),
                qty: Qty(1000),
                modifiers: Vec::new(),
                seat: None,
                course: None,
                taxes: Vec::new(),
                station: None,
                note: None,
                price_override_by: None,
            })),
            2 => {
                // Two terminals may take payment and close the same order: the fold picks
                // the winner by stamp, whatever the arrival order.
                let amount = Money(1_00 + self.rng.below(2_000) as i64);
                facts.push(DomainEvent::PaymentTaken(PaymentTaken {
                    order_id: order,
                    payment_id: PaymentId(self.rng.uuid()),
                    amount,
                    tip: Money(0),
                    tender: Tender::Cash { tendered: amount, change: Money(0) },
                    drawer_session: None,
                    taken_by: None,
                }));
                facts.push(DomainEvent::OrderClosed(OrderClosed {
                    order_id: order,
                    closed_by: None,
                }));
            }
            3 => facts.push(DomainEvent::AvailabilitySet(AvailabilitySet {
                item_id: item,
                available: self.rng.chance(500),
                by: None,
            })),
            _ => facts.push(DomainEvent::StockMoved(StockMoved {
                item_id: item,
                delta: Qty(-(self.rng.below(3_000) as i64)),
                reason: StockReason::Adjust { note: "count".into() },
            })),
        }
        let now = self.now;
        let node = &mut self.nodes[a];
        let local_now = node.local_now(now);
        let (device, _) = node.device.as_ref().expect("only agents commit");
        let device = *device;
        let mut tip = node.log.tip(device);
        let count = facts.len();
        for (i, fact) in facts.into_iter().enumerate() {
            let event = Event {
                device_id: device,
                seq: tip.next_seq(),
                hlc: node.clock.tick(local_now),
                prev_hash: tip.hash,
                kind: EventKind::new(fact.kind()).expect("domain kinds are valid"),
                payload: fact.encode_payload(),
            };
            tip = ChainTip::of(&event);
            let sig = (i + 1 == count).then(|| {
                let (_, key) = node.device.as_ref().expect("agent");
                key.sign_checkpoint(device, tip).signature
            });
            node.store(event, sig);
            self.stats.events += 1;
        }
    }

    /// Delivers due packets, then lets every node say what it has to say.
    fn step(&mut self) {
        let now = self.now;
        let mut due: Vec<Packet> = Vec::new();
        let mut i = 0;
        while i < self.network.len() {
            if self.network[i].at <= now {
                due.push(self.network.swap_remove(i));
            } else {
                i += 1;
            }
        }
        due.sort_by_key(|p| (p.at, p.order));
        for packet in &due {
            self.deliver(packet);
        }
        for n in 0..self.nodes.len() {
            for p in self.links[n].clone() {
                self.poll(n, p);
            }
        }
    }

    fn link_cut(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }

    fn deliver(&mut self, packet: &Packet) {
        if self.link_cut(packet.from, packet.to) {
            self.stats.dropped += 1;
            return;
        }
        let Ok(msg) = decode_message(&packet.bytes) else {
            // Garbled on the way (see `send`): dropped, like a frame failing its checksum.
            self.stats.refused += 1;
            return;
        };
        let is_events = matches!(msg, Message::Events { .. });
        let node = &mut self.nodes[packet.to];
        let local_now = node.local_now(self.now);
        let peer = node.peers.get_mut(&packet.from).expect("linked");
        let Ok(received) = peer.receive_message(&node.log, &self.keys, msg, local_now) else {
            // A garbled batch that still decodes fails verification, or the hub refuses
            // what it cannot take now: refused whole, resent from what was acknowledged.
            self.stats.refused += 1;
            return;
        };
        self.stats.deferred += received.deferred as u64;
        let mut events = received.events;
        let crash_mid_batch = is_events && self.faults && self.rng.chance(20);
        if crash_mid_batch {
            // Crash part way through storing: a prefix of whole signed runs is durable,
            // the rest and the peer state are lost.
            let cuts: Vec<usize> = std::iter::once(0)
                .chain(
                    events.iter().enumerate().filter(|(_, (_, s))| s.is_some()).map(|(i, _)| i + 1),
                )
                .collect();
            let keep = cuts[self.rng.index(cuts.len())];
            events.truncate(keep);
        }
        for (event, sig) in events {
            node.clock
                .observe(event.hlc, local_now)
                .expect("the core refused stamps beyond the bound");
            node.store(event, sig);
        }
        if crash_mid_batch {
            self.crash(packet.to);
        }
    }

    fn poll(&mut self, n: usize, p: usize) {
        // A bound per step keeps one chatty link from starving the rest.
        for _ in 0..8 {
            let node = &mut self.nodes[n];
            let local_now = node.local_now(self.now);
            let peer = node.peers.get_mut(&p).expect("linked");
            let Some(msg) = peer.generate_message(&node.log, local_now) else { return };
            let bytes = encode_message(&msg);
            self.send(n, p, &bytes);
        }
    }

    fn send(&mut self, from: usize, to: usize, bytes: &[u8]) {
        self.stats.messages += 1;
        if self.faults && (self.link_cut(from, to) || self.rng.chance(50)) {
            self.stats.dropped += 1;
            return;
        }
        let mut bytes = bytes.to_vec();
        if self.faults && bytes.first() == Some(&EVENTS_TYPE) && self.rng.chance(10) {
            // Flip one byte of an `Events` message: signatures must catch what decodes.
            // (`Hello`/`Ack` rely on the transport's integrity; see the sync module docs.)
            let at = self.rng.index(bytes.len());
            bytes[at] ^= 1 + self.rng.below(255) as u8;
        }
        let copies = if self.faults && self.rng.chance(30) { 2 } else { 1 };
        for _ in 0..copies {
            // Random delays reorder; now and then one is held up for seconds.
            let mut delay = 1 + self.rng.below(50);
            if self.faults && self.rng.chance(50) {
                delay += self.rng.below(3_000);
            }
            self.order += 1;
            self.network.push(Packet {
                at: self.now + delay,
                order: self.order,
                from,
                to,
                bytes: bytes.clone(),
            });
        }
    }

    /// Every replica holds exactly the agents' chains and folds to the same state.
    fn check(&self, hub: usize, expected: &VersionVector) -> Result<(), String> {
        let total: u64 = expected.iter().map(|(_, seq)| seq).sum();
        let reference = &self.nodes[hub].state;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.log.len() as u64 != total || node.state.applied.len() as u64 != total {
                return Err(format!(
                    "node {i}: {} events logged, {} folded, {total} expected",
                    node.log.len(),
                    node.state.applied.len()
                ));
            }
            for (device, chain) in &node.log.chains {
                let origin =
                    self.nodes.iter().find(|o| o.device.as_ref().is_some_and(|(d, _)| d == device));
                let origin_tip = origin.map(|o| o.log.tip(*device));
                if origin_tip != chain.last().map(|(e, _)| ChainTip::of(e)) {
                    return Err(format!("node {i}: chain of {device} differs from its origin's"));
                }
            }
            // Comparing the states directly is exact and much cheaper than serializing
            // every one; the digests are only worked out to report a difference.
            if node.state != *reference {
                return Err(format!(
                    "node {i}: state digest {} differs from the hub's {}",
                    state_digest(&node.state),
                    state_digest(reference)
                ));
            }
        }
        Ok(())
    }
}

/// SHA-256 of the state's JSON: the replica fingerprint a report can show.
#[must_use]
pub fn state_digest(state: &State) -> Hash32 {
    sha256(&serde_json::to_vec(state).expect("State serializes"))
}

fn sha256(bytes: &[u8]) -> Hash32 {
    let mut out = [0; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    Hash32(out)
}
