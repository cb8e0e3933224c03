//! Thorbis Edge's business rules, shared by the agent and the hub so both compute the same
//! totals from the same events.
//!
//! This crate owns: [`approval`] (who approves what); [`money`] (integer minor units) and [`tax`] (inclusive and exclusive,
//! one documented rounding rule); the [`catalog`] (staff and their PIN hashes included); the tenant's [`device`] records (keys, revocations, configuration) as the hub publishes them; the business [`events`] and their payload
//! encoding; the aggregates they fold into ([`order`], [`kitchen`], [`drawer`], [`stock`],
//! and [`work_order`], field-service jobs kept as Automerge documents) through [`fold`]; and [`command`], which checks a request against state and decides
//! which events carry it out. [`scan`] says what a scanned code or scale label rings up, and
//! [`returns`] what returning part of a sale refunds.
//!
//! Replicas trust no device: [`authority`] says who may author each kind of fact, [`admit`]
//! is the check a replica runs on each fact against its own state before folding it (and
//! says why one that fails must not be folded), and [`slot`] keeps a late, back-dated fact
//! from taking a first-writer-wins slot already seen filled.
//!
//! It never does IO: no database, no clock, no randomness. Time arrives inside events'
//! clock stamps; fresh ids come from the caller's [`command::IdSource`].
//!
//! ```
//! use thorbis_domain::money::{Money, Qty};
//! // 0.375 kg at 12.99 a kilogram, rounded half away from zero:
//! assert_eq!(Money(1299).times(Qty::milli(375)), Money(487));
//! ```

pub mod admit;
pub mod allowance;
pub mod approval;
pub mod attachment;
pub mod authority;
pub mod catalog;
pub mod command;
pub mod device;
pub mod drawer;
pub mod events;
pub mod fold;
pub mod ids;
pub mod kitchen;
pub mod money;
pub mod order;
pub mod returns;
pub mod scan;
pub mod slot;
pub mod stock;
pub mod tax;
pub mod vin;
pub mod work_order;

pub use command::{Command, CommandError, IdSource, Policy, ReadModel, decide};
pub use events::DomainEvent;
pub use fold::{Aggregate, EventMeta, Projections, Relation, State, project};
pub use money::{Currency, Money, Qty};
