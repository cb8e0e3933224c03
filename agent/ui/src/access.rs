//! Who may use which screen, checked by the handler's extractor: a handler that takes
//! [`PosStaff`] runs only for someone signed in whose role may use the POS; anyone else
//! gets the sign-in page (signed out) or "not for your role" (403). The roles per screen
//! are here and nowhere else; the bar's navigation asks the same [`Access`] rules.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use thorbis_domain::catalog::Role;

use super::{UiError, UiState};
use thorbis_agent::SignedIn;

/// A screen's rule: which roles may use it.
pub(crate) trait Access {
    /// Whether `role` may use the screen.
    fn allows(role: Role) -> bool;
}

/// The signed-in member of staff, checked against screen `A`'s rule.
#[derive(Debug)]
pub(crate) struct Allowed<A>(SignedIn, PhantomData<A>);

impl<A> Deref for Allowed<A> {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

#[cfg(test)]
impl<A: Access> Allowed<A> {
    /// `who`, as a handler under test receives them (their role checked all the same).
    pub(crate) fn for_test(who: SignedIn) -> Self {
        assert!(A::allows(who.role), "{:?} may not use this screen", who.role);
        Allowed(who, PhantomData)
    }
}

impl<A: Access + Send + Sync> FromRequestParts<UiState> for Allowed<A> {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        if A::allows(who.role) { Ok(Allowed(who, PhantomData)) } else { Err(UiError::Forbidden) }
    }
}

/// The restaurant POS: checks, tenders.
#[derive(Debug)]
pub(crate) enum Pos {}
impl Access for Pos {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Cashier | Role::Server | Role::Manager | Role::Owner)
    }
}

/// The retail register, returns and the cash drawer.
#[derive(Debug)]
pub(crate) enum Register {}
impl Access for Register {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Cashier | Role::Manager | Role::Owner)
    }
}

/// The kitchen display and expo.
#[derive(Debug)]
pub(crate) enum Kitchen {}
impl Access for Kitchen {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Kitchen | Role::Manager | Role::Owner)
    }
}

/// The 86 board: the kitchen that runs out, and managers.
#[derive(Debug)]
pub(crate) enum Availability {}
impl Access for Availability {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Kitchen | Role::Manager | Role::Owner)
    }
}

/// Managing the terminal itself: who is signed in.
#[derive(Debug)]
pub(crate) enum Manage {}
impl Access for Manage {
    fn allows(role: Role) -> bool {
        matches!(role, Role::Manager | Role::Owner)
    }
}

/// Technician mode: a technician's laptop, signed in with its technician PIN.
#[derive(Debug)]
pub(crate) enum Field {}
impl Access for Field {
    fn allows(role: Role) -> bool {
        role == Role::Technician
    }
}

/// Someone signed in who may use the POS.
pub(crate) type PosStaff = Allowed<Pos>;
/// Someone signed in who may use the register, returns and the drawer.
pub(crate) type Cashier = Allowed<Register>;
/// Someone signed in who may use the kitchen display.
pub(crate) type KitchenStaff = Allowed<Kitchen>;
/// Someone signed in who may 86 items.
pub(crate) type StockKeeper = Allowed<Availability>;
/// A manager or owner, for the terminal's own settings.
pub(crate) type Manager = Allowed<Manage>;
/// The technician of this laptop.
pub(crate) type FieldTech = Allowed<Field>;

/// The first screen of a role.
pub(crate) fn home_of(who: &SignedIn) -> &'static str {
    if Field::allows(who.role) {
        "/field"
    } else if Pos::allows(who.role) {
        "/pos"
    } else {
        "/kds"
    }
}
