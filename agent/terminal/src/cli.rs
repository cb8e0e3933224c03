//! The command line and the configuration file, parsed once into [`Args`].
//!
//! `--config FILE` reads a TOML file (the packaged service uses
//! `/etc/thorbis/agent.toml`; `installer/agent/agent.toml` is the commented example). A flag
//! given on the command line wins over the file; the file wins over the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// What the agent was asked to do, with everything it needs to do it.
pub struct Args {
    pub command: String,
    pub data: PathBuf,
    pub printer: Option<String>,
    pub ui_port: Option<u16>,
    pub hub: Option<String>,
    pub hub_ca: Option<PathBuf>,
    pub code: Option<String>,
    pub run_for: Option<Duration>,
    pub lan_listen: Option<SocketAddr>,
    pub peers: Vec<SocketAddr>,
    pub scanner: Option<PathBuf>,
    pub attachments: thorbis_media::Limits,
}

/// The UI's port unless told otherwise.
const DEFAULT_UI_PORT: u16 = 8090;

/// The store's folder unless told otherwise (beside the demo's other files).
const DEFAULT_DATA: &str = ".thorbis-demo";

/// The configuration file. Every key is optional; an unknown key is an error, so a typo
/// does not silently leave a setting at its default.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The store's folder.
    data: Option<PathBuf>,
    /// The hub's URL; without it, the hub the store enrolled with.
    hub: Option<String>,
    /// A PEM file with the hub's own CA or certificate.
    hub_ca: Option<PathBuf>,
    /// Whether to serve the terminal UI (on loopback).
    ui: Option<bool>,
    /// The UI's loopback port; 0 takes any free port (printed at start).
    ui_port: Option<u16>,
    /// One ESC/POS printer on raw TCP for every job, instead of the device
    /// configuration's printers.
    printer: Option<String>,
    /// A serial barcode scanner.
    scanner: Option<PathBuf>,
    /// Where to accept the store's other terminals.
    lan_listen: Option<SocketAddr>,
    /// Terminals to dial.
    #[serde(default)]
    peers: Vec<SocketAddr>,
    /// How a technician's photos and files are kept.
    attachments: Option<Attachments>,
}

/// `[attachments]`: the longest edge a photo is scaled to, and the largest file kept.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Attachments {
    max_edge_px: Option<u32>,
    max_megabytes: Option<u32>,
}

impl Attachments {
    fn limits(&self) -> Result<thorbis_media::Limits> {
        let mut limits = thorbis_media::Limits::default();
        let cap = thorbis_domain::attachment::MAX_ATTACHMENT_BYTES / (1024 * 1024);
        if let Some(px) = self.max_edge_px {
            if !(320..=8192).contains(&px) {
                bail!("attachments.max_edge_px must be between 320 and 8192, not {px}");
            }
            limits.max_edge_px = px;
        }
        if let Some(mb) = self.max_megabytes {
            if mb == 0 || u64::from(mb) > cap {
                bail!("attachments.max_megabytes must be between 1 and {cap}, not {mb}");
            }
            limits.max_bytes = u64::from(mb) * 1024 * 1024;
        }
        Ok(limits)
    }
}

impl File {
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the configuration {}", path.display()))
    }

    fn parse(text: &str) -> Result<Self> {
        Ok(toml::from_str(text)?)
    }
}

/// Flags as given; `None` where a flag was absent, so the file can fill it.
#[derive(Default)]
struct Flags {
    command: Option<String>,
    config: Option<PathBuf>,
    data: Option<PathBuf>,
    printer: Option<String>,
    ui_port: Option<u16>,
    no_ui: bool,
    hub: Option<String>,
    hub_ca: Option<PathBuf>,
    code: Option<String>,
    run_for: Option<Duration>,
    lan_listen: Option<SocketAddr>,
    peers: Vec<SocketAddr>,
    scanner: Option<PathBuf>,
}

const USAGE: &str = "usage: thorbis-agent demo-catalog
       thorbis-agent (demo|status) [--config FILE] [--data DIR] [--printer HOST:PORT] \
[--scanner DEVICE] [--ui-port PORT | --no-ui]
       thorbis-agent technician-pin [--config FILE] [--data DIR]    (reads the PIN from stdin)
       thorbis-agent enroll [--config FILE] [--hub URL] --code CODE [--hub-ca PEM] [--data DIR]
       thorbis-agent run [--config FILE] [--hub URL] [--hub-ca PEM] [--for SECONDS] [--data DIR] \
[--printer HOST:PORT] [--scanner DEVICE] [--ui-port PORT | --no-ui] [--lan-listen HOST:PORT] \
[--peer HOST:PORT]...
       thorbis-agent --version";

/// Parses the process's arguments (and the configuration file they name). `Ok(None)`
/// means the request was answered already (`--help`, `--version`).
pub fn parse() -> Result<Option<Args>> {
    let Some(flags) = flags(std::env::args().skip(1))? else { return Ok(None) };
    let file = flags.config.as_deref().map(File::read).transpose()?;
    resolve(flags, file).map(Some)
}

#[allow(clippy::print_stdout, reason = "--help and --version answer on stdout")]
fn flags(mut args: impl Iterator<Item = String>) -> Result<Option<Flags>> {
    let mut f = Flags::default();
    while let Some(arg) = args.next() {
        // The flag's value: the next argument, with the flag for messages.
        let mut value = |flag: &str, what: &str| {
            let v = args.next().with_context(|| format!("{flag} needs {what}"))?;
            anyhow::Ok((v, flag.to_owned()))
        };
        match arg.as_str() {
            "--config" => f.config = Some(value(&arg, "a TOML file")?.0.into()),
            "--data" => f.data = Some(value(&arg, "a directory")?.0.into()),
            "--printer" => f.printer = Some(value(&arg, "HOST:PORT")?.0),
            "--ui-port" => f.ui_port = Some(parsed(value(&arg, "a port")?)?),
            "--no-ui" => f.no_ui = true,
            "--hub" => f.hub = Some(value(&arg, "a URL")?.0),
            "--hub-ca" => f.hub_ca = Some(value(&arg, "a PEM file")?.0.into()),
            "--code" => f.code = Some(value(&arg, "the enrollment code")?.0),
            "--for" => f.run_for = Some(Duration::from_secs(parsed(value(&arg, "seconds")?)?)),
            "--lan-listen" => f.lan_listen = Some(parsed(value(&arg, "HOST:PORT")?)?),
            "--scanner" => f.scanner = Some(value(&arg, "a device path")?.0.into()),
            "--peer" => f.peers.push(parsed(value(&arg, "HOST:PORT")?)?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("thorbis-agent {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            other if f.command.is_none() && !other.starts_with('-') => {
                f.command = Some(other.to_owned());
            }
            other => bail!("unexpected argument {other:?}; try --help"),
        }
    }
    Ok(Some(f))
}

/// A flag's value parsed, or an error naming the flag and the value.
fn parsed<T: std::str::FromStr>((value, flag): (String, String)) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value.parse().with_context(|| format!("{flag} {value:?}"))
}

/// Flags over the file over the defaults. A configuration file must name the data folder
/// (or `--data` must): a service's working directory is no place for a store.
fn resolve(f: Flags, file: Option<File>) -> Result<Args> {
    let data = match (f.data, &file) {
        (Some(data), _) => data,
        (None, Some(file)) => file.data.clone().context(
            "the configuration names no data folder: add `data = \"/var/lib/thorbis\"` (or pass --data)",
        )?,
        (None, None) => DEFAULT_DATA.into(),
    };
    let file = file.unwrap_or_default();
    // `--no-ui` wins; a port given on the command line serves the UI whatever the file says.
    let ui = !f.no_ui && (f.ui_port.is_some() || file.ui.unwrap_or(true));
    Ok(Args {
        command: f.command.unwrap_or_else(|| "demo".into()),
        data,
        printer: f.printer.or(file.printer),
        ui_port: ui.then(|| f.ui_port.or(file.ui_port).unwrap_or(DEFAULT_UI_PORT)),
        hub: f.hub.or(file.hub),
        hub_ca: f.hub_ca.or(file.hub_ca),
        code: f.code,
        run_for: f.run_for,
        lan_listen: f.lan_listen.or(file.lan_listen),
        peers: if f.peers.is_empty() { file.peers } else { f.peers },
        scanner: f.scanner.or(file.scanner),
        attachments: file
            .attachments
            .as_ref()
            .map(Attachments::limits)
            .transpose()?
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str, file: &str) -> Args {
        let flags = flags(line.split_whitespace().map(str::to_owned)).unwrap().unwrap();
        resolve(flags, Some(File::parse(&format!("data = \"/srv/store\"\n{file}")).unwrap()))
            .unwrap()
    }

    #[test]
    fn the_packaged_example_parses_and_says_what_the_service_runs() {
        let example = File::parse(include_str!("../../../installer/agent/agent.toml")).unwrap();
        let flags = flags(["run"].map(String::from).into_iter()).unwrap().unwrap();
        let a = resolve(flags, Some(example)).unwrap();
        assert_eq!(a.data, PathBuf::from("/var/lib/thorbis"));
        assert_eq!(a.ui_port, Some(DEFAULT_UI_PORT));
        assert_eq!(a.hub, None);
        assert!(a.peers.is_empty());
    }

    #[test]
    fn flags_win_over_the_file_and_the_file_over_the_defaults() {
        let file = "ui_port = 9000\npeers = [\"10.0.0.2:7070\"]\nhub = \"https://hub.example\"\n";
        let a = args("run --ui-port 0 --hub https://other.example", file);
        assert_eq!(a.command, "run");
        assert_eq!(a.data, PathBuf::from("/srv/store"));
        assert_eq!(a.ui_port, Some(0));
        assert_eq!(a.hub.as_deref(), Some("https://other.example"));
        assert_eq!(a.peers, vec!["10.0.0.2:7070".parse::<SocketAddr>().unwrap()]);
        let a = args("status --no-ui", "ui_port = 9000");
        assert_eq!((a.command.as_str(), a.ui_port), ("status", None));
        assert_eq!(args("", "ui = false").ui_port, None);
        assert_eq!(args("--ui-port 7000", "ui = false").ui_port, Some(7000));
        assert_eq!(args("--ui-port 7000 --no-ui", "").ui_port, None);
        assert_eq!(args("--data /tmp/x", "").data, PathBuf::from("/tmp/x"));
        let bare = |line: &str| {
            let flags = flags(line.split_whitespace().map(str::to_owned)).unwrap().unwrap();
            resolve(flags, None)
        };
        assert_eq!(bare("run").unwrap().data, PathBuf::from(DEFAULT_DATA));
        let flags = flags(["run"].map(String::from).into_iter()).unwrap().unwrap();
        let e = resolve(flags, Some(File::parse("ui = true").unwrap())).err().unwrap();
        assert!(e.to_string().contains("no data folder"), "{e}");
    }

    #[test]
    fn attachment_limits_come_from_the_file_within_bounds() {
        let a = args("run", "[attachments]\nmax_edge_px = 1200\nmax_megabytes = 4\n");
        assert_eq!(a.attachments, thorbis_media::Limits { max_edge_px: 1200, max_bytes: 4 << 20 });
        assert_eq!(args("run", "").attachments, thorbis_media::Limits::default());
        let flags = flags(["run"].map(String::from).into_iter()).unwrap().unwrap();
        let file = File::parse("data = \"/x\"\n[attachments]\nmax_megabytes = 64\n").unwrap();
        let e = resolve(flags, Some(file)).err().unwrap();
        assert!(e.to_string().contains("max_megabytes"), "{e}");
    }

    #[test]
    fn a_mistyped_key_or_value_is_an_error_naming_it() {
        let e = File::parse("ui_prot = 1").unwrap_err().to_string();
        assert!(e.contains("ui_prot"), "{e}");
        let e = File::parse("lan_listen = \"nowhere\"").unwrap_err().to_string();
        assert!(e.contains("lan_listen"), "{e}");
        let e = flags(["--ui-port", "x"].map(String::from).into_iter()).err().unwrap();
        assert!(format!("{e:#}").contains("--ui-port \"x\""), "{e:#}");
        assert!(flags(["--for"].map(String::from).into_iter()).is_err());
    }
}
