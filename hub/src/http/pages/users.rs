//! Console users: the owner invites managers and viewers by a one-time link, resets a
//! user's password with another, and deactivates users. Managers see the list.

use axum::extract::{Path, State};
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use thorbis_web::components::{Input, Message, labelled, message};
use thorbis_web::html;
use thorbis_web::respond::see_other;
use uuid::Uuid;

use super::{PageForm, PageResult, PageUser, csrf, path_id, shell};
use crate::accounts::links::{self, LINK_TTL_MS};
use crate::accounts::{self, AccountError, ConsoleRole};
use crate::http::{AppState, Error};

/// A link to show once: what it is for and its URL.
struct Issued {
    what: String,
    url: String,
}

fn link_url(state: &AppState, headers: &HeaderMap, tenant: Uuid, token: &str) -> String {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("HUB-ADDRESS");
    let scheme = if state.0.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}/console/accept?business={tenant}&token={token}")
}

async fn users_page(
    state: &AppState,
    user: &PageUser,
    status: StatusCode,
    msg: Option<&Message>,
    issued: Option<&Issued>,
) -> PageResult {
    let users = accounts::users(state.store(), user.tenant_id).await?;
    let owner = user.can(ConsoleRole::Owner);
    let body = html! {
        h1 { "Console users" }
        (message(msg))
        @if let Some(issued) = issued {
            section.panel #issued-link {
                h2 { (issued.what) }
                p { "Send this link to them. It works once, for " (LINK_TTL_MS / 86_400_000) " days, and is not shown again:" }
                p { code #link { (issued.url) } }
            }
        }
        table.list #users {
            thead { tr { th { "Email" } th { "Role" } th { "Signs in" } th { span.sr-only { "Actions" } } } }
            tbody {
                @for u in &users {
                    tr data-user=(u.user_id) {
                        td { (u.email) }
                        td { (u.role) }
                        td { @if u.active { "Yes" } @else { span.problem { "Deactivated" } } }
                        td {
                            @if owner && u.active && u.user_id != user.user_id {
                                form.inline method="post" action=(format!("/console/users/{}/reset", u.user_id)) {
                                    (csrf(user))
                                    button.btn type="submit" aria-label=(format!("Reset the password of {}", u.email)) { "Reset password" }
                                }
                                " "
                                form.inline method="post" action=(format!("/console/users/{}/deactivate", u.user_id)) {
                                    (csrf(user))
                                    button.btn type="submit" aria-label=(format!("Deactivate {}", u.email)) { "Deactivate" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if owner {
            h2 { "Invite someone" }
            form.row method="post" action="/console/users/invite" {
                (csrf(user))
                (labelled("Email", Input::new("email").id("invite-email").kind("email").maxlength(254)))
                label { "Role"
                    select name="role" id="invite-role" {
                        option value="manager" { "Manager: runs the business" }
                        option value="viewer" { "Viewer: reads only" }
                        option value="owner" { "Owner: also manages users" }
                    }
                }
                button.btn.primary type="submit" id="invite" { "Create invitation link" }
            }
        }
    };
    let page = shell(user, "Users", "console-users", body);
    Ok((status, [(axum::http::header::CACHE_CONTROL, "no-store")], page).into_response())
}

/// `GET /console/users`.
pub(in crate::http) async fn list(State(state): State<AppState>, user: PageUser) -> PageResult {
    user.require(ConsoleRole::Manager)?;
    users_page(&state, &user, StatusCode::OK, None, None).await
}

/// `POST /console/users/invite` (owners).
pub(in crate::http) async fn invite(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: PageForm,
) -> PageResult {
    let PageForm { user, fields } = form;
    user.require(ConsoleRole::Owner)?;
    let refuse = |text: String| Message::Error(text);
    let email = match super::super::console::normalize_email(fields.get("email")) {
        Ok(email) => email,
        Err(e) => {
            return users_page(
                &state,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&refuse(e.to_string())),
                None,
            )
            .await;
        }
    };
    let Some(role) = ConsoleRole::parse(fields.get("role")) else {
        return users_page(
            &state,
            &user,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&refuse("Choose a role".into())),
            None,
        )
        .await;
    };
    match links::invite(state.store(), user.tenant_id, user.user_id, &email, role).await {
        Ok(token) => {
            let issued = Issued {
                what: format!("Invitation for {email} as {}", role.as_str()),
                url: link_url(&state, &headers, user.tenant_id, &token),
            };
            users_page(&state, &user, StatusCode::OK, None, Some(&issued)).await
        }
        Err(e @ AccountError::EmailTaken(_)) => {
            users_page(&state, &user, StatusCode::CONFLICT, Some(&refuse(e.to_string())), None)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/users/{id}/reset` (owners): a password reset link for the user.
pub(in crate::http) async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, .. } = form;
    user.require(ConsoleRole::Owner)?;
    let target = path_id(&id, "console user")?;
    let token = links::reset(state.store(), user.tenant_id, user.user_id, target).await?;
    let issued = Issued {
        what: "Password reset link".into(),
        url: link_url(&state, &headers, user.tenant_id, &token),
    };
    users_page(&state, &user, StatusCode::OK, None, Some(&issued)).await
}

/// `POST /console/users/{id}/deactivate` (owners, not themselves).
pub(in crate::http) async fn deactivate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: PageForm,
) -> PageResult {
    let PageForm { user, .. } = form;
    user.require(ConsoleRole::Owner)?;
    let target = path_id(&id, "console user")?;
    if target == user.user_id {
        return Err(Error::Conflict("you cannot deactivate your own account".into()).into());
    }
    accounts::deactivate(state.store(), user.tenant_id, target).await?;
    tracing::warn!(tenant_id = %user.tenant_id, user_id = %target, by = %user.user_id, "console user deactivated");
    Ok(see_other("/console/users"))
}
