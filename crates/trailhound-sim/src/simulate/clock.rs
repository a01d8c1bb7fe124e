//! Time formats of CloudTrail records, written by hand from simulated event time (seconds since the epoch).
//!
//! `eventTime` is ISO 8601 (`2023-07-10T11:55:22Z`); STS `expiration` in EC2-service `AssumeRole`
//! responses is `Jul 10, 2023, 6:30:22 PM`; IAM `createDate` is `Jul 10, 2023 12:23:05 PM`; EC2
//! `launchTime` is epoch milliseconds; log file names carry `20230710T1155Z`. No clock is read here.
use std::fmt::Write as _;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Civil date (year, month 1–12, day 1–31) of a day number since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a civil date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn push2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

/// Split seconds into (date, hour, minute, second).
fn parts(secs: i64) -> ((i64, u32, u32), u32, u32, u32) {
    let day = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    (civil(day), sod / 3600, sod / 60 % 60, sod % 60)
}

/// Appends `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn iso(out: &mut String, secs: i64) {
    let ((y, mo, d), h, mi, s) = parts(secs);
    let _ = write!(out, "{y:04}-");
    push2(out, mo);
    out.push('-');
    push2(out, d);
    out.push('T');
    push2(out, h);
    out.push(':');
    push2(out, mi);
    out.push(':');
    push2(out, s);
    out.push('Z');
}

/// `YYYY-MM-DDTHH:MM:SSZ` as a new string.
pub(crate) fn iso_string(secs: i64) -> String {
    let mut s = String::with_capacity(20);
    iso(&mut s, secs);
    s
}

/// Appends `YYYY-MM-DDTHH:MM:SS.000Z` (EC2's XML-style timestamps, e.g. `createTime`).
pub(crate) fn iso_millis(out: &mut String, secs: i64) {
    iso(out, secs);
    out.pop();
    out.push_str(".000Z");
}

fn twelve_hour(h: u32) -> (u32, &'static str) {
    let ampm = if h < 12 { "AM" } else { "PM" };
    let h12 = match h % 12 {
        0 => 12,
        x => x,
    };
    (h12, ampm)
}

/// Appends STS's `expiration` form: `Jul 10, 2023, 6:30:22 PM`.
pub(crate) fn sts_expiration(out: &mut String, secs: i64) {
    let ((y, mo, d), h, mi, s) = parts(secs);
    let (h12, ampm) = twelve_hour(h);
    let _ = write!(
        out,
        "{} {d}, {y}, {h12}:{mi:02}:{s:02} {ampm}",
        MONTHS[(mo - 1) as usize]
    );
}

/// Appends IAM's `createDate` form: `Jul 10, 2023 12:23:05 PM`.
pub(crate) fn iam_date(out: &mut String, secs: i64) {
    let ((y, mo, d), h, mi, s) = parts(secs);
    let (h12, ampm) = twelve_hour(h);
    let _ = write!(
        out,
        "{} {d}, {y} {h12}:{mi:02}:{s:02} {ampm}",
        MONTHS[(mo - 1) as usize]
    );
}

/// Appends a log file name's stamp: `20230710T1155Z`.
pub(crate) fn file_stamp(out: &mut String, secs: i64) {
    let ((y, mo, d), h, mi, _) = parts(secs);
    let _ = write!(out, "{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z");
}

/// Appends a digest file name's stamp: `20230710T115522Z`.
pub(crate) fn digest_stamp(out: &mut String, secs: i64) {
    let ((y, mo, d), h, mi, s) = parts(secs);
    let _ = write!(out, "{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z");
}

/// Appends the S3 key's date folders: `2023/07/10`.
pub(crate) fn date_path(out: &mut String, secs: i64) {
    let ((y, mo, d), ..) = parts(secs);
    let _ = write!(out, "{y:04}/{mo:02}/{d:02}");
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (also accepting a bare date) into seconds since the epoch.
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse::<i64>().ok() };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
    if b.len() >= 19 {
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if h > 23 || mi > 59 || se > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + se;
    }
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_cloudtrail() {
        let t = parse_iso("2023-07-10T11:55:22Z").unwrap_or_default();
        assert_eq!(iso_string(t), "2023-07-10T11:55:22Z");
        let mut s = String::new();
        sts_expiration(&mut s, t + 6 * 3600 + 35 * 60);
        assert_eq!(s, "Jul 10, 2023, 6:30:22 PM");
        s.clear();
        iam_date(
            &mut s,
            parse_iso("2023-07-10T12:23:05Z").unwrap_or_default(),
        );
        assert_eq!(s, "Jul 10, 2023 12:23:05 PM");
        s.clear();
        file_stamp(&mut s, t);
        assert_eq!(s, "20230710T1155Z");
        s.clear();
        date_path(&mut s, t);
        assert_eq!(s, "2023/07/10");
        s.clear();
        iso_millis(&mut s, t);
        assert_eq!(s, "2023-07-10T11:55:22.000Z");
        assert_eq!(t * 1000, 1_688_990_122_000);
    }

    #[test]
    fn civil_round_trips() {
        for day in [-1000i64, 0, 59, 60, 365, 10_957, 19_000, 20_000, 40_000] {
            let (y, m, d) = civil(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(
            parse_iso("2024-03-01"),
            Some(days_from_civil(2024, 3, 1) * 86_400)
        );
        assert_eq!(parse_iso("nope"), None);
    }
}
