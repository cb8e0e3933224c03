//! The kitchen's screens and the 86 board in a real headless Chromium, against real stores:
//! a check's taps swap the page in place; an order sent to the kitchen shows in the
//! station's all-day counts and on expo, which follows each station's bump live and bumps
//! and recalls the order; an item 86'd on one terminal reaches a second terminal's store
//! through the sync protocol, where the POS greys it and refuses it. Bad input on the 86
//! board changes nothing; a cashier may not use it.
//!
//! Screenshots go to `$CARGO_TARGET_DIR/ui-artifacts/` (`kds-*.png`).

#[path = "support/browser.rs"]
mod browser;

use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use browser::{Chromium, click_and_load, eval, fill, screenshot, text, wait_for, with_chromium};
use chromiumoxide::page::Page;
use thorbis_agent::sync::SharedStore;
use thorbis_agent::{Clock, Store, StoreConfig, SystemClock, seed};
use thorbis_domain::events::DomainEvent;
use thorbis_sync_protocol::sync::{EventSource, PeerState, SyncConfig};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

/// One terminal: a store with the demo catalog and its UI on a free loopback port.
struct Rig {
    store: SharedStore,
    base: String,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Rig {
    /// Each terminal keeps its own sessions (its cookie is named after its port), so a tab
    /// signs in to the terminal it shows, as on two real terminals.
    async fn start(seed: u8) -> Result<Rig> {
        let dir = tempfile::tempdir()?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut store = Store::open(StoreConfig {
            id_seed: Some(u64::from(seed)),
            device_key_seed: Some([seed; 32]),
            clock: Arc::clone(&clock),
            ..StoreConfig::new(dir.path().join("agent.db"))
        })?;
        store.execute_all(&seed::catalog())?;
        let store = SharedStore::new(store);
        let state = UiState::new(store.clone(), None, clock, SessionKey::from_bytes(b"ui kds e2e"));
        let listener = ui::bind_loopback(0).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ui::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Ok(Rig { store, base, _dir: dir, stop: Some(stop) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The store's event count and projection digest: what bad input must leave alone.
    fn fingerprint(&self) -> Result<(u64, String)> {
        self.store
            .with(|store| Ok((store.event_count()?, format!("{:?}", store.projection_digest()?))))
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs the sync protocol from `from`'s store to `to`'s until it goes quiet (bounded).
fn sync(from: &Rig, to: &Rig) -> Result<usize> {
    from.store.with(|a| {
        to.store.with(|b| {
            let mut keys = b.key_ring()?;
            keys.insert(a.device_id(), a.public_key());
            let now = SystemClock.now_ms();
            let mut sender = PeerState::new(SyncConfig::default());
            let mut receiver = PeerState::new(SyncConfig::default());
            let mut stored = 0;
            for _ in 0..1_000 {
                let mut quiet = true;
                while let Some(msg) = sender.generate_message(&*a, now) {
                    quiet = false;
                    let got = receiver.receive_message(&*b, &keys, msg, now)?;
                    stored += b.apply_remote(&got.events)?.stored;
                }
                while let Some(msg) = receiver.generate_message(&*b, now) {
                    quiet = false;
                    sender.receive_message(&*a, &keys, msg, now)?;
                }
                if quiet {
                    return Ok(stored);
                }
            }
            bail!("sync did not go quiet")
        })
    })
}

/// Signs in on `page` (at `rig`) as `name`, tapping the PIN pad.
async fn sign_in(rig: &Rig, page: &Page, name: &str, pin: &str) -> Result<()> {
    browser::sign_in(page, &rig.url("/signin"), name, pin, "location.pathname === '/pos'").await
}

/// Opens a check for `table` on the POS screen of `page`.
async fn open_check(page: &Page, table: &str) -> Result<()> {
    fill(page, "#table", table).await?;
    fill(page, "#guests", "2").await?;
    click_and_load(page, "#open-check", "!!document.getElementById('items')").await
}

fn has(selector: &str, needle: &str) -> String {
    format!(
        "Array.from(document.querySelectorAll({})).some(e => e.innerText.includes({}))",
        serde_json::to_string(selector).unwrap(),
        serde_json::to_string(needle).unwrap()
    )
}

/// The inline message's text, once the page shows one.
async fn message(page: &Page) -> Result<String> {
    wait_for(page, "an inline message", "!!document.getElementById('msg')").await?;
    text(page, "document.getElementById('msg').innerText").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expo_and_all_day_counts_follow_the_kitchen() -> Result<()> {
    let rig = Rig::start(21).await?;
    with_chromium(async |chromium| kitchen(&rig, chromium).await).await
}

#[allow(clippy::print_stdout, reason = "the screenshots' path is the test's report")]
async fn kitchen(rig: &Rig, chromium: &Chromium) -> Result<()> {
    println!("RESULT ui_kds_e2e screenshots={}", browser::artifacts_dir()?.display());
    let pos = chromium.open(&rig.url("/signin")).await?;
    sign_in(rig, &pos, "Morgan", seed::MANAGER_PIN).await?;
    open_check(&pos, "5").await?;

    // Form posts on the check swap its content in place: the document stays the same one
    // (the burger's tile is a link to its modifier panel, a page of its own).
    click_and_load(&pos, "[data-item='Burger']", "!!document.getElementById('modifiers')").await?;
    eval(&pos, "window.__sameDocument = true").await;
    pos.find_element("[data-modifier='Medium rare']").await?.click().await?;
    click_and_load(&pos, "#add-item", &has("#lines li", "Burger")).await?;
    for n in 1..=2 {
        click_and_load(
            &pos,
            "[data-item='Fries']",
            &format!("document.querySelectorAll('#lines li.line').length === {}", n + 1),
        )
        .await?;
    }
    ensure!(
        eval(&pos, "window.__sameDocument === true").await == Some(true.into()),
        "a tap on the check loaded a new document"
    );
    ensure!(
        text(&pos, "location.pathname").await?.starts_with("/pos/checks/"),
        "the address follows the swapped page"
    );

    // The kitchen display and expo, open before the order is sent.
    let kds = chromium.open(&rig.url("/kds")).await?;
    wait_for(&kds, "the all-day counts", "!!document.getElementById('allday')").await?;
    ensure!(text(&kds, "document.getElementById('allday').innerText").await?.contains("Nothing"));
    let expo = chromium.open(&rig.url("/kds/expo")).await?;
    wait_for(&expo, "expo", "!!document.getElementById('expo')").await?;
    for page in [&kds, &expo] {
        eval(page, "window.__sameDocument = true").await;
    }

    click_and_load(&pos, "#send", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Sent to the kitchen"));

    // All day: two fries, one burger medium rare, without a reload.
    let fries = "document.querySelector(\"#allday [data-allday='Fries'] .count\")";
    wait_for(
        &kds,
        "the all-day counts to show the order",
        &format!("!!{fries} && {fries}.innerText === '2'"),
    )
    .await?;
    let allday = text(&kds, "document.getElementById('allday').innerText").await?;
    ensure!(allday.contains("Burger") && allday.contains("Medium rare"), "{allday}");
    screenshot(&kds, "kds-01-all-day").await?;

    // Expo: the order with both stations making it.
    wait_for(&expo, "the order on expo", &has("#expo .ticket", "Table 5")).await?;
    ensure!(
        text(&expo, "document.querySelector('#expo .ticket').innerText")
            .await?
            .contains("0 of 2 done")
    );
    wait_for(&expo, "expo's beep", "window.thorbisBeeps >= 1").await?;
    screenshot(&expo, "kds-02-expo").await?;

    // The grill bumps its ticket: expo shows the grill done, all day loses the burger.
    click_and_load(&kds, "[data-station='grill']", "!!document.getElementById('tickets')").await?;
    click_and_load(&kds, ".ticket .bump", "!!document.getElementById('msg')").await?;
    ensure!(message(&kds).await?.contains("Bumped"));
    ensure!(!text(&kds, "document.getElementById('allday').innerText").await?.contains("Burger"));
    wait_for(&expo, "the grill done on expo", &has("#expo .ticket", "1 of 2 done")).await?;
    let grill_state = "document.querySelector(\"#expo [data-station='grill'] .state\").innerText";
    ensure!(text(&expo, grill_state).await?.to_lowercase() == "done");
    let fryer_state = "document.querySelector(\"#expo [data-station='fryer'] .state\").innerText";
    ensure!(text(&expo, fryer_state).await?.to_lowercase() == "making");
    screenshot(&expo, "kds-03-expo-grill-done").await?;

    // Expo bumps the order: gone from the kitchen, listed as done, and recalled back.
    click_and_load(&expo, "#expo .ticket .bump", "!!document.getElementById('msg')").await?;
    ensure!(message(&expo).await?.contains("Order bumped"));
    ensure!(
        eval(&expo, "document.querySelectorAll('#expo .ticket').length").await
            == Some(serde_json::Value::from(0))
    );
    ensure!(text(&expo, "document.getElementById('ready').innerText").await?.contains("Table 5"));
    screenshot(&expo, "kds-04-expo-ready").await?;
    ensure!(rig.store.with(|s| s.kds_queue(None))?.is_empty(), "every ticket bumped");
    // The KDS is empty; expo's recall brings the order back there, live.
    kds.goto(rig.url("/kds")).await?;
    wait_for(&kds, "the empty KDS", "!!document.querySelector('#tickets .empty')").await?;
    click_and_load(&expo, "#ready button", &has("#expo .ticket", "Table 5")).await?;
    ensure!(message(&expo).await?.contains("Order recalled"));
    ensure!(rig.store.with(|s| s.kds_queue(None))?.len() == 2, "both tickets back");
    wait_for(&kds, "the recalled tickets on the KDS", &has("#tickets .ticket", "Fries")).await?;
    ensure!(
        eval(&expo, "window.__sameDocument === true").await == Some(true.into()),
        "expo's forms swapped in place"
    );

    // Bad input: an unknown order changes nothing.
    let before = rig.fingerprint()?;
    let status = eval(
        &expo,
        "fetch('/kds/expo/bump', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'order=nonsense&csrf=' + document.querySelector('input[name=csrf]').value}).then(r => r.status)",
    )
    .await;
    ensure!(status == Some(404.into()), "{status:?}");
    ensure!(rig.fingerprint()? == before, "bad input changed the store");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_86d_on_one_terminal_is_greyed_and_refused_on_another() -> Result<()> {
    let a = Rig::start(31).await?;
    let b = Rig::start(32).await?;
    with_chromium(async |chromium| eighty_six(&a, &b, chromium).await).await
}

async fn eighty_six(a: &Rig, b: &Rig, chromium: &Chromium) -> Result<()> {
    // Terminal B: a cashier's check with fries on the menu. Cashiers may not 86.
    let pos_b = chromium.open(&b.url("/signin")).await?;
    sign_in(b, &pos_b, "Sam", seed::CASHIER_PIN).await?;
    let status = eval(&pos_b, "fetch('/pos/availability').then(r => r.status)").await;
    ensure!(status == Some(403.into()), "a cashier may not 86: {status:?}");
    ensure!(eval(&pos_b, "!document.getElementById('nav-86')").await == Some(true.into()));
    let before = b.fingerprint()?;
    let post = format!(
        "fetch('/pos/availability', {{method: 'POST', headers: {{'content-type': 'application/x-www-form-urlencoded'}}, body: 'available=0&item={}&csrf=' + document.querySelector('input[name=csrf]').value}}).then(r => r.status)",
        seed::FRIES.0
    );
    // With the page's own form token: the refusal is the role's, not the guard's.
    ensure!(eval(&pos_b, &post).await == Some(403.into()), "a cashier's 86 is refused");
    ensure!(b.fingerprint()? == before, "a refused 86 changed the store");
    open_check(&pos_b, "8").await?;
    ensure!(
        eval(&pos_b, "!!document.querySelector(\"button[data-item='Fries']\")").await
            == Some(true.into())
    );

    // Terminal A: the manager's 86 board.
    let board = chromium.open(&a.url("/signin")).await?;
    sign_in(a, &board, "Morgan", seed::MANAGER_PIN).await?;
    click_and_load(&board, "#nav-86", "!!document.querySelector('[data-avail]')").await?;
    let fries_form = "form:has(button[data-avail='Fries'])";
    for (field, value, expect) in [
        ("item", "not-an-item", "Unknown item"),
        ("item", "00000000-0000-0000-0000-000000000000", "nknown item"),
        ("available", "7", "Choose 86 or back on"),
        ("available", "", "Choose 86 or back on"),
    ] {
        let before = a.fingerprint()?;
        click_and_load(&board, "#nav-86", "!!document.querySelector('[data-avail]')").await?;
        fill(&board, &format!("{fries_form} input[name='{field}']"), value).await?;
        click_and_load(&board, "button[data-avail='Fries']", "!!document.getElementById('msg')")
            .await?;
        let msg = message(&board).await?;
        ensure!(msg.contains(expect), "{field}={value:?}: expected {expect:?}, got {msg:?}");
        ensure!(a.fingerprint()? == before, "{field}={value:?} changed the store");
    }
    click_and_load(&board, "button[data-avail='Fries']", "!!document.getElementById('msg')")
        .await?;
    ensure!(message(&board).await?.contains("Fries is 86'd"));
    ensure!(
        text(&board, "document.getElementById('off-count').innerText").await?.starts_with("1 item")
    );
    screenshot(&board, "kds-05-86-board").await?;

    // Recorded as a SetAvailability event with the manager who did it.
    let by = a.store.with(|store| {
        EventSource::events_after(&*store, store.device_id(), 0, 10_000)
            .into_iter()
            .filter_map(|(e, _)| DomainEvent::decode(e.kind.as_str(), &e.payload).ok().flatten())
            .find_map(|e| match e {
                DomainEvent::AvailabilitySet(s) if !s.available => Some(s.by),
                _ => None,
            })
    });
    ensure!(by == Some(Some(seed::MANAGER)), "the 86 is recorded with its staff: {by:?}");

    // Before sync, terminal B still sells fries; after, its store has the 86 too.
    ensure!(b.store.with(|s| s.unavailable_items())?.is_empty());
    let stored = sync(a, b)?;
    ensure!(stored > 0, "events reached terminal B");
    ensure!(b.store.with(|s| s.unavailable_items())? == vec![seed::FRIES]);

    // B's screen still shows the tile from before: the tap is refused inline, nothing
    // written, and the page it shows greys fries.
    let before = b.fingerprint()?;
    click_and_load(&pos_b, "button[data-item='Fries']", "!!document.getElementById('msg')").await?;
    let msg = message(&pos_b).await?;
    ensure!(msg.contains("86'd"), "{msg}");
    ensure!(b.fingerprint()? == before, "a refused tap changed the store");
    ensure!(
        eval(&pos_b, "!!document.querySelector(\".tile.item.off[data-item='Fries']\") && !document.querySelector(\"button[data-item='Fries']\")").await
            == Some(true.into()),
        "fries are greyed on terminal B"
    );
    // Still Sam's session on B: the manager's sign-in on terminal A, in the same browser,
    // is A's alone.
    ensure!(text(&pos_b, "document.getElementById('who').innerText").await?.contains("Sam"));
    screenshot(&pos_b, "kds-06-pos-86d").await?;

    // Back on at A, synced: B sells fries again.
    click_and_load(&board, "button[data-avail='Fries']", "!!document.getElementById('msg')")
        .await?;
    ensure!(message(&board).await?.contains("Fries is back on"));
    sync(a, b)?;
    ensure!(b.store.with(|s| s.unavailable_items())?.is_empty());
    let check = text(&pos_b, "location.pathname").await?;
    pos_b.goto(b.url(&check)).await?;
    wait_for(&pos_b, "the check", "!!document.getElementById('items')").await?;
    click_and_load(&pos_b, "button[data-item='Fries']", &has("#lines li", "Fries"))
        .await
        .context("fries back on the menu")?;
    Ok(())
}
