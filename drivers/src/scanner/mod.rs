//! Barcode scanners: serial scanners and keyboard-wedge scanners.
//!
//! The cores are sans-IO: [`framing`] turns bytes into [`framing::Scan`]s (prefix, AIM
//! identifier, terminator), [`keyboard`] turns Linux key events into those bytes. The IO is
//! [`SerialScanner`] (a serial port) and, on Linux, [`evdev::EvdevScanner`]. What a scan
//! *means* (a GTIN, a GS1 element string, a weighed item) is [`crate::gs1`], [`crate::gtin`]
//! and [`crate::variable_measure`].

pub mod aim;
// `struct input_event` is 24 bytes only where `time_t` is 64-bit.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub mod evdev;
pub mod framing;
pub mod keyboard;

use std::time::Duration;

pub use aim::{AimId, ScannedSymbology};
pub use framing::{FramingConfig, Scan, ScanFramer, Terminator};

use crate::transport::{ByteSource, TransportError};

/// A scanner on any byte source (a serial port, or a TCP bridge).
#[derive(Debug)]
pub struct SerialScanner<S> {
    source: S,
    framer: ScanFramer,
}

impl<S: ByteSource> SerialScanner<S> {
    /// Reads `source` with this framing.
    pub fn new(source: S, framing: FramingConfig) -> SerialScanner<S> {
        SerialScanner { source, framer: ScanFramer::new(framing) }
    }

    /// Waits up to `timeout` for bytes; returns the scans they complete (often none).
    pub fn read_scans(&mut self, timeout: Duration) -> Result<Vec<Scan>, TransportError> {
        let mut buf = [0u8; 256];
        let n = self.source.read(&mut buf, timeout)?;
        Ok(self.framer.push(&buf[..n]))
    }

    /// The byte source.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes delivered in the chunks a UART might deliver them.
    struct Chunks(Vec<&'static [u8]>);

    impl ByteSource for Chunks {
        fn read(&mut self, buf: &mut [u8], _: Duration) -> Result<usize, TransportError> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let c = self.0.remove(0);
            buf[..c.len()].copy_from_slice(c);
            Ok(c.len())
        }
    }

    #[test]
    fn serial_scanner_frames_chunked_input() {
        let src = Chunks(vec![b"]C1010950600013", b"4352172012251", b"0ABC123\r\n"]);
        let config = FramingConfig { aim_ids: true, ..FramingConfig::default() };
        let mut s = SerialScanner::new(src, config);
        let t = Duration::from_millis(1);
        assert!(s.read_scans(t).unwrap().is_empty());
        assert!(s.read_scans(t).unwrap().is_empty());
        let scans = s.read_scans(t).unwrap();
        assert_eq!(scans.len(), 1);
        let gs1 = scans[0].gs1().unwrap().unwrap();
        assert_eq!(gs1.to_string(), "(01)09506000134352(17)201225(10)ABC123");
        assert!(s.read_scans(t).unwrap().is_empty());
    }
}
