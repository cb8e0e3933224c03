//! What bounds a client of the hub, end to end over real HTTP and Postgres: replayed
//! signed requests, connections per address and idle connections, body limits per route,
//! and each device's storage quota.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use reqwest::StatusCode;
use serde_json::json;
use support::{NOW_MS, TestHub, signed_post};
use thorbis_hub::Limits;
use thorbis_sync_protocol::encode_batch;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpSocket, TcpStream};

/// Longest any wait below may take on a loaded machine; each ends on its event, never on
/// the clock.
const PATIENCE: Duration = Duration::from_secs(30);

/// How long an idle connection may stay open in the idle test, whose timeout is 300 ms:
/// well under hyper's own 30 s default, so only the configured timeout can pass it.
const IDLE_PATIENCE: Duration = Duration::from_secs(10);

/// Tables a refused push must leave unchanged.
const STORED: &str = "SELECT (SELECT count(*) FROM events WHERE kind NOT LIKE 'device.%')
    + (SELECT count(*) FROM orders) + (SELECT count(*) FROM payments)";

async fn hub_with(limits: Limits) -> Result<TestHub> {
    let db = tokio::task::spawn_blocking(thorbis_hub::testing::fresh_database).await?;
    TestHub::start_with(db, limits).await
}

#[tokio::test]
async fn a_signed_request_is_served_once() -> Result<()> {
    let hub = TestHub::start().await?;
    let (tenant, location) = hub.tenant("Replay Co").await?;
    let mut agent = hub.agent(tenant, location, 1).await?;
    agent.sale(1, NOW_MS);
    agent.sale(2, NOW_MS);
    let path = "/api/v1/sync/push";
    let body = encode_batch(&agent.batch(1, 4));
    let request = signed_post(&hub.http, &hub.base, &agent, path, hub.clock_now(), &body)?;
    // Captured on the wire: the same headers and body, sent again.
    let replay = request.try_clone().context("clone")?.body(body.clone());
    let response = request.body(body.clone()).send().await?;
    ensure!(response.status() == StatusCode::OK, "{}", response.text().await?);
    let before = hub.count(STORED).await?;
    let response = replay.send().await?;
    ensure!(response.status() == StatusCode::UNAUTHORIZED, "replay: {}", response.status());
    let message = response.text().await?;
    ensure!(message.contains("received before"), "{message}");
    ensure!(hub.count(STORED).await? == before, "the replay changed what is stored");

    // A pull, the same.
    let body = serde_json::to_vec(&json!({ "have": {} }))?;
    let pull =
        signed_post(&hub.http, &hub.base, &agent, "/api/v1/sync/pull", hub.clock_now(), &body)?
            .body(body);
    let again = pull.try_clone().context("clone")?;
    ensure!(pull.send().await?.status() == StatusCode::OK);
    ensure!(again.send().await?.status() == StatusCode::UNAUTHORIZED, "a replayed pull is served");

    // The same request signed anew (a fresh nonce) is an honest retry: served, idempotent.
    let (status, answer) = hub.push(&agent, &agent.batch(1, 4)).await?;
    ensure!(status == StatusCode::OK && answer["duplicates"] == 4, "{status} {answer}");

    // Nonces are kept while their requests are fresh and a window more (for hub processes
    // whose clocks run behind); after that, the device's next request forgets them.
    let nonces = "SELECT count(*) FROM request_nonces";
    ensure!(hub.count(nonces).await? == 3);
    hub.clock.set(NOW_MS + 2 * Limits::default().request_window_ms + 1);
    let (status, _) = hub.push(&agent, &agent.batch(1, 4)).await?;
    ensure!(status == StatusCode::OK);
    ensure!(hub.count(nonces).await? == 1, "stale nonces were kept");
    hub.stop().await
}

/// Reads until the server closes the connection (EOF or reset), bounded by `patience`.
async fn closed_by_server(stream: &mut TcpStream, patience: Duration) -> Result<()> {
    let mut buf = [0; 256];
    loop {
        match tokio::time::timeout(patience, stream.read(&mut buf)).await {
            Err(_) => anyhow::bail!("the hub kept the connection open"),
            Ok(Ok(0) | Err(_)) => return Ok(()),
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection from `from` to the hub.
async fn connect_from(from: IpAddr, hub: &TestHub) -> Result<TcpStream> {
    let to: SocketAddr = hub.base.trim_start_matches("http://").parse()?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    Ok(socket.connect(to).await?)
}

/// A client on `from` that answers `/healthz`.
async fn healthy_from(from: IpAddr, hub: &TestHub) -> Result<StatusCode> {
    let http = reqwest::Client::builder().local_address(from).timeout(PATIENCE).build()?;
    Ok(http.get(format!("{}/healthz", hub.base)).send().await?.status())
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() -> Result<()> {
    // Idle connections outlive this test's patience: whatever closes one here is the limit.
    let hub = hub_with(Limits {
        max_connections_per_address: 2,
        idle_timeout_ms: 10 * PATIENCE.as_millis() as u64,
        ..Limits::default()
    })
    .await?;
    let attacker: IpAddr = [127, 0, 0, 2].into();
    let honest: IpAddr = [127, 0, 0, 3].into();
    // Two connections that say nothing, then a third from the same address.
    let mut silent = vec![connect_from(attacker, &hub).await?, connect_from(attacker, &hub).await?];
    let mut third = connect_from(attacker, &hub).await?;
    closed_by_server(&mut third, PATIENCE).await.context("the third connection of one address")?;
    // Counted, for whoever watches the hub.
    let metrics = hub
        .http
        .get(format!("{}/metrics", hub.base))
        .bearer_auth(support::ADMIN_TOKEN)
        .send()
        .await?
        .text()
        .await?;
    ensure!(metrics.contains("thorbis_hub_connections_refused_total 1\n"), "{metrics}");
    // Another address is served meanwhile.
    ensure!(healthy_from(honest, &hub).await? == StatusCode::OK);
    // The address gets a slot back when one of its connections ends.
    drop(silent.pop());
    let started = std::time::Instant::now();
    while healthy_from(attacker, &hub).await.ok() != Some(StatusCode::OK) {
        // The hub frees the slot when that connection's task sees the FIN.
        ensure!(started.elapsed() < PATIENCE, "the address never got its slot back");
        tokio::task::yield_now().await;
    }
    hub.stop().await
}

#[tokio::test]
async fn idle_connections_are_closed() -> Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let hub = hub_with(Limits { idle_timeout_ms: 300, ..Limits::default() }).await?;
    let from: IpAddr = [127, 0, 0, 1].into();
    // One that never says anything.
    let mut silent = connect_from(from, &hub).await?;
    closed_by_server(&mut silent, IDLE_PATIENCE).await.context("a silent connection")?;
    // One that asks once, then keeps the connection without asking again.
    let mut kept = connect_from(from, &hub).await?;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await?;
    let mut answer = [0; 17];
    tokio::time::timeout(PATIENCE, kept.read_exact(&mut answer)).await??;
    ensure!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    closed_by_server(&mut kept, IDLE_PATIENCE).await.context("an idle keep-alive connection")?;
    hub.stop().await
}

#[tokio::test]
async fn unauthenticated_routes_take_small_bodies_only() -> Result<()> {
    let hub = TestHub::start().await?;
    let big = vec![b' '; Limits::default().anonymous_body_limit_bytes + 1];
    for path in ["/api/v1/console/login", "/api/v1/enroll"] {
        let response = hub
            .http
            .post(format!("{}{path}", hub.base))
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await?;
        ensure!(
            response.status() == StatusCode::PAYLOAD_TOO_LARGE,
            "{path}: {}",
            response.status()
        );
    }
    // A console publication of the same size is read (and refused only for its content).
    let (tenant, _) = hub.tenant("Limits Co").await?;
    let (status, body) = hub
        .admin(
            &format!("/api/v1/admin/tenants/{tenant}/reference-events"),
            &json!({ "events": [], "padding": " ".repeat(big.len()) }),
        )
        .await?;
    ensure!(status != StatusCode::PAYLOAD_TOO_LARGE, "{status} {body}");
    hub.stop().await
}

#[tokio::test]
async fn a_device_past_its_quota_is_refused_and_its_relayer_is_not() -> Result<()> {
    let hub = hub_with(Limits { device_quota_bytes: 4_000, ..Limits::default() }).await?;
    let (tenant, location) = hub.tenant("Quota Co").await?;
    let mut greedy = hub.agent(tenant, location, 1).await?;
    let mut relay = hub.agent(tenant, location, 2).await?;
    greedy.sale(1, NOW_MS);
    let (status, body) = hub.push(&greedy, &greedy.all()).await?;
    ensure!(status == StatusCode::OK, "within its quota: {status} {body}");
    let first = greedy.tip().seq;
    for n in 2..=12 {
        greedy.sale(n, NOW_MS);
    }
    let before = hub.count(STORED).await?;
    let (status, body) = hub.push(&greedy, &greedy.batch(first + 1, greedy.tip().seq)).await?;
    ensure!(status == StatusCode::INSUFFICIENT_STORAGE, "{status} {body}");
    ensure!(hub.count(STORED).await? == before, "an over-quota push stored something");
    let alerts = "SELECT count(*) FROM alerts WHERE kind = 'quota'";
    ensure!(hub.count(alerts).await? == 1);
    // Retrying raises no second alert.
    let (status, _) = hub.push(&greedy, &greedy.batch(first + 1, greedy.tip().seq)).await?;
    ensure!(status == StatusCode::INSUFFICIENT_STORAGE);
    ensure!(hub.count(alerts).await? == 1);

    // A terminal relaying the greedy device's facts along with its own: its own go through.
    relay.sale(1, NOW_MS);
    let mut batch = greedy.batch(first + 1, greedy.tip().seq);
    let own = relay.all();
    batch.events.extend(own.events);
    batch.checkpoints.extend(own.checkpoints);
    let (status, body) = hub.push(&relay, &batch).await?;
    ensure!(status == StatusCode::OK, "relay: {status} {body}");
    ensure!(body["accepted"] == relay.tip().seq, "{body}");
    ensure!(body["over_quota"] == json!([greedy.device_id]), "{body}");
    ensure!(body["tips"][greedy.device_id.to_string()] == first, "{body}");
    hub.stop().await
}
