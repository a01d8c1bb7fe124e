//! Scoring findings against a simulation's ground truth (`trailhound eval`).
//!
//! A finding **matches** a scenario when one of its `event_ids` is one of the scenario's malicious events;
//! an `InstanceCredentialExfiltration.*` finding must also name a credential and source address the
//! scenario used (so a finding about the victim's own traffic that happens to cite one malicious event
//! does not count). A scenario's expected finding type is **detected** when a matching finding has that
//! type; the **latency** is from the scenario's first malicious event to that finding's `first_seen`.
//! Findings that match no scenario are **false positives**, whatever their type. Findings below the
//! severity floor are ignored (learned, lowered patterns may be reported at `low`).
//!
//! Precision = findings matching a scenario / findings counted; recall = detected (scenario, type) pairs /
//! expected pairs. Both, the false-positive count and the detection of the required types are what
//! `trailhound eval` gates on.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::simulate::{
    parse_iso, Benign, Scenario, TruthEvent, BENIGN_FILE, EVENTS_FILE, SCENARIOS_FILE, TRUTH_DIR,
};

mod report;
#[cfg(test)]
mod tests;

pub use report::{
    BehaviourRow, FalsePositive, Gate, KindRow, Report, ScenarioResult, TypeResult, TypeRow,
};

/// Why ground truth or findings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A ground-truth file is not what `trailhound simulate` writes.
    #[error("{path}:{line}: not ground truth written by `trailhound simulate`: {reason}")]
    Truth {
        /// The file.
        path: String,
        /// 1-based line (0 for a whole-file JSON document).
        line: usize,
        /// The parser's message.
        reason: String,
    },
}

/// Severity, ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Severity {
    /// Parses `low|medium|high|critical` (case-insensitive).
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// The fields of a finding that scoring reads (the scanner's JSON Lines carry more; they are ignored).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(default)]
pub struct Finding {
    /// Stable id.
    pub id: String,
    /// Finding type (SPEC §2).
    #[serde(rename = "type")]
    pub finding_type: String,
    /// `low|medium|high|critical`.
    pub severity: String,
    /// Account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// Principal.
    pub principal_arn: String,
    /// Access key.
    pub access_key_id: String,
    /// Instance, when known.
    pub instance_id: Option<String>,
    /// Source address.
    pub source_ip: String,
    /// User agent.
    pub user_agent: String,
    /// First evidence (`2024-03-05T12:00:07Z`).
    pub first_seen: String,
    /// Last evidence.
    pub last_seen: String,
    /// Evidence count.
    pub event_count: u64,
    /// Evidence, first first.
    pub event_ids: Vec<String>,
}

/// A simulation's ground truth.
#[derive(Clone, Debug, Default)]
pub struct Truth {
    /// Malicious events.
    pub events: Vec<TruthEvent>,
    /// Scenarios.
    pub scenarios: Vec<Scenario>,
    /// Benign look-alikes (`benign.jsonl`; empty for simulations that predate it).
    pub benign: Vec<Benign>,
}

fn read(path: &Path) -> Result<String, EvalError> {
    std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: path.display().to_string(),
        source,
    })
}

impl Truth {
    /// Loads `dir/ground-truth/` (or `dir` itself when it holds the truth files).
    pub fn load(dir: &Path) -> Result<Truth, EvalError> {
        let base = if dir.join(EVENTS_FILE).exists() {
            dir.to_path_buf()
        } else {
            dir.join(TRUTH_DIR)
        };
        let events_path = base.join(EVENTS_FILE);
        let text = read(&events_path)?;
        let mut events = vec![];
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let e = serde_json::from_str(line).map_err(|e| EvalError::Truth {
                path: events_path.display().to_string(),
                line: n + 1,
                reason: e.to_string(),
            })?;
            events.push(e);
        }
        let scen_path = base.join(SCENARIOS_FILE);
        let scenarios = serde_json::from_str(&read(&scen_path)?).map_err(|e| EvalError::Truth {
            path: scen_path.display().to_string(),
            line: 0,
            reason: e.to_string(),
        })?;
        let benign_path = base.join(BENIGN_FILE);
        let mut benign = vec![];
        if benign_path.exists() {
            let text = read(&benign_path)?;
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                let b = serde_json::from_str(line).map_err(|e| EvalError::Truth {
                    path: benign_path.display().to_string(),
                    line: n + 1,
                    reason: e.to_string(),
                })?;
                benign.push(b);
            }
        }
        Ok(Truth {
            events,
            scenarios,
            benign,
        })
    }
}

/// Which benign behaviour explains a finding: one of its events is a benign look-alike's; else the
/// same credential (or instance) used from the same address (and, for agents, with the same client).
struct Explainer<'a> {
    by_event: HashMap<&'a str, &'a str>,
    by_use: HashMap<(&'a str, &'a str), Vec<Use<'a>>>,
}

/// A benign use of a credential or instance from an address: (behaviour, user agent if it matters).
type Use<'a> = (&'a str, Option<&'a str>);

impl<'a> Explainer<'a> {
    fn new(benign: &'a [Benign]) -> Explainer<'a> {
        let mut by_event = HashMap::new();
        let mut by_use: HashMap<(&str, &str), Vec<Use<'_>>> = HashMap::new();
        for b in benign {
            for id in &b.event_ids {
                by_event.entry(id.as_str()).or_insert(b.behaviour.as_str());
            }
            let ua = b.user_agent.as_deref();
            if !b.credential.is_empty() {
                by_use
                    .entry((b.credential.as_str(), b.source_ip.as_str()))
                    .or_default()
                    .push((b.behaviour.as_str(), ua));
            }
            if let Some(i) = &b.instance_id {
                by_use
                    .entry((i.as_str(), b.source_ip.as_str()))
                    .or_default()
                    .push((b.behaviour.as_str(), ua));
            }
        }
        Explainer { by_event, by_use }
    }

    fn explain(&self, f: &Finding) -> &'a str {
        if let Some(b) = f
            .event_ids
            .iter()
            .find_map(|id| self.by_event.get(id.as_str()))
        {
            return b;
        }
        let keys = [Some(f.access_key_id.as_str()), f.instance_id.as_deref()];
        for k in keys.into_iter().flatten().filter(|k| !k.is_empty()) {
            if let Some(v) = self.by_use.get(&(k, f.source_ip.as_str())) {
                if let Some((b, _)) = v
                    .iter()
                    .find(|(_, ua)| ua.is_none_or(|u| u == f.user_agent))
                {
                    return b;
                }
            }
        }
        "unexplained"
    }
}

/// Reads findings (JSON Lines); lines that are not findings are returned as `(line, reason)`.
pub fn parse_findings(text: &str) -> (Vec<Finding>, Vec<(usize, String)>) {
    let mut ok = vec![];
    let mut bad = vec![];
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Finding>(line) {
            Ok(f) if !f.finding_type.is_empty() => ok.push(f),
            Ok(_) => bad.push((n + 1, "no `type`".to_string())),
            Err(e) => bad.push((n + 1, e.to_string())),
        }
    }
    (ok, bad)
}

/// What to count.
#[derive(Clone, Debug)]
pub struct Options {
    /// Findings below this severity are ignored (neither matches nor false positives).
    pub min_severity: Severity,
    /// Finding types whose detection is required (for the gate); empty: none.
    pub require_types: Vec<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            min_severity: Severity::Low,
            require_types: vec![],
        }
    }
}

/// True for `InstanceCredentialExfiltration.*` types (they must also match on credential and address).
fn is_exfiltration(t: &str) -> bool {
    t.starts_with("InstanceCredentialExfiltration.")
}

/// Scores `findings` against `truth`.
pub fn evaluate(truth: &Truth, findings: &[Finding], opts: &Options) -> Report {
    let scen_index: HashMap<&str, usize> = truth
        .scenarios
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let by_event: HashMap<&str, usize> = truth
        .events
        .iter()
        .filter_map(|e| {
            Some((
                e.event_id.as_str(),
                *scen_index.get(e.scenario_id.as_str())?,
            ))
        })
        .collect();
    let mut pairs: Vec<Vec<(&str, &str)>> = vec![vec![]; truth.scenarios.len()];
    for e in &truth.events {
        if let Some(&s) = scen_index.get(e.scenario_id.as_str()) {
            pairs[s].push((e.credential.as_str(), e.source_ip.as_str()));
        }
    }
    let explainer = Explainer::new(&truth.benign);
    let counted: Vec<&Finding> = findings
        .iter()
        .filter(|f| Severity::parse(&f.severity).unwrap_or(Severity::Low) >= opts.min_severity)
        .collect();
    // scenario index -> (type -> matching findings)
    let mut hits: Vec<BTreeMap<&str, Vec<&Finding>>> = vec![BTreeMap::new(); truth.scenarios.len()];
    let mut false_positives = vec![];
    let mut true_positives = 0u64;
    for f in &counted {
        let mut matched: Vec<usize> = f
            .event_ids
            .iter()
            .filter_map(|id| by_event.get(id.as_str()).copied())
            .collect();
        matched.sort_unstable();
        matched.dedup();
        if is_exfiltration(&f.finding_type)
            && !f.access_key_id.is_empty()
            && !f.source_ip.is_empty()
        {
            matched.retain(|s| {
                pairs[*s]
                    .iter()
                    .any(|(k, ip)| *k == f.access_key_id && *ip == f.source_ip)
            });
        }
        if matched.is_empty() {
            let mut fp = FalsePositive::of(f);
            fp.behaviour = explainer.explain(f).to_string();
            false_positives.push(fp);
            continue;
        }
        true_positives += 1;
        for s in matched {
            hits[s].entry(f.finding_type.as_str()).or_default().push(f);
        }
    }
    let mut scenarios = vec![];
    for (i, s) in truth.scenarios.iter().enumerate() {
        let start = parse_iso(&s.first_event_time);
        let types = s
            .expected
            .iter()
            .map(|e| {
                let found = hits[i].get(e.finding_type.as_str());
                let first = found.and_then(|v| {
                    v.iter()
                        .filter_map(|f| parse_iso(&f.first_seen).map(|t| (t, *f)))
                        .min_by_key(|(t, _)| *t)
                });
                TypeResult {
                    finding_type: e.finding_type.clone(),
                    expected_severity: e.severity.clone(),
                    detected: found.is_some(),
                    latency_seconds: match (first, start) {
                        (Some((t, _)), Some(s0)) => Some(t - s0),
                        _ => None,
                    },
                    finding_ids: found
                        .map(|v| v.iter().map(|f| f.id.clone()).collect())
                        .unwrap_or_default(),
                    severities: found
                        .map(|v| v.iter().map(|f| f.severity.clone()).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
        let also = hits[i]
            .keys()
            .filter(|t| !s.expected.iter().any(|e| e.finding_type == **t))
            .map(|t| t.to_string())
            .collect();
        scenarios.push(ScenarioResult {
            id: s.id.clone(),
            kind: s.kind.clone(),
            first_event_time: s.first_event_time.clone(),
            types,
            also_matched: also,
        });
    }
    Report::build(
        scenarios,
        false_positives,
        findings.len() as u64,
        counted.len() as u64,
        true_positives,
        opts,
    )
}
