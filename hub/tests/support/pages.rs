//! A browser without JavaScript for the console's page tests: real HTTP, cookies kept,
//! redirects not followed, forms posted as `application/x-www-form-urlencoded`. Shared by the
//! hub's console tests and the cross-crate console-and-agent scenario (each uses part of it).

#![allow(dead_code)]

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use uuid::Uuid;

/// A browser without JavaScript: follows nothing by itself, keeps its cookies.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

/// A page's answer.
pub struct Answer {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new(base: &str) -> Result<Self> {
        let http =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Browser { http, base: base.to_owned(), cookies: Vec::new() })
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub async fn answer(&mut self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request.header(COOKIE, self.cookie_header()).send().await?;
        for set in response.headers().get_all(SET_COOKIE) {
            let pair = set.to_str()?.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').context("a cookie without =")?;
            self.cookies.retain(|(n, _)| n != name);
            if !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = response.status();
        let location =
            response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Answer { status, location, body: response.text().await? })
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.answer(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Answer> {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.answer(request).await
    }

    /// Signs in through the form as `email` of `tenant`.
    /// A browser signed in to `base` as `email` of `tenant` with `password`.
    #[allow(dead_code, reason = "not every test binary signs in this way")]
    pub async fn signed_in(base: &str, tenant: Uuid, email: &str, password: &str) -> Result<Self> {
        let mut browser = Self::new(base)?;
        let answer = browser.sign_in(tenant, email, password).await?;
        ensure!(answer.status == StatusCode::SEE_OTHER, "sign-in: {}", answer.status);
        Ok(browser)
    }

    pub async fn sign_in(&mut self, tenant: Uuid, email: &str, password: &str) -> Result<Answer> {
        let page = self.get(&format!("/console/signin?business={tenant}")).await?;
        ensure!(page.status == StatusCode::OK, "sign-in page: {}", page.status);
        let token = field(&page.body, "login_token")?;
        let business = tenant.to_string();
        self.post(
            "/console/signin",
            &[
                ("login_token", &token),
                ("business", &business),
                ("email", email),
                ("password", password),
            ],
        )
        .await
    }
}

/// The value of the form field `name` in `html`.
pub fn field(html: &str, name: &str) -> Result<String> {
    let at = html.find(&format!("name=\"{name}\"")).with_context(|| format!("no field {name}"))?;
    let rest = &html[at..];
    let value = rest.find("value=\"").context("no value")? + 7;
    Ok(rest[value..].split('"').next().unwrap_or_default().to_owned())
}
