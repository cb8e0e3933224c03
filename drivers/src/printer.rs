//! A printer on a transport: print receipts, poll status, kick the drawer.
//!
//! The glue between the sans-IO cores ([`crate::encoder`], [`crate::status`]) and a transport.
//! It holds no queue and no retry policy: a failed [`Printer::print`] is reported, and the
//! agent's print queue decides whether to send the job again once
//! [`Printer::status`] says the printer is ready.

use std::time::{Duration, Instant};

use crate::drawer::{DrawerKick, DrawerSensor, DrawerState};
use crate::encoder::{EncodeError, Encoder};
use crate::profile::PrinterProfile;
use crate::receipt::{DrawerPulse, Receipt};
use crate::status::{PrinterStatus, StatusConfig, StatusPoll, StatusQuery};
use crate::transport::{ByteSink, ByteSource, ErrorKind, TransportError};

/// Printing failed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The receipt cannot be printed on this model.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The bytes did not get there.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

/// A printer: a profile, a transport and how to read its drawer sensor.
#[derive(Debug)]
pub struct Printer<T> {
    transport: T,
    profile: PrinterProfile,
    status_config: StatusConfig,
    drawer_pulse: DrawerPulse,
    status_timeout: Duration,
}

impl<T: ByteSink + ByteSource> Printer<T> {
    /// A printer of model `profile` on `transport`; `drawer_sensor` says whether a drawer with
    /// a sensor is connected (its pin 3 floats otherwise).
    pub fn new(
        transport: T,
        profile: PrinterProfile,
        drawer: Option<crate::drawer::DrawerSensorPolarity>,
    ) -> Printer<T> {
        let status_config = StatusConfig {
            drawer_polarity: drawer.unwrap_or_default(),
            drawer_sensor: drawer.is_some(),
            near_end_sensor: profile.features.paper_near_end_sensor,
        };
        Printer {
            transport,
            profile,
            status_config,
            drawer_pulse: DrawerPulse::default(),
            status_timeout: Duration::from_secs(1),
        }
    }

    /// Sets the pulse used by [`DrawerKick::kick`].
    #[must_use]
    pub fn with_drawer_pulse(mut self, pulse: DrawerPulse) -> Printer<T> {
        self.drawer_pulse = pulse;
        self
    }

    /// Sets how long to wait for each status answer.
    #[must_use]
    pub fn with_status_timeout(mut self, timeout: Duration) -> Printer<T> {
        self.status_timeout = timeout;
        self
    }

    /// The profile.
    pub fn profile(&self) -> &PrinterProfile {
        &self.profile
    }

    /// The transport.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Encodes and sends a receipt.
    pub fn print(&mut self, receipt: &Receipt) -> Result<(), PrintError> {
        let bytes = Encoder::new(&self.profile).encode(receipt)?;
        self.transport.write_all(&bytes)?;
        Ok(())
    }

    /// Polls `DLE EOT 1–4`, one query at a time, and folds the answers.
    pub fn status(&mut self) -> Result<PrinterStatus, TransportError> {
        let mut poll = StatusPoll::new(self.status_config);
        let mut buf = [0u8; 16];
        while let Some(query) = poll.next_query() {
            self.transport.write_all(&query.command())?;
            let deadline = Instant::now() + self.status_timeout;
            while poll.next_query() == Some(query) {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(no_answer(query));
                }
                let n = self.transport.read(&mut buf, left)?;
                poll.receive(&buf[..n]);
            }
        }
        Ok(poll.finished().expect("every query was answered"))
    }
}

fn no_answer(q: StatusQuery) -> TransportError {
    TransportError::new(
        ErrorKind::TimedOut,
        "printer",
        format!("no answer to DLE EOT {} (not an ESC/POS printer, or a one-way link?)", q.n()),
    )
}

impl<T: ByteSink + ByteSource> DrawerKick for Printer<T> {
    fn kick(&mut self) -> Result<(), TransportError> {
        let mut bytes = Vec::with_capacity(5);
        let p = self.drawer_pulse;
        crate::command::drawer_pulse(&mut bytes, p.pin, p.on_ms, p.off_ms);
        self.transport.write_all(&bytes)
    }
}

impl<T: ByteSink + ByteSource> DrawerSensor for Printer<T> {
    fn drawer_state(&mut self) -> Result<Option<DrawerState>, TransportError> {
        if !self.status_config.drawer_sensor {
            return Ok(None);
        }
        Ok(self.status()?.drawer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drawer::DrawerSensorPolarity;
    use crate::status::PaperLevel;

    /// A printer that answers DLE EOT n from a table and records everything else.
    struct FakePrinter {
        answers: [u8; 4],
        received: Vec<u8>,
        outbox: Vec<u8>,
        silent: bool,
    }

    impl ByteSink for FakePrinter {
        fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
            if let [0x10, 0x04, n @ 1..=4] = bytes {
                if !self.silent {
                    // Flow control noise first, as a serial printer might send.
                    self.outbox.extend_from_slice(&[0x11, self.answers[usize::from(*n) - 1]]);
                }
            } else {
                self.received.extend_from_slice(bytes);
            }
            Ok(())
        }
    }

    impl ByteSource for FakePrinter {
        fn read(&mut self, buf: &mut [u8], _: Duration) -> Result<usize, TransportError> {
            let n = self.outbox.len().min(buf.len()).min(1);
            buf[..n].copy_from_slice(&self.outbox[..n]);
            self.outbox.drain(..n);
            Ok(n)
        }
    }

    fn fake(answers: [u8; 4]) -> FakePrinter {
        FakePrinter { answers, received: Vec::new(), outbox: Vec::new(), silent: false }
    }

    #[test]
    fn prints_polls_and_kicks() {
        let profile = PrinterProfile::builtin("generic-80mm").unwrap();
        let mut p = Printer::new(
            fake([0x16, 0x12, 0x12, 0x1E]),
            profile.clone(),
            Some(DrawerSensorPolarity::OpenWhenHigh),
        )
        .with_status_timeout(Duration::from_millis(50));
        p.print(&Receipt::new().text("hi")).unwrap();
        assert_eq!(p.transport_mut().received, b"\x1b@hi\n");
        let s = p.status().unwrap();
        assert_eq!(s.drawer, Some(DrawerState::Open));
        assert_eq!(s.paper, PaperLevel::NearEnd);
        assert_eq!(p.drawer_state().unwrap(), Some(DrawerState::Open));
        p.transport_mut().received.clear();
        p.kick().unwrap();
        assert_eq!(p.transport_mut().received, [0x1B, 0x70, 0, 50, 100]);
    }

    #[test]
    fn silent_printer_times_out_and_no_sensor_means_none() {
        let profile = PrinterProfile::builtin("generic-58mm").unwrap();
        let mut f = fake([0x12; 4]);
        f.silent = true;
        let mut p = Printer::new(f, profile, None).with_status_timeout(Duration::from_millis(5));
        let err = p.status().unwrap_err();
        assert_eq!(err.kind, ErrorKind::TimedOut);
        assert!(err.to_string().contains("DLE EOT 1"));
        assert_eq!(p.drawer_state().unwrap(), None);
        let bad =
            Receipt::new().row(crate::receipt::Row::new([crate::receipt::Cell::fixed(99, "x")]));
        assert!(matches!(p.print(&bad), Err(PrintError::Encode(_))));
    }
}
