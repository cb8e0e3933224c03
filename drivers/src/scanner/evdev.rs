//! Keyboard-wedge scanners on Linux: `/dev/input/event*` with an exclusive grab.
//!
//! The grab (`EVIOCGRAB`) keeps the scanner's keystrokes away from the desktop, so a scan
//! never lands in whatever text field has focus. It needs one `ioctl`, the only `unsafe` in
//! the crate, kept in this module.
#![allow(unsafe_code)] // One ioctl; see `grab`.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::framing::{FramingConfig, Scan, ScanFramer};
use super::keyboard::{INPUT_EVENT_SIZE, KeyDecoder};
use crate::transport::{DeviceClass, ErrorKind, TransportError};

/// `EVIOCGRAB`, `_IOW('E', 0x90, int)`.
const EVIOCGRAB: u64 = 0x4004_4590;

/// Takes (or releases) exclusive access to an input device.
fn grab(file: &File, on: bool) -> io::Result<()> {
    let arg: libc::c_int = libc::c_int::from(on);
    // SAFETY: `file` owns an open descriptor for the whole call. EVIOCGRAB takes its int
    // argument by value (no pointer is passed), so no memory is shared with the kernel.
    // The request type differs between libc flavours (`c_ulong`, `c_int`), hence `as _`.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), EVIOCGRAB as _, arg) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// A keyboard-wedge scanner read through evdev.
#[derive(Debug)]
pub struct EvdevScanner {
    file: File,
    device: String,
    decoder: KeyDecoder,
    framer: ScanFramer,
    pending: Vec<u8>,
}

impl EvdevScanner {
    /// Opens `path` (preferably `/dev/input/by-id/…-event-kbd`) and grabs it exclusively.
    pub fn open(path: &str, framing: FramingConfig) -> Result<EvdevScanner, TransportError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| TransportError::from_io(&e, path, DeviceClass::Input))?;
        grab(&file, true).map_err(|e| {
            let mut err = TransportError::from_io(&e, path, DeviceClass::Input);
            if e.raw_os_error() == Some(libc::EBUSY) {
                err.message = "another program holds an exclusive grab on this device".into();
            }
            err
        })?;
        tracing::debug!(device = path, "scanner grabbed");
        Ok(EvdevScanner {
            file,
            device: path.to_owned(),
            decoder: KeyDecoder::new(),
            framer: ScanFramer::new(framing),
            pending: Vec::with_capacity(INPUT_EVENT_SIZE * 64),
        })
    }

    /// Waits up to `timeout` for input and returns the scans it completes (often none).
    pub fn read_scans(&mut self, timeout: Duration) -> Result<Vec<Scan>, TransportError> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; INPUT_EVENT_SIZE * 64];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => {
                    return Err(TransportError::new(
                        ErrorKind::Disconnected,
                        &self.device,
                        "input device closed",
                    ));
                }
                Ok(n) => {
                    self.pending.extend_from_slice(&buf[..n]);
                    let mut bytes = Vec::new();
                    let used = self.decoder.feed(&self.pending, &mut bytes);
                    self.pending.drain(..used);
                    let scans = self.framer.push(&bytes);
                    if !scans.is_empty() {
                        return Ok(scans);
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    return Err(TransportError::from_io(&e, &self.device, DeviceClass::Input));
                }
            }
            if Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for EvdevScanner {
    fn drop(&mut self) {
        // Closing the descriptor releases the grab anyway; releasing first is just tidy.
        let _ = grab(&self.file, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_says_where_to_look() {
        let err = EvdevScanner::open(
            "/dev/input/by-id/thorbis-missing-event-kbd",
            FramingConfig::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(err.to_string().contains("/dev/input/by-id/"), "{err}");
    }

    #[test]
    fn grab_on_a_non_input_file_fails_cleanly() {
        // A regular file refuses the ioctl (ENOTTY): an error, never a crash.
        let f = File::open("/proc/self/status").unwrap();
        assert!(grab(&f, true).is_err());
    }
}
