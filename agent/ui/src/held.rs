//! The held-back screen, for managers: facts this terminal received from other devices
//! and stored but did not fold, because the domain refused them (see the agent's
//! `store/admission.rs`): who wrote them, when they arrived, and why. Those waiting for
//! something to arrive (their author's record, the check they belong to) say so; they
//! are folded by themselves once it does. Nothing here can be forced in: a refused fact
//! is the hub's and the console's to look into.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::access::Manager;
use super::html::{ago, page};
use super::{UiError, UiState};

/// Most facts listed.
const LIMIT: u32 = 200;

/// `GET /held`.
pub(crate) async fn list(State(state): State<UiState>, who: Manager) -> Result<Response, UiError> {
    let now = state.now_ms();
    let held = state.with_store(|store| store.quarantined(LIMIT)).await?;
    let body = html! {
        h1 { "Held back from other devices" }
        @if held.is_empty() {
            p.muted #held-none { "Nothing: every fact from other devices was taken." }
        } @else {
            p.muted {
                "Facts another device sent that this terminal keeps but does not count. \
                 Waiting ones count as soon as what they refer to arrives."
            }
            table.list #held {
                thead { tr { th { "Arrived" } th { "From device" } th { "Why" } th {} } }
                tbody {
                    @for h in &held {
                        tr data-code=(h.code) {
                            td { (ago(now, h.quarantined_ms)) }
                            td { code { (h.event.device_id.to_string().get(..8).unwrap_or_default()) } " #" (h.event.seq) }
                            td { (h.reason) }
                            td { @if h.is_final { "refused" } @else { "waiting" } }
                        }
                    }
                }
            }
        }
    };
    Ok(page("Held back", "held", Some(&who), &state.indicators(), body).into_response())
}
