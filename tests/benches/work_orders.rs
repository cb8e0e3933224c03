//! Work orders' blobs over loopback: how fast a technician's photos travel from the laptop
//! to the hub, and from the hub to another laptop.
//!
//! A real hub (in this process, over a throwaway Postgres) and real enrolled technician
//! stores with the real sync shell over HTTP. The first laptop, offline, attaches
//! `THORBIS_BENCH_PHOTOS` photos (default 24 in a bench run, 3 in a test run) to a job,
//! each a camera-sized picture scaled and encoded the way the field UI keeps it
//! (`thorbis_media::prepare`). The clock starts when its sync starts and stops when the
//! hub has confirmed every photo, verified by hash. The job is then given to a second
//! laptop, timed until it holds every photo.
//!
//! `cargo bench -p thorbis-tests --bench work_orders` prints `METRIC blob_sync_mb_per_s`
//! (laptop to hub) and `METRIC blob_download_mb_per_s` (hub to laptop). The document-side
//! figures of work orders are the domain's bench of the same name.

#![allow(clippy::print_stdout)] // A bench binary's output is its figures.

#[path = "../tests/support/hub.rs"]
mod hub;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use thorbis_agent::ManualClock;
use thorbis_domain::Command;
use thorbis_domain::attachment::AttachmentKind;
use thorbis_domain::ids::WorkOrderId;
use thorbis_domain::work_order::WorkOrderEdit;
use thorbis_hub::testing::fresh_database;
use uuid::Uuid;

use hub::{Agent, Hub, NOW_MS, dispatched_job, wait_for};

fn main() -> Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let photos: usize = std::env::var("THORBIS_BENCH_PHOTOS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench { 24 } else { 3 });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(photos))
}

/// A camera picture with seeded noise (so JPEG keeps it at a realistic size), as kept.
fn photo(seed: u64) -> Result<Vec<u8>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let picture = image::RgbImage::from_fn(2000, 1500, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x3f) as u32;
        image::Rgb([
            ((x / 8 + noise) % 256) as u8,
            ((y / 6 + noise) % 256) as u8,
            (noise * 3) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut out, image::ImageFormat::Png)?;
    let kept = thorbis_media::prepare(
        &out.into_inner(),
        AttachmentKind::Photo,
        &thorbis_media::Limits::default(),
    )?;
    Ok(kept.bytes)
}

#[allow(clippy::cast_precision_loss)] // Megabytes per second, for a report.
fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / seconds
}

async fn run(photos: usize) -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let mut laptop = Agent::enroll(&hub, &dir, &clock, tenant, "technician", 1).await?;
    let me = laptop.store.with(|s| s.device_id());

    let admin = format!("/api/v1/admin/tenants/{}/work-orders", tenant.0);
    let job = dispatched_job(&hub, tenant.0, &laptop, "Roof survey", "USD").await?;
    laptop.go_offline().await;

    // Photos attached offline: kept as blobs, named by one edit each.
    let mut total = 0u64;
    for n in 0..photos {
        let bytes = photo(n as u64)?;
        total += bytes.len() as u64;
        let blobs = laptop.store.with(|s| s.blobs());
        blobs.put(&bytes)?;
        let blob = thorbis_domain::attachment::BlobRef::of(&bytes)?;
        let edit = WorkOrderEdit::AddAttachment {
            blob,
            kind: AttachmentKind::Photo,
            name: format!("IMG_{n:04}.jpg"),
        };
        let command = Command::EditWorkOrder {
            work_order_id: WorkOrderId(job),
            device: me,
            at_ms: NOW_MS as i64 + n as i64,
            edit,
        };
        laptop.store.execute(&[command])?;
    }

    let started = Instant::now();
    laptop.go_online(2)?;
    let sync = laptop.sync.as_ref().context("online")?;
    wait_for("every photo confirmed by the hub", 600, || {
        Ok(sync.status().blobs.uploaded as usize == photos && sync.status().blobs.unconfirmed == 0)
    })
    .await?;
    let up = started.elapsed().as_secs_f64();

    // The job goes to a second laptop, which fetches every photo.
    let other_dir = tempfile::tempdir()?;
    let mut other = Agent::enroll(&hub, &other_dir, &clock, tenant, "technician", 3).await?;
    let them = other.store.with(|s| s.device_id());
    other.go_offline().await;
    hub.admin(&format!("{admin}/{job}/assign"), &json!({ "technician": Uuid::from_bytes(them.0) }))
        .await?;
    let started = Instant::now();
    other.go_online(4)?;
    let sync = other.sync.as_ref().context("online")?;
    wait_for("every photo on the second laptop", 600, || {
        Ok(sync.status().blobs.downloaded as usize == photos && sync.status().blobs.missing == 0)
    })
    .await?;
    let down = started.elapsed().as_secs_f64();
    let theirs = other.store.with(|s| s.blobs());
    let view = other.store.with(|s| s.work_order(WorkOrderId(job)))?.context("the job")?;
    for a in &view.attachments {
        ensure!(theirs.get(a.blob.id)?.is_some(), "photo {} did not arrive whole", a.name);
    }

    println!("photos {photos}, {total} bytes, up {up:.2} s, down {down:.2} s");
    println!("METRIC blob_sync_mb_per_s {:.1}", mb_per_s(total, up));
    println!("METRIC blob_download_mb_per_s {:.1}", mb_per_s(total, down));
    laptop.go_offline().await;
    other.go_offline().await;
    hub.stop().await?;
    Ok(())
}
