//! The virtual printer's state machine, without IO: conditions, the receive buffer, status
//! replies and the pace at which bytes are printed.
//!
//! [`Conditions`] is the device (paper, cover, online, drawer, speed, hang), shared by every
//! connection. [`Session`] is one host connection: a small receive buffer in front of the
//! parser and interpreter. Time is passed in as a [`Duration`] since any fixed start, so the
//! machine is tested without clocks or sockets; the shells in [`crate::server`] feed it.
//!
//! What it models, as an Epson TM printer behaves:
//! - Bytes are received into a buffer of bounded size; the shell reads only as much as
//!   [`Session::space`] allows, so when the printer stops printing the sender's writes back
//!   up, as they do with a real printer.
//! - Real-time commands (`DLE EOT`, `DLE ENQ`) are answered when *received*, not when
//!   printed, so status works while paper is out, the cover is open or the printer is
//!   offline. A separate parser reads the incoming bytes so data inside an image is never
//!   mistaken for a status request.
//! - Nothing is printed while offline, out of paper or with the cover open; a job completes
//!   at a cut.
//! - `GS r`, `GS I` and `ESC u`/`ESC v` are answered in order, when printed; after `GS a n`
//!   the printer sends a 4-byte automatic status back at once and on every change of an
//!   enabled status bit.
//! - A hung printer neither prints nor answers, and the shell stops reading from it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::escpos::{Command, Event, Parser};
use crate::profile::SimProfile;
use crate::receipt::{Effect, Finished, Interpreter};

/// Default receive buffer: small, like the 4 KiB of many TM printers, so back-pressure shows
/// quickly in tests.
pub const DEFAULT_RX_CAPACITY: usize = 4096;

/// The paper roll sensors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paper {
    /// Enough paper.
    #[default]
    Ok,
    /// The near-end sensor sees the end of the roll coming; printing continues.
    NearEnd,
    /// No paper: printing stops.
    Out,
}

/// The virtual cash drawer on the kick-out connector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Drawer {
    /// Whether a drawer is connected at all; without one a kick is recorded and nothing opens.
    pub connected: bool,
    /// Whether the drawer is open.
    pub open: bool,
    /// When it opened.
    pub opened_at: Option<Duration>,
    /// Closes by itself this long after opening (a cashier pushing it shut), if set.
    pub auto_close: Option<Duration>,
    /// Kicks received since start.
    pub kicks: u32,
}

/// The device's conditions, which the control port changes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Conditions {
    /// `false` after the `offline` control command.
    pub online: bool,
    /// Paper sensors.
    pub paper: Paper,
    /// Cover open.
    pub cover_open: bool,
    /// The drawer.
    pub drawer: Drawer,
    /// Print speed limit in bytes per second (`slow`); `None` prints as fast as received.
    pub bytes_per_second: Option<u32>,
    /// Hung: prints nothing, answers nothing, reads nothing.
    pub hung: bool,
    /// Hang after printing this many more bytes (`hang <n>`), to hang mid-job.
    pub hang_after: Option<u64>,
}

impl Default for Conditions {
    fn default() -> Conditions {
        Conditions {
            online: true,
            paper: Paper::Ok,
            cover_open: false,
            drawer: Drawer::default(),
            bytes_per_second: None,
            hung: false,
            hang_after: None,
        }
    }
}

impl Conditions {
    /// Whether the printer can print right now.
    #[must_use]
    pub fn can_print(&self) -> bool {
        self.online && self.paper != Paper::Out && !self.cover_open && !self.hung
    }

    /// Whether the printer reports itself offline (it goes offline on paper out or open
    /// cover, as well as when told to).
    #[must_use]
    pub fn is_offline(&self) -> bool {
        !self.online || self.paper == Paper::Out || self.cover_open
    }

    /// Lets time pass: the drawer closes by itself when its timeout is up.
    pub fn tick(&mut self, now: Duration) {
        let d = &mut self.drawer;
        if let (true, Some(at), Some(after)) = (d.open, d.opened_at, d.auto_close)
            && now.saturating_sub(at) >= after
        {
            d.open = false;
            d.opened_at = None;
        }
    }

    /// A kick pulse on the drawer connector.
    pub fn kick(&mut self, now: Duration) {
        self.drawer.kicks += 1;
        if self.drawer.connected {
            self.drawer.open = true;
            self.drawer.opened_at = Some(now);
        }
    }

    /// The answer to `DLE EOT n` (Epson TM layout; bits 1 and 4 are always set, bit 0 and
    /// bit 7 never), or `None` for an `n` with no answer.
    ///
    /// - `n = 1` printer: bit 2 drawer (pin 3 high = open), bit 3 offline.
    /// - `n = 2` offline cause: bit 2 cover open, bit 5 stopped by paper end; bit 6 (error)
    ///   stays clear because paper end and an open cover are offline causes, not errors.
    /// - `n = 3` error cause: no errors are simulated, so only the fixed bits.
    /// - `n = 4` paper: bits 2-3 roll near end, bits 5-6 roll end.
    #[must_use]
    pub fn status_byte(&self, n: u8) -> Option<u8> {
        const FIXED: u8 = 0b0001_0010;
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        Some(match n {
            1 => FIXED | bit(self.drawer.open, 0x04) | bit(self.is_offline(), 0x08),
            2 => FIXED | bit(self.cover_open, 0x04) | bit(self.paper == Paper::Out, 0x20),
            3 => FIXED,
            4 => {
                // Without paper the near-end sensor sees no paper either.
                FIXED | bit(self.paper != Paper::Ok, 0x0C) | bit(self.paper == Paper::Out, 0x60)
            }
            _ => return None,
        })
    }

    /// The four bytes of an automatic status back (ASB) message, Epson layout:
    /// 1st byte bit 2 drawer pin 3, bit 3 offline, bit 4 fixed 1, bit 5 cover open;
    /// 2nd byte the error bits (none simulated); 3rd byte bits 0-1 roll near end, bits 2-3
    /// roll end; 4th byte reserved.
    #[must_use]
    pub fn asb(&self) -> [u8; 4] {
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        [
            0x10 | bit(self.drawer.open, 0x04)
                | bit(self.is_offline(), 0x08)
                | bit(self.cover_open, 0x20),
            0,
            bit(self.paper != Paper::Ok, 0x03) | bit(self.paper == Paper::Out, 0x0C),
            0,
        ]
    }

    /// The answer to `GS r n` (1 paper sensor, 2 drawer); bit 4 is fixed at 0 here.
    #[must_use]
    pub fn transmit_status_byte(&self, n: u8) -> Option<u8> {
        match n {
            1 | 49 => Some(
                if self.paper == Paper::Ok { 0 } else { 0x03 }
                    | if self.paper == Paper::Out { 0x0C } else { 0 },
            ),
            2 | 50 => Some(u8::from(self.drawer.open)),
            _ => None,
        }
    }
}

/// The answer to `GS I n`: one ID byte for `n` 1-3, `_`-prefixed NUL-terminated text for the
/// Epson extended IDs (65 firmware, 66 maker, 67 model, 68 serial number).
#[must_use]
pub fn printer_id(n: u8) -> Option<Vec<u8>> {
    let text = |s: &str| [b"_".as_slice(), s.as_bytes(), b"\0"].concat();
    Some(match n {
        1 | 49 => vec![0x20],
        // Bit 1: autocutter fitted.
        2 | 50 => vec![0x02],
        3 | 51 => vec![0x01],
        65 => text("1.00 SIM"),
        66 => text("THORBIS"),
        67 => text("VIRTUAL ESC/POS"),
        68 => text("SIM00001"),
        _ => return None,
    })
}

/// What one call to [`Session::process`] produced.
#[derive(Debug, Default)]
pub struct Output {
    /// Receipts completed (cut) during this call.
    pub finished: Vec<Finished>,
    /// Bytes to send back to the host (`GS r`, `GS I` answers, and real-time answers held back
    /// while the printer was hung).
    pub replies: Vec<u8>,
    /// Bytes taken from the receive buffer and printed.
    pub printed: usize,
}

/// One host connection: receive buffer, real-time scanner, parser and print buffer.
#[derive(Debug)]
pub struct Session {
    rx: VecDeque<u8>,
    capacity: usize,
    realtime: Parser,
    /// Bytes received while hung, not yet scanned for real-time requests: a printer that
    /// recovers answers the requests it received meanwhile.
    realtime_backlog: Vec<u8>,
    parser: Parser,
    interp: Interpreter,
    /// Fractional bytes of print budget accumulated in slow mode.
    credit: f64,
    last: Option<Duration>,
    /// `GS a` mask (bit 0 drawer, 1 online, 2 error, 3 paper) and the last ASB sent.
    asb_mask: u8,
    asb_sent: Option<[u8; 4]>,
}

/// The bits of each ASB byte that the `GS a` mask bits enable: drawer, online (with cover),
/// error, paper roll.
fn asb_bits(mask: u8) -> [u8; 4] {
    let on = |bit: u8, m: u8| if mask & bit != 0 { m } else { 0 };
    [on(1, 0x04) | on(2, 0x68), on(4, 0x6C), on(8, 0x0F), 0]
}

impl Session {
    /// A new connection to a printer with `profile` and a receive buffer of `capacity` bytes.
    #[must_use]
    pub fn new(profile: SimProfile, capacity: usize) -> Session {
        Session {
            rx: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
            realtime: Parser::new(),
            realtime_backlog: Vec::new(),
            parser: Parser::new(),
            interp: Interpreter::new(profile),
            credit: 0.0,
            last: None,
            asb_mask: 0,
            asb_sent: None,
        }
    }

    /// How many bytes the receive buffer can take now (0 when hung: a hung printer stops
    /// reading).
    #[must_use]
    pub fn space(&self, conditions: &Conditions) -> usize {
        if conditions.hung { 0 } else { self.capacity - self.rx.len().min(self.capacity) }
    }

    /// Bytes received but not printed yet.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.rx.len()
    }

    /// Takes bytes from the host into the receive buffer and returns the real-time replies
    /// (`DLE EOT`) they ask for. The caller reads no more than [`Session::space`] bytes;
    /// anything beyond is still kept rather than lost.
    pub fn receive(&mut self, conditions: &mut Conditions, data: &[u8], now: Duration) -> Vec<u8> {
        conditions.tick(now);
        self.rx.extend(data);
        self.realtime_backlog.extend_from_slice(data);
        self.answer_realtime(conditions)
    }

    fn answer_realtime(&mut self, conditions: &Conditions) -> Vec<u8> {
        let mut replies = Vec::new();
        if conditions.hung || self.realtime_backlog.is_empty() {
            return replies;
        }
        let data = std::mem::take(&mut self.realtime_backlog);
        for event in self.realtime.feed(&data) {
            if let Event::Command { command: Command::StatusRequest(n), .. } = event
                && let Some(b) = conditions.status_byte(n)
            {
                replies.push(b);
            }
        }
        replies
    }

    /// Prints what the conditions and the speed limit allow.
    pub fn process(&mut self, conditions: &mut Conditions, now: Duration) -> Output {
        conditions.tick(now);
        let elapsed = self.last.map_or(Duration::ZERO, |l| now.saturating_sub(l));
        self.last = Some(now);
        let mut out = Output { replies: self.answer_realtime(conditions), ..Output::default() };
        self.auto_status_back(conditions, &mut out.replies);
        if !conditions.can_print() {
            self.credit = 0.0;
            return out;
        }
        let mut allowed = match conditions.bytes_per_second {
            Some(bps) => {
                // At most one second of burst, so a long pause does not print instantly.
                let bps = f64::from(bps.max(1));
                self.credit = (self.credit + elapsed.as_secs_f64() * bps).min(bps);
                self.credit.floor() as usize
            }
            None => usize::MAX,
        };
        if let Some(left) = conditions.hang_after {
            allowed = allowed.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let n = allowed.min(self.rx.len());
        if n == 0 {
            Session::check_hang(conditions);
            return out;
        }
        if conditions.bytes_per_second.is_some() {
            self.credit -= n as f64;
        }
        if let Some(left) = &mut conditions.hang_after {
            *left -= n as u64;
        }
        let chunk: Vec<u8> = self.rx.drain(..n).collect();
        out.printed = n;
        for event in self.parser.feed(&chunk) {
            match self.interp.apply_event(event) {
                Some(Effect::Cut(f)) => out.finished.push(f),
                Some(Effect::DrawerKick { .. }) => conditions.kick(now),
                Some(Effect::TransmitStatus(k)) => {
                    out.replies.extend(conditions.transmit_status_byte(k));
                }
                Some(Effect::AutoStatusBack(mask)) => {
                    // Enabling ASB sends the current status at once, then every change.
                    self.asb_mask = mask;
                    self.asb_sent = None;
                    self.auto_status_back(conditions, &mut out.replies);
                }
                Some(Effect::TransmitId(k)) => {
                    out.replies.extend(printer_id(k).unwrap_or_default());
                }
                Some(Effect::StatusRequest(_)) | None => {}
            }
        }
        Session::check_hang(conditions);
        out
    }

    /// Sends an ASB message when ASB is on and an enabled status bit changed.
    fn auto_status_back(&mut self, conditions: &Conditions, replies: &mut Vec<u8>) {
        if self.asb_mask == 0 || conditions.hung {
            return;
        }
        let now = conditions.asb();
        let bits = asb_bits(self.asb_mask);
        let changed = self
            .asb_sent
            .is_none_or(|sent| sent.iter().zip(now).zip(bits).any(|((s, n), b)| (s ^ n) & b != 0));
        if changed {
            replies.extend_from_slice(&now);
            self.asb_sent = Some(now);
        }
    }

    fn check_hang(conditions: &mut Conditions) {
        if conditions.hang_after == Some(0) {
            conditions.hang_after = None;
            conditions.hung = true;
            tracing::info!("virtual printer hangs mid-job as instructed");
        }
    }

    /// The host hung up: ends the current receipt (printed without a cut) if anything was
    /// printed since the last cut. Bytes still in the receive buffer are dropped, so call
    /// [`Session::process`] until [`Session::buffered`] is 0 first when they should print.
    pub fn close(&mut self) -> Option<Finished> {
        if let Some(d) = self.parser.finish() {
            self.interp.diagnose(d);
        }
        self.rx.clear();
        self.interp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Duration = Duration::ZERO;

    fn session() -> (Session, Conditions) {
        (Session::new(SimProfile::default(), 64), Conditions::default())
    }

    #[test]
    fn status_bytes_follow_the_epson_layout() {
        let mut c = Conditions::default();
        assert_eq!(c.status_byte(1), Some(0x12));
        assert_eq!(c.status_byte(2), Some(0x12));
        assert_eq!(c.status_byte(3), Some(0x12));
        assert_eq!(c.status_byte(4), Some(0x12));
        c.paper = Paper::NearEnd;
        assert_eq!(c.status_byte(4), Some(0x1E));
        assert_eq!(c.status_byte(1), Some(0x12));
        c.paper = Paper::Out;
        assert_eq!(c.status_byte(4), Some(0x7E));
        assert_eq!(c.status_byte(2), Some(0x32));
        assert_eq!(c.status_byte(1), Some(0x1A));
        c.paper = Paper::Ok;
        c.cover_open = true;
        assert_eq!(c.status_byte(2), Some(0x16));
        c.cover_open = false;
        c.drawer.connected = true;
        c.kick(T0);
        assert_eq!(c.status_byte(1), Some(0x16));
        assert_eq!(c.status_byte(5), None);
    }

    #[test]
    fn transmit_commands_answer_in_order() {
        let (mut s, mut c) = session();
        c.paper = Paper::NearEnd;
        let _ = s.receive(&mut c, b"\x1dr\x01\x1bu\x00\x1dIB\x1dI\x01", T0);
        let out = s.process(&mut c, T0);
        assert_eq!(out.replies, b"\x03\x00_THORBIS\0\x20");
    }

    #[test]
    fn automatic_status_back_reports_changes() {
        let (mut s, mut c) = session();
        let _ = s.receive(&mut c, b"\x1da\x0f", T0);
        assert_eq!(s.process(&mut c, T0).replies, [0x10, 0, 0, 0]);
        assert!(s.process(&mut c, T0).replies.is_empty(), "nothing changed");
        c.paper = Paper::NearEnd;
        assert_eq!(s.process(&mut c, T0).replies, [0x10, 0, 0x03, 0]);
        c.cover_open = true;
        assert_eq!(s.process(&mut c, T0).replies, [0x38, 0, 0x03, 0]);
        c.cover_open = false;
        let _ = s.process(&mut c, T0);
        // Only the drawer enabled: a paper change is not reported.
        let _ = s.receive(&mut c, b"\x1da\x01", T0);
        assert_eq!(s.process(&mut c, T0).replies.len(), 4);
        c.paper = Paper::Ok;
        assert!(s.process(&mut c, T0).replies.is_empty());
    }

    #[test]
    fn drawer_closes_after_its_timeout() {
        let mut c = Conditions::default();
        c.drawer.connected = true;
        c.drawer.auto_close = Some(Duration::from_secs(2));
        c.kick(T0);
        c.tick(Duration::from_secs(1));
        assert!(c.drawer.open);
        c.tick(Duration::from_secs(2));
        assert!(!c.drawer.open);
    }

    #[test]
    fn paper_out_stops_printing_but_not_status() {
        let (mut s, mut c) = session();
        c.paper = Paper::Out;
        let replies = s.receive(&mut c, b"hello\n\x10\x04\x04\x1dV\x00", T0);
        assert_eq!(replies, [0x7E]);
        let out = s.process(&mut c, T0);
        assert_eq!((out.printed, out.finished.len()), (0, 0));
        assert_eq!(s.space(&c), 64 - 12);
        c.paper = Paper::Ok;
        let out = s.process(&mut c, T0);
        assert_eq!(out.finished.len(), 1);
        assert_eq!(crate::render::text(&out.finished[0].receipt), "hello\n");
    }

    #[test]
    fn status_bytes_inside_an_image_are_not_answered() {
        let (mut s, mut c) = session();
        let replies = s.receive(&mut c, b"\x1dv0\x00\x03\x00\x01\x00\x10\x04\x01", T0);
        assert!(replies.is_empty());
    }

    #[test]
    fn slow_mode_prints_at_the_given_rate() {
        let (mut s, mut c) = session();
        c.bytes_per_second = Some(10);
        let _ = s.receive(&mut c, &[b'x'; 40], T0);
        assert_eq!(s.process(&mut c, T0).printed, 0);
        assert_eq!(s.process(&mut c, Duration::from_millis(500)).printed, 5);
        assert_eq!(s.process(&mut c, Duration::from_millis(1500)).printed, 10);
        c.bytes_per_second = None;
        assert_eq!(s.process(&mut c, Duration::from_millis(1600)).printed, 25);
    }

    #[test]
    fn hang_after_n_bytes_stops_everything() {
        let (mut s, mut c) = session();
        c.hang_after = Some(3);
        let _ = s.receive(&mut c, b"abcdef", T0);
        assert_eq!(s.process(&mut c, T0).printed, 3);
        assert!(c.hung);
        assert_eq!(s.space(&c), 0);
        assert!(s.receive(&mut c, b"\x10\x04\x01", T0).is_empty());
        c.hung = false;
        let out = s.process(&mut c, T0);
        assert_eq!((out.printed, out.replies.as_slice()), (6, [0x12].as_slice()));
    }
}
