//! Event time: milliseconds since the Unix epoch, always taken from the records, never from a clock.
//!
//! CloudTrail writes `eventTime` as `2023-07-10T11:57:22Z`; exports may add fractions or offsets
//! (`@timestamp`), and STS `expiration` values are sometimes not ISO at all
//! (`Jul 10, 2023, 6:30:22 PM`). The fast path parses the common form by hand; the rest go to chrono.
use std::fmt;

use chrono::{DateTime, NaiveDateTime};

/// A point in event time (UTC milliseconds since the Unix epoch).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct EventTime(pub i64);

/// One second, minute and hour in event-time milliseconds.
pub const SECOND: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE: i64 = 60 * SECOND;
/// One hour in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;

impl EventTime {
    /// Parses an RFC 3339 timestamp (`Z` or an offset, optional fraction).
    pub fn parse(s: &str) -> Option<EventTime> {
        fast_utc(s.as_bytes()).or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| EventTime(t.timestamp_millis()))
        })
    }

    /// Parses RFC 3339 or the non-ISO forms STS sometimes logs for `expiration`.
    pub fn parse_loose(s: &str) -> Option<EventTime> {
        EventTime::parse(s).or_else(|| {
            [
                "%b %d, %Y, %I:%M:%S %p",
                "%b %e, %Y, %l:%M:%S %p",
                "%Y-%m-%d %H:%M:%S",
            ]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(s.trim(), f).ok())
            .map(|t| EventTime(t.and_utc().timestamp_millis()))
        })
    }

    /// Milliseconds elapsed from `earlier` to `self` (negative if `earlier` is later).
    pub fn since(self, earlier: EventTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// This time plus `ms` milliseconds.
    pub fn plus(self, ms: i64) -> EventTime {
        EventTime(self.0.saturating_add(ms))
    }
}

impl fmt::Display for EventTime {
    /// Writes `YYYY-MM-DDTHH:MM:SSZ`, with `.mmm` only when the milliseconds are not zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1000);
        let ms = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if ms != 0 {
            write!(f, ".{ms:03}")?;
        }
        f.write_str("Z")
    }
}

/// A duration in the form [`parse_duration`] reads (`15m`, `6h`, `90s`).
pub fn format_duration(ms: i64) -> String {
    match ms {
        0 => "0s".to_owned(),
        _ if ms % HOUR == 0 => format!("{}h", ms / HOUR),
        _ if ms % MINUTE == 0 => format!("{}m", ms / MINUTE),
        _ if ms % SECOND == 0 => format!("{}s", ms / SECOND),
        _ => format!("{ms}ms"),
    }
}

/// Parses a duration such as `90s`, `15m`, `6h`, `2d` (or a plain number of seconds).
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok()?;
    let unit_ms = match unit.trim() {
        "" | "s" => SECOND,
        "ms" => 1,
        "m" | "min" => MINUTE,
        "h" => HOUR,
        "d" => 24 * HOUR,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z`, the form CloudTrail writes, without allocation.
fn fast_utc(b: &[u8]) -> Option<EventTime> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut ms = 0i64;
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        for _ in (i - start).min(3)..3 {
            ms *= 10;
        }
    }
    if i + 1 != b.len() || b[i] != b'Z' {
        return None;
    }
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s;
    Some(EventTime(secs * 1000 + ms))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloudtrail_forms_and_round_trips() {
        let cases = [
            (
                "2023-07-10T11:57:22Z",
                1_688_990_242_000,
                "2023-07-10T11:57:22Z",
            ),
            (
                "2023-07-10T11:57:22.5Z",
                1_688_990_242_500,
                "2023-07-10T11:57:22.500Z",
            ),
            (
                "2023-07-10T11:57:22.123456Z",
                1_688_990_242_123,
                "2023-07-10T11:57:22.123Z",
            ),
            (
                "2023-07-10T13:57:22+02:00",
                1_688_990_242_000,
                "2023-07-10T11:57:22Z",
            ),
            ("1969-12-31T23:59:59Z", -1000, "1969-12-31T23:59:59Z"),
            (
                "2024-02-29T00:00:00Z",
                1_709_164_800_000,
                "2024-02-29T00:00:00Z",
            ),
        ];
        for (input, ms, shown) in cases {
            let t = EventTime::parse(input).unwrap_or_else(|| panic!("{input} did not parse"));
            assert_eq!(t.0, ms, "{input}");
            assert_eq!(t.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2023-13-10T11:57:22Z",
            "2023-07-10 11:57:22",
            "2023-07-10T11:57:22",
        ] {
            assert_eq!(EventTime::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn loose_expiration_forms() {
        // The invictus dataset's STS responses carry this form.
        let t = EventTime::parse_loose("Jul 10, 2023, 6:30:22 PM").unwrap();
        assert_eq!(t.to_string(), "2023-07-10T18:30:22Z");
        assert_eq!(EventTime::parse_loose("2023-07-10T18:30:22Z"), Some(t));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m"), Some(15 * MINUTE));
        assert_eq!(parse_duration("6h"), Some(6 * HOUR));
        assert_eq!(parse_duration("90"), Some(90 * SECOND));
        assert_eq!(parse_duration("2 d"), Some(48 * HOUR));
        assert_eq!(parse_duration("soon"), None);
    }
}
