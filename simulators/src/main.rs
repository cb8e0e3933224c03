//! `thorbis-sim`: starts any set of virtual devices, prints one line per device saying where
//! it listens, and runs until killed.
//!
//! ```text
//! thorbis-sim --printer 127.0.0.1:9100 --printer-serial --control 127.0.0.1:9101 \
//!             --scanner --scanner-suffix crlf --drawer --out receipts/
//! ```
//!
//! Logs go to stderr (`RUST_LOG=debug` for every diagnostic); stdout carries only the
//! device lines, so scripts can read them.

// This binary's job is to tell its caller where the devices are: it prints by design.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use thorbis_simulators::control::Controller;
use thorbis_simulators::printer::{Conditions, Paper};
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::scanner::{self, ScannerConfig};
use thorbis_simulators::server::{PrinterConfig, PrinterHandle};

const USAGE: &str = "\
usage: thorbis-sim [options]

devices (any set; with none, or --drawer alone, a printer on 127.0.0.1:9100):
  --printer ADDR            ESC/POS printer on TCP (repeatable), e.g. 127.0.0.1:9100
  --printer-serial          the same printer on a serial pseudo-terminal
  --control ADDR            control port (line protocol: paper out, cover open, status...)
  --scanner                 serial barcode scanner on a pseudo-terminal (scan via control)
  --drawer                  a cash drawer on the printer's kick-out connector

printer:
  --out DIR                 write NNNN.txt, NNNN.png and jobs.jsonl for each job
  --width DOTS              printable width (576 for 80 mm, 384 for 58 mm)
  --rx-buffer BYTES         receive buffer size (default 4096)
  --paper-out | --paper-near-end | --cover-open | --offline   start in that condition
  --slow BYTES_PER_SEC      print slowly
  --hang-after BYTES        hang (stop reading and answering) after printing that many bytes

drawer:
  --drawer-auto-close-ms MS close by itself after this long (default: only by control)

scanner:
  --scanner-suffix cr|lf|crlf|tab|none   (default cr)
  --scanner-prefix TEXT
  --scanner-aim             send AIM symbology identifiers (]E0, ]C1, ...)
  --scanner-delay-ms MS     gap between characters
  --scan DATA               scan DATA (repeatable), one every --scan-interval-ms, once each
  --scan-interval-ms MS     time before each --scan (default 2000), so a host can open the port
";

#[derive(Debug, Default)]
struct Args {
    printers: Vec<String>,
    printer_serial: bool,
    control: Option<String>,
    scanner: bool,
    drawer: bool,
    drawer_auto_close: Option<Duration>,
    out: Option<PathBuf>,
    width: Option<u16>,
    rx_buffer: Option<usize>,
    conditions: Conditions,
    scanner_config: ScannerConfig,
    scans: Vec<String>,
    scan_interval: Option<Duration>,
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{flag}: not a number: {s}"))
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    let value = |it: &mut dyn Iterator<Item = String>, flag: &str| {
        it.next().ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--printer" => a.printers.push(value(&mut it, &flag)?),
            "--printer-serial" => a.printer_serial = true,
            "--control" => a.control = Some(value(&mut it, &flag)?),
            "--scanner" => a.scanner = true,
            "--drawer" => a.drawer = true,
            "--drawer-auto-close-ms" => {
                a.drawer_auto_close =
                    Some(Duration::from_millis(number(&value(&mut it, &flag)?, &flag)?));
            }
            "--out" => a.out = Some(PathBuf::from(value(&mut it, &flag)?)),
            "--width" => a.width = Some(number(&value(&mut it, &flag)?, &flag)?),
            "--rx-buffer" => a.rx_buffer = Some(number(&value(&mut it, &flag)?, &flag)?),
            "--paper-out" => a.conditions.paper = Paper::Out,
            "--paper-near-end" => a.conditions.paper = Paper::NearEnd,
            "--cover-open" => a.conditions.cover_open = true,
            "--offline" => a.conditions.online = false,
            "--slow" => {
                a.conditions.bytes_per_second = Some(number(&value(&mut it, &flag)?, &flag)?);
            }
            "--hang-after" => {
                a.conditions.hang_after = Some(number(&value(&mut it, &flag)?, &flag)?);
            }
            "--scanner-suffix" => {
                let v = value(&mut it, &flag)?;
                a.scanner_config.suffix =
                    scanner::parse_suffix(&v).ok_or_else(|| format!("unknown suffix {v}"))?;
            }
            "--scanner-prefix" => a.scanner_config.prefix = value(&mut it, &flag)?.into_bytes(),
            "--scanner-aim" => a.scanner_config.aim = true,
            "--scanner-delay-ms" => {
                a.scanner_config.char_delay =
                    Duration::from_millis(number(&value(&mut it, &flag)?, &flag)?);
            }
            "--scan" => a.scans.push(value(&mut it, &flag)?),
            "--scan-interval-ms" => {
                a.scan_interval =
                    Some(Duration::from_millis(number(&value(&mut it, &flag)?, &flag)?));
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if !a.scans.is_empty() {
        a.scanner = true;
    }
    // Nothing asked for, or a drawer without a printer to hang it on: the default printer.
    if a.printers.is_empty() && !a.printer_serial && (!a.scanner || a.drawer) {
        a.printers.push("127.0.0.1:9100".to_owned());
    }
    Ok(a)
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("thorbis-sim: {why}\n");
            }
            eprint!("{USAGE}");
            std::process::exit(if why.is_empty() { 0 } else { 2 });
        }
    };
    if let Err(e) = run(args) {
        eprintln!("thorbis-sim: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut stdout = std::io::stdout().lock();
    let mut profile = SimProfile::default();
    if let Some(w) = args.width {
        profile.dots_per_line = w;
    }
    let mut conditions = args.conditions;
    conditions.drawer.connected = args.drawer;
    conditions.drawer.auto_close = args.drawer_auto_close;
    let wants_printer = !args.printers.is_empty() || args.printer_serial || args.drawer;
    let printer = wants_printer.then(|| {
        PrinterHandle::new(PrinterConfig {
            profile,
            rx_capacity: args.rx_buffer.unwrap_or(thorbis_simulators::printer::DEFAULT_RX_CAPACITY),
            out_dir: args.out.clone(),
            conditions,
        })
    });
    if let Some(p) = &printer {
        for addr in &args.printers {
            let bound = p.listen_tcp(addr.as_str())?;
            writeln!(stdout, "printer tcp {bound}")?;
        }
        if args.printer_serial {
            writeln!(stdout, "printer serial {}", p.open_serial()?)?;
        }
        if args.drawer {
            match args.drawer_auto_close {
                Some(d) => writeln!(stdout, "drawer printer-kick auto-close {} ms", d.as_millis())?,
                None => writeln!(stdout, "drawer printer-kick")?,
            }
        }
    }
    let scanner = if args.scanner {
        let s = scanner::start_scanner(args.scanner_config)?;
        writeln!(stdout, "scanner serial {}", s.path())?;
        Some(s)
    } else {
        None
    };
    if let Some(addr) = &args.control {
        let bound = Controller { printer: printer.clone(), scanner: scanner.clone() }
            .listen(addr.as_str())?;
        writeln!(stdout, "control tcp {bound}")?;
    }
    if let Some(dir) = &args.out {
        writeln!(stdout, "out {}", dir.display())?;
    }
    stdout.flush()?;
    drop(stdout);
    if let Some(s) = &scanner {
        let interval = args.scan_interval.unwrap_or(Duration::from_secs(2));
        for code in &args.scans {
            std::thread::sleep(interval);
            s.scan(None, code.as_bytes());
        }
    }
    // The handles keep the devices alive (a scanner stops when its last handle goes).
    let _devices = (printer, scanner);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(parse(&[]).unwrap().printers, ["127.0.0.1:9100"]);
        assert_eq!(parse(&["--drawer"]).unwrap().printers, ["127.0.0.1:9100"]);
        assert!(parse(&["--scanner"]).unwrap().printers.is_empty());
        let a = parse(&["--printer", "0.0.0.0:9100", "--paper-out", "--slow", "300"]).unwrap();
        assert_eq!(a.conditions.paper, Paper::Out);
        assert_eq!(a.conditions.bytes_per_second, Some(300));
        let a = parse(&["--scanner-suffix", "tab", "--scan", "123"]).unwrap();
        assert!(a.scanner);
        assert_eq!(a.scanner_config.suffix, b"\t");
        assert!(parse(&["--slow"]).is_err());
        assert!(parse(&["--slow", "fast"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
    }
}
