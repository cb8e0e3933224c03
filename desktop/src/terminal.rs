//! The terminal inside the desktop app: the agent's runtime (`thorbis_terminal`), the
//! same one `thorbis-agent run` starts, so the app prints, syncs and scans like the headless
//! agent. This module only owns the async runtime it runs on.

use anyhow::{Context as _, Result};
use thorbis_agent::seed::{self, SaleIds};
use thorbis_agent::sync;
use thorbis_desktop::{Config, status_line};
use thorbis_domain::ids::DrawerSessionId;
use thorbis_terminal::{self as terminal, HubLink, Printers, TerminalConfig};

/// The running terminal. Dropping it stops the UI, the sync tasks and the printers.
pub struct Terminal {
    url: tauri::Url,
    agent: Option<terminal::Terminal>,
    // Last: the terminal's tasks run on it.
    runtime: tokio::runtime::Runtime,
}

impl Terminal {
    /// Where the UI is served.
    pub fn url(&self) -> &tauri::Url {
        &self.url
    }

    /// One line for the tray: online state and what is waiting to be sent.
    pub fn status_line(&self) -> String {
        status_line(self.agent.as_ref().and_then(terminal::Terminal::sync_status).as_ref())
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(terminal) = self.agent.take() {
            self.runtime.block_on(terminal.shutdown());
        }
    }
}

/// Starts the terminal on the store under `config.data_dir`, its UI on a free loopback port.
pub fn start(config: &Config) -> Result<Terminal> {
    let path = config.data_dir.join("agent.db");
    let mut terminal_config = TerminalConfig::new(&path);
    terminal_config.ui_port = Some(0);
    terminal_config.hub = Some(HubLink { url: None, client: sync::hub::http_client()? });
    if let Some(address) = &config.printer {
        terminal_config.printers = Printers::Front(address.clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the terminal's runtime")?;
    let terminal = runtime
        .block_on(terminal::Terminal::start(terminal_config))
        .with_context(|| format!("starting the terminal on {}", path.display()))?;
    if config.demo {
        terminal.store().with(first_demo_sale).context("seeding the demo")?;
    }
    let addr = terminal.ui_addr().context("the UI is not served")?;
    let url: tauri::Url = format!("http://{addr}/").parse()?;
    Ok(Terminal { url, agent: Some(terminal), runtime })
}

/// On a fresh store: the demo catalog and staff, a drawer, and one counter sale (its receipt
/// goes to the printer).
fn first_demo_sale(store: &mut thorbis_agent::Store) -> Result<()> {
    if !store.items()?.is_empty() {
        return Ok(());
    }
    store.execute_all(&seed::catalog())?;
    let drawer = DrawerSessionId(store.new_id());
    store.execute(&seed::open_drawer(drawer))?;
    let ids = SaleIds::new(|| store.new_id());
    store.execute_all(&seed::typical_sale(ids, drawer))?;
    Ok(())
}
