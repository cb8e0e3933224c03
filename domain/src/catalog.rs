//! The catalog: items, categories, modifier groups and their rules.
//!
//! The hub publishes the catalog as events; terminals fold those events into the records
//! here and read them when a cashier rings something up. A line on an order copies what it
//! needs from the catalog (name, price, taxes, station) at the time of sale, so a later
//! price change never rewrites a past order.
//!
//! Staff are published the same way: the hub owns who works here and their PIN hashes, and
//! terminals verify PINs offline against the folded [`Staff`] records.

use serde::{Deserialize, Serialize};

use crate::ids::{
    CategoryId, ItemId, LocationId, ModifierGroupId, ModifierId, StaffId, TaxCategoryId,
};
use crate::money::{Money, Qty};

/// A kitchen display / printer station that prepares some items ("grill", "bar").
pub type Station = String;

/// Something that can be sold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: ItemId,
    /// Name as shown on the POS, the ticket and the receipt.
    pub name: String,
    /// Category for the menu grid and reports.
    pub category: Option<CategoryId>,
    /// Price per unit (per kilogram when sold by weight).
    pub price: Money,
    /// Which taxes apply.
    pub tax_category: Option<TaxCategoryId>,
    /// Barcodes (EAN/UPC/any) that ring this item up.
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// The kitchen station its lines are routed to; `None` for retail goods and drinks
    /// served at the till.
    #[serde(default)]
    pub station: Option<Station>,
    /// Modifier groups offered when the item is added, in display order.
    #[serde(default)]
    pub modifier_groups: Vec<ModifierGroupId>,
    /// Whether stock on hand is tracked (retail goods), so sales move stock.
    #[serde(default)]
    pub track_stock: bool,
    /// Sold by weight: quantities are fractional and come from a scale or a barcode.
    #[serde(default)]
    pub sold_by_weight: bool,
    /// For a tracked item, the stock on hand at or below which it is low and should be
    /// reordered (see [`Item::is_low`]).
    #[serde(default)]
    pub reorder_point: Option<Qty>,
    /// Retired items stay in the catalog for history but cannot be sold.
    #[serde(default = "yes")]
    pub active: bool,
}

impl Item {
    /// Whether `on_hand` of this item is low: it is tracked, has a reorder point, and
    /// stock is at or below it.
    #[must_use]
    pub fn is_low(&self, on_hand: Qty) -> bool {
        self.track_stock && self.reorder_point.is_some_and(|point| on_hand <= point)
    }
}

fn yes() -> bool {
    true
}

/// A menu category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// "Burgers", "Drinks".
    pub name: String,
    /// Position on the menu grid.
    #[serde(default)]
    pub position: u32,
}

/// A group of choices offered with an item: "Cooking" (pick exactly one), "Extras"
/// (pick up to three).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModifierGroup {
    /// Its id.
    pub id: ModifierGroupId,
    /// "Cooking", "Sides".
    pub name: String,
    /// At least this many must be chosen; a group with `min >= 1` is required.
    pub min: u8,
    /// At most this many may be chosen.
    pub max: u8,
    /// The choices.
    pub modifiers: Vec<Modifier>,
}

/// One choice within a modifier group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modifier {
    /// Its id.
    pub id: ModifierId,
    /// "Medium rare", "Extra cheese".
    pub name: String,
    /// Added to the item's unit price (may be negative: "no cheese -0.50").
    pub price_delta: Money,
}

/// What a member of staff may do. Only managers and owners approve voids, comps, refunds
/// and discounts above the policy's threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Rings up sales and takes payments.
    Cashier,
    /// Takes orders at tables.
    Server,
    /// Works the kitchen display.
    Kitchen,
    /// Approves what needs approving.
    Manager,
    /// Everything a manager can, and owns the business.
    Owner,
    /// Works jobs on a technician's laptop. Never a published staff record's role: the
    /// laptop's own technician PIN signs this role in, on that laptop only.
    Technician,
}

impl Role {
    /// Whether this role may approve voids, comps, refunds and large discounts.
    #[must_use]
    pub fn can_approve(self) -> bool {
        matches!(self, Role::Manager | Role::Owner)
    }
}

/// A member of staff, as published by the hub.
///
/// The PIN is never part of the record: only its salted argon2id hash, as a PHC string
/// (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so a terminal can verify a PIN
/// offline and a stolen event log does not hand out PINs. This crate never hashes: it only
/// checks that the field has the shape of such a string (see [`looks_like_argon2id_phc`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    /// Their id.
    pub id: StaffId,
    /// Name as shown on the sign-in screen and on receipts.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// The salted argon2id hash of their PIN, as a PHC string.
    pub pin_hash: String,
    /// Staff who left stay in the catalog (their ids are on past events) but cannot sign in.
    #[serde(default = "yes")]
    pub active: bool,
    /// The locations they work at; none means every location of the tenant (an owner, an
    /// area manager). A terminal receives the records of its own location's staff only,
    /// and signs in, or takes approvals from, only staff who work there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<LocationId>,
}

impl Staff {
    /// Whether they work at `location`.
    #[must_use]
    pub fn works_at(&self, location: LocationId) -> bool {
        self.locations.is_empty() || self.locations.contains(&location)
    }
}

/// Whether `s` has the shape of an argon2id PHC string: `$argon2id$v=19$<params>$<salt>$<hash>`
/// with base64 salt and hash. It does not prove the hash is right (only verifying a PIN does);
/// it keeps plain PINs and other junk out of the published record.
#[must_use]
pub fn looks_like_argon2id_phc(s: &str) -> bool {
    let b64 = |part: &str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    };
    let params = |part: &str| {
        part.split(',').all(|kv| {
            kv.split_once('=').is_some_and(|(k, v)| {
                matches!(k, "m" | "t" | "p")
                    && !v.is_empty()
                    && v.bytes().all(|b| b.is_ascii_digit())
            })
        })
    };
    let parts: Vec<&str> = s.split('$').collect();
    s.len() <= 256
        && matches!(parts.as_slice(),
            ["", "argon2id", version, p, salt, hash]
                if version.starts_with("v=") && params(p) && b64(salt) && b64(hash) && hash.len() >= 16)
}

/// The argon2id cost a PIN hash asks of every terminal that verifies a PIN against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinHashCost {
    /// Memory, in KiB (`m`).
    pub m_kib: u32,
    /// Passes over that memory (`t`).
    pub t: u32,
    /// Lanes (`p`).
    pub p: u32,
}

impl PinHashCost {
    /// The most a published hash may ask. A staff record is written once and verified on
    /// every sign-in of every terminal of the store, so a record asking 4 GiB or a million
    /// passes would freeze them all. The bounds leave room above the hub's own cost
    /// (OWASP: 19 MiB over 2 passes, 1 lane) while capping memory times passes at under
    /// seven times it; the memory cap is the terminals' own verification limit.
    pub const MAX: PinHashCost = PinHashCost { m_kib: 64 * 1024, t: 4, p: 4 };

    /// Reads the cost out of an argon2id PHC string (`m=..,t=..,p=..`, each exactly once),
    /// or `None` if it has no such parameters.
    #[must_use]
    pub fn of_phc(phc: &str) -> Option<PinHashCost> {
        if !looks_like_argon2id_phc(phc) {
            return None;
        }
        let params = phc.split('$').nth(3)?;
        let (mut memory, mut passes, mut lanes) = (None, None, None);
        for pair in params.split(',') {
            let (name, value) = pair.split_once('=')?;
            let slot = match name {
                "m" => &mut memory,
                "t" => &mut passes,
                "p" => &mut lanes,
                _ => return None,
            };
            if slot.replace(value.parse::<u32>().ok()?).is_some() {
                return None;
            }
        }
        Some(PinHashCost { m_kib: memory?, t: passes?, p: lanes? })
    }

    /// Whether `phc` can be published as a staff member's PIN hash: an argon2id PHC string
    /// whose cost is within bounds, so every terminal can afford to verify it.
    #[must_use]
    pub fn is_publishable(phc: &str) -> bool {
        Self::of_phc(phc).is_some_and(Self::is_within_bounds)
    }

    /// Whether argon2 accepts these parameters and none exceeds [`PinHashCost::MAX`]:
    /// memory, passes and lanes are each bounded, so no one of them can be the bomb.
    #[must_use]
    pub fn is_within_bounds(self) -> bool {
        let max = Self::MAX;
        (1..=max.p).contains(&self.p)
            && (1..=max.t).contains(&self.t)
            // argon2 needs at least 8 KiB per lane.
            && (8 * self.p..=max.m_kib).contains(&self.m_kib)
    }
}

/// Why a selection of modifiers does not satisfy an item's groups.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModifierError {
    /// A required group has too few choices.
    #[error("choose at least {min} from \"{group}\"")]
    TooFew {
        /// The group's name.
        group: String,
        /// Its minimum.
        min: u8,
    },
    /// A group has too many choices.
    #[error("choose at most {max} from \"{group}\"")]
    TooMany {
        /// The group's name.
        group: String,
        /// Its maximum.
        max: u8,
    },
    /// A chosen modifier belongs to none of the item's groups.
    #[error("modifier {0} is not offered with this item")]
    NotOffered(ModifierId),
}

/// Checks `chosen` against `groups` and returns the chosen modifiers in group order.
pub fn resolve_modifiers<'g>(
    groups: &'g [ModifierGroup],
    chosen: &[ModifierId],
) -> Result<Vec<&'g Modifier>, ModifierError> {
    if let Some(stray) =
        chosen.iter().find(|id| !groups.iter().any(|g| g.modifiers.iter().any(|m| m.id == **id)))
    {
        return Err(ModifierError::NotOffered(*stray));
    }
    let mut resolved = Vec::with_capacity(chosen.len());
    for group in groups {
        let picked: Vec<&Modifier> =
            group.modifiers.iter().filter(|m| chosen.contains(&m.id)).collect();
        // Choosing the same modifier twice ("extra extra cheese") counts twice.
        let count = chosen.iter().filter(|id| picked.iter().any(|m| m.id == **id)).count();
        if count < usize::from(group.min) {
            return Err(ModifierError::TooFew { group: group.name.clone(), min: group.min });
        }
        if count > usize::from(group.max) {
            return Err(ModifierError::TooMany { group: group.name.clone(), max: group.max });
        }
        for id in chosen {
            if let Some(m) = picked.iter().find(|m| m.id == *id) {
                resolved.push(*m);
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn group(n: u128, min: u8, max: u8, mods: &[u128]) -> ModifierGroup {
        ModifierGroup {
            id: ModifierGroupId(Uuid::from_u128(n)),
            name: format!("group {n}"),
            min,
            max,
            modifiers: mods
                .iter()
                .map(|m| Modifier {
                    id: ModifierId(Uuid::from_u128(*m)),
                    name: format!("mod {m}"),
                    price_delta: Money(50),
                })
                .collect(),
        }
    }

    fn m(n: u128) -> ModifierId {
        ModifierId(Uuid::from_u128(n))
    }

    #[test]
    fn required_group_must_be_answered() {
        let groups = [group(1, 1, 1, &[10, 11]), group(2, 0, 3, &[20, 21])];
        assert_eq!(
            resolve_modifiers(&groups, &[m(20)]),
            Err(ModifierError::TooFew { group: "group 1".into(), min: 1 })
        );
        let ok = resolve_modifiers(&groups, &[m(21), m(10)]).unwrap();
        assert_eq!(ok.iter().map(|x| x.id).collect::<Vec<_>>(), vec![m(10), m(21)]);
    }

    #[test]
    fn pin_hash_cost_is_read_and_bounded() {
        let phc = |params: &str| {
            format!("$argon2id$v=19${params}$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA")
        };
        let owasp = PinHashCost::of_phc(&phc("m=19456,t=2,p=1")).unwrap();
        assert_eq!(owasp, PinHashCost { m_kib: 19456, t: 2, p: 1 });
        assert!(owasp.is_within_bounds());
        // The terminals' cheap test cost is accepted too.
        assert!(PinHashCost::of_phc(&phc("m=64,t=1,p=1")).unwrap().is_within_bounds());
        for bomb in ["m=4194304,t=1,p=1", "m=19456,t=1000000,p=1", "m=19456,t=2,p=64"] {
            let cost = PinHashCost::of_phc(&phc(bomb)).unwrap();
            assert!(!cost.is_within_bounds(), "{bomb}");
        }
        for odd in ["m=0,t=2,p=1", "m=19456,t=0,p=1", "m=19456,t=2,p=0", "m=8,t=1,p=2"] {
            assert!(!PinHashCost::of_phc(&phc(odd)).unwrap().is_within_bounds(), "{odd}");
        }
        for broken in ["m=1,m=2,t=1,p=1", "m=19456,t=2", "m=99999999999,t=1,p=1"] {
            assert_eq!(PinHashCost::of_phc(&phc(broken)), None, "{broken}");
        }
        assert_eq!(PinHashCost::of_phc("1234"), None);
    }

    #[test]
    fn limits_and_strays_are_refused() {
        let groups = [group(1, 1, 1, &[10, 11])];
        assert!(matches!(
            resolve_modifiers(&groups, &[m(10), m(11)]),
            Err(ModifierError::TooMany { .. })
        ));
        assert_eq!(
            resolve_modifiers(&groups, &[m(10), m(99)]),
            Err(ModifierError::NotOffered(m(99)))
        );
    }
}
