//! Real-time printer status: `DLE EOT n` queries and their one-byte answers.
//!
//! `DLE EOT n` (`10 04 n`) is answered at once, even while the printer is offline or out of
//! paper, which is exactly when the print queue needs to know why nothing prints. Each answer
//! is one byte with bits 1 and 4 set and bits 0 and 7 clear; that shape tells status bytes
//! apart from flow control (`XON` 0x11, `XOFF` 0x13) that a serial printer may interleave.
//!
//! | n | meaning of the set bits                                                   |
//! |---|----------------------------------------------------------------------------|
//! | 1 | 2: drawer connector pin 3 high, 3: offline, 5: waiting for online recovery, 6: feed button pressed |
//! | 2 | 2: cover open, 3: paper fed by the feed button, 5: stopped by paper end, 6: error |
//! | 3 | 2: mechanical (recoverable) error, 3: autocutter error, 5: unrecoverable error, 6: auto-recoverable error (head temperature) |
//! | 4 | 2–3: paper near end, 5–6: paper end                                        |
//!
//! Whether pin 3 high means "drawer open" depends on the drawer's switch, so the polarity is
//! configuration ([`DrawerSensorPolarity`]), not a constant.

use serde::{Deserialize, Serialize};

use crate::command::{DLE, EOT};

/// The four `DLE EOT` queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatusQuery {
    /// `n = 1`: printer status (online, drawer sensor).
    Printer,
    /// `n = 2`: offline cause (cover, paper end).
    Offline,
    /// `n = 3`: error cause.
    Error,
    /// `n = 4`: paper roll sensor.
    Paper,
}

impl StatusQuery {
    /// All four, in `n` order.
    pub const ALL: [StatusQuery; 4] =
        [StatusQuery::Printer, StatusQuery::Offline, StatusQuery::Error, StatusQuery::Paper];

    /// `n`.
    #[must_use]
    pub fn n(self) -> u8 {
        match self {
            StatusQuery::Printer => 1,
            StatusQuery::Offline => 2,
            StatusQuery::Error => 3,
            StatusQuery::Paper => 4,
        }
    }

    /// The command bytes, `DLE EOT n`.
    #[must_use]
    pub fn command(self) -> [u8; 3] {
        [DLE, EOT, self.n()]
    }
}

/// Whether `byte` has the fixed bits of a `DLE EOT` answer (`0xx1xx10`).
#[must_use]
pub fn is_status_byte(byte: u8) -> bool {
    byte & 0b1001_0011 == 0b0001_0010
}

/// A byte that cannot be a `DLE EOT` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("byte {byte:#04x} is not a DLE EOT {} answer", query.n())]
pub struct StatusByteError {
    /// What was asked.
    pub query: StatusQuery,
    /// What came back.
    pub byte: u8,
}

/// Which level of the drawer connector's pin 3 means "open".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawerSensorPolarity {
    /// Pin 3 high = open (the usual wiring; Epson's documentation calls high "open" for most
    /// drawers).
    #[default]
    OpenWhenHigh,
    /// Pin 3 low = open.
    OpenWhenLow,
}

/// A drawer's state as a sensor reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrawerState {
    /// Open.
    Open,
    /// Closed.
    Closed,
}

impl DrawerSensorPolarity {
    /// The drawer state for a pin level.
    #[must_use]
    pub fn state(self, pin_high: bool) -> DrawerState {
        match (self, pin_high) {
            (DrawerSensorPolarity::OpenWhenHigh, true)
            | (DrawerSensorPolarity::OpenWhenLow, false) => DrawerState::Open,
            _ => DrawerState::Closed,
        }
    }
}

/// How much paper is left.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperLevel {
    /// Enough.
    #[default]
    Ok,
    /// The near-end sensor tripped: change the roll soon.
    NearEnd,
    /// No paper.
    Out,
}

/// How to read answers for one printer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusConfig {
    /// Drawer sensor wiring.
    #[serde(default)]
    pub drawer_polarity: DrawerSensorPolarity,
    /// Whether a drawer with a sensor is connected; without one pin 3 floats and means nothing.
    #[serde(default)]
    pub drawer_sensor: bool,
    /// Whether the printer has a near-end sensor (from the profile).
    #[serde(default)]
    pub near_end_sensor: bool,
}

/// Error conditions from `DLE EOT 2` and `3`.
#[allow(clippy::struct_excessive_bools)] // Independent hardware flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterErrors {
    /// Some error is present (`DLE EOT 2` bit 6).
    pub any: bool,
    /// Mechanical error, recoverable with `DLE ENQ` (`DLE EOT 3` bit 2).
    pub mechanical: bool,
    /// Autocutter jam (`DLE EOT 3` bit 3).
    pub autocutter: bool,
    /// Unrecoverable: needs service (`DLE EOT 3` bit 5).
    pub unrecoverable: bool,
    /// Clears by itself, e.g. head overheated (`DLE EOT 3` bit 6).
    pub auto_recoverable: bool,
}

/// The printer's state, folded from the four answers.
#[allow(clippy::struct_excessive_bools)] // Independent hardware flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterStatus {
    /// Online and able to print.
    pub online: bool,
    /// Waiting to come back online after an error cleared.
    pub recovering: bool,
    /// Cover open.
    pub cover_open: bool,
    /// Paper left.
    pub paper: PaperLevel,
    /// Printing stopped because the paper ran out.
    pub stopped_by_paper_end: bool,
    /// The feed button is held.
    pub feed_button: bool,
    /// Drawer state, when a drawer sensor is configured.
    pub drawer: Option<DrawerState>,
    /// Errors.
    pub errors: PrinterErrors,
}

impl Default for PrinterStatus {
    fn default() -> Self {
        PrinterStatus {
            online: true,
            recovering: false,
            cover_open: false,
            paper: PaperLevel::Ok,
            stopped_by_paper_end: false,
            feed_button: false,
            drawer: None,
            errors: PrinterErrors::default(),
        }
    }
}

impl PrinterStatus {
    /// Whether a job sent now would print.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.online
            && !self.cover_open
            && self.paper != PaperLevel::Out
            && !self.errors.unrecoverable
            && !self.errors.autocutter
            && !self.errors.mechanical
    }

    /// Folds one answer into the status. Fields an answer does not cover keep their value,
    /// so a caller may poll only `Printer` and `Paper` if that is all it wants.
    pub fn apply(
        &mut self,
        query: StatusQuery,
        byte: u8,
        config: &StatusConfig,
    ) -> Result<(), StatusByteError> {
        if !is_status_byte(byte) {
            return Err(StatusByteError { query, byte });
        }
        let bit = |n: u8| byte & (1 << n) != 0;
        match query {
            StatusQuery::Printer => {
                self.drawer = config.drawer_sensor.then(|| config.drawer_polarity.state(bit(2)));
                self.online = !bit(3);
                self.recovering = bit(5);
                self.feed_button = bit(6);
            }
            StatusQuery::Offline => {
                self.cover_open = bit(2);
                self.stopped_by_paper_end = bit(5);
                self.errors.any = bit(6);
            }
            StatusQuery::Error => {
                self.errors.mechanical = bit(2);
                self.errors.autocutter = bit(3);
                self.errors.unrecoverable = bit(5);
                self.errors.auto_recoverable = bit(6);
            }
            StatusQuery::Paper => {
                self.paper = if byte & 0b0110_0000 != 0 {
                    PaperLevel::Out
                } else if config.near_end_sensor && byte & 0b0000_1100 != 0 {
                    PaperLevel::NearEnd
                } else {
                    PaperLevel::Ok
                };
            }
        }
        Ok(())
    }

    /// The status from the answers to all four queries, in `n` order.
    pub fn from_answers(answers: [u8; 4], config: &StatusConfig) -> Result<Self, StatusByteError> {
        let mut s = PrinterStatus::default();
        for (q, b) in StatusQuery::ALL.into_iter().zip(answers) {
            s.apply(q, b, config)?;
        }
        Ok(s)
    }
}

/// A sans-IO poll of all four queries: send [`StatusPoll::next_query`]'s bytes, feed what
/// comes back to [`StatusPoll::receive`], until it returns the status. Bytes that are not
/// status-shaped (flow control, stray data) are skipped.
#[derive(Clone, Debug)]
pub struct StatusPoll {
    config: StatusConfig,
    status: PrinterStatus,
    next: usize,
}

impl StatusPoll {
    /// A poll that starts at `DLE EOT 1`.
    #[must_use]
    pub fn new(config: StatusConfig) -> StatusPoll {
        StatusPoll { config, status: PrinterStatus::default(), next: 0 }
    }

    /// The query to send now, or `None` when done.
    #[must_use]
    pub fn next_query(&self) -> Option<StatusQuery> {
        StatusQuery::ALL.get(self.next).copied()
    }

    /// The status, once all four answers are in.
    #[must_use]
    pub fn finished(&self) -> Option<PrinterStatus> {
        self.next_query().is_none().then_some(self.status)
    }

    /// Feeds received bytes; returns the status once all four answers are in. Bytes after the
    /// fourth answer are ignored.
    pub fn receive(&mut self, bytes: &[u8]) -> Option<PrinterStatus> {
        for &b in bytes {
            let Some(q) = self.next_query() else { break };
            if self.status.apply(q, b, &self.config).is_ok() {
                self.next += 1;
            }
        }
        self.next_query().is_none().then_some(self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENSOR: StatusConfig = StatusConfig {
        drawer_polarity: DrawerSensorPolarity::OpenWhenHigh,
        drawer_sensor: true,
        near_end_sensor: true,
    };

    #[test]
    fn queries_are_dle_eot_n() {
        assert_eq!(StatusQuery::Printer.command(), [0x10, 0x04, 1]);
        assert_eq!(StatusQuery::Paper.command(), [0x10, 0x04, 4]);
    }

    #[test]
    fn idle_printer_answers_0x12_everywhere() {
        let s = PrinterStatus::from_answers([0x12; 4], &SENSOR).unwrap();
        assert!(s.ready());
        assert_eq!(s.drawer, Some(DrawerState::Closed));
        assert_eq!(
            s,
            PrinterStatus { drawer: Some(DrawerState::Closed), ..PrinterStatus::default() }
        );
    }

    #[test]
    fn cover_open_paper_out_and_offline() {
        // n=1 0x1E: offline (bit 3), pin 3 high (bit 2). n=2 0x36: cover open (bit 2), paper
        // end stop (bit 5). n=4 0x7E: near end (bits 2-3) and end (bits 5-6).
        let s = PrinterStatus::from_answers([0x1E, 0x36, 0x12, 0x7E], &SENSOR).unwrap();
        assert!(!s.online);
        assert!(s.cover_open);
        assert!(s.stopped_by_paper_end);
        assert_eq!(s.paper, PaperLevel::Out);
        assert_eq!(s.drawer, Some(DrawerState::Open));
        assert!(!s.ready());
    }

    #[test]
    fn near_end_only_with_a_sensor_and_drawer_polarity() {
        let s = PrinterStatus::from_answers([0x12, 0x12, 0x12, 0x1E], &SENSOR).unwrap();
        assert_eq!(s.paper, PaperLevel::NearEnd);
        assert!(s.ready(), "near end still prints");
        let no_sensor = StatusConfig::default();
        let s = PrinterStatus::from_answers([0x16, 0x12, 0x12, 0x1E], &no_sensor).unwrap();
        assert_eq!(s.paper, PaperLevel::Ok);
        assert_eq!(s.drawer, None);
        let low = StatusConfig { drawer_polarity: DrawerSensorPolarity::OpenWhenLow, ..SENSOR };
        let s = PrinterStatus::from_answers([0x12, 0x12, 0x12, 0x12], &low).unwrap();
        assert_eq!(s.drawer, Some(DrawerState::Open));
    }

    #[test]
    fn error_causes() {
        // n=2 0x52: error (bit 6). n=3 0x7A: autocutter (3), unrecoverable (5), auto (6).
        let s = PrinterStatus::from_answers([0x12, 0x52, 0x7A, 0x12], &SENSOR).unwrap();
        assert_eq!(
            s.errors,
            PrinterErrors {
                any: true,
                mechanical: false,
                autocutter: true,
                unrecoverable: true,
                auto_recoverable: true
            }
        );
        let s = PrinterStatus::from_answers([0x12, 0x12, 0x16, 0x12], &SENSOR).unwrap();
        assert!(s.errors.mechanical && !s.ready());
    }

    #[test]
    fn malformed_bytes_are_refused() {
        for b in [0x00, 0x13, 0x11, 0x92, 0x10, 0x02] {
            assert!(!is_status_byte(b), "{b:#x}");
        }
        assert_eq!(
            PrinterStatus::from_answers([0x12, 0x13, 0x12, 0x12], &SENSOR),
            Err(StatusByteError { query: StatusQuery::Offline, byte: 0x13 })
        );
    }

    #[test]
    fn poll_skips_flow_control_and_completes_after_four() {
        let mut poll = StatusPoll::new(SENSOR);
        assert_eq!(poll.next_query(), Some(StatusQuery::Printer));
        assert_eq!(poll.receive(&[0x13, 0x12]), None);
        assert_eq!(poll.next_query(), Some(StatusQuery::Offline));
        assert_eq!(poll.receive(&[0x16, 0x11]), None);
        let s = poll.receive(&[0x12, 0x7E, 0x12]).unwrap();
        assert!(s.cover_open);
        assert_eq!(s.paper, PaperLevel::Out);
        assert_eq!(poll.next_query(), None);
    }
}
