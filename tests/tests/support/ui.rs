//! The terminal UI as a browser without JavaScript sees it: sign in with a PIN, pages,
//! form posts with the session's token, taking an order. For tests that drive a terminal
//! over HTTP.

// Shared by tests through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use thorbis_agent::seed;
use uuid::Uuid;

/// A signed-in terminal UI.
pub struct Ui {
    base: String,
    http: reqwest::Client,
    cookie: String,
    /// The form token of this session, posted with every form as the UI's pages do.
    csrf: String,
}

/// The form token in a page of the terminal UI.
pub fn form_token(html: &str) -> Result<String> {
    thorbis_terminal_ui::form_token_in(html)
        .map(str::to_owned)
        .context("the page has no form token")
}

impl Ui {
    /// Signs in as `staff`, retrying while the terminal does not know them yet.
    pub async fn sign_in(base: &str, staff: Uuid, pin: &str, wait: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()?;
        let deadline = Instant::now() + wait;
        // The PIN pad is there once the terminal knows the staff member.
        let pad = loop {
            let response = http.get(format!("{base}/signin/{staff}")).send().await?;
            if response.status().is_success() {
                break response.text().await?;
            }
            ensure!(Instant::now() < deadline, "PIN pad at {base}: {}", response.status());
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let token = form_token(&pad)?;
        let response = http
            .post(format!("{base}/signin"))
            .form(&[("staff", staff.to_string().as_str()), ("pin", pin), ("csrf", &token)])
            .send()
            .await?;
        let cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .with_context(|| format!("signing in at {base}: {}", response.status()))?;
        let cookie = cookie.to_str()?.split(';').next().unwrap_or_default().to_owned();
        let mut ui = Self { base: base.to_owned(), http, cookie, csrf: String::new() };
        ui.csrf = form_token(&ui.get("/").await?)?;
        Ok(ui)
    }

    /// A page (following redirects by hand, as the client does not), as HTML.
    pub async fn get(&self, path: &str) -> Result<String> {
        let mut path = path.to_owned();
        for _ in 0..4 {
            let response = self
                .http
                .get(format!("{}{path}", self.base))
                .header(reqwest::header::COOKIE, &self.cookie)
                .send()
                .await?;
            let status = response.status();
            if let Some(location) = response.headers().get(reqwest::header::LOCATION) {
                path = location.to_str()?.to_owned();
                continue;
            }
            ensure!(status.is_success(), "{path}: {status}");
            return Ok(response.text().await?);
        }
        bail!("{path}: too many redirects")
    }

    /// A response's body as bytes (a PDF), with no redirect.
    pub async fn bytes(&self, path: &str) -> Result<Vec<u8>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await?;
        ensure!(response.status().is_success(), "{path}: {}", response.status());
        Ok(response.bytes().await?.to_vec())
    }

    /// Posts a form; expects a redirect and returns where to.
    pub async fn post(&self, path: &str, form: &[(&str, String)]) -> Result<String> {
        let mut form = form.to_vec();
        form.push(("csrf", self.csrf.clone()));
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
            .form(&form)
            .send()
            .await?;
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().map(str::to_owned))
            .transpose()?;
        match location {
            Some(location) if status.is_redirection() => Ok(location),
            _ => bail!("{path}: {status} {}", response.text().await.unwrap_or_default()),
        }
    }

    /// Posts a file as a page's multipart form does (`file` field, the form token in the
    /// address); expects a redirect and returns where to.
    pub async fn upload(&self, path: &str, file_name: &str, bytes: &[u8]) -> Result<String> {
        let boundary = "thorbis-test-boundary-7f3a";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .http
            .post(format!("{}{path}?csrf={}", self.base, self.csrf))
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await?;
        let status = response.status();
        match response.headers().get(reqwest::header::LOCATION) {
            Some(location) if status.is_redirection() => Ok(location.to_str()?.to_owned()),
            _ => bail!("{path}: {status} {}", response.text().await.unwrap_or_default()),
        }
    }

    /// Opens a check at `table`, adds a burger and fries, sends it to the kitchen.
    pub async fn take_order(&self, table: &str) -> Result<()> {
        let check = self
            .post("/pos/checks", &[("table", table.to_owned()), ("guests", "2".to_owned())])
            .await?;
        let check = check.split('?').next().unwrap_or_default().to_owned();
        self.post(
            &format!("{check}/lines"),
            &[("item", seed::BURGER.0.to_string()), ("mod", seed::MEDIUM_RARE.0.to_string())],
        )
        .await?;
        self.post(&format!("{check}/lines"), &[("item", seed::FRIES.0.to_string())]).await?;
        let sent = self.post(&format!("{check}/send"), &[]).await?;
        ensure!(sent.ends_with("msg=sent"), "sending {table}: {sent}");
        Ok(())
    }

    /// The kitchen display's tickets (HTML).
    pub async fn tickets(&self) -> Result<String> {
        self.get("/kds/tickets").await
    }
}
