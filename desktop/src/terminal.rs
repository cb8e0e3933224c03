//! The terminal inside the desktop app, started through the agent's public API: its store,
//! the sync shell (when the terminal is enrolled with a hub) and the UI server on loopback.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use thorbis_agent::sync::{SharedStore, ShellConfig, StartError, SyncHandle};
use thorbis_agent::{Store, StoreConfig, seed, ui};
use thorbis_desktop::{Config, status_line};

/// The running terminal. Dropping it stops the sync tasks and the UI server.
pub struct Terminal {
    url: tauri::Url,
    sync: Option<SyncHandle>,
    // Last: the tasks above run on it.
    _runtime: tokio::runtime::Runtime,
}

impl Terminal {
    /// Where the UI is served.
    pub fn url(&self) -> &tauri::Url {
        &self.url
    }

    /// One line for the tray: online state and what is waiting to be sent.
    pub fn status_line(&self) -> String {
        status_line(self.sync.as_ref().map(SyncHandle::status).as_ref())
    }
}

/// Opens the store under `config.data_dir` and serves its UI on a free loopback port.
pub fn start(config: &Config) -> Result<Terminal> {
    let path = config.data_dir.join("agent.db");
    let store_config = StoreConfig::new(&path);
    let clock = Arc::clone(&store_config.clock);
    let mut store =
        Store::open(store_config).with_context(|| format!("opening {}", path.display()))?;
    if config.demo && store.items()?.is_empty() {
        store.execute_all(&seed::catalog()).context("seeding the demo catalog")?;
    }
    let store = SharedStore::new(store);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the terminal's runtime")?;
    let (url, sync) = runtime.block_on(async {
        let sync = match SyncHandle::start_hub(store.clone(), ShellConfig::default(), None) {
            Ok(handle) => Some(handle),
            Err(StartError::NotEnrolled) => None,
            Err(e) => return Err(e).context("starting sync"),
        };
        let key = ui::SessionKey::random().map_err(|_| anyhow::anyhow!("no OS randomness"))?;
        let mut state = ui::UiState::new(store, None, clock, key);
        if let Some(handle) = &sync {
            state = state.with_sync(Arc::new(handle.status_source()));
        }
        let listener = ui::bind_loopback(0).await.context("binding the UI on 127.0.0.1")?;
        let url: tauri::Url = format!("http://{}/", listener.local_addr()?).parse()?;
        tokio::spawn(async move {
            if let Err(e) = ui::serve(listener, state, std::future::pending()).await {
                tracing::error!(error = %e, "the UI server stopped");
            }
        });
        Ok::<_, anyhow::Error>((url, sync))
    })?;
    Ok(Terminal { url, sync, _runtime: runtime })
}
