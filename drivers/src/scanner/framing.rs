//! Framing a serial or keyboard scanner's byte stream into scans.
//!
//! Scanners send each read as `[prefix] [AIM id] data terminator`; the prefix and terminator
//! are programmed into the scanner (by scanning configuration barcodes) and so are store
//! configuration here. The framer is sans-IO: bytes in, complete [`Scan`]s out, whatever way
//! the bytes were chopped by the transport.

use serde::{Deserialize, Serialize};

use super::aim::{AimId, ScannedSymbology};
use crate::gs1::{self, Gs1Error, Gs1Message};

/// What ends a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Terminator {
    /// CR, LF or CR LF: the safe default, since scanners ship with either.
    #[default]
    AnyNewline,
    /// CR only (an LF is data).
    Cr,
    /// LF only.
    Lf,
    /// Tab.
    Tab,
    /// A custom byte (ETX is common).
    Byte(u8),
}

/// How a scanner is programmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FramingConfig {
    /// A prefix the scanner sends first (STX, a store code...), removed when present.
    #[serde(default)]
    pub prefix: String,
    /// A suffix the scanner sends before the terminator, removed when present.
    #[serde(default)]
    pub suffix: String,
    /// What ends each scan.
    #[serde(default)]
    pub terminator: Terminator,
    /// Whether the scanner sends AIM symbology identifiers (`]C1`...).
    #[serde(default)]
    pub aim_ids: bool,
    /// Longest frame kept; a longer one (line noise, a stuck scanner) is dropped.
    #[serde(default = "default_max_len")]
    pub max_len: usize,
}

fn default_max_len() -> usize {
    4096
}

impl Default for FramingConfig {
    fn default() -> Self {
        FramingConfig {
            prefix: String::new(),
            suffix: String::new(),
            terminator: Terminator::AnyNewline,
            aim_ids: false,
            max_len: default_max_len(),
        }
    }
}

/// One read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// The data, without prefix, AIM identifier or terminator. Bytes that are not UTF-8 are
    /// read as Latin-1, which is what scanners in "PC keyboard" mode produce.
    pub data: String,
    /// The AIM identifier, when the scanner sends them.
    pub aim: Option<AimId>,
}

impl Scan {
    /// The symbology, when known.
    #[must_use]
    pub fn symbology(&self) -> Option<ScannedSymbology> {
        self.aim.map(AimId::symbology)
    }

    /// The GS1 element string, if the AIM identifier says this is GS1 data.
    #[must_use]
    pub fn gs1(&self) -> Option<Result<Gs1Message, Gs1Error>> {
        self.aim.filter(|a| a.is_gs1()).map(|_| gs1::parse(self.data.as_bytes()))
    }
}

/// Turns a byte stream into scans.
#[derive(Clone, Debug)]
pub struct ScanFramer {
    config: FramingConfig,
    buf: Vec<u8>,
    overflowed: bool,
    dropped: u64,
}

impl ScanFramer {
    /// A framer for this configuration.
    #[must_use]
    pub fn new(config: FramingConfig) -> ScanFramer {
        ScanFramer { config, buf: Vec::new(), overflowed: false, dropped: 0 }
    }

    /// Frames dropped for exceeding `max_len`.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn is_terminator(&self, b: u8) -> bool {
        match self.config.terminator {
            Terminator::AnyNewline => b == b'\r' || b == b'\n',
            Terminator::Cr => b == b'\r',
            Terminator::Lf => b == b'\n',
            Terminator::Tab => b == b'\t',
            Terminator::Byte(t) => b == t,
        }
    }

    /// Feeds bytes; returns the scans they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Scan> {
        let mut scans = Vec::new();
        for &b in bytes {
            if self.is_terminator(b) {
                if self.overflowed {
                    self.overflowed = false;
                } else if let Some(scan) = self.frame() {
                    scans.push(scan);
                }
                self.buf.clear();
            } else if self.overflowed {
                // Skip to the next terminator.
            } else if self.buf.len() >= self.config.max_len {
                tracing::warn!(max_len = self.config.max_len, "scanner frame too long, dropped");
                self.dropped += 1;
                self.overflowed = true;
                self.buf.clear();
            } else {
                self.buf.push(b);
            }
        }
        scans
    }

    fn frame(&self) -> Option<Scan> {
        let mut data = self.buf.as_slice();
        // An empty frame is the LF of a CR LF pair under `AnyNewline`: not a scan.
        if data.is_empty() {
            return None;
        }
        if let Some(rest) = data.strip_prefix(self.config.prefix.as_bytes()) {
            data = rest;
        }
        if let Some(rest) = data.strip_suffix(self.config.suffix.as_bytes()) {
            data = rest;
        }
        let aim = if self.config.aim_ids { AimId::parse(data) } else { None };
        if aim.is_some() {
            data = &data[3..];
        }
        if data.is_empty() {
            return None;
        }
        let data = match std::str::from_utf8(data) {
            Ok(s) => s.to_owned(),
            Err(_) => data.iter().map(|&b| char::from(b)).collect(),
        };
        Some(Scan { data, aim })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer(prefix: &str, terminator: Terminator, aim_ids: bool) -> ScanFramer {
        ScanFramer::new(FramingConfig {
            prefix: prefix.into(),
            terminator,
            aim_ids,
            ..FramingConfig::default()
        })
    }

    #[test]
    fn crlf_split_across_reads_gives_one_scan_each() {
        let mut f = framer("", Terminator::AnyNewline, false);
        assert_eq!(f.push(b"40063813"), []);
        let scans = f.push(b"33931\r");
        assert_eq!(scans.len(), 1);
        assert_eq!(scans[0].data, "4006381333931");
        assert_eq!(scans[0].aim, None);
        let scans = f.push(b"\n96385074\r\n");
        assert_eq!(scans.iter().map(|s| s.data.as_str()).collect::<Vec<_>>(), ["96385074"]);
    }

    #[test]
    fn prefix_aim_and_custom_terminators() {
        let mut f = framer("\u{2}", Terminator::Byte(0x03), true);
        let scans = f.push(b"\x02]E04006381333931\x03\x02]C10109506000134352\x1d10AB\x03");
        assert_eq!(scans.len(), 2);
        assert_eq!(scans[0].symbology(), Some(ScannedSymbology::Ean13));
        assert_eq!(scans[0].data, "4006381333931");
        assert!(scans[0].gs1().is_none());
        let gs1 = scans[1].gs1().unwrap().unwrap();
        assert_eq!(gs1.gtin(), Some("09506000134352"));
        assert_eq!(gs1.lot(), Some("AB"));

        let mut f = ScanFramer::new(FramingConfig {
            suffix: "#END".into(),
            terminator: Terminator::Tab,
            ..FramingConfig::default()
        });
        assert_eq!(f.push(b"96385074#END\t")[0].data, "96385074");
        let mut f = framer("", Terminator::Tab, false);
        assert_eq!(f.push(b"A\tB\t")[1].data, "B");
        let mut f = framer("", Terminator::Cr, false);
        assert_eq!(f.push(b"A\nB\r")[0].data, "A\nB");
        let mut f = framer("", Terminator::Lf, true);
        // AIM ids enabled but not sent: the data is kept whole.
        assert_eq!(f.push(b"12345\n")[0].aim, None);
    }

    #[test]
    fn latin1_bytes_and_overlong_frames() {
        let mut f = framer("", Terminator::AnyNewline, false);
        assert_eq!(f.push(b"caf\xe9\r")[0].data, "café");
        let mut f = ScanFramer::new(FramingConfig { max_len: 4, ..FramingConfig::default() });
        assert_eq!(f.push(b"123456789\r1234\r"), [Scan { data: "1234".into(), aim: None }]);
        assert_eq!(f.dropped(), 1);
    }
}
