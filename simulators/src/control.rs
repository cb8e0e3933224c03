//! The control port: a line protocol to change the virtual devices' conditions while they
//! run, for tests in other languages, the demo and people with `nc`.
//!
//! One command per line; each answer is one line (`ok`, `error: ...` or the requested
//! state), except `jobs`, which answers one line per job and then `end`.
//!
//! | command | effect |
//! |---|---|
//! | `paper out` / `paper near-end` / `paper ok` | paper sensors |
//! | `cover open` / `cover close` | cover |
//! | `offline` / `online` | printer online state |
//! | `slow <bytes/s>` / `fast` | print speed |
//! | `hang` / `hang <bytes>` / `resume` | stop reading and answering now, or after n more bytes |
//! | `drawer open` / `drawer close` | the drawer sensor, by hand |
//! | `status` | `online=yes paper=ok cover=closed drawer=closed kicks=0 speed=full hung=no jobs=0` |
//! | `jobs` | `job <seq> cut=yes diagnostics=<n> duplicate_of=<seq or -> hash=<sha256>` lines, then `end` |
//! | `scan [<symbology>] <data>` | the scanner sends `data` (`\x1d` style escapes allowed) |
//!
//! [`Controller::execute`] is the protocol without IO; [`Controller::listen`] serves it with
//! [`listen_lines`], the line server any [`LineService`] (such as the chaos proxy's control
//! port, [`crate::chaos`]) shares.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::thread;

use crate::printer::Paper;
use crate::scanner::{ScanSymbology, ScannerHandle};
use crate::server::{POLL, PrinterHandle, SimError, io_err};

/// Longest accepted command line; longer lines are refused, not buffered.
const MAX_LINE: usize = 4096;

/// The devices the control port drives.
#[derive(Clone, Debug, Default)]
pub struct Controller {
    /// The printer (and its drawer).
    pub printer: Option<PrinterHandle>,
    /// The scanner.
    pub scanner: Option<ScannerHandle>,
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Decodes `\xHH`, `\r`, `\n`, `\t` and `\\` escapes in scan data.
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let v = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("bad \\x escape")?;
                out.push(v);
            }
            _ => return Err("bad escape".into()),
        }
    }
    Ok(out)
}

impl Controller {
    fn printer(&self) -> Result<&PrinterHandle, String> {
        self.printer.as_ref().ok_or_else(|| "no printer running".to_owned())
    }

    /// Runs one command line and returns the answer (without the final newline).
    #[must_use]
    pub fn execute(&self, line: &str) -> String {
        match self.run(line.trim()) {
            Ok(answer) => answer,
            Err(why) => format!("error: {why}"),
        }
    }

    fn run(&self, line: &str) -> Result<String, String> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.next();
        match (verb, arg) {
            ("paper", Some("out")) => self.printer()?.set_paper(Paper::Out),
            ("paper", Some("ok")) => self.printer()?.set_paper(Paper::Ok),
            ("paper", Some("near-end")) => self.printer()?.set_paper(Paper::NearEnd),
            ("cover", Some("open")) => self.printer()?.set_cover_open(true),
            ("cover", Some("close")) => self.printer()?.set_cover_open(false),
            ("offline", None) => self.printer()?.set_online(false),
            ("online", None) => self.printer()?.set_online(true),
            ("slow", Some(n)) => {
                let bps: u32 = n.parse().map_err(|_| format!("not a rate: {n}"))?;
                self.printer()?.set_speed(Some(bps.max(1)));
            }
            ("fast", None) => self.printer()?.set_speed(None),
            ("hang", None) => self.printer()?.hang(None),
            ("hang", Some(n)) => {
                let after: u64 = n.parse().map_err(|_| format!("not a byte count: {n}"))?;
                self.printer()?.hang(Some(after));
            }
            ("resume", None) => self.printer()?.resume(),
            ("drawer", Some("open")) => self.printer()?.set_drawer_open(true),
            ("drawer", Some("close")) => self.printer()?.set_drawer_open(false),
            ("status", None) => {
                let p = self.printer()?;
                let c = p.conditions();
                return Ok(format!(
                    "online={} paper={} cover={} drawer={} kicks={} speed={} hung={} jobs={}",
                    yes(c.online),
                    match c.paper {
                        Paper::Ok => "ok",
                        Paper::NearEnd => "near-end",
                        Paper::Out => "out",
                    },
                    if c.cover_open { "open" } else { "closed" },
                    if c.drawer.open { "open" } else { "closed" },
                    c.drawer.kicks,
                    c.bytes_per_second.map_or_else(|| "full".to_owned(), |b| b.to_string()),
                    yes(c.hung),
                    p.jobs().len(),
                ));
            }
            ("jobs", None) => {
                let mut out = String::new();
                for j in self.printer()?.jobs() {
                    let _ = writeln!(
                        out,
                        "job {} cut={} diagnostics={} duplicate_of={} hash={}",
                        j.seq,
                        yes(j.is_cut()),
                        j.diagnostics.len(),
                        j.duplicate_of.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                        j.hash
                    );
                }
                out.push_str("end");
                return Ok(out);
            }
            ("scan", Some(first)) => {
                let scanner = self.scanner.as_ref().ok_or("no scanner running")?;
                let rest: Vec<&str> = words.collect();
                let (sym, data) = match (ScanSymbology::from_name(first), rest.as_slice()) {
                    (Some(sym), [data, ..]) => (Some(sym), *data),
                    _ => (None, first),
                };
                scanner.scan(sym, &unescape(data)?);
            }
            ("", None) => return Err("empty command".into()),
            _ => return Err(format!("unknown command: {line}")),
        }
        Ok("ok".to_owned())
    }

    /// Binds `addr` and serves the protocol on a thread, one thread per client.
    pub fn listen(self, addr: impl ToSocketAddrs) -> Result<SocketAddr, SimError> {
        listen_lines(addr, self)
    }
}

impl LineService for Controller {
    fn execute(&self, line: &str) -> String {
        Controller::execute(self, line)
    }
}

/// A line protocol: one command line in, one answer out (which may span lines, as `jobs`
/// does). The devices' [`Controller`] and the chaos proxy both are one, and share
/// [`listen_lines`].
pub trait LineService: Clone + Send + 'static {
    /// Runs one command line (without its newline) and returns the answer (without the
    /// final newline).
    fn execute(&self, line: &str) -> String;
}

/// Binds `addr` and serves `service` on a thread, one thread per client; returns the address
/// actually bound (port 0 for any free port).
pub fn listen_lines(
    addr: impl ToSocketAddrs,
    service: impl LineService,
) -> Result<SocketAddr, SimError> {
    let listener = TcpListener::bind(addr).map_err(io_err("binding the control port"))?;
    let local = listener.local_addr().map_err(io_err("control local address"))?;
    thread::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(s) => {
                    let service = service.clone();
                    thread::spawn(move || {
                        if let Err(e) = serve_lines(&service, s) {
                            tracing::debug!(error = %e, "control connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control accept failed");
                    thread::sleep(POLL);
                }
            }
        }
    });
    Ok(local)
}

fn serve_lines(service: &impl LineService, stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.by_ref().take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        let answer = if line.ends_with(b"\n") || n < MAX_LINE {
            service.execute(String::from_utf8_lossy(&line).trim())
        } else {
            // Drop the rest of an overlong line rather than buffer it.
            let mut sink = Vec::new();
            reader.by_ref().take(1 << 20).read_until(b'\n', &mut sink)?;
            "error: line too long".to_owned()
        };
        writer.write_all(answer.as_bytes())?;
        writer.write_all(b"\n")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_the_printer() {
        let c = Controller {
            printer: Some(PrinterHandle::new(crate::server::PrinterConfig::default())),
            scanner: None,
        };
        assert_eq!(c.execute("paper out"), "ok");
        assert_eq!(c.execute("cover open"), "ok");
        assert_eq!(c.execute("slow 100"), "ok");
        assert_eq!(
            c.execute("status"),
            "online=yes paper=out cover=open drawer=closed kicks=0 speed=100 hung=no jobs=0"
        );
        assert_eq!(c.execute("jobs"), "end");
        assert!(c.execute("paper sideways").starts_with("error:"));
        assert!(c.execute("scan 123").starts_with("error: no scanner"));
        assert_eq!(unescape(r"01\x1d10").unwrap(), b"01\x1d10");
    }
}
