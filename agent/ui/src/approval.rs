//! The manager approval block of every form that may need one (the POS's voids, comps,
//! discounts and price overrides; the register's price overrides and discounts; returns),
//! following the domain's rule ([`thorbis_domain::approval`]): a manager or owner signed
//! in approves their own request; anyone else chooses a manager in the form itself and
//! types their PIN, checked by [`Store::approve`](thorbis_agent::Store::approve) (argon2id, the
//! lockout shared with sign-in). The approver then goes into the command, whose checks
//! decide whether an approval was needed, and its event records them.
//!
//! A wrong or malformed PIN, or a lockout, comes back as an inline message before any
//! command runs, so nothing is written.

use maud::{Markup, html};
use thorbis_domain::approval::{Need, approvers, approves_own};
use thorbis_domain::catalog::Staff;
use thorbis_domain::ids::StaffId;
use thorbis_web::components::Input;
use thorbis_web::form::Fields;
use uuid::Uuid;

use super::pins::{self, PinRefused, THROTTLED, locked_text};
use super::{UiError, UiState};
use thorbis_agent::staff::is_valid_pin;
use thorbis_agent::{SignInError, SignedIn};

/// The approval block of a form whose fields are prefixed `prefix` (`void-mgr`,
/// `void-pin`), for a request that needs approval as `need` says: a note when the
/// signed-in staff approve themselves, else the managers among `staff` to choose from and
/// a PIN field.
pub(crate) fn fields(who: &SignedIn, staff: &[Staff], prefix: &str, need: Need) -> Markup {
    if approves_own(who.role) {
        return html! { p.muted.approval { "Approved by you (" (who.name) ")." } };
    }
    let managers: Vec<&Staff> = approvers(staff).collect();
    let hint = match need {
        Need::Always => "required",
        Need::AboveThreshold => "needed for large discounts",
    };
    let mgr = format!("{prefix}-mgr");
    let pin = format!("{prefix}-pin");
    html! {
        fieldset.group.approval id={ (prefix) "-approval" } {
            legend { "Manager approval " span.muted { (hint) } }
            div.row {
                @for (i, m) in managers.iter().enumerate() {
                    label.choice {
                        input type="radio" name=(mgr) value=(m.id.0) checked[i == 0] data-manager=(m.name);
                        " " (m.name)
                    }
                }
                @if managers.is_empty() { p.muted { "No manager is published to this terminal." } }
            }
            label { "Manager PIN " (Input::new(&pin).id(&pin).pin().maxlength(16)) }
        }
    }
}

/// Who approves a request posted with the block above: the signed-in manager, the manager
/// whose PIN was typed (verified here), or nobody (`None`: the domain decides whether one
/// was needed). `Err` is the inline message for a refused PIN.
pub(crate) async fn approver(
    state: &UiState,
    who: &SignedIn,
    fields: &Fields,
    prefix: &str,
) -> Result<Result<Option<StaffId>, String>, UiError> {
    if approves_own(who.role) {
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
    Ok(match pins::approve(state, manager, pin).await? {
        Ok(id) => Ok(Some(id)),
        Err(PinRefused::Throttled) => Err(THROTTLED.into()),
        Err(PinRefused::Refused(refusal)) => Err(refusal_text(state, &refusal)),
    })
}

/// What a refused manager PIN is told.
fn refusal_text(state: &UiState, refusal: &SignInError) -> String {
    match refusal {
        SignInError::LockedOut { until_ms } => locked_text("approval", state.now_ms(), *until_ms),
        SignInError::UnknownStaff | SignInError::WrongPin | SignInError::UnusableHash => {
            "Wrong manager PIN: nothing was changed.".into()
        }
        SignInError::Inactive => "That manager's account is disabled.".into(),
        SignInError::NotAManager | SignInError::Store(_) => {
            "A manager's or owner's PIN is required.".into()
        }
    }
}
