//! The evaluation report: per scenario, per scenario kind and per finding type, false positives, overall
//! precision and recall; rendered for people, serialisable for machines, and checked against thresholds.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::{Finding, Options, Severity};

/// One expected finding type of one scenario.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TypeResult {
    /// Finding type.
    pub finding_type: String,
    /// Severity the ground truth expects.
    pub expected_severity: String,
    /// A matching finding of this type exists.
    pub detected: bool,
    /// Seconds from the scenario's first malicious event to the earliest matching finding's first evidence.
    pub latency_seconds: Option<i64>,
    /// Matching findings.
    pub finding_ids: Vec<String>,
    /// Their severities.
    pub severities: Vec<String>,
}

/// One scenario.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ScenarioResult {
    /// Scenario id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// First malicious event.
    pub first_event_time: String,
    /// Per expected type.
    pub types: Vec<TypeResult>,
    /// Types of matching findings the scenario did not expect (not false positives).
    pub also_matched: Vec<String>,
}

/// A finding that matches no scenario.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FalsePositive {
    /// Finding id.
    pub id: String,
    /// Type.
    pub finding_type: String,
    /// Severity.
    pub severity: String,
    /// Principal.
    pub principal_arn: String,
    /// Access key.
    pub access_key_id: String,
    /// Address.
    pub source_ip: String,
    /// First evidence.
    pub first_seen: String,
    /// The benign behaviour (`ground-truth/benign.jsonl`) that explains it, or `unexplained`.
    pub behaviour: String,
}

/// False positives explained by one benign behaviour.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BehaviourRow {
    /// Behaviour (`presigned-url`, …, or `unexplained`).
    pub behaviour: String,
    /// False positives it explains.
    pub false_positives: u64,
    /// Of those, per severity (`low`, `medium`, `high`, `critical`).
    pub by_severity: BTreeMap<String, u64>,
    /// Per finding type.
    pub by_type: BTreeMap<String, u64>,
}

impl FalsePositive {
    /// The false-positive view of a finding.
    pub fn of(f: &Finding) -> FalsePositive {
        FalsePositive {
            id: f.id.clone(),
            finding_type: f.finding_type.clone(),
            severity: f.severity.clone(),
            principal_arn: f.principal_arn.clone(),
            access_key_id: f.access_key_id.clone(),
            source_ip: f.source_ip.clone(),
            first_seen: f.first_seen.clone(),
            behaviour: "unexplained".to_string(),
        }
    }
}

/// Totals for one finding type.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TypeRow {
    /// Finding type.
    pub finding_type: String,
    /// Scenarios expecting it.
    pub expected: u64,
    /// Of those, detected.
    pub detected: u64,
    /// Findings of this type (counted ones).
    pub findings: u64,
    /// Of those, false positives.
    pub false_positives: u64,
    /// Median detection latency (seconds).
    pub median_latency_seconds: Option<i64>,
    /// Its detection is required.
    pub required: bool,
}

/// Totals for one scenario kind.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct KindRow {
    /// Kind.
    pub kind: String,
    /// Scenarios of this kind.
    pub scenarios: u64,
    /// Every expected type detected.
    pub detected: u64,
    /// Some but not all detected.
    pub partly: u64,
    /// None detected.
    pub missed: u64,
}

/// The whole evaluation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Per kind.
    pub by_kind: Vec<KindRow>,
    /// Per finding type.
    pub by_type: Vec<TypeRow>,
    /// Findings matching no scenario.
    pub false_positives: Vec<FalsePositive>,
    /// False positives grouped by the benign behaviour that explains them.
    pub false_positives_by_behaviour: Vec<BehaviourRow>,
    /// Findings read.
    pub findings_read: u64,
    /// Findings at or above the severity floor.
    pub findings_counted: u64,
    /// Counted findings matching a scenario.
    pub true_positive_findings: u64,
    /// true positives / counted (1 when nothing was counted).
    pub precision: f64,
    /// Detected (scenario, type) pairs / expected pairs.
    pub recall: f64,
    /// Expected (scenario, type) pairs.
    pub expected_pairs: u64,
    /// Detected pairs.
    pub detected_pairs: u64,
    /// Expected pairs of required types.
    pub required_pairs: u64,
    /// Detected pairs of required types.
    pub required_detected: u64,
    /// `<scenario>: <type>` for every missed pair of a required type.
    pub missed_required: Vec<String>,
    /// The severity floor used.
    pub min_severity: Severity,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// Per type while aggregating: expected, detected, matching finding ids, false positives, latencies.
type TypeAcc = (u64, u64, BTreeSet<String>, u64, Vec<i64>);

/// Thresholds for the exit code.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    /// Lowest acceptable precision.
    pub min_precision: Option<f64>,
    /// Lowest acceptable recall (over every expected type).
    pub min_recall: Option<f64>,
    /// Most false positives accepted.
    pub max_false_positives: Option<u64>,
}

impl Report {
    /// Aggregates per-scenario results.
    pub fn build(
        scenarios: Vec<ScenarioResult>,
        false_positives: Vec<FalsePositive>,
        read: u64,
        counted: u64,
        true_positives: u64,
        opts: &Options,
    ) -> Report {
        let required = |t: &str| {
            opts.require_types
                .iter()
                .any(|r| r == t || (r.ends_with('*') && t.starts_with(r.trim_end_matches('*'))))
        };
        let mut types: BTreeMap<String, TypeAcc> = BTreeMap::new();
        let mut kinds: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
        let (mut expected, mut detected, mut req, mut req_det, mut missed_required) =
            (0, 0, 0, 0, vec![]);
        for s in &scenarios {
            let n = s.types.iter().filter(|t| t.detected).count();
            let k = kinds.entry(s.kind.clone()).or_default();
            k.0 += 1;
            match n {
                0 => k.3 += 1,
                x if x == s.types.len() => k.1 += 1,
                _ => k.2 += 1,
            }
            for t in &s.types {
                let row = types.entry(t.finding_type.clone()).or_default();
                row.0 += 1;
                expected += 1;
                if t.detected {
                    row.1 += 1;
                    detected += 1;
                    row.2.extend(t.finding_ids.iter().cloned());
                    row.4.extend(t.latency_seconds);
                }
                if required(&t.finding_type) {
                    req += 1;
                    if t.detected {
                        req_det += 1;
                    } else {
                        missed_required.push(format!("{}: {}", s.id, t.finding_type));
                    }
                }
            }
        }
        for fp in &false_positives {
            types.entry(fp.finding_type.clone()).or_default().3 += 1;
        }
        let by_type = types
            .into_iter()
            .map(|(t, (e, d, ids, fps, lat))| TypeRow {
                required: required(&t),
                finding_type: t,
                expected: e,
                detected: d,
                findings: ids.len() as u64 + fps,
                false_positives: fps,
                median_latency_seconds: median(lat),
            })
            .collect();
        let mut behaviours: BTreeMap<String, BehaviourRow> = BTreeMap::new();
        for fp in &false_positives {
            let row = behaviours
                .entry(fp.behaviour.clone())
                .or_insert_with(|| BehaviourRow {
                    behaviour: fp.behaviour.clone(),
                    false_positives: 0,
                    by_severity: BTreeMap::new(),
                    by_type: BTreeMap::new(),
                });
            row.false_positives += 1;
            *row.by_severity.entry(fp.severity.clone()).or_default() += 1;
            *row.by_type.entry(fp.finding_type.clone()).or_default() += 1;
        }
        let by_kind = kinds
            .into_iter()
            .map(|(kind, (n, d, p, m))| KindRow {
                kind,
                scenarios: n,
                detected: d,
                partly: p,
                missed: m,
            })
            .collect();
        Report {
            scenarios,
            by_kind,
            by_type,
            false_positives,
            false_positives_by_behaviour: behaviours.into_values().collect(),
            findings_read: read,
            findings_counted: counted,
            true_positive_findings: true_positives,
            precision: ratio(true_positives, counted),
            recall: ratio(detected, expected),
            expected_pairs: expected,
            detected_pairs: detected,
            required_pairs: req,
            required_detected: req_det,
            missed_required,
            min_severity: opts.min_severity,
        }
    }

    /// Threshold violations (empty: pass). Missing a required type always fails.
    pub fn violations(&self, g: &Gate) -> Vec<String> {
        let mut v: Vec<String> = self
            .missed_required
            .iter()
            .map(|m| format!("missed required detection {m}"))
            .collect();
        if let Some(p) = g.min_precision.filter(|p| self.precision < *p) {
            v.push(format!("precision {:.3} below {p}", self.precision));
        }
        if let Some(r) = g.min_recall.filter(|r| self.recall < *r) {
            v.push(format!("recall {:.3} below {r}", self.recall));
        }
        if let Some(m) = g
            .max_false_positives
            .filter(|m| self.false_positives.len() as u64 > *m)
        {
            v.push(format!(
                "{} false positives (at most {m} allowed)",
                self.false_positives.len()
            ));
        }
        v
    }

    /// The report for people.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let lat = |l: Option<i64>| l.map_or("-".to_string(), |s| format!("{s}s"));
        let names: Vec<String> = self
            .by_type
            .iter()
            .map(|t| {
                if t.required {
                    format!("{} (required)", t.finding_type)
                } else {
                    t.finding_type.clone()
                }
            })
            .collect();
        let width = names.iter().map(String::len).max().unwrap_or(0).max(16);
        let _ = writeln!(
            o,
            "{:<width$} expected detected missed findings false+  median latency",
            "Per finding type",
            width = width + 2
        );
        for (t, name) in self.by_type.iter().zip(&names) {
            let _ = writeln!(
                o,
                "  {name:<width$} {:>8} {:>8} {:>6} {:>8} {:>6}  {:>14}",
                t.expected,
                t.detected,
                t.expected - t.detected,
                t.findings,
                t.false_positives,
                lat(t.median_latency_seconds)
            );
        }
        let _ = writeln!(
            o,
            "\nPer scenario kind{:<19} scenarios detected partly missed",
            ""
        );
        for k in &self.by_kind {
            let _ = writeln!(
                o,
                "  {:<34} {:>9} {:>8} {:>6} {:>6}",
                k.kind, k.scenarios, k.detected, k.partly, k.missed
            );
        }
        let _ = writeln!(o, "\nScenarios");
        for s in &self.scenarios {
            for t in &s.types {
                let state = if t.detected {
                    format!("detected  +{}", lat(t.latency_seconds))
                } else {
                    "MISSED".to_string()
                };
                let _ = writeln!(o, "  {:<34} {:<50} {state}", s.id, t.finding_type);
            }
            if !s.also_matched.is_empty() {
                let _ = writeln!(
                    o,
                    "  {:<34} also matched: {}",
                    s.id,
                    s.also_matched.join(", ")
                );
            }
        }
        let _ = writeln!(o, "\nFalse positives: {}", self.false_positives.len());
        if !self.false_positives_by_behaviour.is_empty() {
            let _ = writeln!(
                o,
                "  {:<26} {:>6}  {:<28} types",
                "by benign behaviour", "false+", "severities"
            );
            for b in &self.false_positives_by_behaviour {
                let sev: Vec<String> = b
                    .by_severity
                    .iter()
                    .map(|(s, n)| format!("{s} {n}"))
                    .collect();
                let types: Vec<String> =
                    b.by_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
                let _ = writeln!(
                    o,
                    "  {:<26} {:>6}  {:<28} {}",
                    b.behaviour,
                    b.false_positives,
                    sev.join(", "),
                    types.join(", ")
                );
            }
        }
        for f in self.false_positives.iter().take(50) {
            let _ = writeln!(
                o,
                "  {} {} {} key {} from {} at {} [{}]",
                f.id,
                f.finding_type,
                f.severity,
                f.access_key_id,
                f.source_ip,
                f.first_seen,
                f.behaviour
            );
        }
        let _ = writeln!(
            o,
            "\nfindings {} read, {} at or above {:?}; precision {:.3}; recall {:.3} ({}/{} expected detections); required {}/{}",
            self.findings_read, self.findings_counted, self.min_severity, self.precision, self.recall, self.detected_pairs, self.expected_pairs, self.required_detected, self.required_pairs
        );
        o
    }
}
