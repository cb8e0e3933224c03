//! The retail screens in a real headless Chromium, against a real store and a simulated
//! ESC/POS printer over TCP: open the drawer with a float, ring up a sale by keyboard-wedge
//! scans (a burst of keys ending in Enter) including a scale label with the weight in it,
//! override a price and give a discount with a manager's PIN, pay cash, read the receipt's
//! barcode back from what the printer printed, scan it to return an item, then pay in, open
//! the drawer for no sale, and close it blind with the Z report printed and recorded. Every
//! form is also fed bad input (empty, negative, huge, non-numeric, unknown barcode), and the
//! store must not change.
//!
//! Screenshots go to `$CARGO_TARGET_DIR/ui-artifacts/` with the other UI tests'.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/rig.rs"]
mod rig;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use browser::{
    Chromium, NEW_PAGE, click_and_load, eval, fill, mark_page, screenshot, text, wait_for,
    with_chromium,
};
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use chromiumoxide::page::Page;
use rig::{Rig, has, message, refused, sign_in, wait_for_job};
use thorbis_agent::seed;
use thorbis_domain::{Command, Money, Qty};

/// Types `code` and Enter the way a keyboard-wedge scanner does: every key event sent at
/// once (the browser handles them in order, back to back), not one round trip per key.
async fn wedge_scan(page: &Page, field: &str, code: &str) -> Result<()> {
    page.bring_to_front().await?;
    page.find_element(field).await?.focus().await?;
    // A scan replaces whatever the field holds.
    let select = format!("document.querySelector({}).select()", serde_json::to_string(field)?);
    eval(page, &select).await;
    let mut events = Vec::new();
    let key = |kind, key: &str, code: &str, text: Option<&str>, vk: i64| {
        let mut b = DispatchKeyEventParams::builder()
            .r#type(kind)
            .key(key)
            .code(code)
            .windows_virtual_key_code(vk);
        if let Some(t) = text {
            b = b.text(t);
        }
        b.build().map_err(anyhow::Error::msg)
    };
    for c in code.chars() {
        let s = c.to_string();
        let (code_name, vk) = if c.is_ascii_digit() {
            (format!("Digit{c}"), i64::from(c as u8))
        } else {
            (format!("Key{}", c.to_ascii_uppercase()), i64::from(c.to_ascii_uppercase() as u8))
        };
        events.push(key(DispatchKeyEventType::KeyDown, &s, &code_name, Some(&s), vk)?);
        events.push(key(DispatchKeyEventType::KeyUp, &s, &code_name, None, vk)?);
    }
    events.push(key(DispatchKeyEventType::KeyDown, "Enter", "Enter", Some("\r"), 13)?);
    events.push(key(DispatchKeyEventType::KeyUp, "Enter", "Enter", None, 13)?);
    let sends: Vec<_> = events.into_iter().map(|e| page.execute(e)).collect();
    for r in futures_util::future::join_all(sends).await {
        r.context("a key event")?;
    }
    Ok(())
}

/// Types `text` and Enter like a person: a key every 80 ms.
async fn person_types(page: &Page, field: &str, text: &str) -> Result<()> {
    page.bring_to_front().await?;
    let element = page.find_element(field).await?;
    element.focus().await?;
    for c in text.chars() {
        element.press_key(c.to_string()).await?;
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
    element.press_key("Enter").await?;
    Ok(())
}

/// Scans `code` into `field`; the store must not change and the page must say `expect`.
async fn scan_refused(rig: &Rig, page: &Page, field: &str, code: &str, expect: &str) -> Result<()> {
    let before = rig.fingerprint()?;
    mark_page(page).await;
    wedge_scan(page, field, code).await?;
    wait_for(
        page,
        "the page after a scan",
        &format!("{NEW_PAGE} && !!document.getElementById('msg')"),
    )
    .await?;
    let msg = message(page).await?;
    ensure!(msg.contains(expect), "scanning {code:?} should say {expect:?}, the page said {msg:?}");
    ensure!(rig.fingerprint()? == before, "scanning {code:?} changed the store");
    Ok(())
}

async fn scan_and_load(page: &Page, field: &str, code: &str, then: &str) -> Result<()> {
    mark_page(page).await;
    wedge_scan(page, field, code).await?;
    let expr = format!("{NEW_PAGE} && ({then})");
    wait_for(page, &format!("the page after scanning {code}"), &expr).await
}

/// Chooses the manager `name` and types their PIN into the approval block (the POS's).
async fn approve(page: &Page, name: &str, pin: &str) -> Result<()> {
    page.find_element(format!(".approval [data-manager='{name}']")).await?.click().await?;
    fill(page, ".approval input[name$='-pin']", pin).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retail_sale_by_scanner_a_return_by_receipt_and_a_blind_drawer_close() -> Result<()> {
    let rig = Rig::start().await?;
    rig.store.with(|store| {
        store.execute_all(&[
            Command::ReceiveStock {
                item_id: seed::COFFEE_BEANS,
                qty: Qty::units(10),
                note: "delivery".into(),
            },
            Command::ReceiveStock {
                item_id: seed::BANANAS,
                qty: Qty::units(20),
                note: "delivery".into(),
            },
        ])
    })?;
    with_chromium(async |chromium| scenario(&rig, chromium).await).await
}

#[allow(clippy::too_many_lines)] // One scenario, told in order.
#[allow(clippy::print_stdout, reason = "the screenshots' path is the test's report")]
async fn scenario(rig: &Rig, chromium: &Chromium) -> Result<()> {
    println!("RESULT ui_retail_e2e screenshots={}", browser::artifacts_dir()?.display());
    let page = chromium.open(&rig.url("/signin")).await?;
    sign_in(rig, &page, "Sam", seed::CASHIER_PIN, "location.pathname === '/pos'").await?;
    ensure!(
        eval(&page, "!!document.querySelector('nav a[href=\"/register\"]')").await
            == Some(true.into())
    );

    // The drawer: bad floats change nothing, then a float of 100 opens the shift.
    page.goto(rig.url("/drawer")).await?;
    wait_for(&page, "the drawer screen", "!!document.getElementById('float')").await?;
    for bad in ["", "-5", "abc", "99999999999", "1e9"] {
        refused(rig, &page, &[("#float", bad)], "#open-drawer", "Float must be").await?;
    }
    fill(&page, "#float", "100").await?;
    click_and_load(&page, "#open-drawer", "!!document.getElementById('session')").await?;
    screenshot(&page, "retail-01-drawer-open").await?;

    // The register: bad scans and typing are refused inline and write nothing.
    page.goto(rig.url("/register")).await?;
    wait_for(&page, "the register", "!!document.getElementById('scan')").await?;
    screenshot(&page, "retail-02-register").await?;
    refused(rig, &page, &[("#scan", "")], "#scan-go", "Scan a barcode or type").await?;
    // Only a scan says "no item has the barcode": typed text would have been a search.
    scan_refused(rig, &page, "#scan", "4006381333931", "No item has the barcode 4006381333931")
        .await?;
    scan_refused(rig, &page, "#scan", "2012340007501", "check digit").await?;
    for (qty, expect) in [
        ("-1", "Quantity must be"),
        ("abc", "Quantity must be"),
        ("99999999999", "Quantity must be"),
    ] {
        fill(&page, "#qty", qty).await?;
        scan_refused(rig, &page, "#scan", "0012345678905", expect).await?;
    }
    fill(&page, "#qty", "").await?;
    // Typing slowly is a search, not a scan.
    mark_page(&page).await;
    person_types(&page, "#scan", "coff").await?;
    wait_for(&page, "search results", &has("#results", "Coffee beans")).await?;
    ensure!(page.url().await?.unwrap_or_default().contains("q=coff"));

    // Scan the coffee, then a scale label: bananas, 750 g.
    scan_and_load(&page, "#scan", "0012345678905", &has("#lines li", "Coffee beans")).await?;
    ensure!(
        text(&page, "document.getElementById('lines').innerText").await?.contains("on hand 10")
    );
    scan_and_load(&page, "#scan", "2012340007500", &has("#lines li", "Bananas")).await?;
    let lines = text(&page, "document.getElementById('lines').innerText").await?;
    ensure!(lines.contains("0.750 × Bananas (kg)") && lines.contains("1.87"), "{lines}");
    ensure!(lines.contains("on hand 20"), "{lines}");
    screenshot(&page, "retail-03-sale").await?;

    // Price override: a manager's PIN is required and checked; bad prices are refused.
    click_and_load(
        &page,
        "[data-override='Coffee beans 500 g']",
        "!!document.getElementById('override')",
    )
    .await?;
    screenshot(&page, "retail-04-override").await?;
    for (price, expect) in [
        ("", "New price must be"),
        ("abc", "New price must be"),
        ("-3", "New price must be"),
        ("99999999999", "New price must be"),
    ] {
        refused(rig, &page, &[("#price", price)], "#override-go", expect).await?;
    }
    refused(rig, &page, &[("#price", "12.99")], "#override-go", "requires a manager's approval")
        .await?;
    approve(&page, "Morgan", "1111").await?;
    refused(rig, &page, &[("#price", "12.99")], "#override-go", "Wrong manager PIN").await?;
    approve(&page, "Morgan", seed::MANAGER_PIN).await?;
    fill(&page, "#price", "12.99").await?;
    click_and_load(&page, "#override-go", "!!document.getElementById('msg')").await?;
    ensure!(message(&page).await?.contains("Price overridden"));
    let lines = text(&page, "document.getElementById('lines').innerText").await?;
    ensure!(lines.contains("12.99") && lines.contains("price overridden"), "{lines}");

    // A 15 % discount needs a manager; bad values are refused.
    click_and_load(&page, "#discount-link", "!!document.getElementById('discount')").await?;
    for bad in ["", "-5", "abc", "101", "99999999999"] {
        refused(
            rig,
            &page,
            &[("#discount-value", bad), ("#discount-reason", "loyal")],
            "#discount-go",
            "Percent must be",
        )
        .await?;
    }
    refused(
        rig,
        &page,
        &[("#discount-value", "15"), ("#discount-reason", "loyal")],
        "#discount-go",
        "requires a manager's approval",
    )
    .await?;
    approve(&page, "Morgan", seed::MANAGER_PIN).await?;
    fill(&page, "#discount-value", "15").await?;
    fill(&page, "#discount-reason", "loyal customer").await?;
    click_and_load(&page, "#discount-go", "!!document.getElementById('discounts')").await?;

    // Pay cash: bad tenders refused, then change.
    let order =
        rig.store.with(|store| store.open_orders())?.into_iter().next().context("the open sale")?;
    // (12.99 + 1.87) less 15 %, untaxed.
    let total = order.totals.total;
    ensure!(total == Money(12_63), "total {total:?}");
    for bad in ["", "abc", "-5", "99999999999", "12.345"] {
        refused(rig, &page, &[("#tendered", bad)], "#take-cash", "Cash tendered must be").await?;
    }
    refused(rig, &page, &[("#tendered", "1")], "#take-cash", "does not cover").await?;
    refused(
        rig,
        &page,
        &[("#last4", "12a4"), ("#brand", "VISA"), ("#auth", "A1")],
        "#take-card",
        "Last 4 must be",
    )
    .await?;
    fill(&page, "#tendered", "20").await?;
    click_and_load(&page, "#take-cash", "!!document.getElementById('change')").await?;
    ensure!(text(&page, "document.getElementById('change').innerText").await? == "7.37");
    let number = text(&page, "document.getElementById('receipt-number').innerText").await?;
    screenshot(&page, "retail-05-paid").await?;
    let stock = rig.store.with(|s| s.stock_on_hand(seed::COFFEE_BEANS))?;
    ensure!(stock == Qty::units(9), "coffee on hand {stock:?}");

    // The receipt printed with its barcode; the printer simulator decodes the bars back to
    // the receipt number.
    let receipt = wait_for_job(rig, |t| t.contains("Receipt for returns")).await?;
    let printed = receipt
        .lines()
        .find_map(|l| l.strip_prefix("[BARCODE CODE128 ").and_then(|l| l.strip_suffix(']')))
        .context("a Code 128 barcode on the receipt")?
        .to_owned();
    ensure!(printed == number, "the barcode reads {printed}, the screen says {number}");

    // Return: bad receipt numbers refused, then the printed barcode scanned.
    page.goto(rig.url("/returns")).await?;
    wait_for(&page, "the returns screen", "!!document.getElementById('receipt')").await?;
    refused(rig, &page, &[("#receipt", "")], "#find-receipt", "Scan the receipt's barcode").await?;
    refused(rig, &page, &[("#receipt", "abc")], "#find-receipt", "not a receipt number").await?;
    refused(rig, &page, &[("#receipt", "-5")], "#find-receipt", "not a receipt number").await?;
    refused(rig, &page, &[("#receipt", "123")], "#find-receipt", "No sale has receipt number 123")
        .await?;
    refused(rig, &page, &[("#receipt", &"9".repeat(60))], "#find-receipt", "not a receipt number")
        .await?;
    scan_and_load(&page, "#receipt", &printed, "!!document.getElementById('return-form')").await?;
    screenshot(&page, "retail-06-return").await?;
    let coffee = "[data-return='Coffee beans 500 g']";
    refused(rig, &page, &[], "#refund-go", "Type how many").await?;
    for (qty, expect) in [
        ("-1", "Quantity must be"),
        ("abc", "Quantity must be"),
        ("99999999999", "Quantity must be"),
    ] {
        refused(rig, &page, &[(coffee, qty), ("#return-reason", "faulty")], "#refund-go", expect)
            .await?;
    }
    refused(
        rig,
        &page,
        &[(coffee, "1"), ("#return-reason", "faulty")],
        "#refund-go",
        "requires a manager's approval",
    )
    .await?;
    approve(&page, "Morgan", seed::MANAGER_PIN).await?;
    refused(
        rig,
        &page,
        &[(coffee, "5"), ("#return-reason", "faulty")],
        "#refund-go",
        "Only 1 of Coffee beans 500 g",
    )
    .await?;
    approve(&page, "Morgan", seed::MANAGER_PIN).await?;
    fill(&page, coffee, "1").await?;
    fill(&page, "#return-reason", "faulty").await?;
    click_and_load(&page, "#refund-go", "!!document.getElementById('msg')").await?;
    ensure!(message(&page).await?.contains("Refunded"));
    // The coffee is 12.99 less its 15 % share: 11.04.
    wait_for(&page, "the refund listed", &has("#refunds", "11.04")).await?;
    screenshot(&page, "retail-07-refunded").await?;
    let stock = rig.store.with(|s| s.stock_on_hand(seed::COFFEE_BEANS))?;
    ensure!(stock == Qty::units(10), "the returned coffee is back in stock: {stock:?}");
    let refund = wait_for_job(rig, |t| t.contains("REFUND")).await?;
    ensure!(
        refund.contains("11.04") && refund.contains(&format!("[BARCODE CODE128 {printed}]")),
        "{refund}"
    );

    // The drawer: pay-in and no-sale with bad input refused, then a blind close.
    page.goto(rig.url("/drawer")).await?;
    wait_for(&page, "the drawer", "!!document.getElementById('amount')").await?;
    for (amount, reason, expect) in [
        ("", "change run", "Amount must be"),
        ("-5", "change run", "Amount must be"),
        ("abc", "change run", "Amount must be"),
        ("99999999999", "change run", "Amount must be"),
        ("0", "change run", "Amount must be above 0"),
        ("20", "", "Reason is required"),
    ] {
        refused(rig, &page, &[("#amount", amount), ("#cash-reason", reason)], "#move-cash", expect)
            .await?;
    }
    fill(&page, "#amount", "20").await?;
    fill(&page, "#cash-reason", "change run").await?;
    click_and_load(&page, "#move-cash", "!!document.getElementById('msg')").await?;
    ensure!(message(&page).await?.contains("Pay-in recorded"));
    refused(rig, &page, &[("#no-sale-reason", "")], "#no-sale", "Reason is required").await?;
    fill(&page, "#no-sale-reason", "change for a customer").await?;
    click_and_load(&page, "#no-sale", "!!document.getElementById('msg')").await?;
    ensure!(message(&page).await?.contains("No-sale recorded"));
    // The slip says who and why, and kicks the drawer open.
    let slip = wait_for_job(rig, |t| t.contains("NO SALE")).await?;
    ensure!(slip.contains("By: Sam") && slip.contains("Reason: change for a customer"), "{slip}");
    let kicked = rig.sim.jobs().iter().any(|j| {
        j.text.contains("NO SALE")
            && j.receipt
                .blocks
                .iter()
                .any(|b| matches!(b, thorbis_simulators::receipt::Block::DrawerPulse { .. }))
    });
    ensure!(kicked, "the no-sale slip kicks the drawer");
    let moves = text(&page, "document.getElementById('moves').innerText").await?;
    ensure!(moves.contains("20.00 in") && moves.contains("1 no-sale"), "{moves}");
    // Blind: nothing on the screen says what the drawer should hold.
    let screen = text(&page, "document.body.innerText").await?;
    ensure!(!screen.contains("Expected") && !screen.contains("132.63"), "{screen}");
    screenshot(&page, "retail-08-drawer").await?;
    for bad in ["", "-5", "abc", "99999999999"] {
        refused(rig, &page, &[("#counted", bad)], "#close-drawer", "Counted cash must be").await?;
    }
    // Expected: 100 float + 12.63 cash sale - 11.04 cash refund + 20 pay-in = 121.59.
    fill(&page, "#counted", "121.00").await?;
    click_and_load(&page, "#close-drawer", "!!document.getElementById('z')").await?;
    ensure!(text(&page, "document.getElementById('z-expected').innerText").await? == "121.59");
    ensure!(text(&page, "document.getElementById('z-counted').innerText").await? == "121.00");
    ensure!(
        text(&page, "document.getElementById('z-over-short').innerText").await? == "-0.59 short"
    );
    ensure!(text(&page, "document.getElementById('z-no-sales').innerText").await? == "1");
    screenshot(&page, "retail-09-z-report").await?;
    let z = wait_for_job(rig, |t| t.contains("Z REPORT")).await?;
    for needle in [
        "Pay-ins",
        "20.00",
        "No-sales",
        "Expected",
        "121.59",
        "Counted",
        "121.00",
        "SHORT",
        "cash (1)",
        "cash refunds",
    ] {
        ensure!(z.contains(needle), "the Z report lacks {needle:?}:\n{z}");
    }
    // The report is a recorded fact (drawer.z_reported) the console reads, not only paper.
    let path = text(&page, "location.pathname").await?;
    let session = path.strip_prefix("/drawer/report/").context("the report's address")?;
    let session = thorbis_domain::ids::DrawerSessionId(uuid::Uuid::try_parse(session)?);
    let recorded = rig.store.with(|store| store.drawer(session))?.context("the session")?;
    let report = recorded.z_report.context("the recorded Z report")?.value.report;
    ensure!(report.counted_cash == Some(Money(121_00)) && report.paid_in == Money(20_00));
    ensure!(report.over_short == Some(Money(-59)) && report.no_sales == 1);
    Ok(())
}

#[cfg(unix)] // The virtual scanner is a pseudo-terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_scanner_rings_up_on_the_open_register() -> Result<()> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use thorbis_domain::scan::Day;
    use thorbis_drivers::scanner::FramingConfig;
    use thorbis_drivers::transport::{FlowControl, SerialConfig, SerialTransport};
    use thorbis_simulators::scanner::{ScanSymbology, ScannerConfig, start_scanner};

    let rig = Rig::start().await?;
    let scanner = start_scanner(ScannerConfig {
        char_delay: Duration::from_millis(1),
        ..ScannerConfig::default()
    })?;
    let port = SerialTransport::open(&SerialConfig {
        flow_control: FlowControl::None,
        ..SerialConfig::new(scanner.path())
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let reader = thorbis_terminal_ui::spawn_serial_scanner(
        port,
        FramingConfig::default(),
        rig.scans.clone(),
        Arc::clone(&stop),
    )?;
    let chromium = Chromium::launch().await?;
    let result = async {
        let page = chromium.open(&rig.url("/signin")).await?;
        sign_in(&rig, &page, "Sam", seed::CASHIER_PIN, "location.pathname === '/pos'").await?;
        page.goto(rig.url("/register")).await?;
        for (code, then) in [
            ("0012345678905", has("#lines li", "Coffee beans")),
            ("2012340007500", has("#lines li", "0.750 × Bananas")),
        ] {
            wait_for(&page, "the register listening for scans", "window.thorbisScansLive === true")
                .await?;
            mark_page(&page).await;
            scanner.scan(None, code.as_bytes());
            let expr = format!("{NEW_PAGE} && ({then})");
            wait_for(&page, &format!("{code} rung up from the serial scanner"), &expr).await?;
        }
        // A GS1-128 label (a lot, a field separator, then a use-by date that passed
        // yesterday) rings its GTIN up, with a warning not to sell it.
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        let yesterday = Day::of_unix_ms(u64::try_from(now_ms.as_millis())? - 86_400_000);
        let (yy, mm, dd) = (yesterday.year % 100, yesterday.month, yesterday.day);
        let label = format!("0100012345678905{}17{yy:02}{mm:02}{dd:02}", "10B42\u{1d}");
        wait_for(&page, "the register listening for scans", "window.thorbisScansLive === true")
            .await?;
        mark_page(&page).await;
        scanner.scan(Some(ScanSymbology::Gs1_128), label.as_bytes());
        let expr = format!(
            "{NEW_PAGE} && document.querySelectorAll('#lines li').length === 3 && ({})",
            has("#msg", "use-by date")
        );
        wait_for(&page, "the GS1-128 label rung up with a warning", &expr).await?;
        let warning = message(&page).await?;
        ensure!(warning.contains(&format!("use-by date ({yesterday}) has passed")), "{warning}");
        screenshot(&page, "retail-11-gs1-use-by-passed").await?;

        // An unknown code from the scanner is refused like a wedge scan, nothing written.
        let before = rig.fingerprint()?;
        wait_for(&page, "the register listening for scans", "window.thorbisScansLive === true")
            .await?;
        mark_page(&page).await;
        scanner.scan(None, b"4006381333931");
        wait_for(&page, "the refusal", &format!("{NEW_PAGE} && !!document.getElementById('msg')"))
            .await?;
        ensure!(message(&page).await?.contains("No item has the barcode 4006381333931"));
        ensure!(rig.fingerprint()? == before);
        screenshot(&page, "retail-10-serial-scanner").await?;
        Ok(())
    }
    .await;
    chromium.close().await;
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    scanner.shutdown();
    result
}
