//! A virtual serial barcode scanner on a pseudo-terminal.
//!
//! It sends each scanned code the way a scanner configured for serial output does: an
//! optional AIM symbology identifier (`]E0` for EAN-13, `]C1` for GS1-128...), an optional
//! prefix, the data, and a suffix (CR, LF, CR LF, Tab or nothing), one character at a time
//! with a configurable gap, as a slow UART would. [`frame`] is the pure part; the thread in
//! [`start_scanner`] only writes frames to the pty.
//!
//! It never reads from the host and never interprets the data (GS1 payloads pass through
//! byte for byte, with `GS` as the separator).

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use std::io::Write;

use crate::server::{POLL, SimError};

/// What symbology a scan came from, for the AIM identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanSymbology {
    /// EAN-13 (`]E0`).
    Ean13,
    /// EAN-8 (`]E4`).
    Ean8,
    /// UPC-A (`]E0`, sent as its 13-digit EAN form by most scanners; we send it as given).
    UpcA,
    /// UPC-E (`]E0`).
    UpcE,
    /// Code 128 (`]C0`).
    Code128,
    /// GS1-128 (`]C1`).
    Gs1_128,
    /// Code 39 (`]A0`).
    Code39,
    /// Interleaved 2 of 5 (`]I0`).
    Itf,
    /// QR Code (`]Q1`).
    Qr,
    /// Data Matrix (`]d1`).
    DataMatrix,
    /// GS1 Data Matrix (`]d2`).
    Gs1DataMatrix,
}

impl ScanSymbology {
    /// The AIM symbology identifier.
    #[must_use]
    pub fn aim(self) -> &'static str {
        match self {
            ScanSymbology::Ean13 | ScanSymbology::UpcA | ScanSymbology::UpcE => "]E0",
            ScanSymbology::Ean8 => "]E4",
            ScanSymbology::Code128 => "]C0",
            ScanSymbology::Gs1_128 => "]C1",
            ScanSymbology::Code39 => "]A0",
            ScanSymbology::Itf => "]I0",
            ScanSymbology::Qr => "]Q1",
            ScanSymbology::DataMatrix => "]d1",
            ScanSymbology::Gs1DataMatrix => "]d2",
        }
    }

    /// Parses a name as used on the control port: `EAN13`, `gs1-128`, `QR`...
    #[must_use]
    pub fn from_name(name: &str) -> Option<ScanSymbology> {
        let n: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
        Some(match n.to_ascii_uppercase().as_str() {
            "EAN13" => ScanSymbology::Ean13,
            "EAN8" => ScanSymbology::Ean8,
            "UPCA" => ScanSymbology::UpcA,
            "UPCE" => ScanSymbology::UpcE,
            "CODE128" => ScanSymbology::Code128,
            "GS1128" => ScanSymbology::Gs1_128,
            "CODE39" => ScanSymbology::Code39,
            "ITF" => ScanSymbology::Itf,
            "QR" => ScanSymbology::Qr,
            "DATAMATRIX" => ScanSymbology::DataMatrix,
            "GS1DATAMATRIX" => ScanSymbology::Gs1DataMatrix,
            _ => return None,
        })
    }

    /// A guess from the data alone, for scans given without a symbology.
    #[must_use]
    pub fn guess(data: &[u8]) -> ScanSymbology {
        let digits = data.iter().all(u8::is_ascii_digit);
        match (digits, data.len()) {
            (true, 13) => ScanSymbology::Ean13,
            (true, 12) => ScanSymbology::UpcA,
            (true, 8) => ScanSymbology::Ean8,
            _ if data.contains(&0x1D) => ScanSymbology::Gs1_128,
            _ => ScanSymbology::Code128,
        }
    }
}

/// How the virtual scanner frames its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannerConfig {
    /// Bytes before the data (after the AIM id).
    pub prefix: Vec<u8>,
    /// Bytes after the data: usually CR.
    pub suffix: Vec<u8>,
    /// Send AIM symbology identifiers.
    pub aim: bool,
    /// Gap between characters.
    pub char_delay: Duration,
}

impl Default for ScannerConfig {
    fn default() -> ScannerConfig {
        ScannerConfig {
            prefix: Vec::new(),
            suffix: b"\r".to_vec(),
            aim: false,
            char_delay: Duration::ZERO,
        }
    }
}

/// Parses a suffix name: `cr`, `lf`, `crlf`, `tab` or `none`.
#[must_use]
pub fn parse_suffix(name: &str) -> Option<Vec<u8>> {
    Some(match name.to_ascii_lowercase().as_str() {
        "cr" => b"\r".to_vec(),
        "lf" => b"\n".to_vec(),
        "crlf" => b"\r\n".to_vec(),
        "tab" => b"\t".to_vec(),
        "none" => Vec::new(),
        _ => return None,
    })
}

/// The bytes a scan puts on the wire.
#[must_use]
pub fn frame(config: &ScannerConfig, symbology: ScanSymbology, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    if config.aim {
        out.extend_from_slice(symbology.aim().as_bytes());
    }
    out.extend_from_slice(&config.prefix);
    out.extend_from_slice(data);
    out.extend_from_slice(&config.suffix);
    out
}

/// A running virtual scanner.
#[derive(Clone, Debug)]
pub struct ScannerHandle {
    config: ScannerConfig,
    path: String,
    tx: Arc<Mutex<Option<Sender<Vec<u8>>>>>,
}

impl ScannerHandle {
    /// The pseudo-terminal the host opens.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Scans `data` as `symbology` (guessed from the data when `None`).
    pub fn scan(&self, symbology: Option<ScanSymbology>, data: &[u8]) {
        let sym = symbology.unwrap_or_else(|| ScanSymbology::guess(data));
        let bytes = frame(&self.config, sym, data);
        if let Some(tx) = self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref()
        {
            let _ = tx.send(bytes);
        }
    }

    /// Stops the scanner thread (the pty closes).
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    }
}

/// Creates the pseudo-terminal and the thread that types scans into it.
pub fn start_scanner(config: ScannerConfig) -> Result<ScannerHandle, SimError> {
    let pty = crate::pty::Pty::open()?;
    let path = pty.path.clone();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let delay = config.char_delay;
    thread::spawn(move || {
        let crate::pty::Pty { mut master, slave, .. } = pty;
        let _slave = slave;
        loop {
            match rx.recv_timeout(POLL * 10) {
                Ok(bytes) => {
                    let result = if delay.is_zero() {
                        master.write_all(&bytes).and_then(|()| master.flush())
                    } else {
                        bytes.iter().try_for_each(|b| {
                            thread::sleep(delay);
                            master.write_all(std::slice::from_ref(b)).and_then(|()| master.flush())
                        })
                    };
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "virtual scanner could not write its scan");
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    Ok(ScannerHandle { config, path, tx: Arc::new(Mutex::new(Some(tx))) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_aim_prefix_and_suffix() {
        let c = ScannerConfig {
            prefix: b"#".to_vec(),
            suffix: b"\r\n".to_vec(),
            aim: true,
            char_delay: Duration::ZERO,
        };
        assert_eq!(frame(&c, ScanSymbology::Ean13, b"4006381333931"), b"]E0#4006381333931\r\n");
        assert_eq!(frame(&ScannerConfig::default(), ScanSymbology::Qr, b"x"), b"x\r");
        assert_eq!(ScanSymbology::guess(b"01\x1d10"), ScanSymbology::Gs1_128);
        assert_eq!(ScanSymbology::from_name("gs1-128"), Some(ScanSymbology::Gs1_128));
        assert_eq!(parse_suffix("TAB"), Some(b"\t".to_vec()));
    }
}
