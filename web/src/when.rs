//! Times as screens, the console and printed documents show them, in UTC (terminals and
//! the console do not know a location's time zone yet): `14:05` and `2026-12-07 14:05`.

use thorbis_domain::scan::Day;

/// `HH:MM` of a Unix ms time, UTC.
#[must_use]
pub fn clock(ms: i64) -> String {
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `YYYY-MM-DD HH:MM` of a Unix ms time, UTC (a time before 1970 reads as 1970-01-01).
#[must_use]
pub fn when(ms: i64) -> String {
    format!("{} {}", Day::of_unix_ms(u64::try_from(ms).unwrap_or(0)), clock(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc() {
        // 2026-12-07 14:05 UTC.
        let ms = 1_796_652_300_000;
        assert_eq!(clock(ms), "14:05");
        assert_eq!(when(ms), "2026-12-07 14:05");
    }
}
