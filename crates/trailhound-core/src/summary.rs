//! The run summary: what was read, what was skipped and why, what was found (STYLE: every dropped
//! or skipped event is counted with a reason).
use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Counters of one run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Inputs opened (files and stdin).
    pub files_read: u64,
    /// Inputs (or their remainders) skipped, by reason.
    pub files_skipped: BTreeMap<&'static str, u64>,
    /// Valid events decoded (before de-duplication).
    pub events_read: u64,
    /// Events dropped as exact duplicates (same `eventID`).
    pub duplicates: u64,
    /// Events that arrived later than the reorder window (processed anyway).
    pub late_events: u64,
    /// Records or lines skipped, by reason.
    pub events_skipped: BTreeMap<&'static str, u64>,
    /// Instances tracked at the end.
    pub instances_tracked: u64,
    /// Instances learned mid-session (no AssumeRole seen).
    pub instances_mid_stream: u64,
    /// Instance state expired after the TTL.
    pub instances_expired: u64,
    /// Instance state evicted because of the cap.
    pub instances_evicted: u64,
    /// Findings by type.
    pub findings: BTreeMap<&'static str, u64>,
    /// Findings by severity.
    pub findings_by_severity: BTreeMap<&'static str, u64>,
    /// Findings dropped by configured suppressions.
    pub suppressed: u64,
    /// Ordinary behaviours that look like a theft to a naive detector, accepted without a finding
    /// (issue 13): `presigned_url_requests` (S3 requests through presigned URLs, sent from the URL
    /// holder's address), `elastic_ip_handovers` (a new egress after an association change),
    /// `recurring_chain_occurrences` (role chains that recur as normal operation).
    pub accepted: BTreeMap<&'static str, u64>,
    /// With durable state (`--state`): what the run carried over and what it reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateCounts>,
    /// Sigma rules run (`--sigma`), and candidate events they could not be decided on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sigma: Option<SigmaCounts>,
    /// `enrich`: events written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enriched: Option<u64>,
    /// `enrich`: events whose action has no access level and no documented reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_actions: Option<u64>,
    /// `enrich`: the output failed (e.g. a closed pipe) and stopped here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enrich_error: Option<String>,
}

/// Sigma rules in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SigmaCounts {
    /// Rules loaded.
    pub rules: u64,
}

/// What a run with durable state carried over and reported.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    /// Inputs not read because an earlier run had read them.
    pub files_already_read: u64,
    /// Events still in the reorder window, processed by the next run.
    pub events_held: u64,
    /// Findings reported for the first time.
    pub findings_new: u64,
    /// Findings reported before, with more evidence now.
    pub findings_updated: u64,
    /// Findings reported before and unchanged (not written again).
    pub findings_unchanged: u64,
    /// Findings of an earlier run whose output was interrupted, written by this one.
    pub findings_redelivered: u64,
    /// Bytes of the engine's state saved.
    pub engine_state_bytes: u64,
    /// Bytes of the state database on disk.
    pub store_bytes: u64,
}

impl Summary {
    /// Counts a skip: `reason` is its summary key (`SkipReason::key`), `file_level` says whether it
    /// concerns a whole file (`SkipReason::is_file_level`). Plain values, so that the summary, which
    /// every stage may use, imports nothing from the stages.
    pub fn skip(&mut self, reason: &'static str, file_level: bool) {
        let map = if file_level {
            &mut self.files_skipped
        } else {
            &mut self.events_skipped
        };
        *map.entry(reason).or_default() += 1;
    }

    /// Counts one finding of `finding_type` at `severity` (`Severity::as_str`).
    pub fn finding(&mut self, finding_type: &'static str, severity: &'static str) {
        *self.findings.entry(finding_type).or_default() += 1;
        *self.findings_by_severity.entry(severity).or_default() += 1;
    }

    /// Total skipped records and files.
    pub fn skipped_total(&self) -> u64 {
        self.files_skipped.values().sum::<u64>() + self.events_skipped.values().sum::<u64>()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |m: &BTreeMap<&'static str, u64>| {
            if m.is_empty() {
                "none".to_owned()
            } else {
                m.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        writeln!(
            f,
            "files read:      {} (skipped: {})",
            self.files_read,
            list(&self.files_skipped)
        )?;
        writeln!(
            f,
            "events read:     {} (duplicates dropped {}, late {}; records skipped: {})",
            self.events_read,
            self.duplicates,
            self.late_events,
            list(&self.events_skipped)
        )?;
        writeln!(
            f,
            "instances:       {} tracked at end, {} learned mid-session, {} expired, {} evicted",
            self.instances_tracked,
            self.instances_mid_stream,
            self.instances_expired,
            self.instances_evicted
        )?;
        write!(
            f,
            "findings:        {} ({})",
            self.findings.values().sum::<u64>(),
            list(&self.findings_by_severity)
        )?;
        for (k, v) in &self.findings {
            write!(f, "\n  {k}: {v}")?;
        }
        if let Some(s) = &self.sigma {
            write!(f, "\nsigma:           {} rules run", s.rules)?;
        }
        if let Some(st) = &self.state {
            write!(
                f,
                "\nstate:           {} files already read, {} events held for the next run; findings {} new, {} updated, {} unchanged (not written again)",
                st.files_already_read, st.events_held, st.findings_new, st.findings_updated, st.findings_unchanged
            )?;
            if st.findings_redelivered > 0 {
                write!(
                    f,
                    ", {} written again from an interrupted run",
                    st.findings_redelivered
                )?;
            }
            write!(
                f,
                "\n                 saved: engine state {} bytes, store {} bytes on disk",
                st.engine_state_bytes, st.store_bytes
            )?;
        }
        if let (Some(n), Some(u)) = (self.enriched, self.unknown_actions) {
            write!(
                f,
                "\nenriched:        {n} events ({u} with an action of unknown access level)"
            )?;
        }
        if self.suppressed > 0 {
            write!(f, "\n  suppressed by configuration: {}", self.suppressed)?;
        }
        if !self.accepted.is_empty() {
            write!(
                f,
                "\naccepted quietly: {} (ordinary behaviours that look like theft to a naive detector)",
                list(&self.accepted)
            )?;
        }
        Ok(())
    }
}
