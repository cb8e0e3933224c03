//! Who may author each kind of fact.
//!
//! A signature proves who wrote a fact, not that they were allowed to. Every kind declares
//! its [`Authority`] where the kind itself is declared ([`crate::events`]): the kind list
//! cannot grow without deciding who may write the new kind, and a kind this build does not
//! know has no authority at all ([`DomainEvent::authority_of_kind`] answers `None`): nobody
//! may write what nobody here has decided about.
//!
//! Three tiers:
//! - **The hub's own logs only** — the tenant's reference data (staff and their PIN
//!   hashes, items, prices, taxes, modifiers, categories), device records and
//!   configuration, and work order dispatch. A terminal that could write these could sign
//!   in as an owner of its own making, set prices, or hand itself a job.
//! - **Devices of given roles**, each about its own location only (checked against the
//!   facts it touches by [`crate::admit`]): orders, payments and drawers are written by a
//!   POS or a register, kitchen tickets by a kitchen display or a POS (expo), work order
//!   edits by the assigned technician (or the dispatcher, through the hub).
//! - **Any store device**: the 86 (`item.availability_set`), which whoever notices the
//!   walk-in is empty must be able to say.

use thorbis_sync_protocol::{DeviceId, DeviceRole};

#[cfg(doc)]
use crate::events::DomainEvent;
use crate::ids::LocationId;

/// Who may author one kind of fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Authority {
    /// Whether the tenant's hub-signed logs may.
    pub hub: bool,
    /// The device roles that may.
    pub roles: &'static [DeviceRole],
}

impl Authority {
    /// The tenant's hub-signed logs only.
    pub const HUB: Authority = Authority { hub: true, roles: &[] };
    /// Terminals that take orders and money: a restaurant POS, a retail register.
    pub const TILLS: Authority =
        Authority { hub: false, roles: &[DeviceRole::Pos, DeviceRole::Register] };
    /// Terminals that work kitchen tickets: a kitchen display, or a POS running expo.
    pub const KITCHEN: Authority =
        Authority { hub: false, roles: &[DeviceRole::Kds, DeviceRole::Pos] };
    /// Any terminal of a store (a technician's laptop has no menu to 86).
    pub const STORE: Authority =
        Authority { hub: false, roles: &[DeviceRole::Pos, DeviceRole::Kds, DeviceRole::Register] };
    /// A technician's laptop (its assignment is checked separately), or the dispatcher
    /// through the hub.
    pub const FIELD: Authority = Authority { hub: true, roles: &[DeviceRole::Technician] };
    /// A technician's laptop alone: what only happens in the field (using van stock).
    pub const TECHNICIAN: Authority = Authority { hub: false, roles: &[DeviceRole::Technician] };

    /// Whether `author` may write a fact of this kind. Where a device writes is checked
    /// separately, against the facts it touches.
    #[must_use]
    pub fn allows(self, author: &Author) -> bool {
        match author {
            Author::Hub => self.hub,
            Author::Device { role, .. } => self.roles.contains(role),
        }
    }
}

/// Who wrote a fact, as the receiver knows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    /// One of the tenant's hub-signed logs (reference, dispatch or desk log).
    Hub,
    /// An enrolled device, as the hub registered it.
    Device {
        /// Its id (the device id of its log).
        id: DeviceId,
        /// What it is for.
        role: DeviceRole,
        /// Where it stands.
        location: LocationId,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::DomainEvent;

    fn device(role: DeviceRole) -> Author {
        Author::Device {
            id: DeviceId::from_bytes([1; 16]),
            role,
            location: LocationId(uuid::Uuid::nil()),
        }
    }

    #[test]
    fn every_known_kind_has_an_authority_and_unknown_kinds_none() {
        for kind in DomainEvent::KINDS {
            let authority = DomainEvent::authority_of_kind(kind).expect("every known kind decides");
            assert!(authority.hub || !authority.roles.is_empty(), "{kind} has no author");
        }
        assert_eq!(DomainEvent::authority_of_kind("catalog.price_bomb"), None);
        assert_eq!(DomainEvent::authority_of_kind(""), None);
    }

    #[test]
    fn reference_data_is_the_hubs_alone() {
        for kind in [
            "catalog.item_upserted",
            "catalog.category_upserted",
            "catalog.modifier_group_upserted",
            "catalog.tax_rate_upserted",
            "catalog.tax_category_upserted",
            "catalog.staff_upserted",
            "device.registered",
            "device.revoked",
            "device.configured",
            "work_order.dispatched",
        ] {
            let authority = DomainEvent::authority_of_kind(kind).unwrap();
            assert!(authority.allows(&Author::Hub), "{kind}");
            for role in DeviceRole::ALL {
                assert!(!authority.allows(&device(role)), "{kind} from a {role:?}");
            }
        }
    }

    #[test]
    fn devices_write_what_their_role_does() {
        let may =
            |kind: &str, role| DomainEvent::authority_of_kind(kind).unwrap().allows(&device(role));
        assert!(may("order.payment_taken", DeviceRole::Pos));
        assert!(may("order.payment_taken", DeviceRole::Register));
        assert!(!may("order.payment_taken", DeviceRole::Kds));
        assert!(!may("order.payment_taken", DeviceRole::Technician));
        assert!(may("kds.ticket_bumped", DeviceRole::Kds));
        assert!(!may("kds.ticket_bumped", DeviceRole::Technician));
        assert!(may("item.availability_set", DeviceRole::Kds));
        assert!(may("item.availability_set", DeviceRole::Register));
        assert!(!may("item.availability_set", DeviceRole::Technician));
        assert!(may("work_order.changed", DeviceRole::Technician));
        assert!(!may("work_order.changed", DeviceRole::Pos));
        assert!(DomainEvent::authority_of_kind("work_order.changed").unwrap().allows(&Author::Hub));
        assert!(!DomainEvent::authority_of_kind("order.opened").unwrap().allows(&Author::Hub));
    }
}
