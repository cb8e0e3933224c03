//! Cash drawers: kicking them open, reading their sensor, noticing one left open.
//!
//! Most drawers hang off the printer's kick-out connector: opened with `ESC p` (see
//! [`crate::receipt::DrawerPulse`]) and sensed through `DLE EOT 1` bit 2 ([`crate::printer`]).
//! Some are on their own serial port ([`SerialDrawer`]): they open when they receive a trigger
//! byte and report their switch on a modem status line (CTS, DSR or DCD). Both implement the
//! same two one-capability traits, [`DrawerKick`] and [`DrawerSensor`].
//!
//! [`DrawerMonitor`] is a sans-IO state machine over sensor readings with `now` passed in: it
//! reports openings, closings, and a drawer left open longer than the store allows.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use crate::status::{DrawerSensorPolarity, DrawerState};
use crate::transport::{ByteSink, SerialConfig, SerialTransport, TransportError};

/// Something that can open a drawer.
pub trait DrawerKick {
    /// Fires the solenoid once.
    fn kick(&mut self) -> Result<(), TransportError>;
}

/// Something that can tell whether a drawer is open.
pub trait DrawerSensor {
    /// The drawer's state; `None` when the hardware has no sensor.
    fn drawer_state(&mut self) -> Result<Option<DrawerState>, TransportError>;
}

/// What the [`DrawerMonitor`] noticed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrawerEvent {
    /// The drawer opened (or was found open at the first reading).
    Opened,
    /// It closed after being open this long.
    Closed {
        /// How long it was open.
        open_for: Duration,
    },
    /// It has been open longer than allowed.
    LeftOpen {
        /// How long so far.
        open_for: Duration,
    },
}

/// When to complain about an open drawer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawerMonitorConfig {
    /// Open longer than this is "left open".
    pub left_open_after: Duration,
    /// Repeat the alert this often while it stays open; `None` alerts once.
    #[serde(default)]
    pub remind_every: Option<Duration>,
}

impl Default for DrawerMonitorConfig {
    /// Thirty seconds, reminding every thirty.
    fn default() -> Self {
        DrawerMonitorConfig {
            left_open_after: Duration::from_secs(30),
            remind_every: Some(Duration::from_secs(30)),
        }
    }
}

/// Turns sensor readings into [`DrawerEvent`]s.
#[derive(Clone, Debug)]
pub struct DrawerMonitor {
    config: DrawerMonitorConfig,
    state: Option<DrawerState>,
    open_since: Option<Instant>,
    next_alert: Option<Instant>,
}

impl DrawerMonitor {
    /// A monitor that has seen nothing yet.
    #[must_use]
    pub fn new(config: DrawerMonitorConfig) -> DrawerMonitor {
        DrawerMonitor { config, state: None, open_since: None, next_alert: None }
    }

    /// The last state observed.
    #[must_use]
    pub fn state(&self) -> Option<DrawerState> {
        self.state
    }

    /// Records a sensor reading taken at `now`.
    pub fn observe(&mut self, now: Instant, state: DrawerState) -> Option<DrawerEvent> {
        let previous = self.state.replace(state);
        match (previous, state) {
            (Some(DrawerState::Open), DrawerState::Open) => self.tick(now),
            (_, DrawerState::Open) => {
                self.open_since = Some(now);
                self.next_alert = Some(now + self.config.left_open_after);
                Some(DrawerEvent::Opened)
            }
            (Some(DrawerState::Open), DrawerState::Closed) => {
                let since = self.open_since.take().unwrap_or(now);
                self.next_alert = None;
                Some(DrawerEvent::Closed { open_for: now.saturating_duration_since(since) })
            }
            (_, DrawerState::Closed) => None,
        }
    }

    /// Checks the clock without a new reading (call at [`DrawerMonitor::next_deadline`]).
    pub fn tick(&mut self, now: Instant) -> Option<DrawerEvent> {
        let due = self.next_alert.filter(|&t| now >= t)?;
        let since = self.open_since?;
        self.next_alert = self.config.remind_every.map(|r| due.max(now) + r);
        Some(DrawerEvent::LeftOpen { open_for: now.saturating_duration_since(since) })
    }

    /// When the next "left open" alert falls due, if the drawer is open.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_alert
    }
}

/// A serial modem status line a drawer's switch may be wired to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModemLine {
    /// Clear To Send.
    Cts,
    /// Data Set Ready.
    Dsr,
    /// Data Carrier Detect.
    Dcd,
}

/// A drawer on its own serial port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialDrawerConfig {
    /// The port (flow control should be `none`: the sensor line is not flow control here).
    pub port: SerialConfig,
    /// The bytes that open it (interfaces commonly open on any byte; BEL is the usual).
    #[serde(default = "default_trigger")]
    pub trigger: Vec<u8>,
    /// Where the sensor is wired, if it has one.
    #[serde(default)]
    pub sensor: Option<ModemLine>,
    /// Which level means open.
    #[serde(default)]
    pub polarity: DrawerSensorPolarity,
}

fn default_trigger() -> Vec<u8> {
    vec![0x07]
}

/// An open serial drawer.
#[derive(Debug)]
pub struct SerialDrawer {
    port: SerialTransport,
    config: SerialDrawerConfig,
}

impl SerialDrawer {
    /// Opens the port.
    pub fn open(config: SerialDrawerConfig) -> Result<SerialDrawer, TransportError> {
        let port = SerialTransport::open(&config.port)?;
        Ok(SerialDrawer { port, config })
    }
}

impl DrawerKick for SerialDrawer {
    fn kick(&mut self) -> Result<(), TransportError> {
        self.port.write_all(&self.config.trigger)
    }
}

impl DrawerSensor for SerialDrawer {
    fn drawer_state(&mut self) -> Result<Option<DrawerState>, TransportError> {
        let Some(line) = self.config.sensor else { return Ok(None) };
        let device = self.port.device().to_owned();
        let port = self.port.port_mut();
        let level = match line {
            ModemLine::Cts => port.read_clear_to_send(),
            ModemLine::Dsr => port.read_data_set_ready(),
            ModemLine::Dcd => port.read_carrier_detect(),
        }
        .map_err(|e| {
            TransportError::new(crate::transport::ErrorKind::Other, &device, e.description)
        })?;
        Ok(Some(self.config.polarity.state(level)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn open_close_and_left_open_with_reminders() {
        let t0 = Instant::now();
        let mut m = DrawerMonitor::new(DrawerMonitorConfig {
            left_open_after: 30 * S,
            remind_every: Some(60 * S),
        });
        assert_eq!(m.observe(t0, DrawerState::Closed), None);
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.observe(t0 + S, DrawerState::Open), Some(DrawerEvent::Opened));
        assert_eq!(m.next_deadline(), Some(t0 + 31 * S));
        assert_eq!(m.observe(t0 + 10 * S, DrawerState::Open), None);
        assert_eq!(m.tick(t0 + 30 * S), None);
        assert_eq!(m.tick(t0 + 31 * S), Some(DrawerEvent::LeftOpen { open_for: 30 * S }));
        assert_eq!(m.tick(t0 + 32 * S), None, "one alert per interval");
        assert_eq!(
            m.observe(t0 + 91 * S, DrawerState::Open),
            Some(DrawerEvent::LeftOpen { open_for: 90 * S })
        );
        assert_eq!(
            m.observe(t0 + 100 * S, DrawerState::Closed),
            Some(DrawerEvent::Closed { open_for: 99 * S })
        );
        assert_eq!(m.next_deadline(), None);
        assert_eq!(m.tick(t0 + 1000 * S), None);
        assert_eq!(m.state(), Some(DrawerState::Closed));
    }

    #[test]
    fn found_open_at_start_and_alert_once() {
        let t0 = Instant::now();
        let mut m =
            DrawerMonitor::new(DrawerMonitorConfig { left_open_after: 5 * S, remind_every: None });
        assert_eq!(m.observe(t0, DrawerState::Open), Some(DrawerEvent::Opened));
        assert_eq!(m.tick(t0 + 6 * S), Some(DrawerEvent::LeftOpen { open_for: 6 * S }));
        assert_eq!(m.tick(t0 + 600 * S), None);
    }

    #[test]
    fn serial_drawer_config_defaults_from_json() {
        let c: SerialDrawerConfig = serde_json::from_str(
            r#"{"port": {"path": "/dev/serial/by-id/usb-drawer", "flow_control": "none"},
                "sensor": "dcd", "polarity": "open_when_low"}"#,
        )
        .unwrap();
        assert_eq!(c.trigger, [0x07]);
        assert_eq!(c.port.baud_rate, 9600);
        assert_eq!(c.sensor, Some(ModemLine::Dcd));
        assert_eq!(c.polarity.state(false), DrawerState::Open);
        let err = SerialDrawer::open(c).unwrap_err();
        assert_eq!(err.kind, crate::transport::ErrorKind::NotFound);
    }
}
