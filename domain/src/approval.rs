//! Manager approval: the one rule that the commands enforce and that every screen follows
//! when it asks for an approval.
//!
//! Voids, comps, price overrides and refunds always need a manager's or owner's approval;
//! a discount needs one only above the policy's threshold (checked by the command, which
//! knows the policy). An approver is an active member of staff whose role may approve
//! ([`Role::can_approve`]). A manager or owner who is signed in approves their own
//! requests; anyone else names an approver, whose PIN the terminal verifies.

use crate::catalog::{Role, Staff};

/// What a request needs from a manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Always (voids, comps, price overrides, refunds).
    Always,
    /// Only above the policy's threshold (discounts).
    AboveThreshold,
}

/// Whether `staff` may be recorded as approving: active, and a role that may approve.
#[must_use]
pub fn may_approve(staff: &Staff) -> bool {
    staff.active && staff.role.can_approve()
}

/// Whether staff signed in with `role` approve their own requests (no PIN asked again).
#[must_use]
pub fn approves_own(role: Role) -> bool {
    role.can_approve()
}

/// The staff who may approve, in the order given.
pub fn approvers(staff: &[Staff]) -> impl Iterator<Item = &Staff> {
    staff.iter().filter(|s| may_approve(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::StaffId;
    use uuid::Uuid;

    fn staff(role: Role, active: bool) -> Staff {
        Staff {
            id: StaffId(Uuid::nil()),
            name: "x".into(),
            role,
            pin_hash: String::new(),
            active,
            locations: Vec::new(),
        }
    }

    #[test]
    fn only_active_managers_and_owners_approve() {
        assert!(may_approve(&staff(Role::Manager, true)));
        assert!(may_approve(&staff(Role::Owner, true)));
        assert!(!may_approve(&staff(Role::Manager, false)));
        for role in [Role::Cashier, Role::Server, Role::Kitchen] {
            assert!(!may_approve(&staff(role, true)));
            assert!(!approves_own(role));
        }
        assert!(approves_own(Role::Manager));
        let all = [staff(Role::Cashier, true), staff(Role::Owner, true)];
        assert_eq!(approvers(&all).count(), 1);
    }
}
