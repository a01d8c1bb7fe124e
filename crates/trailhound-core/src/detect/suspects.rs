//! The registry of suspicious sessions, shared by the detectors (SPEC §2.4: "correlate with the
//! suspicious sessions above"). A credential is registered when a finding of severity medium or more
//! is raised on it: an instance credential used from outside its instance (exfiltration), a session
//! at the end of an unusual role chain, a credential driven by an attack tool, an SSRF-like call.
//! Follow-up detectors then ask, for the credential of an event, whether it or any credential it
//! descends from (session lineage) is registered, and link their findings to that parent by id.
//!
//! Invariants: detectors own this registry (the tracker is the one writer of *tracked* state; this is
//! detector state, written only by the detectors, in event order). Bounded: `Keyed`, a week of idle
//! event time and a cap. Exfiltration findings' ids are the exfiltration detector's, so they are
//! referenced by key and resolved when the findings are final ([`ParentRef::Exfil`]).
use compact_str::CompactString;

use crate::finding::{Finding, Severity};
use crate::keyed::Keyed;
use crate::time::{EventTime, HOUR};
use crate::track::Lineage;

/// How long a credential stays registered after it was last flagged.
const TTL: i64 = 7 * 24 * HOUR;

/// A reference to the finding that made a credential suspicious.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum ParentRef {
    /// A finding whose id is known when it is drafted.
    Id(String),
    /// An `InstanceCredentialExfiltration.*` finding on this key (resolved at the end of the run:
    /// the earliest such finding of the key).
    Exfil(CompactString),
}

impl ParentRef {
    /// A stable text for finding ids and aggregation keys.
    pub(crate) fn key(&self) -> String {
        match self {
            ParentRef::Id(id) => id.clone(),
            ParentRef::Exfil(k) => format!("exfil:{k}"),
        }
    }

    /// The parent finding's id among the final `findings`.
    pub(crate) fn resolve(&self, findings: &[Finding]) -> Option<String> {
        match self {
            ParentRef::Id(id) => findings.iter().any(|f| &f.id == id).then(|| id.clone()),
            ParentRef::Exfil(key) => findings
                .iter()
                .filter(|f| {
                    (f.access_key_id == key.as_str()
                        || f.access_key_ids.iter().any(|k| k == key.as_str()))
                        && f.finding_type
                            .starts_with("InstanceCredentialExfiltration.")
                })
                .min_by(|a, b| (&a.first_seen, &a.id).cmp(&(&b.first_seen, &b.id)))
                .map(|f| f.id.clone()),
        }
    }
}

/// Why a credential is suspicious.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Suspect {
    /// The finding type that flagged it.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub kind: crate::state::serde_util::Name,
    /// Its severity.
    pub severity: Severity,
    /// The finding.
    pub parent: ParentRef,
    /// When it was first flagged.
    pub since: EventTime,
    /// A few words for explanations ("used from outside AWS", "Stratus Red Team user agent").
    pub what: String,
}

/// The registry.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Suspects {
    map: Keyed<CompactString, Suspect>,
}

impl Suspects {
    /// An empty registry holding at most `cap` credentials.
    pub(crate) fn new(cap: usize) -> Self {
        Suspects {
            map: Keyed::new(TTL, cap),
        }
    }

    /// Registers `key` (keeps the more severe reason; the earlier at equal severity).
    pub(crate) fn flag(&mut self, key: &str, now: EventTime, s: Suspect) {
        if key.is_empty() || s.severity < Severity::Medium {
            return;
        }
        self.map.maintain(now);
        let (slot, fresh) = self.map.upsert_ref(key, now, || s.clone());
        if !fresh && s.severity > slot.severity {
            *slot = s;
        }
    }

    /// The most severe registered credential among `key` and the credentials it descends from
    /// (the nearest on ties) whose reason passes `keep`, with that credential.
    pub(crate) fn nearest<'a>(
        &'a self,
        key: &'a str,
        lineage: &'a Lineage,
        now: EventTime,
        keep: impl Fn(&Suspect) -> bool,
    ) -> Option<(&'a str, &'a Suspect)> {
        if self.map.is_empty() || key.is_empty() {
            return None;
        }
        let ancestors = lineage
            .session(key, now)
            .into_iter()
            .flat_map(|s| s.ancestors());
        let mut best: Option<(&str, &Suspect)> = None;
        for k in std::iter::once(key).chain(ancestors) {
            if let Some(s) = self.map.peek(k, now).filter(|s| keep(s)) {
                if best.is_none_or(|(_, b)| s.severity > b.severity) {
                    best = Some((k, s));
                }
            }
        }
        best
    }
}
