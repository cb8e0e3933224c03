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
use browser::{Chromium, click_and_load, eval, fill, screenshot, text, wait_for, with_chromium};
use rig::{Rig, has, message, refused, sign_in, wait_for_job, wait_for_printed};
use thorbis_agent::seed;
use thorbis_domain::Currency;
use thorbis_simulators::receipt::Block;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_from_pin_to_kitchen_to_cash_and_receipt() -> Result<()> {
    let rig = Rig::start().await?;
    with_chromium(async |chromium| scenario(&rig, chromium).await).await
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
    // The first tab's forms still carry Sam's session's token: they are refused, nothing
    // is done, and a reload gives the tab Morgan's.
    click_and_load(&pos, "#send", &has("main", "out of date")).await?;
    pos.reload().await?;
    wait_for(&pos, "the check again", "!!document.getElementById('send')").await?;
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
    let printed = wait_for_printed(rig, |t| t.contains(&total_text) && !t.contains("COPY")).await?;
    let receipt = &printed.text;
    ensure!(receipt.contains(&expected), "the receipt shows the change:\n{receipt}");
    // Cash went in: the drawer opened as the receipt printed (and only the original does).
    let kicks = |job: &thorbis_simulators::server::Job| {
        job.receipt.blocks.iter().filter(|b| matches!(b, Block::DrawerPulse { .. })).count()
    };
    ensure!(kicks(&printed) == 1, "the cash receipt kicks the drawer once");
    // A copy, marked as such.
    click_and_load(&pos, "#reprint", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("copy"));
    let copy = wait_for_printed(rig, |t| t.contains(&total_text) && t.contains("COPY")).await?;
    ensure!(copy.text.contains("*** COPY ***"), "{}", copy.text);
    ensure!(kicks(&copy) == 0, "a copy does not open the drawer");
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
            locations: Vec::new(),
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
        refused(&rig, &page, &[("#pin", "1111")], "#pin-ok", "locked for 1 more minute").await?;
        refused(&rig, &page, &[("#pin", "4321")], "#pin-ok", "locked for").await?;
        screenshot(&page, "11-lockout").await?;
        Ok(())
    }
    .await;
    chromium.close().await;
    result
}

/// A check's live lines as (name, seat, line id).
type Lines = Vec<(String, Option<u16>, uuid::Uuid)>;

/// The open check at table `table` and its live lines.
fn lines_of(rig: &Rig, table: &str) -> Result<(thorbis_domain::ids::OrderId, Lines)> {
    let orders = rig.store.with(|store| store.open_orders())?;
    let order = orders
        .into_iter()
        .find(|o| o.order.table() == Some(table))
        .with_context(|| format!("an open check at table {table}"))?;
    let lines = order.order.live_lines().map(|l| (l.name.clone(), l.seat, l.line_id.0)).collect();
    Ok((order.id, lines))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_approved_void_a_split_check_and_card_and_cash_tenders() -> Result<()> {
    let rig = Rig::start().await?;
    with_chromium(async |chromium| check_operations(&rig, chromium).await).await
}

#[allow(clippy::too_many_lines)] // One scenario, told in order.
async fn check_operations(rig: &Rig, chromium: &Chromium) -> Result<()> {
    use thorbis_domain::Money;
    let pos = chromium.open(&rig.url("/signin")).await?;
    // Sam is a cashier: voids need a manager's PIN.
    sign_in(rig, &pos, "Sam", seed::CASHIER_PIN, "location.pathname === '/pos'").await?;
    fill(&pos, "#table", "7").await?;
    fill(&pos, "#guests", "2").await?;
    click_and_load(&pos, "#open-check", "!!document.getElementById('items')").await?;
    // Seat 1: fries and a soda; seat 2: fries and a soda.
    for seat in ["1", "2"] {
        click_and_load(
            &pos,
            &format!("[data-seat='{seat}']"),
            "!!document.getElementById('items')",
        )
        .await?;
        for item in ["Fries", "Soda"] {
            let before = rig.fingerprint()?.0;
            click_and_load(
                &pos,
                &format!("[data-item='{item}']"),
                "!!document.getElementById('lines')",
            )
            .await?;
            ensure!(rig.fingerprint()?.0 > before, "{item} was not added");
        }
    }
    let (order, lines) = lines_of(rig, "7")?;
    ensure!(lines.len() == 4, "{lines:?}");
    let soda = lines.iter().find(|l| l.0 == "Soda" && l.1 == Some(1)).context("seat 1's soda")?.2;
    let fries =
        lines.iter().find(|l| l.0 == "Fries" && l.1 == Some(1)).context("seat 1's fries")?.2;

    // The soda's panel: a void needs a reason and a manager; junk and wrong PINs change nothing.
    click_and_load(
        &pos,
        &format!("[data-line-id='{soda}']"),
        "!!document.getElementById('line-panel')",
    )
    .await?;
    screenshot(&pos, "20-line-panel").await?;
    ensure!(
        eval(&pos, "!!document.querySelector('[data-manager=\"Morgan\"]')").await
            == Some(true.into()),
        "the manager to approve is offered"
    );
    refused(
        rig,
        &pos,
        &[("#void-reason", ""), ("#void-pin", "")],
        "#void-line",
        "A reason is required",
    )
    .await?;
    refused(
        rig,
        &pos,
        &[("#void-reason", "wrong item"), ("#void-pin", "")],
        "#void-line",
        "requires a manager's approval",
    )
    .await?;
    for junk in ["12ab", "-123", "99999999999999", "１２３４"] {
        refused(
            rig,
            &pos,
            &[("#void-reason", "wrong item"), ("#void-pin", junk)],
            "#void-line",
            "A manager PIN is 4 to 8 digits",
        )
        .await?;
    }
    refused(
        rig,
        &pos,
        &[("#void-reason", "wrong item"), ("#void-pin", "0000")],
        "#void-line",
        "Wrong manager PIN",
    )
    .await?;
    // A cashier's own PIN is no approval.
    let as_cashier = format!(
        "document.querySelectorAll('[name=\"void-mgr\"]').forEach(e => e.value = '{}')",
        seed::CASHIER.0
    );
    eval(&pos, &as_cashier).await;
    refused(
        rig,
        &pos,
        &[("#void-reason", "wrong item"), ("#void-pin", seed::CASHIER_PIN)],
        "#void-line",
        "manager's or owner's PIN",
    )
    .await?;
    fill(&pos, "#void-reason", "wrong item").await?;
    fill(&pos, "#void-pin", seed::MANAGER_PIN).await?;
    click_and_load(&pos, "#void-line", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Line voided"));
    let voided = rig.store.with(|store| store.order(order))?.context("the check")?;
    let void = voided.order.voids.values().next().context("the void")?;
    ensure!(void.value.approved_by == Some(seed::MANAGER), "the void records its approver");
    ensure!(void.value.line_id.0 == soda);
    screenshot(&pos, "21-void-approved").await?;

    // The fries' panel: bad discounts and prices are refused inline.
    click_and_load(
        &pos,
        &format!("[data-line-id='{fries}']"),
        "!!document.getElementById('line-panel')",
    )
    .await?;
    for bad in ["", "-5", "abc", "101", "99999999999", "0"] {
        refused(
            rig,
            &pos,
            &[("#ldisc-value", bad), ("#ldisc-reason", "regular")],
            "#ldisc-apply",
            "Percent must be",
        )
        .await?;
    }
    refused(
        rig,
        &pos,
        &[("#ldisc-value", "50"), ("#ldisc-reason", "regular"), ("#ldisc-pin", "")],
        "#ldisc-apply",
        "requires a manager's approval",
    )
    .await?;
    pos.find_element("#ldisc-amount").await?.click().await?;
    refused(
        rig,
        &pos,
        &[("#ldisc-value", "0"), ("#ldisc-reason", "regular")],
        "#ldisc-apply",
        "Discount must be above zero",
    )
    .await?;
    for bad in ["", "abc", "-1", "1e3", "99999999999"] {
        refused(
            rig,
            &pos,
            &[("#price-value", bad), ("#price-pin", seed::MANAGER_PIN)],
            "#price-line",
            "Price must be",
        )
        .await?;
    }
    refused(
        rig,
        &pos,
        &[("#price-value", "3"), ("#price-pin", "")],
        "#price-line",
        "requires a manager's approval",
    )
    .await?;

    // Transfer to table 9 and to Morgan; a bad table changes nothing.
    click_and_load(&pos, "#op-transfer", "!!document.getElementById('transfer-panel')").await?;
    refused(rig, &pos, &[("#transfer-table", "")], "#transfer-go", "Table is required").await?;
    refused(rig, &pos, &[("#transfer-table", &"9".repeat(21))], "#transfer-go", "at most 20")
        .await?;
    refused(rig, &pos, &[("#transfer-table", "7")], "#transfer-go", "Choose a new table or server")
        .await?;
    fill(&pos, "#transfer-table", "9").await?;
    pos.find_element("[data-server='Morgan']").await?.click().await?;
    click_and_load(&pos, "#transfer-go", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("transferred"));
    ensure!(text(&pos, "document.getElementById('check-table').innerText").await? == "9");
    ensure!(text(&pos, "document.getElementById('server').innerText").await?.contains("Morgan"));

    // Split: nothing ticked is refused and opens no check; then seat 2 goes to a new check.
    click_and_load(&pos, "#op-split", "!!document.getElementById('split-panel')").await?;
    refused(rig, &pos, &[], "#split-items", "Choose at least one line to move").await?;
    screenshot(&pos, "22-split").await?;
    click_and_load(&pos, "#split-seat-2", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Split off"));
    let split_lines = text(&pos, "document.getElementById('lines').innerText").await?;
    ensure!(
        split_lines.contains("Fries")
            && split_lines.contains("Soda")
            && !split_lines.contains("seat 1"),
        "{split_lines}"
    );
    let new_check = rig
        .store
        .with(|store| store.open_orders())?
        .into_iter()
        .find(|o| o.id != order)
        .context("the new check")?;
    let original = rig.store.with(|store| store.order(order))?.context("the check")?;
    ensure!(original.order.live_lines().count() == 1, "only seat 1's fries stay");
    let card_total = new_check.totals.total;

    // The new check by card, with a tip: bad card input changes nothing.
    fill(&pos, "#float", "100").await?;
    click_and_load(&pos, "#open-drawer", "!!document.getElementById('card-form')").await?;
    let card =
        |amount: &'static str, tip: &'static str, last4: &'static str, auth: &'static str| {
            [
                ("#card-amount", amount),
                ("#card-tip", tip),
                ("#card-brand", "visa"),
                ("#card-last4", last4),
                ("#card-auth", auth),
            ]
        };
    for (values, expect) in [
        (card("", "abc", "4242", "A1B2C3"), "Tip must be"),
        (card("", "-1", "4242", "A1B2C3"), "Tip must be"),
        (card("-5", "1", "4242", "A1B2C3"), "Amount must be"),
        (card("abc", "1", "4242", "A1B2C3"), "Amount must be"),
        (card("99999999999", "1", "4242", "A1B2C3"), "Amount must be"),
        (card("0", "1", "4242", "A1B2C3"), "above zero"),
        (card("", "1", "", "A1B2C3"), "last four digits"),
        (card("", "1", "42x2", "A1B2C3"), "last four digits"),
        (card("", "1", "4242424242424242", "A1B2C3"), "last four digits"),
        (card("", "1", "4242", ""), "authorization code"),
        (card("", "500", "4242", "A1B2C3"), "over the"),
        (card("500", "1", "4242", "A1B2C3"), "more than the"),
    ] {
        refused(rig, &pos, &values, "#take-card", expect).await?;
    }
    for (selector, value) in card("", "1.50", "4242", "A1B2C3") {
        fill(&pos, selector, value).await?;
    }
    screenshot(&pos, "23-card").await?;
    click_and_load(&pos, "#take-card", "!!document.getElementById('paid')").await?;
    let paid = text(&pos, "document.getElementById('payments').innerText").await?;
    let tip = Money(1_50).format(Currency::USD);
    ensure!(paid.contains("VISA ••••4242") && paid.contains(&format!("tip {tip}")), "{paid}");
    ensure!(text(&pos, "document.getElementById('tips').innerText").await? == tip);

    // The rest of the table: split evenly in two, each part in cash.
    pos.goto(rig.url(&format!("/pos/checks/{}", order.0))).await?;
    wait_for(&pos, "the original check", "!!document.getElementById('even-form')").await?;
    for bad in ["", "1", "abc", "-2", "999", "2.5"] {
        refused(rig, &pos, &[("#even-n", bad)], "#even-split", "Parts must be").await?;
    }
    fill(&pos, "#even-n", "2").await?;
    click_and_load(&pos, "#even-split", "!!document.getElementById('even-plan')").await?;
    let balance = original.totals.balance;
    let parts = thorbis_domain::order::even_split(balance, 2);
    let plan = text(&pos, "document.getElementById('even-plan').innerText").await?;
    ensure!(
        plan.contains(&format!(
            "{} + {}",
            parts[0].format(Currency::USD),
            parts[1].format(Currency::USD)
        )),
        "{plan}"
    );
    ensure!(
        text(&pos, "document.getElementById('cash-amount').value").await?
            == parts[0].format(Currency::USD),
        "the first part is filled in"
    );
    screenshot(&pos, "24-even-split").await?;
    fill(&pos, "#tendered", "20").await?;
    click_and_load(&pos, "#take-cash", "!!document.getElementById('even-plan')").await?;
    ensure!(message(&pos).await?.contains("Payment taken"));
    let change = text(&pos, "document.getElementById('change').innerText").await?;
    ensure!(change == Money(20_00 - parts[0].0).format(Currency::USD), "change {change}");
    // With a payment applied, the check gives up no lines.
    click_and_load(&pos, "#op-split", "!!document.getElementById('split-panel')").await?;
    pos.find_element("[data-split-line='Fries']").await?.click().await?;
    refused(rig, &pos, &[], "#split-items", "payments applied").await?;
    pos.goto(rig.url(&format!("/pos/checks/{}?parts={}", order.0, parts[1].0))).await?;
    wait_for(&pos, "the last part", "!!document.getElementById('even-plan')").await?;
    fill(&pos, "#tendered", &parts[1].format(Currency::USD)).await?;
    click_and_load(&pos, "#take-cash", "!!document.getElementById('paid')").await?;
    ensure!(
        text(&pos, "document.getElementById('change').innerText").await?
            == Money::ZERO.format(Currency::USD)
    );
    screenshot(&pos, "25-paid-split").await?;

    // Both checks printed their receipts.
    for total in [card_total, original.totals.total] {
        let total = total.format(Currency::USD);
        wait_for_job(rig, |t| t.contains(&total) && !t.contains("COPY")).await?;
    }
    ensure!(rig.store.with(|store| store.open_orders())?.is_empty(), "both checks are closed");

    // Merge: table 10's check into table 8's; table 10 is then finished.
    for (table, item) in [("10", "Fries"), ("8", "Soda")] {
        pos.goto(rig.url("/pos")).await?;
        wait_for(&pos, "the checks", "!!document.getElementById('new-check')").await?;
        fill(&pos, "#table", table).await?;
        fill(&pos, "#guests", "1").await?;
        click_and_load(&pos, "#open-check", "!!document.getElementById('items')").await?;
        click_and_load(&pos, &format!("[data-item='{item}']"), &has("#lines li", item)).await?;
    }
    // Items ticked on one check move into another open one, and back.
    for (item, into, both) in [("Soda", "10", true), ("Soda", "8", false)] {
        click_and_load(&pos, "#op-split", "!!document.getElementById('split-panel')").await?;
        pos.find_element(format!("[data-split-line='{item}']")).await?.click().await?;
        click_and_load(&pos, &format!("[data-into='{into}']"), "!!document.getElementById('msg')")
            .await?;
        ensure!(message(&pos).await?.contains("Lines moved"));
        let lines = text(&pos, "document.getElementById('lines').innerText").await?;
        ensure!(lines.contains(item) && lines.contains("Fries") == both, "{lines}");
        if both {
            screenshot(&pos, "26-moved-into-check").await?;
            let (_, left) = lines_of(rig, "8")?;
            ensure!(left.is_empty(), "table 8 gave its soda away: {left:?}");
        }
    }
    click_and_load(&pos, "#op-merge", "!!document.getElementById('merge-panel')").await?;
    // A check cannot be merged into itself (a tampered form): refused, nothing written.
    let (eight, _) = lines_of(rig, "8")?;
    let tamper = format!(
        "document.querySelector('[data-merge=\"10\"]').form.querySelector('[name=from]').value = '{}'",
        eight.0
    );
    eval(&pos, &tamper).await;
    refused(rig, &pos, &[], "[data-merge='10']", "cannot take lines from itself").await?;
    click_and_load(&pos, "[data-merge='10']", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("merged"));
    let merged = text(&pos, "document.getElementById('lines').innerText").await?;
    ensure!(merged.contains("Fries") && merged.contains("Soda"), "{merged}");
    let open = rig.store.with(|store| store.open_orders())?;
    ensure!(open.len() == 1 && open[0].order.table() == Some("8"), "table 10 is finished");

    // A price override and a large check discount, each approved by Morgan's PIN and
    // recorded with Morgan as the approver.
    let (eight, lines) = lines_of(rig, "8")?;
    let soda = lines.iter().find(|l| l.0 == "Soda").context("table 8's soda")?.2;
    click_and_load(
        &pos,
        &format!("[data-line-id='{soda}']"),
        "!!document.getElementById('price-form')",
    )
    .await?;
    fill(&pos, "#price-value", "2").await?;
    fill(&pos, "#price-pin", seed::MANAGER_PIN).await?;
    click_and_load(&pos, "#price-line", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Price changed"));
    click_and_load(&pos, "#op-discount", "!!document.getElementById('discount-panel')").await?;
    refused(
        rig,
        &pos,
        &[("#cdisc-value", "50"), ("#cdisc-reason", "guest of the house"), ("#cdisc-pin", "")],
        "#cdisc-apply",
        "requires a manager's approval",
    )
    .await?;
    fill(&pos, "#cdisc-pin", seed::MANAGER_PIN).await?;
    click_and_load(&pos, "#cdisc-apply", "!!document.getElementById('msg')").await?;
    ensure!(message(&pos).await?.contains("Discount applied"));
    let view = rig.store.with(|store| store.order(eight))?.context("table 8")?;
    let repriced = view.order.repriced.values().next().context("the override")?;
    ensure!(repriced.value.approved_by == Some(seed::MANAGER));
    ensure!(repriced.value.unit_price == Money(2_00));
    let discount = view.order.discounts.values().next().context("the discount")?;
    ensure!(discount.value.approved_by == Some(seed::MANAGER));
    // Fries 4.50 and the soda at 2.00, half off: 3.25 before tax.
    ensure!(view.totals.net == Money(3_25), "{:?}", view.totals);
    screenshot(&pos, "26-approved-discount").await?;
    Ok(())
}
