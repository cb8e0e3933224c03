//! The Thorbis Edge desktop shell: the terminal agent and its UI in one process, shown in a
//! Tauri window (kiosk on terminals), with a tray icon that says whether the terminal is
//! online. A thin shell: everything it shows and does goes through the agent's public API;
//! this crate owns only the window, the tray, single-instance and its command line.
//!
//! The binary is `src/main.rs`; this library holds what can be tested without a display.

use std::path::PathBuf;
use std::time::Duration;

pub mod instance;

/// The desktop app's configuration, parsed once from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the agent keeps its store.
    pub data_dir: PathBuf,
    /// Full screen without decorations: a terminal's kiosk mode.
    pub kiosk: bool,
    /// Seed a fresh store with the demo catalog and staff (a terminal not yet enrolled has
    /// nothing to sell otherwise) and ring up one counter sale, whose receipt prints.
    pub demo: bool,
    /// One ESC/POS printer at `host:port` for every ticket and receipt, instead of the
    /// printers of the terminal's device configuration.
    pub printer: Option<String>,
    /// Smoke-test mode: once the UI has loaded, report it and quit after this long.
    pub smoke_exit_after: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".thorbis-desktop"),
            kiosk: false,
            demo: false,
            printer: None,
            smoke_exit_after: None,
        }
    }
}

/// The usage line.
pub const USAGE: &str = "usage: thorbis-desktop [--data DIR] [--kiosk] [--demo] [--printer HOST:PORT] [--smoke-exit-after-ms N]";

/// Why the command line was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}\n{USAGE}")]
pub struct ArgsError(String);

impl Config {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut config = Config::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value =
                |what: &str| args.next().ok_or_else(|| ArgsError(format!("{arg} needs {what}")));
            match arg.as_str() {
                "--data" => config.data_dir = value("a directory")?.into(),
                "--kiosk" => config.kiosk = true,
                "--demo" => config.demo = true,
                "--printer" => config.printer = Some(value("HOST:PORT")?),
                "--smoke-exit-after-ms" => {
                    let ms = value("milliseconds")?;
                    let ms: u64 = ms.parse().map_err(|_| {
                        ArgsError(format!("--smoke-exit-after-ms: {ms:?} is not a number"))
                    })?;
                    config.smoke_exit_after = Some(Duration::from_millis(ms));
                }
                other => return Err(ArgsError(format!("unexpected argument {other:?}"))),
            }
        }
        Ok(config)
    }
}

/// The tray's line for the sync shell's state (`None`: not enrolled with a hub).
#[must_use]
pub fn status_line(sync: Option<&thorbis_agent::sync::SyncStatus>) -> String {
    let Some(sync) = sync.filter(|s| !s.peers.is_empty()) else {
        return "Thorbis Edge · offline: no hub configured".into();
    };
    let waiting: u64 = sync.peers.values().map(|p| p.outbox_depth).max().unwrap_or(0);
    if sync.peers.values().any(|p| p.online) {
        format!("Thorbis Edge · online · {waiting} to send")
    } else {
        format!("Thorbis Edge · offline · {waiting} waiting to send")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, ArgsError> {
        Config::parse(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_every_flag_and_refuses_the_rest() {
        assert_eq!(parse(&[]), Ok(Config::default()));
        let config = parse(&["--kiosk", "--data", "/var/lib/t", "--demo"]).unwrap();
        assert!(config.kiosk && config.demo);
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/t"));
        assert_eq!(
            parse(&["--smoke-exit-after-ms", "1500"]).unwrap().smoke_exit_after,
            Some(Duration::from_millis(1500))
        );
        assert!(parse(&["--data"]).unwrap_err().0.contains("needs a directory"));
        assert!(parse(&["--smoke-exit-after-ms", "soon"]).unwrap_err().0.contains("not a number"));
        assert!(parse(&["--fullscreen"]).unwrap_err().0.contains("unexpected"));
    }

    #[test]
    fn the_status_line_says_online_and_what_waits() {
        use thorbis_agent::sync::{PeerStatus, SyncStatus};
        assert!(status_line(None).contains("no hub configured"));
        let mut sync = SyncStatus::default();
        assert!(status_line(Some(&sync)).contains("no hub configured"));
        sync.peers.insert("hub".into(), PeerStatus { outbox_depth: 3, ..PeerStatus::default() });
        assert_eq!(status_line(Some(&sync)), "Thorbis Edge · offline · 3 waiting to send");
        sync.peers.get_mut("hub").unwrap().online = true;
        assert_eq!(status_line(Some(&sync)), "Thorbis Edge · online · 3 to send");
    }
}
