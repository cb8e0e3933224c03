//! The hub's blob endpoints against hostile and unlucky devices, with signed requests: a
//! blob no admitted change names is refused; an upload resumes at the offset
//! the hub holds (a repeated or stale chunk is answered with that offset); bytes that do
//! not hash to the blob's name are dropped and the upload starts over; a finished blob is
//! served only to the technician its job is assigned to, never to another device of the
//! tenant or to another tenant's.

use std::sync::Arc;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::Value;
use thorbis_agent::ManualClock;
use thorbis_agent::sync::SharedStore;
use thorbis_domain::Command;
use thorbis_domain::attachment::{AttachmentKind, BlobRef};
use thorbis_domain::ids::WorkOrderId;
use thorbis_domain::work_order::WorkOrderEdit;
use thorbis_hub::testing::fresh_database;
use thorbis_sync_protocol::{BLOB_CHUNK_BYTES, BlobId};

#[path = "support/hub.rs"]
mod hub;

use hub::{Agent, Hub, NOW_MS, dispatched_job};

/// A request to the hub signed as the device of `store`.
async fn signed(
    hub: &Hub,
    store: &SharedStore,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
) -> Result<(StatusCode, Vec<u8>)> {
    let signer = store.with(|s| s.request_signer());
    let request = signer.sign(method.as_str(), path, NOW_MS, &body)?;
    let mut builder = hub.http.request(method, format!("{}{path}", hub.base)).body(body);
    for (name, value) in request.headers() {
        builder = builder.header(name, value);
    }
    let response = builder.send().await?;
    Ok((response.status(), response.bytes().await?.to_vec()))
}

fn state(body: &[u8]) -> Result<(u64, bool)> {
    let v: Value = serde_json::from_slice(body)?;
    Ok((v["received"].as_u64().context("received")?, v["complete"].as_bool().context("complete")?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // One scenario, read top to bottom.
async fn the_hub_takes_and_serves_blobs_only_as_their_names_allow() -> Result<()> {
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let db = tokio::task::spawn_blocking(fresh_database).await?;
    let hub = Hub::start(db, clock.clone(), "127.0.0.1:0").await?;
    let tenant = hub.tenant().await?;
    let dir = tempfile::tempdir()?;
    let mut laptop = Agent::enroll(&hub, &dir, &clock, tenant, "technician", 21).await?;
    let colleague = Agent::enroll(&hub, &dir, &clock, tenant, "technician", 22).await?;
    let other_tenant = hub.tenant().await?;
    let stranger = Agent::enroll(&hub, &dir, &clock, other_tenant, "technician", 23).await?;
    let me = laptop.store.with(|s| s.device_id());

    let job = dispatched_job(&hub, tenant.0, &laptop, "Survey", "EUR").await?;

    // A report of two and a bit chunks, named by the laptop's change; its bytes stay out of
    // the laptop's blob folder, so only this test uploads them.
    let mut report = b"%PDF-1.4\n".to_vec();
    report.resize(2 * BLOB_CHUNK_BYTES + 1_000, b'.');
    let blob = BlobRef::of(&report)?;
    let command = Command::EditWorkOrder {
        work_order_id: WorkOrderId(job),
        device: me,
        at_ms: NOW_MS as i64,
        edit: WorkOrderEdit::AddAttachment {
            blob,
            kind: AttachmentKind::File,
            name: "report.pdf".into(),
        },
    };
    laptop.store.execute(&[command])?;
    let upload = format!("{}/upload", blob.id.path());
    let chunk = |at: usize| format!("{}/upload/{at}", blob.id.path());

    // A blob nobody named is refused, whoever asks.
    let unnamed = BlobId::of(b"never named");
    let (status, _) = signed(
        &hub,
        &laptop.store,
        reqwest::Method::POST,
        &format!("{}/upload/0", unnamed.path()),
        b"%PDF-".to_vec(),
    )
    .await?;
    ensure!(status == StatusCode::NOT_FOUND, "an unnamed blob: {status}");

    // Once the change is at the hub, the laptop may upload it (and no one else may). The
    // hub's answer is the event waited for: polled, bounded.
    let mut named = false;
    for _ in 0..1_500 {
        let (status, _) =
            signed(&hub, &laptop.store, reqwest::Method::GET, &upload, Vec::new()).await?;
        if status == StatusCode::OK {
            named = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    ensure!(named, "the hub never took the change naming the report");
    let (status, _) = signed(
        &hub,
        &colleague.store,
        reqwest::Method::POST,
        &chunk(0),
        report[..BLOB_CHUNK_BYTES].to_vec(),
    )
    .await?;
    ensure!(status == StatusCode::NOT_FOUND, "a colleague uploaded the laptop's blob: {status}");

    // Bytes of another type than the change named are refused from the first chunk.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.resize(BLOB_CHUNK_BYTES, 0);
    let (status, _) = signed(&hub, &laptop.store, reqwest::Method::POST, &chunk(0), png).await?;
    ensure!(status == StatusCode::BAD_REQUEST, "a PNG sent as the PDF: {status}");

    // The first chunk; the same chunk again (a retry whose answer was lost) gets the offset
    // to resume from; a chunk larger than the protocol's is refused.
    let first = report[..BLOB_CHUNK_BYTES].to_vec();
    let (status, body) =
        signed(&hub, &laptop.store, reqwest::Method::POST, &chunk(0), first.clone()).await?;
    ensure!(status == StatusCode::OK && state(&body)? == (BLOB_CHUNK_BYTES as u64, false));
    let (status, body) =
        signed(&hub, &laptop.store, reqwest::Method::POST, &chunk(0), first).await?;
    ensure!(
        status == StatusCode::CONFLICT && state(&body)?.0 == BLOB_CHUNK_BYTES as u64,
        "{status}"
    );
    let (status, _) = signed(
        &hub,
        &laptop.store,
        reqwest::Method::POST,
        &chunk(BLOB_CHUNK_BYTES),
        vec![b'.'; BLOB_CHUNK_BYTES + 1],
    )
    .await?;
    ensure!(status == StatusCode::BAD_REQUEST, "an oversized chunk: {status}");

    // The rest, tampered with: the hub drops everything and the upload starts over.
    let mut tampered = report[BLOB_CHUNK_BYTES..2 * BLOB_CHUNK_BYTES].to_vec();
    tampered[10] ^= 1;
    let (status, _) =
        signed(&hub, &laptop.store, reqwest::Method::POST, &chunk(BLOB_CHUNK_BYTES), tampered)
            .await?;
    ensure!(status == StatusCode::OK, "the second chunk: {status}");
    let at = 2 * BLOB_CHUNK_BYTES;
    let (status, _) =
        signed(&hub, &laptop.store, reqwest::Method::POST, &chunk(at), report[at..].to_vec())
            .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "bytes that do not match: {status}");
    let (_, body) = signed(&hub, &laptop.store, reqwest::Method::GET, &upload, Vec::new()).await?;
    ensure!(state(&body)? == (0, false), "the upload starts over");
    let from = |at: usize| format!("{}/from/{at}", blob.id.path());
    let (status, _) =
        signed(&hub, &laptop.store, reqwest::Method::GET, &from(0), Vec::new()).await?;
    ensure!(status == StatusCode::NOT_FOUND, "an incomplete blob was served: {status}");

    // The whole, in order: complete.
    for at in (0..report.len()).step_by(BLOB_CHUNK_BYTES) {
        let end = report.len().min(at + BLOB_CHUNK_BYTES);
        let (status, body) = signed(
            &hub,
            &laptop.store,
            reqwest::Method::POST,
            &chunk(at),
            report[at..end].to_vec(),
        )
        .await?;
        ensure!(status == StatusCode::OK, "chunk at {at}: {status}");
        ensure!(state(&body)?.1 == (end == report.len()));
    }

    // Served to the laptop (from any offset); to no other device, of this tenant or another.
    let (status, bytes) =
        signed(&hub, &laptop.store, reqwest::Method::GET, &from(BLOB_CHUNK_BYTES + 7), Vec::new())
            .await?;
    ensure!(status == StatusCode::OK && bytes == report[BLOB_CHUNK_BYTES + 7..], "a resumed read");
    for (who, store) in
        [("a colleague", &colleague.store), ("another tenant's device", &stranger.store)]
    {
        let (status, _) = signed(&hub, store, reqwest::Method::GET, &from(0), Vec::new()).await?;
        ensure!(status == StatusCode::NOT_FOUND, "{who} read the blob: {status}");
    }
    // A replayed request is refused: each is served once.
    let signer = laptop.store.with(|s| s.request_signer());
    let request = signer.sign("GET", &from(0), NOW_MS, &[])?;
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let mut builder = hub.http.get(format!("{}{}", hub.base, from(0)));
        for (name, value) in request.headers() {
            builder = builder.header(name, value);
        }
        statuses.push(builder.send().await?.status());
    }
    ensure!(statuses == [StatusCode::OK, StatusCode::UNAUTHORIZED], "{statuses:?}");

    laptop.go_offline().await;
    drop((colleague, stranger));
    hub.stop().await?;
    Ok(())
}
