//! Ground truth written beside the logs, in `<out>/ground-truth/` (never under `AWSLogs/`, and named so
//! no CloudTrail reader mistakes it for logs):
//! - `truth.jsonl` — one line per malicious event: event id and time, scenario id and kind, the finding
//!   type SPEC §2 expects for it and its severity, credential, source address;
//! - `scenarios.json` — per scenario: kind, story, victim, attacker, first and last malicious event, and
//!   per expected finding type the first event and count;
//! - `manifest.json` — the organisation: accounts, networks (NAT and endpoint addresses), instances and
//!   their addresses over time, users, people (written by the engine);
//! - `benign.jsonl` — one line per benign look-alike event or episode (issue 13): an ordinary behaviour
//!   (presigned URLs, dual-stack IPv6, Elastic IP handovers, …) with its events, instance, credential and
//!   address, so `eval` can say which behaviour explains a false positive.
//!
//! `eval` reads these with the same types.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::clock;
use super::record::Rec;

/// Name of the ground-truth folder inside the output directory.
pub const DIR: &str = "ground-truth";
/// Per-event truth file.
pub const EVENTS_FILE: &str = "truth.jsonl";
/// Per-scenario truth file.
pub const SCENARIOS_FILE: &str = "scenarios.json";
/// Organisation manifest file.
pub const MANIFEST_FILE: &str = "manifest.json";
/// Benign look-alikes file (ordinary behaviours that fool a naive detector).
pub const BENIGN_FILE: &str = "benign.jsonl";

/// The ordinary behaviours `benign.jsonl` names (issue 13).
pub const BEHAVIOURS: &[&str] = &[
    "presigned-url",
    "dual-stack-ipv6",
    "launch-without-public-ip",
    "elastic-ip-handover",
    "stop-start",
    "cross-region",
    "aws-agent",
    "recurring-chain",
    "bastion",
];

/// One benign look-alike event or episode: an ordinary behaviour a naive detector would mistake for a
/// theft, with the events that show it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(default)]
pub struct Benign {
    /// One of [`BEHAVIOURS`].
    pub behaviour: String,
    /// The events that show it (first first; capped at a few dozen for long episodes).
    pub event_ids: Vec<String>,
    /// The instance whose credentials are used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The access key used.
    pub credential: String,
    /// The address the credential is used from.
    pub source_ip: String,
    /// The user agent, when the behaviour is a client's (AWS agents).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// First event's time.
    pub event_time: String,
}

/// One malicious event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TruthEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventTime`.
    pub event_time: String,
    /// The scenario it belongs to.
    pub scenario_id: String,
    /// The scenario's kind.
    pub kind: String,
    /// The finding type SPEC §2 expects this event to raise (or be evidence of).
    pub expected_type: String,
    /// The severity SPEC §2 gives that finding.
    pub expected_severity: String,
    /// `recipientAccountId`.
    pub account_id: String,
    /// `awsRegion`.
    pub region: String,
    /// `eventName`.
    pub event_name: String,
    /// `sourceIPAddress`.
    pub source_ip: String,
    /// The access key used.
    pub credential: String,
    /// The calling principal's ARN.
    pub principal_arn: String,
    /// The instance whose credentials were stolen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// A finding type a scenario should raise.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Expected {
    /// Finding `type`.
    pub finding_type: String,
    /// Expected severity.
    pub severity: String,
    /// The first event labelled with this type.
    pub first_event_time: String,
    /// Events labelled with this type.
    pub events: u64,
}

/// One attack scenario.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Scenario {
    /// `S01-exfil-outside-aws`, …
    pub id: String,
    /// The kind (the part after the number).
    pub kind: String,
    /// What happens, in one sentence.
    pub description: String,
    /// The victim account.
    pub account_id: String,
    /// The victim's region.
    pub region: String,
    /// The victim principal (role, user).
    pub victim: String,
    /// The instance whose credentials were stolen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The stolen or leaked credential.
    pub credential: String,
    /// The attacker's address.
    pub attacker_ip: String,
    /// Where that address is (`Tor exit`, `GCP us-central1`, `AWS us-east-2, account 1234…`).
    pub attacker_network: String,
    /// First malicious event.
    pub first_event_time: String,
    /// Last malicious event.
    pub last_event_time: String,
    /// Number of malicious events.
    pub malicious_events: u64,
    /// Finding types expected, in order of first appearance.
    pub expected: Vec<Expected>,
}

/// The label of a malicious event.
pub(crate) struct Label<'a> {
    /// Scenario index.
    pub scenario: usize,
    /// Expected finding type.
    pub expected: &'a str,
    /// Expected severity.
    pub severity: &'a str,
    /// Credential used.
    pub credential: &'a str,
    /// Calling principal.
    pub principal: &'a str,
    /// Stolen instance, if any.
    pub instance: Option<&'a str>,
}

/// Collects ground truth while events are written.
pub(crate) struct Truth {
    events: Option<BufWriter<File>>,
    benign: Option<BufWriter<File>>,
    /// Benign lines written.
    pub benign_lines: u64,
    dir: Option<PathBuf>,
    /// Scenarios started so far.
    pub scenarios: Vec<Scenario>,
    first: Vec<i64>,
    line: String,
}

impl Truth {
    /// Truth written into `out/ground-truth/` (or kept in memory only when `out` is `None`).
    pub(crate) fn create(out: Option<&Path>) -> io::Result<Truth> {
        let (events, benign, dir) = match out {
            Some(o) => {
                let dir = o.join(DIR);
                std::fs::create_dir_all(&dir)?;
                (
                    Some(BufWriter::new(File::create(dir.join(EVENTS_FILE))?)),
                    Some(BufWriter::new(File::create(dir.join(BENIGN_FILE))?)),
                    Some(dir),
                )
            }
            None => (None, None, None),
        };
        Ok(Truth {
            events,
            benign,
            benign_lines: 0,
            dir,
            scenarios: vec![],
            first: vec![],
            line: String::new(),
        })
    }

    /// Registers a scenario (its times and expectations fill in as its events are written).
    pub(crate) fn begin(&mut self, s: Scenario) -> usize {
        self.scenarios.push(s);
        self.first.push(i64::MAX);
        self.scenarios.len() - 1
    }

    /// Records one malicious event.
    pub(crate) fn record(&mut self, rec: &Rec<'_>, l: &Label<'_>, account: &str) {
        let time = clock::iso_string(rec.time);
        let s = &mut self.scenarios[l.scenario];
        if rec.time < self.first[l.scenario] {
            self.first[l.scenario] = rec.time;
            s.first_event_time = time.clone();
        }
        if s.last_event_time.is_empty() || time > s.last_event_time {
            s.last_event_time = time.clone();
        }
        s.malicious_events += 1;
        match s.expected.iter_mut().find(|e| e.finding_type == l.expected) {
            Some(e) => {
                e.events += 1;
                if time < e.first_event_time {
                    e.first_event_time = time.clone();
                }
            }
            None => s.expected.push(Expected {
                finding_type: l.expected.to_string(),
                severity: l.severity.to_string(),
                first_event_time: time.clone(),
                events: 1,
            }),
        }
        let t = TruthEvent {
            event_id: rec.event_id.to_string(),
            event_time: time,
            scenario_id: s.id.clone(),
            kind: s.kind.clone(),
            expected_type: l.expected.to_string(),
            expected_severity: l.severity.to_string(),
            account_id: account.to_string(),
            region: rec.region.to_string(),
            event_name: rec.name.to_string(),
            source_ip: rec.ip.to_string(),
            credential: l.credential.to_string(),
            principal_arn: l.principal.to_string(),
            instance_id: l.instance.map(str::to_string),
        };
        if let Some(w) = self.events.as_mut() {
            self.line.clear();
            if let Ok(s) = serde_json::to_string(&t) {
                self.line.push_str(&s);
            }
            self.line.push('\n');
            // Errors surface when the file is flushed in `finish`.
            let _ = w.write_all(self.line.as_bytes());
        }
    }

    /// Records one benign look-alike (written at once: memory stays bounded).
    pub(crate) fn benign(&mut self, b: &Benign) {
        debug_assert!(
            BEHAVIOURS.contains(&b.behaviour.as_str()),
            "{}",
            b.behaviour
        );
        self.benign_lines += 1;
        if let Some(w) = self.benign.as_mut() {
            self.line.clear();
            if let Ok(s) = serde_json::to_string(b) {
                self.line.push_str(&s);
            }
            self.line.push('\n');
            // Errors surface when the file is flushed in `finish`.
            let _ = w.write_all(self.line.as_bytes());
        }
    }

    /// Writes `scenarios.json` and `manifest.json` and flushes `truth.jsonl` and `benign.jsonl`.
    pub(crate) fn finish(&mut self, manifest: &serde_json::Value) -> io::Result<()> {
        if let Some(w) = self.events.as_mut() {
            w.flush()?;
        }
        if let Some(w) = self.benign.as_mut() {
            w.flush()?;
        }
        if let Some(dir) = &self.dir {
            let scenarios: Vec<&Scenario> = self
                .scenarios
                .iter()
                .filter(|s| s.malicious_events > 0)
                .collect();
            std::fs::write(
                dir.join(SCENARIOS_FILE),
                serde_json::to_string_pretty(&scenarios).map_err(io::Error::other)? + "\n",
            )?;
            std::fs::write(
                dir.join(MANIFEST_FILE),
                serde_json::to_string_pretty(manifest).map_err(io::Error::other)? + "\n",
            )?;
        }
        Ok(())
    }
}
