//! A technician's day offline against the real hub: two jobs are dispatched to a laptop
//! (a real store, enrolled with a one-time code, syncing over HTTPS), the laptop loses the
//! hub, and the technician works both jobs through the terminal UI's technician mode while
//! the dispatcher edits the same jobs' notes and windows through the hub. Every page loads
//! offline; after reconnecting, both sides hold every edit of both, each part from stock
//! moved once, and a form posted twice recorded its part once.
//!
//! The technician also has the customer approve the estimate, completes, invoices (the PDF
//! is rendered with `pdftoppm` and its total checked against the domain's) and takes
//! payment, each once.
//!
//! Offline, each job also gets a photo (a camera-sized picture, scaled down on the laptop),
//! a PDF of several upload chunks and the customer's signature drawn on the pad. Back
//! online, the laptop uploads every blob and the hub verifies each by its hash; a second
//! technician's laptop, given one of the jobs, downloads them (resuming a download cut
//! short), shows the job "ready offline" only while every blob is on it, and fetches a
//! blob that went missing again.
//!
//! Prints `RESULT field_day_core lost_edits=0 duplicate_effects=0 offline_pages_failed=0`
//! and `RESULT field_day_blobs uploaded=8 verified_on_hub=8 downloaded=3 resumed=1`.
//! (The laptop here runs in-process with its sync shell stopped and started for the
//! outage; a run of the `thorbis-agent` binary behind a cut proxy is not built yet.)

#![allow(clippy::print_stdout, clippy::print_stderr)] // A harness reports on its terminal.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use chromiumoxide::cdp::browser_protocol::dom::SetFileInputFilesParams;
use chromiumoxide::cdp::browser_protocol::input::{
    DispatchMouseEventParams, DispatchMouseEventType, MouseButton,
};
use serde_json::{Value, json};
use std::ops::Not as _;
use thorbis_agent::ManualClock;
use thorbis_agent::seed;

use thorbis_domain::Money;
use thorbis_domain::ids::WorkOrderId;
use thorbis_domain::work_order::{WorkOrderStatus, WorkOrderView};
use thorbis_hub::testing::fresh_database;
use uuid::Uuid;

#[path = "../../agent/ui/tests/support/browser.rs"]
mod browser;
#[path = "support/hub.rs"]
mod hub;
#[path = "../../hub/tests/support/pages.rs"]
mod pages;
#[path = "support/ui.rs"]
mod ui;

use hub::{Agent, Hub, NOW_MS, wait_for};
use ui::Ui;

const PIN: &str = "482915";

/// The technician's UI over the laptop's store, on loopback.
async fn serve_ui(
    agent: &Agent,
    clock: &Arc<ManualClock>,
) -> Result<(String, tokio::sync::oneshot::Sender<()>)> {
    let state = thorbis_terminal_ui::UiState::new(
        agent.store.clone(),
        None,
        clock.clone(),
        thorbis_terminal_ui::SessionKey::from_bytes(b"field-day"),
    );
    let listener = thorbis_terminal_ui::bind_loopback(0).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(thorbis_terminal_ui::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Ok((base, stop))
}

/// Technician mode in headless Chromium, with screenshots beside the UI tests': sign in
/// on the PIN pad, the day, the open job `walk` (a note through its form, a photo through
/// the file input, the customer's signature drawn with the pointer on the pad), then the
/// invoice page of the invoiced job `invoiced`.
async fn browser_walk(
    base: &str,
    walk: Uuid,
    invoiced: Uuid,
    photo: &std::path::Path,
) -> Result<()> {
    browser::with_chromium(async |chromium| {
        let page = chromium.open(&format!("{base}/signin")).await?;
        browser::sign_in(
            &page,
            &format!("{base}/signin"),
            "Technician",
            PIN,
            "location.pathname === '/field'",
        )
        .await?;
        browser::wait_for(
            &page,
            "three jobs",
            "document.querySelectorAll('[data-ready=true]').length === 3",
        )
        .await?;
        browser::screenshot(&page, "field-my-day").await?;
        browser::click_and_load(
            &page,
            &format!("[data-job='{walk}'] a"),
            "!!document.getElementById('job-notes')",
        )
        .await?;
        browser::fill(&page, "#note-text", "Left the old valve with the customer").await?;
        page.find_element("#add-note").await?.click().await?;
        browser::wait_for(
            &page,
            "the note on the page",
            "document.getElementById('notes').innerText.includes('Left the old valve')",
        )
        .await?;
        // A photo, chosen in the file input (the camera, on a tablet).
        let input = page.find_element("#file-input").await?;
        let mut files = SetFileInputFilesParams::new(vec![photo.display().to_string()]);
        files.backend_node_id = Some(input.backend_node_id);
        page.execute(files).await?;
        page.find_element("#add-file").await?.click().await?;
        browser::wait_for(
            &page,
            "the photo on the page",
            "document.querySelectorAll('#files img').length === 1 && !!document.getElementById('signer')",
        )
            .await?;
        // The customer signs on the pad with the pointer.
        browser::fill(&page, "#signer", "Grace Hopper").await?;
        browser::wait_for(&page, "the signature pad", "!document.getElementById('signature-pad').hidden")
            .await?;
        let rect = browser::eval(
            &page,
            "(() => { const c = document.querySelector('#signature-pad canvas'); \
              c.scrollIntoView({ block: 'center' }); const r = c.getBoundingClientRect(); \
              return [r.left, r.top, r.width, r.height]; })()",
        )
        .await
        .context("the pad's position")?;
        let at = |i: usize| rect[i].as_f64().unwrap_or_default();
        let (left, top, width, height) = (at(0), at(1), at(2), at(3));
        let stroke: Vec<(f64, f64)> = (0..=20)
            .map(|i| {
                let t = f64::from(i) / 20.0;
                (left + width * (0.1 + 0.8 * t), top + height * (0.5 + 0.3 * (t * 6.0).sin()))
            })
            .collect();
        for (n, (x, y)) in stroke.iter().enumerate() {
            let kind = match n {
                0 => DispatchMouseEventType::MousePressed,
                n if n + 1 == stroke.len() => DispatchMouseEventType::MouseReleased,
                _ => DispatchMouseEventType::MouseMoved,
            };
            let mut event = DispatchMouseEventParams::new(kind, *x, *y);
            event.button = Some(MouseButton::Left);
            event.buttons = Some(1);
            event.click_count = Some(1);
            page.execute(event).await?;
        }
        browser::wait_for(
            &page,
            "the drawing in the form",
            "document.querySelector('#signature-pad input[name=drawing]').value.startsWith('data:image/png;base64,')",
        )
        .await?;
        page.find_element("#sign").await?.click().await?;
        browser::wait_for(&page, "the drawn signature on the page", "!!document.querySelector('img.signature')")
            .await?;
        browser::screenshot(&page, "field-job").await?;
        page.goto(format!("{base}/field/jobs/{invoiced}")).await?;
        browser::wait_for(&page, "the invoiced job", "!!document.getElementById('invoice-page')").await?;
        browser::click_and_load(
            &page,
            "#invoice-page",
            "!!document.getElementById('invoice-lines')",
        )
        .await?;
        browser::screenshot(&page, "field-invoice-page").await?;
        Ok(())
    })
    .await
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Renders `pdf` to `name.png` beside the UI tests' screenshots with poppler's `pdftoppm`,
/// and checks the page is not blank.
fn render_pdf(pdf: &[u8], name: &str) -> Result<()> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        std::path::PathBuf::from,
    );
    let dir = target.join("ui-artifacts");
    std::fs::create_dir_all(&dir)?;
    let source = dir.join(format!("{name}.pdf"));
    std::fs::write(&source, pdf)?;
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-singlefile"])
        .arg(&source)
        .arg(dir.join(name))
        .status()
        .context("running pdftoppm (poppler-utils)")?;
    ensure!(status.success(), "pdftoppm could not render {}", source.display());
    let png = std::fs::read(dir.join(format!("{name}.png")))?;
    ensure!(
        png.starts_with(b"\x89PNG") && png.len() > 2_000,
        "a blank render: {} bytes",
        png.len()
    );
    Ok(())
}

/// A camera-sized picture (4000 × 3000) with a gradient, as PNG.
fn camera_photo(seed: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x / 16 % 256) as u8, (y / 12 % 256) as u8, ((x + y + seed) / 32 % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).expect("encoding a test picture");
    out.into_inner()
}

/// A signature as the pad sends it: a PNG data URL of a stroke on white.
fn drawn_signature(n: usize) -> String {
    let picture = image::RgbaImage::from_fn(600, 200, |x, y| {
        let slope = 6 + n as i64;
        let on_stroke = (i64::from(y) - 100 - ((i64::from(x) - 300) / slope)).abs() < 3
            && (60..540).contains(&x);
        if on_stroke { image::Rgba([17, 17, 17, 255]) } else { image::Rgba([255, 255, 255, 255]) }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png).expect("encoding a test signature");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, out.into_inner());
    format!("data:image/png;base64,{b64}")
}

/// A PDF of `size` bytes (a header and padding): several upload chunks.
fn site_report(size: usize, n: usize) -> Vec<u8> {
    let mut pdf = format!("%PDF-1.4\n% site report {n}\n").into_bytes();
    pdf.resize(size, b' ');
    pdf
}

/// Whether the hub holds blob `id` complete (read as the database's superuser).
async fn hub_holds(hub: &Hub, id: thorbis_sync_protocol::BlobId) -> Result<bool> {
    let (client, connection) =
        tokio_postgres::connect(&hub.db.superuser_url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_opt("SELECT complete FROM blobs WHERE sha256 = $1", &[&id.to_string()])
        .await?;
    Ok(row.is_some_and(|r| r.get(0)))
}

fn text_of(view: &Value, key: &str) -> Vec<String> {
    view[key]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n["text"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // One scenario, read top to bottom.
async fn a_technician_works_two_jobs_offline_while_the_office_edits_them() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let mut laptop = Agent::enroll(&hub, &dir, &clock, tenant, "technician", 5).await?;
    let me = laptop.store.with(|s| s.device_id());
    laptop.store.with(|s| s.set_technician_pin(PIN)).context("setting the PIN")?;

    // Two jobs, dispatched to the laptop.
    let admin = format!("/api/v1/admin/tenants/{}/work-orders", tenant.0);
    let mut jobs = Vec::new();
    for (i, (title, customer)) in [
        ("Boiler service", "Ada Lovelace"),
        ("Leaking tap", "Alan Turing"),
        ("Gutter check", "Grace Hopper"),
    ]
    .into_iter()
    .enumerate()
    {
        let start = NOW_MS as i64 + i as i64 * 7_200_000;
        let job = hub
            .admin(
                &admin,
                &json!({ "title": title, "customer": customer, "site_address": "1 Mill Lane",
                         "window_start_ms": start, "window_end_ms": start + 3_600_000,
                         "currency": "USD", "checklist": ["Check the pressure", "Test the valve"] }),
            )
            .await?;
        let id: Uuid = serde_json::from_value(job["work_order_id"].clone())?;
        hub.admin(
            &format!("{admin}/{id}/assign"),
            &json!({ "technician": Uuid::from_bytes(me.0) }),
        )
        .await?;
        jobs.push(id);
    }
    // The third is worked in the browser.
    let walk = jobs.pop().context("the browser's job")?;
    let store = laptop.store.clone();
    let mut want = jobs.clone();
    want.push(walk);
    wait_for("the jobs and the catalog on the laptop", 30, move || {
        let held = store.with(|s| s.work_orders())?;
        let has_menu = store.with(|s| s.item(seed::FRIES))?.is_some();
        Ok(has_menu
            && want.iter().all(|j| held.iter().any(|(id, v)| id == j && v.technician == Some(me))))
    })
    .await?;

    // The hub becomes unreachable for the laptop.
    laptop.go_offline().await;
    let (base, stop_ui) = serve_ui(&laptop, &clock).await?;
    let tech = Ui::sign_in(&base, Uuid::from_bytes(me.0), PIN, Duration::from_secs(10)).await?;
    let mut pages_failed = 0;
    let mut page = async |path: &str| match tech.get(path).await {
        Ok(html) => html,
        Err(e) => {
            eprintln!("offline page {path} failed: {e:#}");
            pages_failed += 1;
            String::new()
        }
    };
    let day = page("/field").await;
    ensure!(day.matches("data-ready=\"true\"").count() == 3, "My day: {day}");
    ensure!(day.find("Boiler service") < day.find("Leaking tap"), "jobs in window order");

    let mut invoices = Vec::new();
    let mut tech_notes = Vec::new();
    let mut office_notes = Vec::new();
    for (n, job) in jobs.iter().enumerate() {
        let path = format!("/field/jobs/{job}");
        let html = page(&path).await;
        // The dispatcher, at the same time, writes a note and moves the window.
        let office = format!("Customer called: gate code {n}4{n}");
        hub.admin(&format!("{admin}/{job}/edit"), &json!({ "edit": "add_note", "text": office }))
            .await?;
        let start = NOW_MS as i64 + 3 * 3_600_000 + n as i64 * 3_600_000;
        hub.admin(
            &format!("{admin}/{job}/edit"),
            &json!({ "edit": "set_window", "window": { "start_ms": start, "end_ms": start + 5_400_000 } }),
        )
        .await?;
        office_notes.push(office);

        for status in ["en_route", "on_site"] {
            tech.post(&format!("{path}/status"), &[("status", status.into())]).await?;
        }
        let item = html
            .split("data-item=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .context("a checklist item")?
            .to_owned();
        tech.post(&format!("{path}/checklist/{item}"), &[("done", "1".into())]).await?;
        let note = format!("Replaced washer on job {n}");
        tech.post(&format!("{path}/notes"), &[("text", note.clone())]).await?;
        tech_notes.push(note);
        // A part from stock; the same form posted again (a double tap) records it once.
        let line = Uuid::now_v7().to_string();
        let part = [("item", seed::FRIES.0.to_string()), ("qty", "2".into()), ("line", line)];
        tech.post(&format!("{path}/parts"), &part).await?;
        let again = tech.post(&format!("{path}/parts"), &part).await;
        ensure!(
            again.as_ref().is_err_and(|e| e.to_string().contains("already recorded")),
            "a repeated part form: {again:?}"
        );
        // Labour by the timer: 47 minutes.
        tech.post(&format!("{path}/timer/start"), &[]).await?;
        clock.advance(47 * 60_000);
        tech.post(&format!("{path}/timer/stop"), &[("rate", "85.00".into())]).await?;
        // The customer approves the estimate, signs for the work; the job is completed,
        // invoiced and paid (cash for the first, the card terminal for the second).
        tech.post(&format!("{path}/estimate"), &[("signer", "Ada Lovelace".into())]).await?;
        tech.post(
            &format!("{path}/signature"),
            &[("signer", "Ada Lovelace".into()), ("drawing", drawn_signature(n))],
        )
        .await?;
        // A photo from the camera and a report, attached offline.
        tech.upload(&format!("{path}/files"), "IMG_2041.png", &camera_photo(n as u32)).await?;
        tech.upload(&format!("{path}/files"), "report.pdf", &site_report(1_200_000, n)).await?;
        let refused = tech.upload(&format!("{path}/files"), "notes.txt", b"plain text").await;
        ensure!(
            refused.as_ref().is_err_and(|e| e.to_string().contains("not a photo")),
            "a text file was attached: {refused:?}"
        );
        tech.post(&format!("{path}/status"), &[("status", "done".into())]).await?;
        let done = page(&path).await;
        ensure!(done.contains("data-status=\"done\""), "job {n} completed: {done}");
        ensure!(done.contains("47 min") && done.contains("66.58"), "47 min at 85.00: {done}");
        tech.post(&format!("{path}/invoice"), &[]).await?;
        let again = tech.post(&format!("{path}/invoice"), &[]).await;
        ensure!(again.is_err(), "a second invoice was issued: {again:?}");
        let payment = if n == 0 {
            vec![("method", "cash".to_owned())]
        } else {
            vec![("method", "card".to_owned()), ("reference", "T-99812".to_owned())]
        };
        tech.post(&format!("{path}/payment"), &payment).await?;
        ensure!(tech.post(&format!("{path}/payment"), &payment).await.is_err(), "paid twice");
        ensure!(page(&format!("{path}/invoice")).await.contains("Amount due").not());
        invoices.push(tech.bytes(&format!("{path}/invoice.pdf")).await?);
    }
    ensure!(page("/field").await.contains("Leaking tap"));
    // The same screens in a browser, still offline: sign in on the PIN pad, the day, the
    // third job (a note, a photo and a drawn signature through the page's own forms), an
    // invoice.
    let photo = dir.path().join("IMG_2050.png");
    std::fs::write(&photo, camera_photo(7))?;
    browser_walk(&base, walk, jobs[0], &photo).await?;

    // Back online: everything both sides wrote meets.
    laptop.go_online(5)?;
    let views = |job: Uuid| {
        let store = laptop.store.clone();
        move || store.with(|s| s.work_order(WorkOrderId(job)))
    };
    let mut lost = 0;
    let mut duplicates = 0;
    for (n, job) in jobs.iter().enumerate() {
        let get = format!("{admin}/{job}");
        let (tech_note, office_note) = (tech_notes[n].clone(), office_notes[n].clone());
        let local = views(*job);
        for _ in 0..1_500 {
            let hub_view = hub.admin_get(&get).await?;
            let on_hub = text_of(&hub_view, "notes").contains(&tech_note)
                && hub_view["status"] == "invoiced"
                && hub_view["payment"].is_object()
                && hub_view["labour"].as_array().is_some_and(|l| l.len() == 1);
            let on_laptop = local()?
                .is_some_and(|v: WorkOrderView| v.notes.iter().any(|x| x.text == office_note));
            if on_hub && on_laptop {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let hub_view = hub.admin_get(&get).await?;
        let laptop_view = serde_json::to_value(local()?.context("the job on the laptop")?)?;
        for (side, view) in [("hub", &hub_view), ("laptop", &laptop_view)] {
            let notes = text_of(view, "notes");
            for want in [&tech_note, &office_note] {
                if !notes.contains(want) {
                    eprintln!("{side} lost the note {want:?} of job {n}");
                    lost += 1;
                }
            }
            let start = NOW_MS as i64 + 3 * 3_600_000 + n as i64 * 3_600_000;
            if view["window"]["start_ms"] != json!(start) {
                eprintln!("{side} lost the office's window of job {n}: {}", view["window"]);
                lost += 1;
            }
            let ticked = view["checklist"]
                .as_array()
                .map_or(0, |c| c.iter().filter(|i| i["done"] == json!(true)).count());
            let parts = view["parts"].as_array().map_or(0, Vec::len);
            let labour = view["labour"].as_array().map_or(0, Vec::len);
            if ticked != 1
                || view["signature"]["signer"] != "Ada Lovelace"
                || view["status"] != "invoiced"
            {
                eprintln!("{side} lost technician edits of job {n}: {view}");
                lost += 1;
            }
            if parts != 1 || labour != 1 {
                eprintln!("{side} has {parts} parts and {labour} labour lines on job {n}");
                duplicates += 1;
            }
        }
        let hub_doc = serde_json::from_value::<WorkOrderView>(hub_view.clone())?;
        let laptop_doc = serde_json::from_value::<WorkOrderView>(laptop_view)?;
        ensure!(hub_doc == laptop_doc, "job {n} differs:\nhub {hub_doc:?}\nlaptop {laptop_doc:?}");
        ensure!(hub_doc.status == WorkOrderStatus::Invoiced, "job {n}: {:?}", hub_doc.status);
        // One invoice, its taxes the domain's: 2 fries at 4.50 under the 8.875% sales tax
        // (0.79875, rounded once), labour untaxed; one payment of its total.
        let invoice = hub_doc.invoice.as_ref().context("the invoice on the hub")?;
        ensure!(invoice.subtotal == hub_doc.totals.total && invoice.tax_exclusive == Money(80));
        ensure!(invoice.total == invoice.subtotal + invoice.tax_exclusive);
        let payment = hub_doc.payment.as_ref().context("the payment on the hub")?;
        if payment.amount != invoice.total {
            eprintln!("job {n} paid {:?} of {:?}", payment.amount, invoice.total);
            duplicates += 1;
        }
        ensure!(hub_doc.estimate.as_ref().is_some_and(|e| e.total == invoice.subtotal));
        // The PDF carries the same figures, and renders.
        let pdf = &invoices[n];
        let total = format!("USD {}", invoice.total.format(hub_doc.currency));
        ensure!(contains(pdf, total.as_bytes()) && contains(pdf, invoice.number.as_bytes()));
        render_pdf(pdf, &format!("field-invoice-{n}"))?;
    }
    // Each part left the laptop's stock once: two jobs, two of them each.
    let on_hand = laptop.store.with(|s| s.stock_on_hand(seed::FRIES))?;
    let before = thorbis_domain::money::Qty::ZERO;
    if on_hand.0 != before.0 - 4_000 {
        eprintln!("stock of the part moved to {on_hand}, not -4");
        duplicates += 1;
    }
    ensure!(laptop.store.with(|s| s.quarantined(10))?.is_empty(), "the laptop held facts back");
    let (uploaded, verified, downloaded, resumed) =
        blobs_travel(&hub, &laptop, &clock, tenant, &admin, jobs[0]).await?;

    println!(
        "RESULT field_day_core lost_edits={lost} duplicate_effects={duplicates} offline_pages_failed={pages_failed}"
    );
    println!(
        "RESULT field_day_blobs uploaded={uploaded} verified_on_hub={verified} downloaded={downloaded} resumed={resumed}"
    );
    ensure!(lost == 0 && duplicates == 0 && pages_failed == 0);
    ensure!(uploaded == 8 && verified == 8 && downloaded == 3 && resumed == 1);
    let _ = stop_ui.send(());
    laptop.go_offline().await;
    hub.stop().await?;
    Ok(())
}

/// The dispatch board's page of `job` shows its photo, report and drawn signature, and
/// serves a picture (the first on the page) as the laptop kept it.
async fn console_shows_the_files(hub: &Hub, tenant: Uuid, job: Uuid) -> Result<()> {
    let (email, password) = ("dispatch@bistro.example", "a long dispatcher password");
    hub.admin(
        &format!("/api/v1/admin/tenants/{tenant}/console-users"),
        &json!({ "email": email, "password": password, "role": "manager" }),
    )
    .await?;
    let mut console = pages::Browser::signed_in(&hub.base, tenant, email, password).await?;
    let page = console.get(&format!("/console/dispatch/jobs/{job}")).await?.body;
    ensure!(page.matches("data-held=\"true\"").count() == 3, "the job's files: {page}");
    let photo = page
        .split("<img src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the photo on the page")?
        .to_owned();
    let id: thorbis_sync_protocol::BlobId =
        photo.rsplit('/').next().context("the photo's id")?.parse()?;
    let response = console
        .http
        .get(format!("{}{photo}", hub.base))
        .header(reqwest::header::COOKIE, console.cookie_header())
        .send()
        .await?;
    ensure!(response.status().is_success(), "the photo: {}", response.status());
    ensure!(id.matches(&response.bytes().await?), "the console served the photo as kept");
    Ok(())
}

/// The blobs' journey after the laptop is back online: every one uploaded and verified by
/// the hub; then a second technician's laptop, given `job`, downloads that job's (one of
/// them resumed from a partial file), shows the job ready offline, and fetches one again
/// after it went missing. Returns (uploaded, verified on the hub, downloaded, resumed).
async fn blobs_travel(
    hub: &Hub,
    laptop: &Agent,
    clock: &Arc<ManualClock>,
    tenant: (Uuid, Uuid),
    admin: &str,
    job: Uuid,
) -> Result<(usize, usize, usize, usize)> {
    let mut all = Vec::new();
    for (_, view) in laptop.store.with(|s| s.work_orders())? {
        all.extend(view.attachments.iter().map(|a| a.blob));
    }
    // Two jobs with a photo, a report and a drawn signature; the browser's with a photo and
    // a drawn signature.
    ensure!(all.len() == 8, "the jobs' attachments: {all:?}");
    let sync = laptop.sync.as_ref().context("the laptop is online")?;
    wait_for("the laptop's blobs confirmed by the hub", 60, || {
        Ok(sync.status().blobs.uploaded == 8 && sync.status().blobs.unconfirmed == 0)
    })
    .await
    .with_context(|| format!("blob sync: {:?}", sync.status().blobs))?;
    let mut verified = 0;
    for blob in &all {
        if hub_holds(hub, blob.id).await? {
            verified += 1;
        }
    }
    let uploaded = usize::try_from(sync.status().blobs.uploaded)?;
    console_shows_the_files(hub, tenant.0, job).await?;

    // A second technician gets the first job. A download of its report was cut short
    // before: the first 700,000 bytes are already on that laptop.
    let dir = tempfile::tempdir()?;
    let mut other = Agent::enroll(hub, &dir, clock, tenant, "technician", 11).await?;
    other.go_offline().await;
    let them = other.store.with(|s| s.device_id());
    other.store.with(|s| s.set_technician_pin(PIN))?;
    let view = laptop.store.with(|s| s.work_order(WorkOrderId(job)))?.context("the job")?;
    let report = view
        .attachments
        .iter()
        .find(|a| a.blob.media_type == thorbis_domain::attachment::MediaType::Pdf)
        .context("the report")?
        .blob;
    let bytes = laptop.store.with(|s| s.blobs()).get(report.id)?.context("the report's bytes")?;
    let theirs = other.store.with(|s| s.blobs());
    theirs.append_partial(report.id, 0, &bytes[..700_000])?;
    hub.admin(&format!("{admin}/{job}/assign"), &json!({ "technician": Uuid::from_bytes(them.0) }))
        .await?;
    other.go_online(12)?;
    let wanted: Vec<_> = view.attachments.iter().map(|a| a.blob.id).collect();
    let store = other.store.clone();
    let want = wanted.clone();
    wait_for("the job's blobs on the second laptop", 60, move || {
        let held = store.with(|s| s.work_order(WorkOrderId(job)))?;
        let blobs = store.with(|s| s.blobs());
        Ok(held.is_some_and(|v| v.attachments.len() == 3) && want.iter().all(|b| blobs.has(*b)))
    })
    .await?;
    let mut downloaded = 0;
    for id in &wanted {
        if theirs.get(*id)?.is_some() {
            downloaded += 1;
        }
    }
    // The partial file was continued from its offset, never restarted: a restart would
    // have found 700,000 bytes where it wanted to write at 0, and stopped.
    let resumed = usize::from(theirs.get(report.id)? == Some(bytes));

    // Offline, a blob goes missing (a disk replaced): the job is no longer ready offline
    // until the blob is fetched again.
    other.go_offline().await;
    std::fs::remove_file(theirs.dir().join(report.id.to_string()))?;
    let (base, stop) = serve_ui(&other, clock).await?;
    let tech = Ui::sign_in(&base, Uuid::from_bytes(them.0), PIN, Duration::from_secs(10)).await?;
    let day = tech.get("/field").await?;
    ensure!(day.contains("data-ready=\"false\""), "a missing blob, still ready: {day}");
    other.go_online(13)?;
    let blobs = theirs.clone();
    wait_for("the missing blob fetched again", 60, move || Ok(blobs.has(report.id))).await?;
    let day = tech.get("/field").await?;
    ensure!(day.contains("data-ready=\"true\"") && !day.contains("data-ready=\"false\""));
    let photo = view
        .attachments
        .iter()
        .find(|a| a.kind == thorbis_domain::attachment::AttachmentKind::Photo)
        .context("the photo")?;
    let shown = tech.bytes(&format!("/field/jobs/{job}/files/{}", photo.blob.id)).await?;
    ensure!(photo.blob.id.matches(&shown), "the photo served is its blob");
    let picture = image::load_from_memory(&shown)?;
    ensure!(
        picture.width().max(picture.height()) == 1600,
        "the photo kept at the configured edge: {}x{}",
        picture.width(),
        picture.height()
    );
    let _ = stop.send(());
    other.go_offline().await;
    Ok((uploaded, verified, downloaded, resumed))
}
