//! What the template shows, computed from findings and the run summary (plain values; the template
//! escapes them). Everything is read leniently from `serde_json::Value`: a missing field shows as
//! empty, never as an error.
use std::collections::BTreeMap;

use serde_json::Value;

use super::timeline::{self, Timeline};

/// Severities from worst to least, with the glyph that tells them apart without colour.
pub const SEVERITIES: [(&str, &str); 4] = [
    ("critical", "◆"),
    ("high", "▲"),
    ("medium", "●"),
    ("low", "○"),
];

/// The glyph and rank (0 = critical) of a severity; unknown ones sort last.
pub fn severity(s: &str) -> (&'static str, usize) {
    SEVERITIES
        .iter()
        .position(|(n, _)| *n == s)
        .map_or(("?", SEVERITIES.len()), |i| (SEVERITIES[i].1, i))
}

/// The overview at the top of the page.
pub struct Overview {
    /// Findings in total.
    pub total: usize,
    /// `(severity, glyph, count)`, worst first, zero counts included.
    pub by_severity: Vec<(String, &'static str, usize)>,
    /// `(type, count)`, most first.
    pub by_type: Vec<(String, usize)>,
    /// The run, when a summary was given.
    pub run: Option<Run>,
    /// Findings per account over time.
    pub timeline: Timeline,
    /// Accounts, for the filter.
    pub accounts: Vec<String>,
}

/// The run's counters.
pub struct Run {
    /// Inputs opened.
    pub files: u64,
    /// Events read.
    pub events: u64,
    /// `(reason, count)` of skipped files.
    pub files_skipped: Vec<(String, u64)>,
    /// `(reason, count)` of skipped records.
    pub events_skipped: Vec<(String, u64)>,
    /// Every other counter, `(name, value)` (numbers and maps flattened as `name.key`).
    pub other: Vec<(String, String)>,
}

/// One line of the findings list.
pub struct Row {
    /// Finding id.
    pub id: String,
    /// Its first 12 characters (the list's column; the row carries the whole id).
    pub short_id: String,
    /// Severity name.
    pub severity: String,
    /// Its glyph.
    pub glyph: &'static str,
    /// 0 = critical.
    pub rank: usize,
    /// Finding type.
    pub kind: String,
    /// Title.
    pub title: String,
    /// Account.
    pub account: String,
    /// Instance, or the principal's last name part.
    pub who: String,
    /// Source address.
    pub source_ip: String,
    /// First evidence time.
    pub first_seen: String,
    /// Evidence events.
    pub events: u64,
}

/// A string field, or "".
pub fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `arn:aws:iam::1:role/path/name` → `name`.
pub fn short(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

/// The list row of one finding.
pub fn row(f: &Value) -> Row {
    let (glyph, rank) = severity(s(f, "severity"));
    let who = match f.get("instance_id").and_then(Value::as_str) {
        Some(i) => i.to_owned(),
        None => short(s(f, "principal_arn")).to_owned(),
    };
    Row {
        id: s(f, "id").to_owned(),
        short_id: s(f, "id").chars().take(12).collect(),
        severity: s(f, "severity").to_owned(),
        glyph,
        rank,
        kind: s(f, "type").to_owned(),
        title: s(f, "title").to_owned(),
        account: s(f, "account_id").to_owned(),
        who,
        source_ip: s(f, "source_ip").to_owned(),
        first_seen: s(f, "first_seen").to_owned(),
        events: f.get("event_count").and_then(Value::as_u64).unwrap_or(0),
    }
}

/// The overview of `findings` and the run `summary`.
pub fn overview(findings: &[Value], summary: Option<&Value>) -> Overview {
    let mut sev: BTreeMap<&str, usize> = BTreeMap::new();
    let mut types: BTreeMap<&str, usize> = BTreeMap::new();
    let mut accounts = std::collections::BTreeSet::new();
    for f in findings {
        *sev.entry(s(f, "severity")).or_default() += 1;
        *types.entry(s(f, "type")).or_default() += 1;
        accounts.insert(s(f, "account_id").to_owned());
    }
    let mut by_severity: Vec<(String, &'static str, usize)> = SEVERITIES
        .iter()
        .map(|(n, g)| ((*n).to_owned(), *g, sev.get(n).copied().unwrap_or(0)))
        .collect();
    for (name, n) in &sev {
        if severity(name).1 == SEVERITIES.len() {
            by_severity.push(((*name).to_owned(), "?", *n));
        }
    }
    let mut by_type: Vec<(String, usize)> =
        types.into_iter().map(|(t, n)| (t.to_owned(), n)).collect();
    by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Overview {
        total: findings.len(),
        by_severity,
        by_type,
        run: summary.map(run),
        timeline: timeline::build(findings),
        accounts: accounts.into_iter().collect(),
    }
}

fn counts(v: Option<&Value>) -> Vec<(String, u64)> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

fn run(summary: &Value) -> Run {
    let n = |k: &str| summary.get(k).and_then(Value::as_u64).unwrap_or(0);
    let shown = [
        "files_read",
        "events_read",
        "files_skipped",
        "events_skipped",
    ];
    let mut other = Vec::new();
    for (k, v) in summary.as_object().into_iter().flatten() {
        if shown.contains(&k.as_str()) || k == "findings" || k == "findings_by_severity" {
            continue;
        }
        match v {
            Value::Object(m) if m.is_empty() => other.push((k.clone(), "none".to_owned())),
            Value::Object(m) => {
                for (sub, sv) in m {
                    other.push((format!("{k}.{sub}"), scalar(sv)));
                }
            }
            v => other.push((k.clone(), scalar(v))),
        }
    }
    Run {
        files: n("files_read"),
        events: n("events_read"),
        files_skipped: counts(summary.get("files_skipped")),
        events_skipped: counts(summary.get("events_skipped")),
        other,
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overview_counts_by_severity_and_type_and_lists_skips() {
        let f = [
            json!({"id": "a", "type": "RoleChaining", "severity": "high", "account_id": "1"}),
            json!({"id": "b", "type": "RoleChaining", "severity": "low", "account_id": "2"}),
            json!({"id": "c", "type": "Sigma", "severity": "weird", "account_id": "1"}),
        ];
        let summary = json!({"files_read": 3, "events_read": 10, "events_skipped": {"not_json": 2},
            "files_skipped": {}, "accepted": {"presigned_url_requests": 4}, "suppressed": 1});
        let o = overview(&f, Some(&summary));
        assert_eq!(o.total, 3);
        assert_eq!(o.by_severity[1], ("high".to_owned(), "▲", 1));
        assert_eq!(o.by_severity[0].2, 0, "zero counts are shown");
        assert_eq!(o.by_severity.last().unwrap().0, "weird");
        assert_eq!(o.by_type[0], ("RoleChaining".to_owned(), 2));
        let r = o.run.unwrap();
        assert_eq!((r.files, r.events), (3, 10));
        assert_eq!(r.events_skipped, vec![("not_json".to_owned(), 2)]);
        assert!(r
            .other
            .contains(&("accepted.presigned_url_requests".to_owned(), "4".to_owned())));
        assert_eq!(o.accounts, vec!["1", "2"]);
    }

    #[test]
    fn a_row_takes_what_is_there() {
        let r = row(
            &json!({"id": "x", "severity": "critical", "principal_arn": "arn:aws:iam::1:user/bob"}),
        );
        assert_eq!((r.glyph, r.rank, r.who.as_str()), ("◆", 0, "bob"));
        assert_eq!(row(&json!({})).rank, 4);
    }
}
