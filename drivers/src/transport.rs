//! Thin transports: raw TCP (port 9100), serial ports, USB printer class devices.
//!
//! A transport moves bytes and nothing else: it does not know ESC/POS, does not retry a job
//! and does not queue. Two small traits say what it can do, one capability each, in the style
//! of `embedded-hal` and `serialport`: [`ByteSink`] (send) and [`ByteSource`] (receive with a
//! timeout, where "nothing arrived" is `Ok(0)`, a value, not an error). Errors carry an
//! [`ErrorKind`] a caller can act on and, for the two that a technician fixes on the machine
//! (permissions, missing device), a hint naming the group or udev rule.
//!
//! Devices come and go (a USB cable is pulled, a printer is switched off at night).
//! [`Reconnecting`] wraps a [`Connect`]or: after a disconnect it drops the connection and
//! opens it again on the next use, waiting with a capped backoff between attempts. Configure
//! serial devices by their stable path (`/dev/serial/by-id/usb-…-if00-port0`), which survives
//! re-plugging, rather than `/dev/ttyUSB0`, which may come back under another number.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What went wrong, coarsely enough to decide what to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The device or host does not exist (unplugged, wrong path, wrong address).
    NotFound,
    /// The OS refused access: a group or udev rule is missing.
    PermissionDenied,
    /// Another process holds the device.
    Busy,
    /// The connection was lost or refused; reconnecting may help.
    Disconnected,
    /// The device did not accept data in time (offline, paper out with a full buffer).
    TimedOut,
    /// The configuration is wrong (bad baud rate, address that does not resolve).
    InvalidConfig,
    /// Anything else.
    Other,
}

/// A transport failure.
#[derive(Debug, thiserror::Error)]
#[error("{device}: {message}{}", hint.map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct TransportError {
    /// The kind.
    pub kind: ErrorKind,
    /// The device path or address.
    pub device: String,
    /// What the OS or library said.
    pub message: String,
    /// What a technician can do about it.
    pub hint: Option<&'static str>,
    /// For a failed write: how many bytes of the call the OS or device accepted before it
    /// failed (0 = none, so resending cannot print anything twice). 0 for other errors.
    pub written: usize,
}

/// The kind of device, for error hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceClass {
    /// A network printer.
    Network,
    /// A serial port (`/dev/ttyS*`, `/dev/ttyUSB*`, `/dev/serial/by-id/*`).
    Serial,
    /// A USB printer class device (`/dev/usb/lp*`).
    UsbPrinter,
    /// An input device (`/dev/input/event*`).
    Input,
}

const HINT_SERIAL_PERMISSION: &str = "add the service user to the `dialout` group \
    (`usermod -aG dialout thorbis`) or install a udev rule such as \
    `SUBSYSTEM==\"tty\", ATTRS{idVendor}==\"<vid>\", MODE=\"0660\", GROUP=\"dialout\"`";
const HINT_LP_PERMISSION: &str = "add the service user to the `lp` group \
    (`usermod -aG lp thorbis`) or install a udev rule such as \
    `SUBSYSTEM==\"usbmisc\", KERNEL==\"lp[0-9]*\", MODE=\"0660\", GROUP=\"lp\"`";
const HINT_INPUT_PERMISSION: &str = "add the service user to the `input` group \
    (`usermod -aG input thorbis`) or install a udev rule such as \
    `SUBSYSTEM==\"input\", ATTRS{idVendor}==\"<vid>\", MODE=\"0660\", GROUP=\"input\"`";
const HINT_SERIAL_MISSING: &str = "is it plugged in and powered? list `/dev/serial/by-id/` and \
    configure that stable path rather than `/dev/ttyUSB*`, which renumbers";
const HINT_LP_MISSING: &str = "is it plugged in and powered? `ls /dev/usb/` should list lp*; \
    a udev rule with `SYMLINK+=\"thorbis-printer\"` gives it a stable name";
const HINT_INPUT_MISSING: &str = "is it plugged in? configure the stable path under \
    `/dev/input/by-id/` (…-event-kbd)";
const HINT_NETWORK_MISSING: &str = "check the printer's IP address (print its self-test page) \
    and that it is on the same network";
const HINT_BUSY: &str = "another process holds the device: stop CUPS, ModemManager or \
    brltty if they claim it";

impl TransportError {
    /// An error of `kind` with no hint.
    #[must_use]
    pub fn new(kind: ErrorKind, device: &str, message: impl Into<String>) -> TransportError {
        TransportError {
            kind,
            device: device.to_owned(),
            message: message.into(),
            hint: None,
            written: 0,
        }
    }

    /// Classifies an IO error from `device` and attaches the hint for its class.
    #[must_use]
    pub fn from_io(err: &io::Error, device: &str, class: DeviceClass) -> TransportError {
        // ENODEV (19) and ENXIO (6): the USB device behind an open file was unplugged.
        // EBUSY (16): someone else has it.
        let kind = match (err.kind(), err.raw_os_error()) {
            (_, Some(16)) => ErrorKind::Busy,
            (io::ErrorKind::NotFound, _) => ErrorKind::NotFound,
            (io::ErrorKind::PermissionDenied, _) => ErrorKind::PermissionDenied,
            (io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock, _) => ErrorKind::TimedOut,
            (_, Some(6 | 19))
            | (
                io::ErrorKind::ConnectionRefused
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::NotConnected
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof,
                _,
            ) => ErrorKind::Disconnected,
            (io::ErrorKind::InvalidInput, _) => ErrorKind::InvalidConfig,
            _ => ErrorKind::Other,
        };
        TransportError::new(kind, device, err.to_string()).with_hint(class)
    }

    fn with_hint(mut self, class: DeviceClass) -> TransportError {
        self.hint = match (self.kind, class) {
            (ErrorKind::PermissionDenied, DeviceClass::Serial) => Some(HINT_SERIAL_PERMISSION),
            (ErrorKind::PermissionDenied, DeviceClass::UsbPrinter) => Some(HINT_LP_PERMISSION),
            (ErrorKind::PermissionDenied, DeviceClass::Input) => Some(HINT_INPUT_PERMISSION),
            (ErrorKind::NotFound, DeviceClass::Serial) => Some(HINT_SERIAL_MISSING),
            (ErrorKind::NotFound, DeviceClass::UsbPrinter) => Some(HINT_LP_MISSING),
            (ErrorKind::NotFound, DeviceClass::Input) => Some(HINT_INPUT_MISSING),
            (ErrorKind::NotFound | ErrorKind::Disconnected, DeviceClass::Network) => {
                Some(HINT_NETWORK_MISSING)
            }
            (ErrorKind::Busy, _) => Some(HINT_BUSY),
            _ => None,
        };
        self
    }

    /// Whether dropping the connection and opening it again may help.
    #[must_use]
    pub fn is_reconnectable(&self) -> bool {
        matches!(self.kind, ErrorKind::Disconnected | ErrorKind::NotFound | ErrorKind::Busy)
    }
}

/// Writes all of `bytes` to `w`, counting what was accepted so a failure can say how much.
fn write_counted(
    w: &mut impl Write,
    bytes: &[u8],
    device: &str,
    class: DeviceClass,
) -> Result<(), TransportError> {
    let mut sent = 0;
    let fail = |mut err: TransportError, sent: usize| {
        err.written = sent;
        err
    };
    while sent < bytes.len() {
        match w.write(&bytes[sent..]) {
            Ok(0) => {
                let err =
                    TransportError::new(ErrorKind::Disconnected, device, "device accepted no data");
                return Err(fail(err, sent));
            }
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(fail(TransportError::from_io(&e, device, class), sent)),
        }
    }
    w.flush().map_err(|e| fail(TransportError::from_io(&e, device, class), sent))
}

/// Something bytes can be sent to.
pub trait ByteSink: Send {
    /// Sends all of `bytes` or fails.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;
}

/// Something bytes can be received from.
pub trait ByteSource: Send {
    /// Waits up to `timeout` for at least one byte; `Ok(0)` if none came.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;
}

/// Opens a connection; what [`Reconnecting`] calls after a disconnect.
pub trait Connect: Send {
    /// The open connection.
    type Conn: ByteSink + ByteSource;
    /// Opens it.
    fn connect(&self) -> Result<Self::Conn, TransportError>;
    /// The device path or address, for errors.
    fn device(&self) -> String;
}

// --- TCP ------------------------------------------------------------------------------

/// A network printer's raw port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpConfig {
    /// `host` or `host:port`; the port defaults to 9100.
    pub address: String,
    /// Connection timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// How long a write may block before the printer is considered stuck.
    #[serde(default = "default_write_timeout")]
    pub write_timeout: Duration,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(3)
}
fn default_write_timeout() -> Duration {
    Duration::from_secs(10)
}

impl TcpConfig {
    /// Defaults for `address`.
    #[must_use]
    pub fn new(address: impl Into<String>) -> TcpConfig {
        TcpConfig {
            address: address.into(),
            connect_timeout: default_connect_timeout(),
            write_timeout: default_write_timeout(),
        }
    }

    fn address_with_port(&self) -> String {
        let a = &self.address;
        // `host:port`, `[v6]:port` have a port; a bare `host`, `1.2.3.4` or `[v6]` do not.
        let has_port =
            if a.starts_with('[') { a.contains("]:") } else { a.matches(':').count() == 1 };
        if has_port { a.clone() } else { format!("{a}:9100") }
    }
}

/// A connected raw TCP printer port.
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    device: String,
}

impl TcpTransport {
    /// Connects, trying each resolved address in turn.
    pub fn connect(config: &TcpConfig) -> Result<TcpTransport, TransportError> {
        let device = config.address_with_port();
        let addrs = device.to_socket_addrs().map_err(|e| {
            TransportError::new(ErrorKind::InvalidConfig, &device, e.to_string())
                .with_hint(DeviceClass::Network)
        })?;
        let mut last = TransportError::new(ErrorKind::NotFound, &device, "no address resolved")
            .with_hint(DeviceClass::Network);
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, config.connect_timeout) {
                Ok(stream) => {
                    let io_err =
                        |e: io::Error| TransportError::from_io(&e, &device, DeviceClass::Network);
                    stream.set_nodelay(true).map_err(io_err)?;
                    stream
                        .set_write_timeout(Some(config.write_timeout.max(Duration::from_millis(1))))
                        .map_err(io_err)?;
                    tracing::debug!(printer = %device, "connected");
                    return Ok(TcpTransport { stream, device });
                }
                Err(e) => last = TransportError::from_io(&e, &device, DeviceClass::Network),
            }
        }
        Err(last)
    }
}

impl ByteSink for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        write_counted(&mut self.stream, bytes, &self.device, DeviceClass::Network)
    }
}

impl ByteSource for TcpTransport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let err = |e: io::Error, d: &str| TransportError::from_io(&e, d, DeviceClass::Network);
        self.stream
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .map_err(|e| err(e, &self.device))?;
        match self.stream.read(buf) {
            Ok(0) if !buf.is_empty() => Err(TransportError::new(
                ErrorKind::Disconnected,
                &self.device,
                "connection closed by the printer",
            )),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                Ok(0)
            }
            Err(e) => Err(err(e, &self.device)),
        }
    }
}

impl Connect for TcpConfig {
    type Conn = TcpTransport;
    fn connect(&self) -> Result<TcpTransport, TransportError> {
        TcpTransport::connect(self)
    }
    fn device(&self) -> String {
        self.address_with_port()
    }
}

// --- serial ---------------------------------------------------------------------------

/// Serial flow control.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowControl {
    /// None.
    None,
    /// XON/XOFF: the printer sends `XOFF` when its buffer fills.
    Software,
    /// RTS/CTS, the usual setting for serial receipt printers.
    #[default]
    Hardware,
}

/// A serial device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialConfig {
    /// Device path, preferably `/dev/serial/by-id/…`.
    pub path: String,
    /// Baud rate (printers: 9600–115200; scanners: often 9600).
    #[serde(default = "default_baud")]
    pub baud_rate: u32,
    /// Flow control.
    #[serde(default)]
    pub flow_control: FlowControl,
    /// How long a write may block.
    #[serde(default = "default_write_timeout")]
    pub write_timeout: Duration,
}

fn default_baud() -> u32 {
    9600
}

impl SerialConfig {
    /// 9600 baud 8N1, hardware flow control.
    #[must_use]
    pub fn new(path: impl Into<String>) -> SerialConfig {
        SerialConfig {
            path: path.into(),
            baud_rate: default_baud(),
            flow_control: FlowControl::Hardware,
            write_timeout: default_write_timeout(),
        }
    }
}

/// An open serial port (8 data bits, no parity, 1 stop bit).
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    device: String,
    write_timeout: Duration,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialTransport").field("device", &self.device).finish_non_exhaustive()
    }
}

fn serial_error(e: &serialport::Error, device: &str) -> TransportError {
    let kind = match e.kind {
        // serialport reports both "in use" (EBUSY on TIOCEXCL) and "gone" as NoDevice.
        serialport::ErrorKind::NoDevice => ErrorKind::Busy,
        serialport::ErrorKind::InvalidInput => ErrorKind::InvalidConfig,
        serialport::ErrorKind::Io(k) => {
            return TransportError::from_io(
                &io::Error::new(k, e.description.clone()),
                device,
                DeviceClass::Serial,
            );
        }
        serialport::ErrorKind::Unknown => ErrorKind::Other,
    };
    let mut err = TransportError::new(kind, device, e.description.clone());
    if kind == ErrorKind::Busy {
        err.message.push_str(" (in use by another process, or unplugged)");
    }
    err.with_hint(DeviceClass::Serial)
}

impl SerialTransport {
    /// Opens the port.
    pub fn open(config: &SerialConfig) -> Result<SerialTransport, TransportError> {
        let flow = match config.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        let port = serialport::new(&config.path, config.baud_rate)
            .flow_control(flow)
            .timeout(config.write_timeout)
            .open()
            .map_err(|e| serial_error(&e, &config.path))?;
        tracing::debug!(port = %config.path, baud = config.baud_rate, "serial port open");
        Ok(SerialTransport {
            port,
            device: config.path.clone(),
            write_timeout: config.write_timeout,
        })
    }

    /// The port, for modem-line access (drawer sensors wired to CTS or DCD).
    pub fn port_mut(&mut self) -> &mut dyn serialport::SerialPort {
        self.port.as_mut()
    }

    /// The device path.
    #[must_use]
    pub fn device(&self) -> &str {
        &self.device
    }
}

impl ByteSink for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.port.set_timeout(self.write_timeout).map_err(|e| serial_error(&e, &self.device))?;
        write_counted(&mut self.port, bytes, &self.device, DeviceClass::Serial)
    }
}

impl ByteSource for SerialTransport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.port.set_timeout(timeout).map_err(|e| serial_error(&e, &self.device))?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                Ok(0)
            }
            Err(e) => Err(TransportError::from_io(&e, &self.device, DeviceClass::Serial)),
        }
    }
}

impl Connect for SerialConfig {
    type Conn = SerialTransport;
    fn connect(&self) -> Result<SerialTransport, TransportError> {
        SerialTransport::open(self)
    }
    fn device(&self) -> String {
        self.path.clone()
    }
}

// --- USB printer class ----------------------------------------------------------------

/// A USB printer class device file (`/dev/usb/lp0`), driven by the kernel's `usblp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsbLpConfig {
    /// Device path.
    pub path: String,
    /// How long a write may wait for the printer to take data.
    #[serde(default = "default_write_timeout")]
    pub write_timeout: Duration,
}

impl UsbLpConfig {
    /// Defaults for `path`.
    #[must_use]
    pub fn new(path: impl Into<String>) -> UsbLpConfig {
        UsbLpConfig { path: path.into(), write_timeout: default_write_timeout() }
    }
}

/// An open USB printer device. Opened non-blocking so reads and writes can time out: the
/// `usblp` driver otherwise blocks forever on a printer that is offline.
#[derive(Debug)]
pub struct UsbLpTransport {
    file: std::fs::File,
    device: String,
    write_timeout: Duration,
}

/// How long to sleep between attempts on a device that is not ready.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

impl UsbLpTransport {
    /// Opens the device for reading and writing.
    pub fn open(config: &UsbLpConfig) -> Result<UsbLpTransport, TransportError> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NONBLOCK);
        }
        let file = options
            .open(&config.path)
            .map_err(|e| TransportError::from_io(&e, &config.path, DeviceClass::UsbPrinter))?;
        tracing::debug!(device = %config.path, "USB printer open");
        Ok(UsbLpTransport {
            file,
            device: config.path.clone(),
            write_timeout: config.write_timeout,
        })
    }
}

impl ByteSink for UsbLpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        let deadline = Instant::now() + self.write_timeout;
        let mut sent = 0;
        let fail = |mut err: TransportError, sent: usize| {
            err.written = sent;
            err
        };
        while sent < bytes.len() {
            match self.file.write(&bytes[sent..]) {
                Ok(0) => {
                    let err = TransportError::new(
                        ErrorKind::Disconnected,
                        &self.device,
                        "device accepted no data",
                    );
                    return Err(fail(err, sent));
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if Instant::now() >= deadline {
                        let err = TransportError::new(
                            ErrorKind::TimedOut,
                            &self.device,
                            "printer did not take data in time (offline, cover open or out of paper?)",
                        );
                        return Err(fail(err, sent));
                    }
                    std::thread::sleep(POLL_INTERVAL);
                }
                Err(e) => {
                    let err = TransportError::from_io(&e, &self.device, DeviceClass::UsbPrinter);
                    return Err(fail(err, sent));
                }
            }
        }
        Ok(())
    }
}

impl ByteSource for UsbLpTransport {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.file.read(buf) {
                Ok(n) if n > 0 || buf.is_empty() => return Ok(n),
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    return Err(TransportError::from_io(&e, &self.device, DeviceClass::UsbPrinter));
                }
            }
            if Instant::now() >= deadline {
                return Ok(0);
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }
}

impl Connect for UsbLpConfig {
    type Conn = UsbLpTransport;
    fn connect(&self) -> Result<UsbLpTransport, TransportError> {
        UsbLpTransport::open(self)
    }
    fn device(&self) -> String {
        self.path.clone()
    }
}

// --- reconnecting ---------------------------------------------------------------------

/// Capped exponential backoff, sans-IO: the caller passes `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// First delay.
    pub min: Duration,
    /// Largest delay.
    pub max: Duration,
    current: Duration,
    not_before: Option<Instant>,
}

impl Backoff {
    /// Starts at `min`, doubles to `max`.
    #[must_use]
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, current: min, not_before: None }
    }

    /// Whether an attempt may be made at `now`.
    #[must_use]
    pub fn ready(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }

    /// Records a failed attempt at `now`; the next waits longer.
    pub fn failed(&mut self, now: Instant) {
        self.not_before = Some(now + self.current);
        self.current = (self.current * 2).min(self.max);
    }

    /// Records a success: the next failure starts from `min` again.
    pub fn succeeded(&mut self) {
        self.current = self.min;
        self.not_before = None;
    }
}

impl Default for Backoff {
    /// 250 ms doubling to 10 s.
    fn default() -> Self {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(10))
    }
}

/// A connection that is reopened after the device comes back.
///
/// On a reconnectable error ([`TransportError::is_reconnectable`]) the connection is dropped
/// and the error returned: the bytes of that call may or may not have printed, and only the
/// caller (the print queue) knows whether to resend. The next call reconnects once the
/// backoff allows; before that it fails fast with [`ErrorKind::Disconnected`].
#[derive(Debug)]
pub struct Reconnecting<C: Connect> {
    connector: C,
    conn: Option<C::Conn>,
    backoff: Backoff,
}

impl<C: Connect> Reconnecting<C> {
    /// Not connected yet; the first use connects.
    #[must_use]
    pub fn new(connector: C, backoff: Backoff) -> Reconnecting<C> {
        Reconnecting { connector, conn: None, backoff }
    }

    /// Whether a connection is open.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    fn with_conn<T>(
        &mut self,
        f: impl FnOnce(&mut C::Conn) -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        if self.conn.is_none() {
            let now = Instant::now();
            if !self.backoff.ready(now) {
                return Err(TransportError::new(
                    ErrorKind::Disconnected,
                    &self.connector.device(),
                    "device unavailable; waiting before reconnecting",
                ));
            }
            match self.connector.connect() {
                Ok(c) => {
                    tracing::info!(device = %self.connector.device(), "device connected");
                    self.backoff.succeeded();
                    self.conn = Some(c);
                }
                Err(e) => {
                    self.backoff.failed(now);
                    return Err(e);
                }
            }
        }
        let conn = self.conn.as_mut().expect("connected above");
        let result = f(conn);
        if let Err(e) = &result
            && e.is_reconnectable()
        {
            tracing::warn!(device = %self.connector.device(), error = %e, "device lost");
            self.conn = None;
            self.backoff.failed(Instant::now());
        }
        result
    }
}

impl<C: Connect> ByteSink for Reconnecting<C> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.with_conn(|c| c.write_all(bytes))
    }
}

impl<C: Connect> ByteSource for Reconnecting<C> {
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.with_conn(|c| c.read(buf, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn tcp_round_trip_with_a_local_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = [0u8; 3];
            s.read_exact(&mut got).unwrap();
            // Answer a DLE EOT 1 with "online, idle".
            s.write_all(&[0x12]).unwrap();
            got
        });
        let mut t = TcpTransport::connect(&TcpConfig::new(&addr)).unwrap();
        t.write_all(&[0x10, 0x04, 0x01]).unwrap();
        let mut buf = [0u8; 8];
        let mut n = 0;
        for _ in 0..50 {
            n = t.read(&mut buf, Duration::from_millis(100)).unwrap();
            if n > 0 {
                break;
            }
        }
        assert_eq!(&buf[..n], &[0x12]);
        assert_eq!(server.join().unwrap(), [0x10, 0x04, 0x01]);
        // The server closed its end: the next read reports a disconnect, not a timeout.
        let err = loop {
            match t.read(&mut buf, Duration::from_millis(100)) {
                Ok(0) => {}
                Ok(_) => panic!("unexpected data"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind, ErrorKind::Disconnected);
    }

    #[test]
    fn tcp_read_times_out_with_zero() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut t = TcpTransport::connect(&TcpConfig::new(&addr)).unwrap();
        let _peer = listener.accept().unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(t.read(&mut buf, Duration::from_millis(20)).unwrap(), 0);
    }

    #[test]
    fn failed_writes_count_what_was_accepted() {
        /// Takes three bytes, then fails.
        struct Stingy(usize);
        impl Write for Stingy {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 >= 3 {
                    return Err(io::Error::from(io::ErrorKind::BrokenPipe));
                }
                let n = buf.len().min(2);
                self.0 += n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let err = write_counted(&mut Stingy(0), b"abcdef", "x", DeviceClass::Network).unwrap_err();
        assert_eq!((err.kind, err.written), (ErrorKind::Disconnected, 4));
        assert!(write_counted(&mut Stingy(0), b"ab", "x", DeviceClass::Network).is_ok());
    }

    #[test]
    fn port_9100_is_the_default() {
        assert_eq!(TcpConfig::new("10.0.0.7").device(), "10.0.0.7:9100");
        assert_eq!(TcpConfig::new("printer.local").device(), "printer.local:9100");
        assert_eq!(TcpConfig::new("10.0.0.7:9101").device(), "10.0.0.7:9101");
        assert_eq!(TcpConfig::new("[::1]").device(), "[::1]:9100");
        assert_eq!(TcpConfig::new("[::1]:9100").device(), "[::1]:9100");
    }

    #[test]
    fn reconnects_after_the_printer_comes_back() {
        // Reserve a port, then free it: connecting is refused until a listener returns.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = TcpConfig::new(format!("127.0.0.1:{port}"));
        let mut r = Reconnecting::new(config, Backoff::new(Duration::ZERO, Duration::ZERO));
        let err = r.write_all(b"x").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Disconnected);
        assert!(err.hint.is_some());
        assert!(!r.is_connected());

        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        r.write_all(b"hello").unwrap();
        assert!(r.is_connected());
        let (mut s, _) = listener.accept().unwrap();
        let mut got = [0u8; 5];
        s.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
    }

    #[test]
    fn backoff_waits_longer_after_each_failure() {
        let t0 = Instant::now();
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(3));
        assert!(b.ready(t0));
        b.failed(t0);
        assert!(!b.ready(t0 + Duration::from_millis(999)));
        assert!(b.ready(t0 + Duration::from_secs(1)));
        b.failed(t0);
        assert!(!b.ready(t0 + Duration::from_millis(1999)));
        b.failed(t0);
        b.failed(t0);
        assert!(b.ready(t0 + Duration::from_secs(3)), "capped at max");
        b.succeeded();
        assert!(b.ready(t0));
    }

    #[test]
    fn missing_devices_and_permissions_explain_themselves() {
        let err =
            UsbLpTransport::open(&UsbLpConfig::new("/dev/usb/lp-thorbis-missing")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert!(err.to_string().contains("/dev/usb/lp-thorbis-missing"));
        assert!(err.to_string().contains("/dev/usb/"), "{err}");

        let err = SerialTransport::open(&SerialConfig::new("/dev/serial/by-id/thorbis-missing"))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("by-id"));

        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        for (class, group) in [
            (DeviceClass::Serial, "dialout"),
            (DeviceClass::UsbPrinter, "`lp`"),
            (DeviceClass::Input, "input"),
        ] {
            let e = TransportError::from_io(&denied, "/dev/x", class);
            assert_eq!(e.kind, ErrorKind::PermissionDenied);
            assert!(e.to_string().contains(group), "{e}");
            assert!(e.to_string().contains("udev"), "{e}");
        }
        let gone = io::Error::from_raw_os_error(19);
        assert_eq!(
            TransportError::from_io(&gone, "/dev/usb/lp0", DeviceClass::UsbPrinter).kind,
            ErrorKind::Disconnected
        );
        let busy = io::Error::from_raw_os_error(16);
        let e = TransportError::from_io(&busy, "/dev/ttyUSB0", DeviceClass::Serial);
        assert_eq!(e.kind, ErrorKind::Busy);
        assert!(e.to_string().contains("ModemManager"));
    }

    #[test]
    fn usb_lp_transport_reads_and_writes_a_plain_file() {
        // A regular file behaves like an always-ready device: enough to test the loops.
        let dir = std::env::temp_dir().join(format!("thorbis-lp-{}", std::process::id()));
        std::fs::write(&dir, b"\x12").unwrap();
        let mut t = UsbLpTransport::open(&UsbLpConfig::new(dir.to_string_lossy())).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(t.read(&mut buf, Duration::from_millis(10)).unwrap(), 1);
        assert_eq!(t.read(&mut buf, Duration::from_millis(10)).unwrap(), 0);
        t.write_all(b"abc").unwrap();
        assert_eq!(std::fs::read(&dir).unwrap(), b"\x12abc");
        std::fs::remove_file(&dir).unwrap();
    }
}
