//! The `thorbis-agent` command line, as an installer or the demo script runs it.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use anyhow::{Context as _, Result, ensure};

fn agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_thorbis-agent"));
    command.env("RUST_LOG", "warn");
    command
}

#[test]
fn the_demo_catalog_is_a_reference_publication_with_hashed_pins_only() -> Result<()> {
    let out = agent().arg("demo-catalog").output()?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let publication: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let events = publication["events"].as_array().context("events")?;
    ensure!(events.len() > 5, "{publication}");
    for event in events {
        let kind = event["kind"].as_str().context("kind")?;
        ensure!(kind.starts_with("catalog."), "only the hub's catalog kinds: {kind}");
    }
    let hashes: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "catalog.staff_upserted")
        .filter_map(|e| e["payload"]["pin_hash"].as_str())
        .collect();
    ensure!(hashes.len() == 2, "both demo staff: {hashes:?}");
    ensure!(hashes.iter().all(|h| h.starts_with("$argon2id$")), "{hashes:?}");
    Ok(())
}

#[test]
fn a_data_folder_others_can_read_is_refused_and_a_new_one_is_private() -> Result<()> {
    let root = tempfile::tempdir()?;
    let exposed = root.path().join("exposed");
    std::fs::create_dir(&exposed)?;
    std::fs::set_permissions(&exposed, std::fs::Permissions::from_mode(0o755))?;
    let out = agent().arg("status").arg("--data").arg(&exposed).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "an exposed folder was used");
    ensure!(stderr.contains("chmod 700"), "the refusal says how to fix it: {stderr}");
    ensure!(!exposed.join("agent.db").exists(), "nothing was written to it");

    let fresh = root.path().join("fresh");
    let out = agent().arg("status").arg("--data").arg(&fresh).output()?;
    ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mode = |path: &std::path::Path| -> Result<u32> {
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
    };
    ensure!(mode(&fresh)? == 0o700, "the folder is its owner's alone");
    ensure!(mode(&fresh.join("agent.db"))? == 0o600, "the store (and its key) too");
    Ok(())
}
