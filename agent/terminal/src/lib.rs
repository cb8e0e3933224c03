//! The terminal runtime: [`Terminal::start`] wires one terminal's store, its sync shell (the
//! hub and LAN peers), its print service, a serial barcode scanner and the UI server, and
//! [`Terminal::shutdown`] stops them in order. The `thorbis-agent` binary (`run`, `demo`)
//! and the desktop app run a terminal through it, so they print, sync and scan alike.
//!
//! Printers come from the device configuration the hub published for this terminal
//! ([`print::setup::from_device_config`]: stations, the receipt printer, backups), unless
//! the caller names one printer itself ([`Printers::Front`], the binary's `--printer`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use thorbis_drivers::scanner::FramingConfig;
use thorbis_drivers::transport::{FlowControl, SerialConfig, SerialTransport};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use thorbis_agent::print::{self, PrintService};
use thorbis_agent::sync::lan::LanConfig;
use thorbis_agent::sync::{SharedStore, ShellConfig, StartError, SyncHandle, SyncStatus};
use thorbis_agent::{Clock, Store, StoreConfig, StoreError};
use thorbis_terminal_ui::{self as ui, SessionKey, UiState};

/// Which printers the terminal drives.
#[derive(Clone, Debug, Default)]
pub enum Printers {
    /// The printers of this terminal's device configuration (none until the hub publishes
    /// one).
    #[default]
    FromDeviceConfig,
    /// One printer named `front` at `host:port`, taking every ticket and receipt.
    Front(String),
    /// No printer.
    None,
}

/// How to reach the hub, when the terminal is enrolled.
#[derive(Clone, Debug)]
pub struct HubLink {
    /// A hub URL other than the one recorded at enrollment.
    pub url: Option<String>,
    /// The HTTP client (e.g. one that trusts the hub's own CA).
    pub client: reqwest::Client,
}

/// Everything a terminal needs to start.
#[derive(Debug)]
pub struct TerminalConfig {
    /// The store.
    pub store: StoreConfig,
    /// Its printers.
    pub printers: Printers,
    /// Sync with the hub (only if the terminal is enrolled); `None` keeps it offline.
    pub hub: Option<HubLink>,
    /// The sync shell's timing.
    pub shell: ShellConfig,
    /// Where to accept the store's other terminals (`None`: accept none).
    pub lan_listen: Option<SocketAddr>,
    /// Terminals to dial.
    pub lan_peers: Vec<SocketAddr>,
    /// The loopback port of the UI (`Some(0)`: any free port); `None` serves no UI.
    pub ui_port: Option<u16>,
    /// A serial barcode scanner's device path, feeding the register screens.
    pub scanner: Option<PathBuf>,
    /// How a technician's photos and files are kept.
    pub attachments: thorbis_media::Limits,
}

impl TerminalConfig {
    /// A terminal on the store at `path`: printers from its device configuration, no hub,
    /// no LAN, no UI, no scanner.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            store: StoreConfig::new(path),
            printers: Printers::default(),
            hub: None,
            shell: ShellConfig::default(),
            lan_listen: None,
            lan_peers: Vec::new(),
            ui_port: None,
            scanner: None,
            attachments: thorbis_media::Limits::default(),
        }
    }
}

/// Why a terminal did not start.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// The store could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The printers of the configuration cannot be set up.
    #[error("printers: {0}")]
    Printers(#[from] print::setup::SetupError),
    /// The front printer's profile is missing.
    #[error("printer: {0}")]
    Profile(#[from] thorbis_drivers::profile::ProfileError),
    /// The sync shell could not start.
    #[error("sync: {0}")]
    Sync(#[from] StartError),
    /// LAN sync needs a terminal enrolled with a hub (its credential is what peers check).
    #[error("LAN sync needs a terminal enrolled with a hub and started with one")]
    LanNeedsEnrollment,
    /// A socket could not be bound or the scanner opened.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// No OS randomness for the UI's session key.
    #[error("no OS randomness for the UI's session key")]
    Randomness,
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TerminalError {
    let what = what.into();
    move |source| TerminalError::Io { what, source }
}

/// A running terminal. Call [`Terminal::shutdown`] to stop it cleanly; dropping it stops
/// the print service and leaves the async tasks to end with their runtime.
#[derive(Debug)]
pub struct Terminal {
    store: SharedStore,
    print: Option<Arc<PrintService>>,
    sync: Option<SyncHandle>,
    lan_addr: Option<SocketAddr>,
    ui: Option<UiServer>,
    scanner: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

#[derive(Debug)]
struct UiServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Terminal {
    /// Opens the store and starts what `config` asks for. Call inside a tokio runtime.
    pub async fn start(config: TerminalConfig) -> Result<Terminal, TerminalError> {
        let clock = Arc::clone(&config.store.clock);
        let path = config.store.path.clone();
        let mut store = Store::open(config.store)?;
        let print = start_printers(&mut store, &path, &config.printers, &clock)?;
        let store = SharedStore::new(store);

        let mut sync = match &config.hub {
            Some(hub) => match SyncHandle::start_hub_with(
                store.clone(),
                config.shell,
                hub.url.as_deref(),
                hub.client.clone(),
            ) {
                Ok(handle) => Some(handle),
                Err(StartError::NotEnrolled) => None,
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let mut lan_addr = None;
        if config.lan_listen.is_some() || !config.lan_peers.is_empty() {
            let handle = sync.as_mut().ok_or(TerminalError::LanNeedsEnrollment)?;
            let listener = match config.lan_listen {
                Some(addr) => Some(
                    tokio::net::TcpListener::bind(addr)
                        .await
                        .map_err(io_error(format!("LAN listener on {addr}")))?,
                ),
                None => None,
            };
            let lan = LanConfig { listener, peers: config.lan_peers, ..LanConfig::default() };
            lan_addr = handle.start_lan(lan)?;
        }

        let key = SessionKey::random().map_err(|_| TerminalError::Randomness)?;
        let mut state = UiState::new(store.clone(), print.clone(), clock, key)
            .with_attachment_limits(config.attachments);
        if let Some(handle) = &sync {
            state = state.with_sync(Arc::new(handle.status_source()));
        }
        let scanner = match &config.scanner {
            Some(device) => Some(start_scanner(device, &state)?),
            None => None,
        };
        let ui = match config.ui_port {
            Some(port) => Some(start_ui(port, state).await?),
            None => None,
        };
        Ok(Terminal { store, print, sync, lan_addr, ui, scanner })
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// The print service, when the terminal has printers.
    #[must_use]
    pub fn print(&self) -> Option<&PrintService> {
        self.print.as_deref()
    }

    /// Every sync peer's state, when the terminal syncs.
    #[must_use]
    pub fn sync_status(&self) -> Option<SyncStatus> {
        self.sync.as_ref().map(SyncHandle::status)
    }

    /// Where the LAN listener is bound.
    #[must_use]
    pub fn lan_addr(&self) -> Option<SocketAddr> {
        self.lan_addr
    }

    /// Where the UI is served.
    #[must_use]
    pub fn ui_addr(&self) -> Option<SocketAddr> {
        self.ui.as_ref().map(|ui| ui.addr)
    }

    /// Stops the UI (open pages get their last answer), the scanner, the sync tasks and
    /// then the printers, and returns the store.
    pub async fn shutdown(self) -> SharedStore {
        let Terminal { store, print, sync, ui, scanner, .. } = self;
        if let Some(ui) = ui {
            let _ = ui.stop.send(());
            match ui.task.await {
                Ok(Err(e)) => tracing::error!(error = %e, "the UI server failed"),
                Err(e) => tracing::error!(error = %e, "the UI task panicked"),
                Ok(Ok(())) => {}
            }
        }
        if let Some((stop, thread)) = scanner {
            stop.store(true, Ordering::Relaxed);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        if let Some(sync) = sync {
            sync.shutdown().await;
        }
        // The writer threads stop when the last handle goes.
        drop(print);
        store
    }
}

/// Starts the printers `printers` asks for, routing the store's tickets and receipts to
/// them.
fn start_printers(
    store: &mut Store,
    path: &Path,
    printers: &Printers,
    clock: &Arc<dyn Clock>,
) -> Result<Option<Arc<PrintService>>, TerminalError> {
    let (routing, configs) = match printers {
        Printers::None => return Ok(None),
        Printers::Front(address) => {
            (print::setup::front_routing(), vec![print::setup::front_printer(address.clone())?])
        }
        Printers::FromDeviceConfig => match store.own_device_config()? {
            Some(config) => print::setup::from_device_config(&config)?,
            None => return Ok(None),
        },
    };
    if configs.is_empty() {
        return Ok(None);
    }
    store.set_print_routing(routing);
    Ok(Some(Arc::new(PrintService::start(path, configs, clock)?)))
}

async fn start_ui(port: u16, state: UiState) -> Result<UiServer, TerminalError> {
    let listener =
        ui::bind_loopback(port).await.map_err(io_error(format!("UI port {port} on 127.0.0.1")))?;
    let addr = listener.local_addr().map_err(io_error("the UI's address"))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ui::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Ok(UiServer { addr, stop, task })
}

fn start_scanner(
    device: &Path,
    state: &UiState,
) -> Result<(Arc<AtomicBool>, std::thread::JoinHandle<()>), TerminalError> {
    let what = || format!("scanner {}", device.display());
    let port = SerialTransport::open(&SerialConfig {
        flow_control: FlowControl::None,
        ..SerialConfig::new(device.display().to_string())
    })
    .map_err(|e| TerminalError::Io { what: what(), source: std::io::Error::other(e) })?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread = ui::spawn_serial_scanner(
        port,
        FramingConfig::default(),
        state.scan_feed(),
        Arc::clone(&stop),
    )
    .map_err(io_error(what()))?;
    Ok((stop, thread))
}
