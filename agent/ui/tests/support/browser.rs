//! Headless Chromium for the UI's browser tests and tap-to-paint bench: one browser with its
//! own profile directory, and bounded waits on page state (every wait has a deadline, and a
//! timeout says what it waited for).

// Shared by the browser test and the bench through `#[path]`; each uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;

/// The Chromium Debian installs (`scripts/ensure-packages.sh test`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long any one wait may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// A running headless browser.
pub struct Chromium {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Launches Chromium headless with a fresh profile.
    pub async fn launch() -> Result<Chromium> {
        let profile = tempfile::tempdir()?;
        let config = BrowserConfig::builder()
            .chrome_executable(CHROMIUM)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(1280, 900)
            .viewport(None)
            .launch_timeout(Duration::from_secs(30))
            .request_timeout(Duration::from_secs(15))
            .args([
                "disable-gpu",
                "disable-component-update",
                "disable-background-networking",
                "disable-sync",
                "no-first-run",
                "autoplay-policy=no-user-gesture-required",
                // Two tabs (POS and KDS) run at once: neither may be throttled as hidden.
                "disable-background-timer-throttling",
                "disable-renderer-backgrounding",
                "disable-backgrounding-occluded-windows",
            ])
            .build()
            .map_err(|e| anyhow::anyhow!("browser config: {e}"))?;
        let (browser, mut handler) = Browser::launch(config).await.with_context(|| {
            format!("launching {CHROMIUM} (scripts/ensure-packages.sh test installs it)")
        })?;
        // The handler stream drives the DevTools connection; nothing happens unless polled.
        let handler = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Ok(Chromium { browser, handler, _profile: profile })
    }

    /// Opens a tab at `url` and waits for it to load.
    pub async fn open(&self, url: &str) -> Result<Page> {
        let page = self.browser.new_page(url).await.with_context(|| format!("opening {url}"))?;
        wait_for(&page, "the first page to load", "document.readyState === 'complete'").await?;
        Ok(page)
    }

    /// Closes the browser.
    pub async fn close(mut self) {
        let _ = self.browser.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.handler.abort();
    }
}

/// Launches Chromium, runs `scenario` in it and closes it whether the scenario passed or not.
pub async fn with_chromium(scenario: impl AsyncFnOnce(&Chromium) -> Result<()>) -> Result<()> {
    let chromium = Chromium::launch().await?;
    let result = scenario(&chromium).await;
    chromium.close().await;
    result
}

/// Evaluates `expr` and reads it as JSON; `None` while the page is between documents.
pub async fn eval(page: &Page, expr: &str) -> Option<serde_json::Value> {
    let result = tokio::time::timeout(Duration::from_secs(5), page.evaluate(expr)).await.ok()?;
    result.ok()?.value().cloned()
}

/// Evaluates `expr` as a string.
pub async fn text(page: &Page, expr: &str) -> Result<String> {
    match eval(page, expr).await {
        Some(serde_json::Value::String(s)) => Ok(s),
        other => bail!("{expr} gave {other:?}"),
    }
}

/// Waits until `expr` is true.
pub async fn wait_for(page: &Page, what: &str, expr: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        if eval(page, expr).await == Some(serde_json::Value::Bool(true)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let url = page.url().await.ok().flatten().unwrap_or_default();
            let body = text(page, "document.body ? document.body.innerText : ''")
                .await
                .unwrap_or_default();
            bail!(
                "timed out after {WAIT:?} waiting for {what} ({expr}) at {url}; page says:\n{body}"
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Clicks `selector` with a real mouse event and waits for the next page to arrive and
/// satisfy `then`: a new document, or a new `<main>` swapped into this one by the page's
/// script (either way, the marker left on the old `<main>` is gone).
pub async fn click_and_load(page: &Page, selector: &str, then: &str) -> Result<()> {
    mark_page(page).await;
    // Input goes to the tab in front, as a person's tap would.
    page.bring_to_front().await.context("bringing the tab to the front")?;
    // In the middle of the window, clear of the sticky top bar (a tap at the edge of the
    // viewport could land on the bar instead).
    let centre = format!(
        "(() => {{ const e = document.querySelector({}); if (e) e.scrollIntoView({{ block: 'center' }}); return true; }})()",
        serde_json::to_string(selector)?
    );
    eval(page, &centre).await;
    page.find_element(selector)
        .await
        .with_context(|| format!("finding {selector}"))?
        .click()
        .await
        .with_context(|| format!("clicking {selector}"))?;
    let expr = format!("{NEW_PAGE} && ({then})");
    wait_for(page, &format!("the page after clicking {selector}"), &expr).await
}

/// Marks the page in front as seen, so [`NEW_PAGE`] tells when the next one is in: a new
/// document, or a new `<main>` swapped in by the page's script.
pub async fn mark_page(page: &Page) {
    eval(page, "(() => { const m = document.querySelector('main'); if (m) m.__old = true; return true; })()")
        .await;
}

/// True once the page marked by [`mark_page`] was replaced and the new one has loaded.
pub const NEW_PAGE: &str = "document.readyState === 'complete' && !!document.querySelector('main') && document.querySelector('main').__old !== true";

/// Sets an input's value as if typed (bad input goes in verbatim, whatever the keyboard).
pub async fn fill(page: &Page, selector: &str, value: &str) -> Result<()> {
    let js = format!(
        "(() => {{ const e = document.querySelector({sel}); if (!e) return false; e.value = {val}; return true; }})()",
        sel = serde_json::to_string(selector)?,
        val = serde_json::to_string(value)?
    );
    if eval(page, &js).await != Some(serde_json::Value::Bool(true)) {
        bail!("no input {selector}");
    }
    Ok(())
}

/// Where screenshots go: `$CARGO_TARGET_DIR/ui-artifacts` (or the workspace's
/// `target/ui-artifacts`).
pub fn artifacts_dir() -> Result<PathBuf> {
    // Without CARGO_TARGET_DIR: the workspace's `target`, beside its Cargo.lock (this file
    // is shared by crates at different depths).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .unwrap_or(Path::new("."));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    let dir = target.join("ui-artifacts");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Saves a full-page PNG of `page` as `name.png` in the artefacts directory.
pub async fn screenshot(page: &Page, name: &str) -> Result<PathBuf> {
    let path = artifacts_dir()?.join(format!("{name}.png"));
    let bytes = page
        .screenshot(ScreenshotParams::builder().full_page(true).build())
        .await
        .with_context(|| format!("screenshot {name}"))?;
    std::fs::write(&path, bytes)?;
    Ok(path)
}

/// Signs in on `page` at `signin_url` as `name`, tapping the PIN pad, and waits for `then`.
pub async fn sign_in(
    page: &Page,
    signin_url: &str,
    name: &str,
    pin: &str,
    then: &str,
) -> Result<()> {
    page.goto(signin_url).await?;
    wait_for(page, "the staff list", "!!document.querySelector('[data-staff]')").await?;
    click_and_load(page, &format!("[data-staff='{name}']"), "!!document.getElementById('pin')")
        .await?;
    for digit in pin.chars() {
        page.find_element(format!("[data-digit='{digit}']")).await?.click().await?;
    }
    click_and_load(page, "#pin-ok", then).await
}
