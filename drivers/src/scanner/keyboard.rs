//! Keyboard-wedge scanners as Linux input events, decoded from key codes.
//!
//! A USB scanner in keyboard mode "types" its data. Reading the characters the desktop
//! produces would depend on the OS keyboard layout (on an AZERTY desktop a US-programmed
//! scanner's `1` arrives as `&`), so we read the raw key codes from `/dev/input/event*` and
//! map them with the layout the *scanner* is programmed for, US, which is every scanner's
//! default. The scanner's GS (FNC1) arrives as `Ctrl+]` or as `Alt` + `0029` on the keypad;
//! both are decoded. This module is sans-IO: 24-byte `struct input_event` records in, bytes
//! out, to be fed to a [`super::framing::ScanFramer`]. The IO is in [`super::evdev`].

/// Size of `struct input_event` on 64-bit Linux: `timeval` (16) + type, code (2 + 2) + value
/// (4).
pub const INPUT_EVENT_SIZE: usize = 24;

/// `EV_KEY`.
pub const EV_KEY: u16 = 1;

/// One input event, the time stamp dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    /// `EV_KEY`, `EV_SYN`, `EV_MSC`...
    pub kind: u16,
    /// The key code for `EV_KEY`.
    pub code: u16,
    /// For keys: 1 press, 0 release, 2 auto-repeat.
    pub value: i32,
}

impl InputEvent {
    /// Decodes one record (native byte order, as the kernel writes it).
    #[must_use]
    pub fn parse(record: &[u8; INPUT_EVENT_SIZE]) -> InputEvent {
        InputEvent {
            kind: u16::from_ne_bytes([record[16], record[17]]),
            code: u16::from_ne_bytes([record[18], record[19]]),
            value: i32::from_ne_bytes([record[20], record[21], record[22], record[23]]),
        }
    }

    /// Encodes a record with a zero time stamp (for tests and simulators).
    #[must_use]
    pub fn to_record(self) -> [u8; INPUT_EVENT_SIZE] {
        let mut r = [0u8; INPUT_EVENT_SIZE];
        r[16..18].copy_from_slice(&self.kind.to_ne_bytes());
        r[18..20].copy_from_slice(&self.code.to_ne_bytes());
        r[20..24].copy_from_slice(&self.value.to_ne_bytes());
        r
    }
}

// Linux key codes (`input-event-codes.h`) that matter here.
const KEY_LEFTCTRL: u16 = 29;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_LEFTALT: u16 = 56;
const KEY_CAPSLOCK: u16 = 58;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_RIGHTALT: u16 = 100;
const KEY_RIGHTBRACE: u16 = 27;

/// US layout, unshifted and shifted, for key codes 0..=57. `0` = no character.
const US: [(u8, u8); 58] = [
    (0, 0),       // 0 reserved
    (0x1B, 0x1B), // 1 Esc
    (b'1', b'!'),
    (b'2', b'@'),
    (b'3', b'#'),
    (b'4', b'$'),
    (b'5', b'%'),
    (b'6', b'^'),
    (b'7', b'&'),
    (b'8', b'*'),
    (b'9', b'('),
    (b'0', b')'),
    (b'-', b'_'),
    (b'=', b'+'),
    (0, 0), // 14 Backspace
    (b'\t', b'\t'),
    (b'q', b'Q'),
    (b'w', b'W'),
    (b'e', b'E'),
    (b'r', b'R'),
    (b't', b'T'),
    (b'y', b'Y'),
    (b'u', b'U'),
    (b'i', b'I'),
    (b'o', b'O'),
    (b'p', b'P'),
    (b'[', b'{'),
    (b']', b'}'),
    (b'\r', b'\r'), // 28 Enter
    (0, 0),         // 29 Left Ctrl
    (b'a', b'A'),
    (b's', b'S'),
    (b'd', b'D'),
    (b'f', b'F'),
    (b'g', b'G'),
    (b'h', b'H'),
    (b'j', b'J'),
    (b'k', b'K'),
    (b'l', b'L'),
    (b';', b':'),
    (b'\'', b'"'),
    (b'`', b'~'),
    (0, 0), // 42 Left Shift
    (b'\\', b'|'),
    (b'z', b'Z'),
    (b'x', b'X'),
    (b'c', b'C'),
    (b'v', b'V'),
    (b'b', b'B'),
    (b'n', b'N'),
    (b'm', b'M'),
    (b',', b'<'),
    (b'.', b'>'),
    (b'/', b'?'),
    (0, 0),       // 54 Right Shift
    (b'*', b'*'), // 55 keypad *
    (0, 0),       // 56 Left Alt
    (b' ', b' '), // 57 Space
];

/// Keypad keys: code → digit or character.
fn keypad(code: u16) -> Option<u8> {
    Some(match code {
        71 => b'7',
        72 => b'8',
        73 => b'9',
        74 => b'-',
        75 => b'4',
        76 => b'5',
        77 => b'6',
        78 => b'+',
        79 => b'1',
        80 => b'2',
        81 => b'3',
        82 => b'0',
        83 => b'.',
        96 => b'\r',
        98 => b'/',
        _ => return None,
    })
}

/// Turns key events into the bytes the scanner meant.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // Modifier keys are independent.
pub struct KeyDecoder {
    shift_left: bool,
    shift_right: bool,
    ctrl: bool,
    alt: bool,
    caps: bool,
    /// Keypad digits typed while Alt is held (`Alt` + `0029` = GS).
    alt_code: Option<u16>,
}

impl KeyDecoder {
    /// A decoder with no modifier held.
    #[must_use]
    pub fn new() -> KeyDecoder {
        KeyDecoder::default()
    }

    /// Feeds one event; returns the byte it produces, if any.
    pub fn event(&mut self, ev: InputEvent) -> Option<u8> {
        if ev.kind != EV_KEY {
            return None;
        }
        let pressed = ev.value == 1;
        // Auto-repeat (2) is not something a scanner does on purpose.
        if ev.value == 2 {
            return None;
        }
        match ev.code {
            KEY_LEFTSHIFT => self.shift_left = pressed,
            KEY_RIGHTSHIFT => self.shift_right = pressed,
            KEY_LEFTCTRL | KEY_RIGHTCTRL => self.ctrl = pressed,
            KEY_LEFTALT | KEY_RIGHTALT => {
                self.alt = pressed;
                if pressed {
                    self.alt_code = None;
                } else if let Some(code) = self.alt_code.take() {
                    return Some((code % 256) as u8);
                }
            }
            KEY_CAPSLOCK if pressed => self.caps = !self.caps,
            _ if !pressed => {}
            code => return self.key(code),
        }
        None
    }

    fn key(&mut self, code: u16) -> Option<u8> {
        if let Some(k) = keypad(code) {
            if self.alt && k.is_ascii_digit() {
                let code = self.alt_code.unwrap_or(0);
                self.alt_code = Some(code.saturating_mul(10).saturating_add(u16::from(k - b'0')));
                return None;
            }
            return Some(k);
        }
        let &(plain, shifted) = US.get(usize::from(code))?;
        if plain == 0 {
            return None;
        }
        if self.ctrl {
            // Ctrl+] is GS, Ctrl+letter the matching control character (Ctrl+M = CR...).
            return match plain {
                _ if code == KEY_RIGHTBRACE => Some(0x1D),
                b'a'..=b'z' => Some(plain - b'a' + 1),
                b'[' => Some(0x1B),
                b'\\' => Some(0x1C),
                _ => None,
            };
        }
        let shift = self.shift_left || self.shift_right;
        let upper = if plain.is_ascii_lowercase() { shift != self.caps } else { shift };
        Some(if upper { shifted } else { plain })
    }

    /// Feeds whole records; appends the bytes produced to `out`. A trailing partial record is
    /// left for the caller to complete; returns how many bytes of `records` were consumed.
    pub fn feed(&mut self, records: &[u8], out: &mut Vec<u8>) -> usize {
        let mut used = 0;
        for chunk in records.chunks_exact(INPUT_EVENT_SIZE) {
            let record: &[u8; INPUT_EVENT_SIZE] = chunk.try_into().expect("exact chunk");
            if let Some(b) = self.event(InputEvent::parse(record)) {
                out.push(b);
            }
            used += INPUT_EVENT_SIZE;
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: u16, value: i32) -> InputEvent {
        InputEvent { kind: EV_KEY, code, value }
    }

    /// Records for typing `codes`, each pressed and released, with SYN events between.
    fn typing(codes: &[(u16, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(code, shift) in codes {
            let mut evs = vec![];
            if shift {
                evs.push(key(KEY_LEFTSHIFT, 1));
            }
            evs.extend([key(code, 1), InputEvent { kind: 0, code: 0, value: 0 }, key(code, 0)]);
            if shift {
                evs.push(key(KEY_LEFTSHIFT, 0));
            }
            for e in evs {
                out.extend_from_slice(&e.to_record());
            }
        }
        out
    }

    #[test]
    fn records_round_trip() {
        let e = InputEvent { kind: EV_KEY, code: 30, value: 1 };
        assert_eq!(InputEvent::parse(&e.to_record()), e);
    }

    #[test]
    fn digits_letters_and_enter() {
        // "]E0" then "40" then Enter: ] is key 27, E is shift+18, digits 2..=11.
        let records =
            typing(&[(27, false), (18, true), (11, false), (5, false), (11, false), (28, false)]);
        let mut d = KeyDecoder::new();
        let mut out = Vec::new();
        // Fed in two pieces that split a record: the remainder is returned to the caller.
        let first = d.feed(&records[..50], &mut out);
        assert_eq!(first, 48);
        d.feed(&records[first..], &mut out);
        assert_eq!(out, b"]E040\r");
    }

    #[test]
    fn gs_as_ctrl_bracket_and_as_alt_keypad_code() {
        let mut d = KeyDecoder::new();
        let mut out = Vec::new();
        let mut rec = Vec::new();
        for e in [
            key(KEY_LEFTCTRL, 1),
            key(KEY_RIGHTBRACE, 1),
            key(KEY_RIGHTBRACE, 0),
            key(KEY_LEFTCTRL, 0),
            key(KEY_LEFTALT, 1),
            key(82, 1), // keypad 0
            key(82, 0),
            key(82, 1),
            key(80, 1), // keypad 2
            key(73, 1), // keypad 9
            key(KEY_LEFTALT, 0),
            key(79, 1), // keypad 1 without Alt
        ] {
            rec.extend_from_slice(&e.to_record());
        }
        d.feed(&rec, &mut out);
        assert_eq!(out, [0x1D, 0x1D, b'1']);
    }

    #[test]
    fn caps_lock_and_repeat() {
        let mut d = KeyDecoder::new();
        assert_eq!(d.event(key(KEY_CAPSLOCK, 1)), None);
        assert_eq!(d.event(key(30, 1)), Some(b'A'));
        assert_eq!(d.event(key(2, 1)), Some(b'1'), "caps lock does not shift digits");
        assert_eq!(d.event(key(30, 2)), None);
        assert_eq!(d.event(key(KEY_LEFTSHIFT, 1)), None);
        assert_eq!(d.event(key(30, 1)), Some(b'a'));
        assert_eq!(d.event(key(999, 1)), None);
    }
}
