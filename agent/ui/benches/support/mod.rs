//! What the in-process benches share: talking to the UI's router as its own pages do.

// Each bench uses part of this module.
#![allow(dead_code)]

use anyhow::{Context as _, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use thorbis_domain::ids::StaffId;
use tower::ServiceExt as _;

/// The `Host` the UI answers (it refuses any name but loopback's).
pub const HOST: &str = "127.0.0.1";

/// A signed-in session: its cookie and the form token its pages carry.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// The form token in a page of the UI.
pub fn form_token(html: &str) -> Result<String> {
    thorbis_terminal_ui::form_token_in(html)
        .map(str::to_owned)
        .context("the page has no form token")
}

/// `GET path` with `cookie`: the status and the body.
pub async fn get(app: &Router, path: &str, cookie: &str) -> Result<(StatusCode, String)> {
    let request = Request::get(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, String::from_utf8(body.to_vec())?))
}

/// Posts the urlencoded `form` to `path` with `cookie` (the token is the caller's).
pub async fn post(
    app: &Router,
    path: &str,
    cookie: &str,
    form: String,
) -> Result<axum::response::Response> {
    let request = Request::post(path)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))?;
    Ok(app.clone().oneshot(request).await?)
}

/// The sign-in form for `staff` with `pin`, carrying the PIN pad's token.
pub async fn sign_in_form(app: &Router, staff: StaffId, pin: &str) -> Result<String> {
    let (status, pad) = get(app, &format!("/signin/{}", staff.0), "").await?;
    ensure!(status == StatusCode::OK, "PIN pad: {status}");
    Ok(format!("staff={}&pin={pin}&csrf={}", staff.0, form_token(&pad)?))
}

/// Signs `staff` in by PIN through the router, as the PIN pad does.
pub async fn sign_in(app: &Router, staff: StaffId, pin: &str) -> Result<Session> {
    let form = sign_in_form(app, staff, pin).await?;
    let response = post(app, "/signin", "", form).await?;
    ensure!(response.status() == StatusCode::SEE_OTHER, "sign-in: {}", response.status());
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("sign-in sets no cookie")?
        .to_owned();
    let (_, home) = get(app, "/pos", &cookie).await?;
    Ok(Session { csrf: form_token(&home)?, cookie })
}

/// The `p`th percentile of `values` (sorted in place), by the nearest rank.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * (values.len() - 1) as f64).round() as usize;
    values[rank]
}
