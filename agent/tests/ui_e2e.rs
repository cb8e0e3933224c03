//! The terminal UI in a real headless Chromium, against a real store and a simulated
//! ESC/POS printer over TCP: sign in by PIN, open a table, add an item with modifiers, send
//! it to the kitchen, watch it arrive on the kitchen display in a second tab without a
//! reload, bump and recall it, pay cash with change, and find the receipt (and its copy) in
//! the printer's jobs. Every form is also fed bad input, and the store must not change.
//!
//! Screenshots of each screen are saved under `$CARGO_TARGET_DIR/ui-artifacts/` (the test
//! prints the path).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/rig.rs"]
mod rig;

use anyhow::{Context, Result, ensure};
use browser::{Chromium, click_and_load, eval, fill, screenshot, text, wait_for};
use rig::{Rig, has, message, refused, sign_in, wait_for_job};
use thorbis_agent::seed;
use thorbis_domain::Currency;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_from_pin_to_kitchen_to_cash_and_receipt() -> Result<()> {
    let rig = Rig::start().await?;
    let chromium = Chromium::launch().await?;
    let result = scenario(&rig, &chromium).await;
    chromium.close().await;
    result
}

#[allow(clippy::too_many_lines)] // One scenario, told in order.
#[allow(clippy::print_stdout, reason = "the screenshots' path is the test's report")]
async fn scenario(rig: &Rig, chromium: &Chromium) -> Result<()> {
    println!("RESULT ui_e2e screenshots={}", browser::artifacts_dir()?.display());
    let pos = chromium.open(&rig.url("/")).await?;
    wait_for(&pos, "the sign-in screen", "location.pathname === '/signin'").await?;
    ensure!(
        text(&pos, "document.getElementById('indicators').innerText")
            .await?
            .contains("sync: not configured"),
        "the indicator bar shows sync state"
    );
    screenshot(&pos, "01-signin").await?;

    // The PIN pad refuses junk before the store is asked, and a wrong PIN after.
    click_and_load(&pos, "[data-staff='Sam']", "!!document.getElementById('pin')").await?;
    screenshot(&pos, "02-pin-pad").await?;
    refused(rig, &pos, &[("#pin", "")], "#pin-ok", "4 to 8 digits").await?;
    refused(rig, &pos, &[("#pin", "12ab")], "#pin-ok", "4 to 8 digits").await?;
    refused(rig, &pos, &[("#pin", "99999999999999")], "#pin-ok", "4 to 8 digits").await?;
    refused(rig, &pos, &[("#pin", "0000")], "#pin-ok", "Wrong staff or PIN").await?;

    // Sam is a cashier: the POS, not the kitchen display.
    sign_in(rig, &pos, "Sam", seed::CASHIER_PIN, "location.pathname === '/pos'").await?;
    ensure!(text(&pos, "document.getElementById('who').innerText").await?.contains("Sam"));
    let status = eval(&pos, "fetch('/kds').then(r => r.status)").await;
    ensure!(status == Some(serde_json::json!(403)), "a cashier may not open the KDS: {status:?}");
    screenshot(&pos, "03-checks").await?;

    // New check: bad tables and guest counts change nothing; typed markup stays text.
    refused(rig, &pos, &[("#table", ""), ("#guests", "2")], "#open-check", "Table is required")
        .await?;
    for guests in ["", "-3", "abc", "0", "2.5", "99999999999"] {
        refused(
            rig,
            &pos,
            &[("#table", "12"), ("#guests", guests)],
            "#open-check",
            "Guests must be",
        )
        .await?;
    }
    refused(
        rig,
        &pos,
        &[("#table", &"9".repeat(21)), ("#guests", "2")],
        "#open-check",
        "at most 20",
    )
    .await?;
    let markup = "<svg onload=__xss=1>";
    refused(rig, &pos, &[("#table", markup), ("#guests", "x")], "#open-check", "Guests must be")
        .await?;
    ensure!(eval(&pos, "window.__xss === undefined").await == Some(serde_json::json!(true)));
    ensure!(text(&pos, "document.getElementById('table').value").await? == markup);

    fill(&pos, "#table", "12").await?;
    fill(&pos, "#guests", "2").await?;
    click_and_load(&pos, "#open-check", "!!document.getElementById('items')").await?;
    screenshot(&pos, "04-check-menu").await?;

    // The burger's modifier panel: the domain refuses a burger with no cooking choice.
    click_and_load(&pos, "[data-item='Burger']", "!!document.getElementById('modifiers')").await?;
    screenshot(&pos, "05-modifiers").await?;
    refused(rig, &pos, &[], "#add-item", "Choose at least 1 from \"Cooking\"").await?;
    ensure!(
        eval(&pos, "!!document.getElementById('modifiers')").await == Some(true.into()),
        "the panel stays open"
    );
    for (field, value, expect) in [
        ("#seat", "abc", "Seat must be"),
        ("#seat", "-1", "Seat must be"),
        ("#course", "99999999999", "Course must be"),
        ("#qty", "0", "Quantity must be"),
        ("#qty", "1000", "Quantity must be"),
    ] {
        refused(
            rig,
            &pos,
            &[("#seat", "1"), ("#course", "1"), ("#qty", "1"), (field, value)],
            "#add-item",
            expect,
        )
        .await?;
    }
    for modifier in ["Medium rare", "Cheese"] {
        pos.find_element(format!("[data-modifier='{modifier}']")).await?.click().await?;
    }
    fill(&pos, "#seat", "1").await?;
    fill(&pos, "#course", "1").await?;
    fill(&pos, "#qty", "1").await?;
    click_and_load(&pos, "#add-item", &has("#lines li", "Burger")).await?;
    let lines = text(&pos, "document.getElementById('lines').innerText").await?;
    ensure!(
        lines.contains("Medium rare, Cheese") && lines.contains("seat 1 · course 1"),
        "{lines}"
    );
    // Fries go straight on (no choices), to the fryer.
    click_and_load(&pos, "[data-item='Fries']", &has("#lines li", "Fries")).await?;
    screenshot(&pos, "06-check-lines").await?;

    // The kitchen display in a second tab, signed in as the manager (who sees every screen;
    // the session is the browser's, so the first tab now acts as Morgan too).
    let kds = chromium.open(&rig.url("/signin")).await?;
    sign_in(rig, &kds, "Morgan", seed::MANAGER_PIN, "location.pathname === '/pos'").await?;
    kds.goto(rig.url("/kds")).await?;
    wait_for(&kds, "the kitchen display", "!!document.getElementById('tickets')").await?;
    eval(&kds, "window.__sameDocument = true").await;
    let beeps_before = eval(&kds, "window.thorbisBeeps").await;
    ensure!(beeps_before == Some(serde_json::json!(0)), "{beeps_before:?}");

    click_and_load(&pos, "#send", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Sent to the kitchen"));
    wait_for(&kds, "the burger's ticket on the KDS without a reload", &has(".ticket", "Burger"))
        .await?;
    ensure!(
        eval(&kds, "window.__sameDocument === true").await == Some(true.into()),
        "the KDS reloaded"
    );
    wait_for(&kds, "a beep for the new tickets", "window.thorbisBeeps >= 1").await?;
    let grill = text(
        &kds,
        "Array.from(document.querySelectorAll('.ticket')).map(t => t.innerText).join('\\n---\\n')",
    )
    .await?;
    ensure!(
        grill.contains("Medium rare, Cheese") && grill.contains("seat 1 · course 1"),
        "{grill}"
    );
    ensure!(grill.contains("Table 12") && grill.contains("Fries"), "{grill}");
    wait_for(
        &kds,
        "the age timer",
        "/^\\d+:\\d\\d$/.test(document.querySelector('.ticket .age').innerText)",
    )
    .await?;
    screenshot(&kds, "07-kds").await?;

    // Nothing new to send: refused inline, nothing written.
    refused(rig, &pos, &[], "#send", "Nothing new to send").await?;

    // The grill's station filter shows only the burger; bump it, recall it, bump it again.
    click_and_load(&kds, "[data-station='grill']", "!!document.getElementById('tickets')").await?;
    ensure!(!text(&kds, "document.getElementById('tickets').innerText").await?.contains("Fries"));
    click_and_load(&kds, ".ticket .bump", "!!document.getElementById('msg')").await?;
    ensure!(message(&kds).await?.contains("Bumped"));
    wait_for(&kds, "the burger gone from the grill", &format!("!({})", has(".ticket", "Burger")))
        .await?;
    ensure!(text(&kds, "document.getElementById('recall').innerText").await?.contains("Table 12"));
    click_and_load(&kds, "#recall button", &has(".ticket", "Burger")).await?;
    click_and_load(&kds, ".ticket .bump", "!!document.getElementById('msg')").await?;
    screenshot(&kds, "08-kds-bumped").await?;

    // Pay: open the drawer first (bad floats refused), then bad tenders refused.
    let order = {
        rig.store.with(|store| store.open_orders())?.into_iter().next().context("the open check")?
    };
    let total = order.totals.total;
    refused(rig, &pos, &[("#float", "abc")], "#open-drawer", "Float must be").await?;
    refused(rig, &pos, &[("#float", "-5")], "#open-drawer", "Float must be").await?;
    fill(&pos, "#float", "100").await?;
    click_and_load(&pos, "#open-drawer", "!!document.getElementById('tendered')").await?;
    screenshot(&pos, "09-pay").await?;
    for bad in ["", "abc", "-5", "1e9", "12.345", "99999999999"] {
        refused(rig, &pos, &[("#tendered", bad)], "#take-cash", "Cash tendered must be").await?;
    }
    refused(rig, &pos, &[("#tendered", "1")], "#take-cash", "does not cover").await?;
    fill(&pos, "#tendered", "50").await?;
    click_and_load(&pos, "#take-cash", "!!document.getElementById('change')").await?;
    let change = text(&pos, "document.getElementById('change').innerText").await?;
    let expected = thorbis_domain::Money(50_00 - total.0).format(Currency::USD);
    ensure!(change == expected, "change {change}, expected {expected} (total {total:?})");
    screenshot(&pos, "10-paid").await?;

    // The receipt prints on the simulated printer (after the two kitchen tickets).
    let total_text = total.format(Currency::USD);
    let receipt = wait_for_job(rig, |t| t.contains(&total_text) && !t.contains("COPY")).await?;
    ensure!(receipt.contains(&expected), "the receipt shows the change:\n{receipt}");
    // A copy, marked as such.
    click_and_load(&pos, "#reprint", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("copy"));
    let copy = wait_for_job(rig, |t| t.contains(&total_text) && t.contains("COPY")).await?;
    ensure!(copy.contains("*** COPY ***"), "{copy}");
    // Nothing either screen loaded came from anywhere but the agent: they work offline.
    for page in [&pos, &kds] {
        let local = "performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))";
        ensure!(
            eval(page, local).await == Some(true.into()),
            "a screen loaded something off the agent"
        );
    }

    // Both kitchen tickets printed too, with the burger's modifiers, seat and course.
    let grill = wait_for_job(rig, |t| t.starts_with("GRILL")).await?;
    ensure!(grill.contains("+ Medium rare") && grill.contains("S1 C1"), "{grill}");
    wait_for_job(rig, |t| t.starts_with("FRYER")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kitchen_staff_get_the_kds_and_a_lockout_is_shown_on_the_pad() -> Result<()> {
    let rig = Rig::start().await?;
    let cook = thorbis_domain::ids::StaffId(uuid::Uuid::from_u128(0xc00c));
    let pin_hash = thorbis_agent::staff::hash_pin(
        "4321",
        b"cook salt",
        thorbis_agent::staff::PinCost::FAST_FOR_TESTS,
    )?;
    rig.store.with(|store| {
        store.execute(&thorbis_domain::Command::PublishStaff(thorbis_domain::catalog::Staff {
            id: cook,
            name: "Alex".into(),
            role: thorbis_domain::catalog::Role::Kitchen,
            pin_hash,
            active: true,
        }))
    })?;
    let chromium = Chromium::launch().await?;
    let result = async {
        let page = chromium.open(&rig.url("/signin")).await?;
        // The cook lands on the kitchen display and may not use the POS.
        sign_in(&rig, &page, "Alex", "4321", "location.pathname === '/kds'").await?;
        let status = eval(&page, "fetch('/pos').then(r => r.status)").await;
        ensure!(status == Some(serde_json::json!(403)), "a cook may not open the POS: {status:?}");
        ensure!(
            eval(&page, "!document.querySelector('nav a[href=\"/pos\"]')").await
                == Some(true.into()),
            "no POS link for the kitchen"
        );
        // Five wrong PINs lock the account; the pad says so, and the right PIN is refused.
        click_and_load(&page, "form[action='/signout'] button", "location.pathname === '/signin'")
            .await?;
        click_and_load(&page, "[data-staff='Alex']", "!!document.getElementById('pin')").await?;
        for _ in 0..4 {
            refused(&rig, &page, &[("#pin", "1111")], "#pin-ok", "Wrong staff or PIN").await?;
        }
        refused(&rig, &page, &[("#pin", "1111")], "#pin-ok", "locked for 5 more minutes").await?;
        refused(&rig, &page, &[("#pin", "4321")], "#pin-ok", "locked for").await?;
        screenshot(&page, "11-lockout").await?;
        Ok(())
    }
    .await;
    chromium.close().await;
    result
}
