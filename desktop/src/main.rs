//! `thorbis-desktop`: starts the terminal agent in this process, opens its UI in a window
//! (full screen with `--kiosk`), keeps a tray icon with the online state, and refuses to run
//! twice on one store (a second launch focuses the first window and exits; see
//! [`thorbis_desktop::instance`]).
//!
//! With `--smoke-exit-after-ms N` it prints `desktop: loaded <url>` once the UI has loaded
//! and quits N ms later: the CI smoke test runs it under Xvfb that way.

#![allow(clippy::print_stdout)] // The smoke test reads the binary's stdout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::webview::PageLoadEvent;
use tauri::{Manager as _, WebviewUrl, WebviewWindowBuilder};
use thorbis_desktop::Config;
use thorbis_desktop::instance::{self, Instance};

mod terminal;

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::parse(std::env::args().skip(1)).map_err(|e| anyhow::anyhow!("{e}"))?;
    thorbis_agent::data_dir::prepare(&config.data_dir)?;
    // Before anything touches the store: one app per store.
    let first = match instance::claim(&config.data_dir)? {
        Instance::First(first) => first,
        Instance::AlreadyRunning => {
            println!("desktop: already running; asked it to come to the front");
            return Ok(());
        }
    };
    tauri::Builder::default()
        .setup(move |app| {
            let handle = app.handle().clone();
            first.on_focus_request(move || {
                tracing::info!("a second launch asked for the window");
                println!("desktop: second instance focused the window");
                if let Some(window) = handle.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.set_focus();
                }
            });
            setup(app, &config).map_err(|e| {
                tracing::error!(error = format!("{e:#}"), "the terminal did not start");
                e.into()
            })
        })
        .run(tauri::generate_context!())
        .context("running the desktop shell")
}

fn setup(app: &mut tauri::App, config: &Config) -> Result<()> {
    let terminal = terminal::start(config)?;
    let url = terminal.url().clone();
    tracing::info!(%url, "terminal UI up");

    let smoke = config.smoke_exit_after;
    let loaded = Arc::new(AtomicBool::new(false));
    let handle = app.handle().clone();
    WebviewWindowBuilder::new(app, "main", WebviewUrl::External(url.clone()))
        .title("Thorbis Edge")
        .inner_size(1280.0, 800.0)
        .fullscreen(config.kiosk)
        .decorations(!config.kiosk)
        .on_page_load(move |_window, payload| {
            if payload.event() != PageLoadEvent::Finished || loaded.swap(true, Ordering::SeqCst) {
                return;
            }
            println!("desktop: loaded {}", payload.url());
            if let Some(after) = smoke {
                let handle = handle.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(after);
                    handle.exit(0);
                });
            }
        })
        .build()
        .context("opening the window")?;

    let status = MenuItem::with_id(app, "status", terminal.status_line(), false, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Thorbis Edge", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&status, &quit])?;
    let mut tray = TrayIconBuilder::with_id("status")
        .tooltip(terminal.status_line())
        .menu(&menu)
        .on_menu_event(|app, event| {
            if event.id() == "quit" {
                app.exit(0);
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    let tray = tray.build(app).context("creating the tray icon")?;

    // The tray follows the terminal's state; the agent keeps running with the window.
    let terminal = Arc::new(terminal);
    app.manage(Arc::clone(&terminal));
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(2));
            let line = terminal.status_line();
            let _ = status.set_text(&line);
            let _ = tray.set_tooltip(Some(&line));
        }
    });
    Ok(())
}
