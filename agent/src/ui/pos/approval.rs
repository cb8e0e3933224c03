//! Manager approval inside a check's panels: when the signed-in staff may not approve
//! (voids, comps, price overrides, discounts above the policy's threshold), the same form
//! carries a manager's choice and PIN, checked by [`Store::approve`](crate::Store::approve)
//! (argon2id, the lockout shared with sign-in). A manager or owner signed in approves their
//! own request. The approver then goes into the command, and its event records them.
//!
//! A wrong or malformed PIN, or a lockout, comes back as an inline message before any
//! command runs, so nothing is written.

use std::fmt::Write as _;

use thorbis_domain::catalog::Staff;
use thorbis_domain::ids::StaffId;
use uuid::Uuid;

use super::super::form::Fields;
use super::super::html::esc;
use super::super::{UiError, UiState};
use crate::staff::is_valid_pin;
use crate::{SignInError, SignedIn};

/// The approval block of a form whose fields are prefixed `prefix` (`void-mgr`,
/// `void-pin`): a note when the signed-in staff approve themselves, else the managers to
/// choose from and a PIN field.
pub(super) fn fields(who: &SignedIn, staff: &[Staff], prefix: &str, hint: &str) -> String {
    if who.role.can_approve() {
        return format!("<p class=\"muted approval\">Approved by you ({}).</p>", esc(&who.name));
    }
    let mut out = format!(
        "<fieldset class=\"group approval\" id=\"{prefix}-approval\"><legend>Manager approval <span class=\"muted\">{}</span></legend><div class=\"row\">",
        esc(hint)
    );
    let managers: Vec<&Staff> = staff.iter().filter(|s| s.role.can_approve()).collect();
    for (i, m) in managers.iter().enumerate() {
        let _ = write!(
            out,
            "<label class=\"choice\"><input type=\"radio\" name=\"{prefix}-mgr\" value=\"{}\"{} data-manager=\"{name}\"> {name}</label>",
            m.id.0,
            if i == 0 { " checked" } else { "" },
            name = esc(&m.name),
        );
    }
    if managers.is_empty() {
        out.push_str("<p class=\"muted\">No manager is published to this terminal.</p>");
    }
    let _ = write!(
        out,
        "</div><label>Manager PIN <input id=\"{prefix}-pin\" name=\"{prefix}-pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"off\" maxlength=\"16\"></label></fieldset>"
    );
    out
}

/// Who approves a request posted with the block above: the signed-in manager, the manager
/// whose PIN was typed (verified here), or nobody (`None`: the domain decides whether one
/// was needed). `Err` is the inline message for a refused PIN.
pub(super) async fn approver(
    state: &UiState,
    who: &SignedIn,
    fields: &Fields,
    prefix: &str,
) -> Result<Result<Option<StaffId>, String>, UiError> {
    if who.role.can_approve() {
        return Ok(Ok(Some(who.staff_id)));
    }
    let pin = fields.get(&format!("{prefix}-pin")).to_owned();
    if pin.is_empty() {
        return Ok(Ok(None));
    }
    let Ok(manager) = Uuid::try_parse(fields.get(&format!("{prefix}-mgr"))).map(StaffId) else {
        return Ok(Err("Choose the approving manager.".into()));
    };
    if !is_valid_pin(&pin) {
        return Ok(Err("A manager PIN is 4 to 8 digits.".into()));
    }
    let result = state.with_store(move |store| Ok(store.approve(manager, &pin))).await?;
    Ok(match result {
        Ok(id) => Ok(Some(id)),
        Err(SignInError::Store(e)) => return Err(e.into()),
        Err(SignInError::LockedOut { until_ms }) => {
            let minutes = until_ms.saturating_sub(state.now_ms()).div_ceil(60_000).max(1);
            Err(format!(
                "Too many wrong PINs: approval is locked for {minutes} more minute{}.",
                if minutes == 1 { "" } else { "s" }
            ))
        }
        Err(SignInError::UnknownStaff | SignInError::WrongPin | SignInError::UnusableHash) => {
            Err("Wrong manager PIN: nothing was changed.".into())
        }
        Err(SignInError::Inactive) => Err("That manager's account is disabled.".into()),
        Err(SignInError::NotAManager) => Err("A manager's or owner's PIN is required.".into()),
    })
}
