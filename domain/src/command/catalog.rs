//! Publishing the catalog and staff, and 86'ing items.

use crate::catalog::{Category, Item, ModifierGroup, PinHashCost, Staff};
use crate::events::{AvailabilitySet, DomainEvent as E};
use crate::ids::{ItemId, StaffId};
use crate::tax::{TaxCategory, TaxRate};

use super::check::{amount, item, text};
use super::{CommandError, Cx, Decided, ReadModel};

pub(super) fn publish_item(cx: &Cx<'_, impl ReadModel>, item: &Item) -> Decided {
    text(&item.name, "item name")?;
    amount(item.price, "price", cx.policy)?;
    Ok(vec![E::ItemUpserted(item.clone())])
}

pub(super) fn publish_category(category: &Category) -> Decided {
    text(&category.name, "category name")?;
    Ok(vec![E::CategoryUpserted(category.clone())])
}

pub(super) fn publish_modifier_group(group: &ModifierGroup) -> Decided {
    text(&group.name, "modifier group name")?;
    if group.min > group.max {
        return Err(CommandError::InvalidText(format!(
            "modifier group \"{}\": minimum {} is above maximum {}",
            group.name, group.min, group.max
        )));
    }
    Ok(vec![E::ModifierGroupUpserted(group.clone())])
}

pub(super) fn publish_tax_rate(rate: &TaxRate) -> Decided {
    text(&rate.name, "tax rate name")?;
    if rate.ppm > 1_000_000 {
        return Err(CommandError::InvalidAmount { what: "a tax rate", rule: "at most 100%" });
    }
    Ok(vec![E::TaxRateUpserted(rate.clone())])
}

pub(super) fn publish_tax_category(category: &TaxCategory) -> Decided {
    text(&category.name, "tax category name")?;
    Ok(vec![E::TaxCategoryUpserted(category.clone())])
}

pub(super) fn publish_staff(staff: &Staff) -> Decided {
    text(&staff.name, "staff name")?;
    // The hub hashes PINs; a record carrying anything but a hash (a plain PIN typed
    // into the wrong field), or one too costly to verify, is refused before it reaches
    // every terminal's log.
    if !PinHashCost::is_publishable(&staff.pin_hash) {
        return Err(CommandError::InvalidPinHash);
    }
    Ok(vec![E::StaffUpserted(staff.clone())])
}

pub(super) fn set_availability(
    cx: &Cx<'_, impl ReadModel>,
    item_id: ItemId,
    available: bool,
    by: Option<StaffId>,
) -> Decided {
    item(cx.state, item_id)?;
    Ok(vec![E::AvailabilitySet(AvailabilitySet { item_id, available, by })])
}
