//! The real desktop app under a virtual X server (Xvfb): it starts the agent, its window
//! loads the agent's UI, the demo sale's receipt prints on the printer simulator over TCP, a
//! screenshot is taken (saved as a test artefact), a second launch is refused and focuses
//! the first, and the app exits cleanly.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use thorbis_simulators::server::{PrinterConfig, PrinterHandle};

/// Kills the child when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free X display number, and Xvfb serving it.
fn start_xvfb() -> Result<(u32, Killed)> {
    for display in 90..200 {
        if PathBuf::from(format!("/tmp/.X{display}-lock")).exists() {
            continue;
        }
        let xvfb = Killed(
            Command::new("Xvfb")
                .args([
                    format!(":{display}").as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting Xvfb (scripts/ensure-packages.sh test installs it)")?,
        );
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if socket.exists() {
                return Ok((display, xvfb));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    bail!("no X display could be started")
}

/// Where screenshots go: beside the build, like the browser tests' artefacts.
fn artefacts() -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    let dir = target.join("ui-artifacts");
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

#[test]
fn the_app_opens_the_agent_ui_and_exits_cleanly() -> Result<()> {
    let (display, _xvfb) = start_xvfb()?;
    let data = tempfile::tempdir()?;
    let log = data.path().join("desktop.log");
    let app = |extra: &[&str]| -> Result<Child> {
        Ok(Command::new(env!("CARGO_BIN_EXE_thorbis-desktop"))
            .arg("--data")
            .arg(data.path().join("store"))
            .arg("--demo")
            .args(extra)
            .env("DISPLAY", format!(":{display}"))
            .env("RUST_LOG", "warn")
            // Both instances write to the one log: appending, so neither overwrites the
            // other's lines from its own file offset.
            .stdout(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
            .stderr(Stdio::inherit())
            .spawn()?)
    };
    let printer = PrinterHandle::new(PrinterConfig::default());
    let printer_addr = printer.listen_tcp("127.0.0.1:0")?.to_string();
    let mut first = Killed(app(&["--printer", &printer_addr, "--smoke-exit-after-ms", "25000"])?);
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let started = Instant::now();
    while !read_log().contains("desktop: loaded http://127.0.0.1:") {
        ensure!(first.0.try_wait()?.is_none(), "the app exited early: {}", read_log());
        ensure!(started.elapsed() < Duration::from_secs(90), "no page loaded: {}", read_log());
        std::thread::sleep(Duration::from_millis(100));
    }

    // The demo's counter sale prints its receipt through the app's print queue.
    let jobs = printer.wait_for_jobs(1, Duration::from_secs(60));
    ensure!(jobs.len() == 1, "no receipt printed: {}", read_log());
    ensure!(jobs[0].text.contains("22.32") && jobs[0].is_cut(), "receipt: {}", jobs[0].text);

    // What the terminal shows, as a test artefact. The load event can come before webkit
    // has painted, so shoot until the screen is no longer blank (one colour).
    let shot = artefacts()?.join("desktop.png");
    let started = Instant::now();
    loop {
        let status = Command::new("import")
            .args(["-display", &format!(":{display}"), "-window", "root"])
            .arg(&shot)
            .status()
            .context("ImageMagick's import")?;
        ensure!(status.success(), "screenshot failed");
        let colours = Command::new("identify").args(["-format", "%k"]).arg(&shot).output()?;
        let colours: u32 = String::from_utf8_lossy(&colours.stdout).trim().parse().unwrap_or(0);
        if colours > 2 {
            break;
        }
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the screen stayed blank ({colours} colours): {}",
            shot.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // A second launch does not start a second agent on the same store.
    let mut second = Killed(app(&[])?);
    let started = Instant::now();
    let second_status = loop {
        if let Some(status) = second.0.try_wait()? {
            break status;
        }
        ensure!(started.elapsed() < Duration::from_secs(20), "a second instance kept running");
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(second_status.success(), "second instance: {second_status}");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = first.0.try_wait()? {
            break status;
        }
        ensure!(started.elapsed() < Duration::from_secs(60), "the app did not exit");
        std::thread::sleep(Duration::from_millis(100));
    };
    ensure!(status.success(), "the app exited with {status}: {}", read_log());
    ensure!(
        read_log().contains("desktop: second instance focused the window"),
        "the first instance never heard of the second: {}",
        read_log()
    );
    #[allow(clippy::print_stdout, reason = "the result line is the test's report")]
    {
        println!(
            "RESULT desktop_smoke printed={} screenshot={}",
            printer.jobs().len(),
            shot.display()
        );
    }
    Ok(())
}
