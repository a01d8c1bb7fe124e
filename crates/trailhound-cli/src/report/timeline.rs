//! The overview's timeline: one row per account, findings placed by `first_seen` in time bins, one
//! lane per severity with its own shape (readable without colour). Bounded however many findings
//! there are: at most accounts × [`BINS`] × 4 marks, each with a tooltip counting what it stands for.
use std::collections::BTreeMap;

use chrono::DateTime;
use serde_json::Value;

use super::model::{s, severity, SEVERITIES};

/// Time bins across the run.
const BINS: i64 = 64;
/// Drawing width and the left margin for account labels.
const WIDTH: i64 = 960;
const LEFT: i64 = 120;
const RIGHT: i64 = 16;
/// Height of one severity lane, and of an account row.
const LANE: i64 = 11;
const ROW: i64 = LANE * 4 + 10;
const TOP: i64 = 8;

/// An SVG drawing, precomputed (the template only places it).
pub struct Timeline {
    /// Total width and height.
    pub width: i64,
    /// Height.
    pub height: i64,
    /// `(account, y of its label, y of its separator)`.
    pub rows: Vec<(String, i64, i64)>,
    /// The marks.
    pub marks: Vec<Mark>,
    /// `(x, label)` of the time axis, and its y.
    pub ticks: Vec<(i64, String)>,
    /// The axis' y.
    pub axis_y: i64,
    /// Where the time axis begins.
    pub left: i64,
    /// Findings without a readable time (not drawn).
    pub undated: usize,
}

/// Findings of one severity, account and bin.
pub struct Mark {
    /// Centre.
    pub x: i64,
    /// Centre.
    pub y: i64,
    /// Severity name (CSS class).
    pub severity: String,
    /// SVG path of the severity's shape, centred on 0,0.
    pub path: &'static str,
    /// Tooltip.
    pub title: String,
    /// Filter link (`#account=…&sev=…`).
    pub href: String,
}

/// The shape of each severity: diamond, triangle, disc, ring (as the list's glyphs ◆ ▲ ● ○).
fn shape(rank: usize) -> &'static str {
    match rank {
        0 => "M0,-5L5,0L0,5L-5,0Z",
        1 => "M0,-5L5,4L-5,4Z",
        2 => "M-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0",
        _ => "M-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0M-2,0a2,2 0 1,1 4,0a2,2 0 1,1 -4,0",
    }
}

fn minute(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// Lays out `findings`.
pub fn build(findings: &[Value]) -> Timeline {
    let mut dated = Vec::new();
    let mut undated = 0;
    for f in findings {
        match DateTime::parse_from_rfc3339(s(f, "first_seen")) {
            Ok(t) => dated.push((t.timestamp(), f)),
            Err(_) => undated += 1,
        }
    }
    let lo = dated.iter().map(|d| d.0).min().unwrap_or(0);
    let hi = dated.iter().map(|d| d.0).max().unwrap_or(0);
    let span = (hi - lo).max(1);
    let bin_of = |t: i64| ((t - lo) * BINS / span).min(BINS - 1);
    let inner = WIDTH - LEFT - RIGHT;
    let x_of_bin = |b: i64| LEFT + (2 * b + 1) * inner / (2 * BINS);
    // (account, severity rank, bin) → (count, severity name).
    let mut cells: BTreeMap<(&str, usize, i64), (usize, &str)> = BTreeMap::new();
    for (t, f) in &dated {
        let sev = s(f, "severity");
        let rank = severity(sev).1.min(3);
        let cell = cells
            .entry((s(f, "account_id"), rank, bin_of(*t)))
            .or_insert((0, sev));
        cell.0 += 1;
    }
    let accounts: Vec<&str> = {
        let mut a: Vec<&str> = cells.keys().map(|k| k.0).collect();
        a.dedup();
        a
    };
    let row_of = |a: &str| accounts.iter().position(|x| *x == a).unwrap_or(0) as i64;
    let bin_width = span as f64 / BINS as f64;
    let marks = cells
        .iter()
        .map(|(&(account, rank, bin), &(count, sev))| {
            let from = lo + (bin as f64 * bin_width) as i64;
            let to = lo + ((bin + 1) as f64 * bin_width) as i64;
            let name = SEVERITIES.get(rank).map_or(sev, |s| s.0);
            Mark {
                x: x_of_bin(bin),
                y: TOP + row_of(account) * ROW + rank as i64 * LANE + LANE / 2,
                severity: name.to_owned(),
                path: shape(rank),
                title: format!(
                    "{count} {name} finding{} in account {account}, {} – {} UTC",
                    if count == 1 { "" } else { "s" },
                    minute(from),
                    minute(to)
                ),
                href: format!("#account={account}&sev={name}"),
            }
        })
        .collect();
    let rows = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let y = TOP + i as i64 * ROW;
            ((*a).to_owned(), y + 2 * LANE + 4, y + ROW - 5)
        })
        .collect();
    let axis_y = TOP + accounts.len() as i64 * ROW + 14;
    let ticks = if dated.is_empty() {
        Vec::new()
    } else {
        (0..=4)
            .map(|i| (LEFT + i * inner / 4, minute(lo + i * span / 4)))
            .collect()
    };
    Timeline {
        width: WIDTH,
        height: axis_y + 8,
        rows,
        marks,
        ticks,
        axis_y,
        left: LEFT,
        undated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_mark_per_account_severity_and_bin_with_a_count() {
        let f = [
            json!({"account_id": "111", "severity": "high", "first_seen": "2024-03-05T10:00:00Z"}),
            json!({"account_id": "111", "severity": "high", "first_seen": "2024-03-05T10:00:01Z"}),
            json!({"account_id": "222", "severity": "critical", "first_seen": "2024-03-05T12:00:00Z"}),
            json!({"account_id": "222", "severity": "low", "first_seen": "not a time"}),
        ];
        let t = build(&f);
        assert_eq!(t.marks.len(), 2);
        assert_eq!(t.undated, 1);
        assert_eq!(t.rows.len(), 2);
        let high = t.marks.iter().find(|m| m.severity == "high").unwrap();
        assert!(
            high.title.starts_with("2 high findings in account 111"),
            "{}",
            high.title
        );
        let crit = t.marks.iter().find(|m| m.severity == "critical").unwrap();
        assert!(crit.x > high.x && crit.y > high.y);
        assert_eq!(crit.href, "#account=222&sev=critical");
        assert_eq!(t.ticks.first().unwrap().1, "2024-03-05 10:00");
    }

    #[test]
    fn nothing_to_draw_is_fine() {
        let t = build(&[]);
        assert!(t.marks.is_empty() && t.ticks.is_empty());
    }
}
