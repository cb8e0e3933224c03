//! The inline manager approval of the register and returns: a chip per manager and a PIN
//! field in the form itself (no pop-over), verified by
//! [`Store::approve`](crate::Store::approve) before any command runs.

use maud::{Markup, html};
use thorbis_domain::catalog::Staff;
use thorbis_domain::ids::StaffId;
use thorbis_web::components::{Input, labelled};
use thorbis_web::form::Fields;
use uuid::Uuid;

use super::super::{UiError, UiState};
use crate::{Store, StoreError};

/// Staff who may approve, for the inline approval fields.
pub(crate) fn approvers(store: &Store) -> Result<Vec<Staff>, StoreError> {
    Ok(store.active_staff()?.into_iter().filter(|s| s.role.can_approve()).collect())
}

/// The inline approval fields: a chip per manager and a PIN field (no pop-over).
pub(crate) fn approval_fields(approvers: &[Staff], typed: &Fields, required: bool) -> Markup {
    html! {
        fieldset.group.approval {
            legend { "Manager approval" @if !required { " (if over the limit)" } }
            div.row {
                @for s in approvers {
                    @let id = s.id.0.to_string();
                    label.choice {
                        input type="radio" name="approver" value=(id) data-approver=(s.name)
                            checked[typed.get("approver") == id];
                        (s.name)
                    }
                }
            }
            (labelled("Manager PIN", Input::new("approver_pin").pin().class("approver-pin")))
        }
    }
}

/// Verifies the approval typed into [`approval_fields`]: `None` when none was given.
pub(crate) async fn approval(
    state: &UiState,
    fields: &Fields,
    required: bool,
) -> Result<Result<Option<StaffId>, String>, UiError> {
    let (who, pin) = (fields.get("approver"), fields.get("approver_pin").to_owned());
    if who.is_empty() && pin.is_empty() {
        return Ok(if required {
            Err("A manager's approval is required: choose a manager and enter their PIN.".into())
        } else {
            Ok(None)
        });
    }
    let Ok(manager) = Uuid::try_parse(who).map(StaffId) else {
        return Ok(Err("Choose the approving manager.".into()));
    };
    if !crate::staff::is_valid_pin(&pin) {
        return Ok(Err("The manager PIN is 4 to 8 digits.".into()));
    }
    let result = state
        .with_store(move |store| match store.approve(manager, &pin) {
            Ok(id) => Ok(Ok(Some(id))),
            Err(crate::SignInError::Store(e)) => Err(e),
            Err(e) => Ok(Err(format!("Approval refused: {e}."))),
        })
        .await?;
    Ok(result)
}
