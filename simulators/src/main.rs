//! `thorbis-sim`: starts any set of virtual devices, prints one line per device saying where
//! it listens, and runs until killed.
//!
//! ```text
//! thorbis-sim --printer 127.0.0.1:9100 --printer-serial --control 127.0.0.1:9101 \
//!             --scanner --scanner-suffix crlf --drawer --out receipts/
//! ```
//!
//! `thorbis-sim chaos` instead runs the chaos proxy between a client and its upstream:
//!
//! ```text
//! thorbis-sim chaos --listen 127.0.0.1:0 --upstream 127.0.0.1:8443 --control 127.0.0.1:0 \
//!             --seed 42 --schedule 'gap 2000..5000, partition for 1000..8000, cut up for 500..2000'
//! ```
//!
//! Logs go to stderr (`RUST_LOG=debug` for every diagnostic); stdout carries only the
//! device (or proxy) lines, so scripts can read them.

// This binary's job is to tell its caller where the devices are: it prints by design.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use thorbis_simulators::chaos::{ChaosConfig, ChaosProxy, ScheduleSpec};
use thorbis_simulators::control::Controller;
use thorbis_simulators::printer::{Conditions, Paper};
use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::scanner::{self, ScannerConfig};
use thorbis_simulators::server::{PrinterConfig, PrinterHandle};

const USAGE: &str = "\
usage: thorbis-sim [options]
       thorbis-sim chaos --upstream ADDR [chaos options]

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

chaos (a TCP proxy that injects network faults; prints `chaos tcp ADDR upstream ADDR`):
  --upstream ADDR           where connections go (host:port)
  --listen ADDR             where clients connect (default 127.0.0.1:0, any free port)
  --control ADDR            control port (drop up, delay 200 50, cut down, partition, heal, status...)
  --seed N                  seed of the schedule and the delay jitter (default: from the clock,
                            printed, so a run can be replayed)
  --schedule SPEC           run a seeded fault schedule, e.g.
                            'gap 1000..3000, partition for 2000..5000 x2, cut up for 500, count 10'
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

#[derive(Debug, Default)]
struct ChaosArgs {
    listen: Option<String>,
    upstream: String,
    control: Option<String>,
    seed: Option<u64>,
    schedule: Option<ScheduleSpec>,
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

fn parse_chaos_args(mut it: impl Iterator<Item = String>) -> Result<ChaosArgs, String> {
    let mut a = ChaosArgs::default();
    let mut upstream = None;
    let value = |it: &mut dyn Iterator<Item = String>, flag: &str| {
        it.next().ok_or_else(|| format!("{flag} needs a value"))
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--listen" => a.listen = Some(value(&mut it, &flag)?),
            "--upstream" => upstream = Some(value(&mut it, &flag)?),
            "--control" => a.control = Some(value(&mut it, &flag)?),
            "--seed" => a.seed = Some(number(&value(&mut it, &flag)?, &flag)?),
            "--schedule" => {
                a.schedule =
                    Some(value(&mut it, &flag)?.parse().map_err(|e| format!("--schedule: {e}"))?);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown chaos option {other}")),
        }
    }
    a.upstream = upstream.ok_or("chaos needs --upstream ADDR")?;
    Ok(a)
}

enum Mode {
    Devices(Args),
    Chaos(ChaosArgs),
}

fn parse_mode(it: impl Iterator<Item = String>) -> Result<Mode, String> {
    let mut it = it.peekable();
    if it.peek().is_some_and(|first| first == "chaos") {
        it.next();
        return parse_chaos_args(it).map(Mode::Chaos);
    }
    parse_args(it).map(Mode::Devices)
}

fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mode = match parse_mode(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("thorbis-sim: {why}\n");
            }
            eprint!("{USAGE}");
            std::process::exit(if why.is_empty() { 0 } else { 2 });
        }
    };
    let result = match mode {
        Mode::Devices(args) => run(args),
        Mode::Chaos(args) => run_chaos(args),
    };
    if let Err(e) = result {
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

fn run_chaos(args: ChaosArgs) -> Result<(), Box<dyn std::error::Error>> {
    let first = |addr: &str| -> Result<std::net::SocketAddr, Box<dyn std::error::Error>> {
        std::net::ToSocketAddrs::to_socket_addrs(addr)?
            .next()
            .ok_or_else(|| format!("{addr} resolves to no address").into())
    };
    let listen = first(args.listen.as_deref().unwrap_or("127.0.0.1:0"))?;
    let upstream = first(&args.upstream)?;
    // Without --seed, a seed from the clock: printed below, so the run can be replayed.
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let proxy =
        ChaosProxy::start(listen, upstream, ChaosConfig { seed, ..ChaosConfig::default() })?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "chaos tcp {} upstream {upstream}", proxy.local_addr())?;
    if let Some(addr) = &args.control {
        writeln!(stdout, "control tcp {}", proxy.listen_control(addr.as_str())?)?;
    }
    writeln!(stdout, "seed {seed}")?;
    if let Some(spec) = args.schedule {
        writeln!(stdout, "schedule {spec}")?;
        proxy.run_schedule(spec, seed);
    }
    stdout.flush()?;
    drop(stdout);
    let _proxy = proxy;
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

    fn parse_chaos(args: &[&str]) -> Result<ChaosArgs, String> {
        match parse_mode(args.iter().map(|s| (*s).to_owned()))? {
            Mode::Chaos(a) => Ok(a),
            Mode::Devices(_) => Err("not chaos".to_owned()),
        }
    }

    #[test]
    fn chaos_flags() {
        let a = parse_chaos(&[
            "chaos",
            "--upstream",
            "hub:443",
            "--seed",
            "7",
            "--schedule",
            "cut up for 10",
        ])
        .unwrap();
        assert_eq!(a.upstream, "hub:443");
        assert_eq!(a.seed, Some(7));
        assert_eq!(a.schedule.unwrap().faults.len(), 1);
        assert!(parse_chaos(&["chaos"]).is_err(), "--upstream is required");
        assert!(parse_chaos(&["chaos", "--upstream", "x:1", "--schedule", "heal for 5"]).is_err());
        assert!(parse_chaos(&["chaos", "--upstream", "x:1", "--printer", "x:2"]).is_err());
        assert!(matches!(parse_mode(std::iter::empty()), Ok(Mode::Devices(_))));
    }
}
