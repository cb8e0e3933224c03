//! Time-based one-time passwords (RFC 6238, over HOTP of RFC 4226): the console's optional
//! second factor. HMAC-SHA1, six digits, 30-second steps, the authenticator apps' defaults.
//! Pure: the time is passed in.

use ring::hmac;

/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// The six-digit code of `secret` at time step `step`.
#[must_use]
pub fn code(secret: &[u8], step: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary =
        u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    binary % 1_000_000
}

/// The time step of `now_ms`.
#[must_use]
pub fn step_at(now_ms: u64) -> u64 {
    now_ms / 1000 / STEP_SECONDS
}

/// The step `typed` is the code of, within one step of `now_ms` either way (clocks drift)
/// and after `last_step` (a code is accepted once), if it is one.
#[must_use]
pub fn verify(secret: &[u8], typed: &str, now_ms: u64, last_step: u64) -> Option<u64> {
    let typed = typed.trim();
    if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = typed.parse().ok()?;
    let now = step_at(now_ms);
    (now.saturating_sub(1)..=now + 1).find(|&step| step > last_step && code(secret, step) == typed)
}

/// `bytes` in RFC 4648 base32 without padding, as authenticator apps take secrets.
#[must_use]
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` URI an authenticator app scans, for `account` (an email).
#[must_use]
pub fn uri(secret: &[u8], account: &str) -> String {
    let account: String = account
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "otpauth://totp/Thorbis:{account}?secret={}&issuer=Thorbis&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        base32(secret)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, the last six of its eight digits.
    #[test]
    fn codes_match_the_rfc_vectors() {
        let secret = b"12345678901234567890";
        for (seconds, expected) in [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
        ] {
            assert_eq!(code(secret, step_at(seconds * 1000)), expected, "{seconds}");
        }
    }

    #[test]
    fn a_code_verifies_once_within_a_step_of_now() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_000;
        let step = step_at(now);
        assert_eq!(verify(secret, "050471", now, 0), Some(step));
        assert_eq!(verify(secret, " 050471 ", now, 0), Some(step));
        assert_eq!(verify(secret, "050471", now, step), None, "a code is accepted once");
        assert_eq!(verify(secret, "050471", now + 31_000, 0), Some(step), "one step late");
        assert_eq!(verify(secret, "050471", now + 61_000, 0), None, "two steps late");
        for bad in ["", "05047", "0504711", "05o471", "999999"] {
            assert_eq!(verify(secret, bad, now, 0), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_print_in_base32_for_apps() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = uri(b"12345678901234567890", "ann+x@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Thorbis:ann%2Bx%40example.com?secret=GEZDGNBVGY3TQOJQ"),
            "{uri}"
        );
    }
}
