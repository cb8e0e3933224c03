//! Typed identifiers. Every business id is a UUID (v7 when we mint it, so ids sort by
//! creation time); the newtypes keep an order id from being passed where a line id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The underlying UUID.
            #[must_use]
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

uuid_ids! {
    /// A check (restaurant) or a sale (retail).
    OrderId;
    /// One line of an order.
    LineId;
    /// A discount applied to a line or an order.
    DiscountId;
    /// One tender taken against an order.
    PaymentId;
    /// A refund against a closed order.
    RefundId;
    /// A kitchen ticket: the lines of one send, for one station.
    TicketId;
    /// A cash drawer session, from float to close.
    DrawerSessionId;
    /// A member of staff.
    StaffId;
    /// A catalog item.
    ItemId;
    /// A catalog category.
    CategoryId;
    /// A group of modifiers ("Cooking", "Sides").
    ModifierGroupId;
    /// One modifier within a group ("Medium rare").
    ModifierId;
    /// A tax rate ("State sales tax 6%").
    TaxRateId;
    /// A set of tax rates applied together ("Food", "Alcohol").
    TaxCategoryId;
    /// A field-service job (a work order).
    WorkOrderId;
    /// One item of a work order's checklist.
    ChecklistItemId;
    /// One part line of a work order.
    PartLineId;
    /// A location (store, depot) of a tenant.
    LocationId;
}
