//! `RoleChaining` (SPEC §2.2): a session reached through two or more role assumptions from its origin
//! (an IAM user's key, an EC2 instance credential, a SAML/OIDC federation, an AWS service). The
//! tracker's lineage knows every session's path; this module decides which paths are findings.
//!
//! | depth | severity |
//! |---|---|
//! | 2 | medium |
//! | 3 or more | high |
//! | a path allow-listed (`[[chains.allow]]`) or learned as normal operation | low |
//!
//! * A path is its origin (kind, and the user / instance role / service it began with) and the roles
//!   it assumed, in order. It is *learned* once it has been seen on [`LEARN_DAYS`] earlier UTC days
//!   of event time (a CI/CD pipeline that deploys daily); from then on its occurrences are low.
//! * One finding per (path, class): every occurrence of the path aggregates into it, with the
//!   `AssumeRole*` events of each hop and what the last session did (its calls) as evidence; `chain`
//!   and `origin` are those of the first occurrence. No storms: one finding however often it recurs.
//! * A chain is reported at its deepest path: when the last session of an occurrence assumes a
//!   further role, the occurrence continues in the deeper path's finding (which takes over its
//!   evidence when it was a one-off), and a path all of whose occurrences went deeper is not reported.
//! * The last session of an alerting chain is registered as suspicious, so what it does next
//!   (`Persistence`, …) links to this finding; a chain that descends from an exfiltrated instance
//!   credential or an attack tool links to that finding (`parent_finding_id`).
use std::collections::{BTreeSet, HashMap};

use compact_str::CompactString;

use super::common::{add_unique, day, merge, source_context};
use super::suspects::{ParentRef, Suspect, Suspects};
use crate::address::AddressBook;
use crate::config::ChainAllow;
use crate::event::{Detail, Event, IdentityType};
use crate::finding::{stable_id, Evidence, Finding, Severity, SourceContext};
use crate::keyed::Keyed;
use crate::time::{EventTime, HOUR, MINUTE};
use crate::track::{OriginKind, Session, Tracker};

/// The finding type (part of the output contract).
pub const ROLE_CHAINING: &str = "RoleChaining";

/// Distinct earlier days a path must have been seen on to be normal operation.
pub const LEARN_DAYS: usize = 3;
/// A path not seen for this long is forgotten (and must be learned again).
const PATH_TTL: i64 = 30 * 24 * HOUR;
/// Chained sessions live at most an hour (AWS caps role chaining at 1 h); 12 h covers any session.
const LEAF_TTL: i64 = 12 * HOUR + 5 * MINUTE;
/// Distinct paths remembered; drafts kept.
const MAX_PATHS: usize = 200_000;
const MAX_DRAFTS: usize = 100_000;
/// Actions of the last sessions listed per finding.
const MAX_DID: usize = 50;
/// A path that occurred this often within the logs, spread over [`RECUR_HOURS`] distinct hours, is
/// recurring operation (CI/CD deploys, scheduled jobs): learned from its repetition, not only
/// after [`LEARN_DAYS`] earlier days (issue 13).
pub const RECUR_MIN: u32 = 4;
/// See [`RECUR_MIN`].
pub const RECUR_HOURS: usize = 3;
/// Actions whose occurrences are counted per path (to tell the routine from the new).
const MAX_ROUTINE: usize = 200;
/// How long a chain with no suspicious origin waits, in event time after its first occurrence,
/// before it is judged (reported, or routine when its path recurs): a stream can only tell a new
/// deploy job from an intruder's one-off chain by watching the path for a while, and a daily job
/// needs four days to occur [`RECUR_MIN`] times. Chains that descend from a suspicious session
/// (a stolen instance credential, an attack tool) are judged at once. The judgement happens at the
/// first event past the wait, so it is the same however the stream is cut into runs (issue 14);
/// at the end of a batch run's data, chains still waiting are judged on what was seen.
pub const SETTLE: i64 = 4 * 24 * HOUR;

/// Whether an alerting chain is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Verdict {
    /// Waiting for [`SETTLE`] to pass.
    Pending,
    /// Reported.
    Report,
    /// Its path recurs: reported only for what its routine does not do (`novel`).
    Routine,
}

/// How an occurrence is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
enum Class {
    /// Depth decides: medium or high.
    Alert,
    /// Seen on enough earlier days: low.
    Learned,
    /// Allow-listed: low.
    Allowed,
}

impl Class {
    fn tag(self) -> &'static str {
        match self {
            Class::Alert => "alert",
            Class::Learned => "learned",
            Class::Allowed => "allowed",
        }
    }
}

#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct PathSeen {
    /// Distinct days seen (at most `LEARN_DAYS`).
    days: Vec<i64>,
    /// When it became normal operation.
    learned_at: Option<EventTime>,
    /// Occurrences within the logs.
    count: u32,
    /// Distinct hours it occurred in (at most `RECUR_HOURS`).
    hours: Vec<i64>,
}

impl PathSeen {
    fn recurring(&self) -> bool {
        self.count >= RECUR_MIN && self.hours.len() >= RECUR_HOURS
    }
}

/// How often the last sessions of a path did one action.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Routine {
    /// Occurrences (last sessions) that did it.
    occurrences: u32,
    /// The last session that did it (so each occurrence counts once).
    last_key: CompactString,
    /// A write to identity, audit or key management (`iam`, `organizations`, `sso`,
    /// `cloudtrail`, `guardduty`, `config`, `kms`): what a stolen chain does that a deploy
    /// routine does not do by surprise.
    sensitive: bool,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Draft {
    id: String,
    class: Class,
    severity: Severity,
    first: Session,
    #[serde(with = "crate::state::serde_util::as_json")]
    context: SourceContext,
    evidence: Evidence,
    did: BTreeSet<String>,
    occurrences: u64,
    extended: u64,
    parent: Option<(ParentRef, String)>,
    allow_reason: Option<String>,
    learned_at: Option<EventTime>,
    /// The path's signature (for its recurrence at the end).
    sig: String,
    #[serde(with = "crate::state::serde_util::sorted_map")]
    routine: HashMap<String, Routine>,
    /// For a routine path: the sensitive actions its routine does not do (sorted; only grows).
    novel: Vec<String>,
    /// When the path first occurred (it is judged [`SETTLE`] later).
    first_at: EventTime,
    verdict: Verdict,
}

/// The detector.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct RoleChaining {
    #[serde(skip)]
    allow: Vec<ChainAllow>,
    paths: Keyed<String, PathSeen>,
    #[serde(with = "crate::state::serde_util::sorted_map")]
    drafts: HashMap<String, Draft>,
    leaves: Keyed<CompactString, String>,
    /// The latest event time seen (paths are read at the end as of then).
    last: EventTime,
    /// Occurrences of recurring paths not reported (normal operation, nothing new and sensitive).
    quiet: u64,
    /// Drafts waiting for their judgement: (when it is due, draft key).
    pending: BTreeSet<(EventTime, String)>,
}

impl RoleChaining {
    pub(super) fn new(allow: Vec<ChainAllow>) -> Self {
        RoleChaining {
            allow,
            paths: Keyed::new(PATH_TTL, MAX_PATHS),
            drafts: HashMap::new(),
            leaves: Keyed::new(LEAF_TTL, MAX_PATHS),
            last: EventTime(i64::MIN),
            quiet: 0,
            pending: BTreeSet::new(),
        }
    }

    /// Judges every draft whose wait ended before `now` (called first for every event, so a
    /// judgement sees exactly the events before the first one past its wait).
    pub(super) fn settle(&mut self, now: EventTime) {
        while let Some(first) = self.pending.first() {
            if first.0 > now {
                return;
            }
            let Some((_, dk)) = self.pending.pop_first() else {
                return;
            };
            if let Some(d) = self.drafts.get_mut(&dk) {
                d.judge(&self.paths, now);
            }
        }
    }

    /// After loading: the allow-list is the run's configuration.
    pub(super) fn configure(&mut self, allow: Vec<ChainAllow>) {
        self.allow = allow;
    }

    /// Occurrences of recurring role-chain paths that were not reported.
    pub(super) fn quiet(&self) -> u64 {
        self.quiet
    }

    /// An STS issuance (after the tracker linked it).
    pub(super) fn on_issued(
        &mut self,
        ev: &Event,
        tracker: &Tracker,
        book: &AddressBook,
        suspects: &mut Suspects,
    ) {
        let Detail::Issued(issued) = &ev.detail else {
            return;
        };
        let now = ev.time;
        self.last = self.last.max(now);
        self.leaves.maintain(now);
        self.paths.maintain(now);
        let lineage = tracker.lineage();
        let Some(s) = lineage.session(&issued.access_key_id, now) else {
            return;
        };
        if s.depth < 2 {
            return;
        }
        let key = issued.access_key_id.clone();
        if let Some(dk) = self.leaves.peek(&key, now) {
            // The same issuance logged again (the other account's copy).
            if let Some(d) = self.drafts.get_mut(dk) {
                add_unique(
                    &mut d.evidence,
                    now,
                    ev.event_id(),
                    Some(ev.action()),
                    ev.user_agent(),
                );
                // The reported path is a snapshot: give its hop the other copy's id too.
                for h in d.first.hops.iter_mut().filter(|h| h.key == key) {
                    if !h.event_ids.iter().any(|i| i == ev.event_id()) {
                        h.event_ids.push(ev.event_id().into());
                    }
                }
            }
            return;
        }
        let roles: Vec<&str> = s.roles().collect();
        let sig = signature(s, &roles);
        let allowed = self
            .allow
            .iter()
            .find(|a| a.matches(s.origin.kind.as_str(), &roles));
        let (seen, _) = self.paths.upsert(sig.clone(), now, PathSeen::default);
        let today = day(now);
        let learned = seen.days.iter().filter(|d| **d < today).count() >= LEARN_DAYS;
        if learned && seen.learned_at.is_none() {
            seen.learned_at = Some(now);
        }
        if !seen.days.contains(&today) && seen.days.len() < LEARN_DAYS {
            seen.days.push(today);
        }
        seen.count = seen.count.saturating_add(1);
        let hour = now.0.div_euclid(HOUR);
        if !seen.hours.contains(&hour) && seen.hours.len() < RECUR_HOURS {
            seen.hours.push(hour);
        }
        let learned_at = seen.learned_at;
        let class = match (allowed, learned) {
            (Some(_), _) => Class::Allowed,
            (None, true) => Class::Learned,
            (None, false) => Class::Alert,
        };
        let severity = match class {
            Class::Alert if s.depth >= 3 => Severity::High,
            Class::Alert => Severity::Medium,
            _ => Severity::Low,
        };
        let dk = format!("{}|{sig}", class.tag());
        if !self.drafts.contains_key(&dk) && self.drafts.len() >= MAX_DRAFTS {
            return;
        }
        let parent = suspects
            .nearest(&key, lineage, now, |x| x.kind != ROLE_CHAINING)
            .map(|(_, x)| (x.parent.clone(), x.what.clone()));
        let draft = self.drafts.entry(dk.clone()).or_insert_with(|| Draft {
            id: stable_id(&[ROLE_CHAINING, class.tag(), &sig]),
            class,
            severity,
            first: s.clone(),
            context: source_context(book, &ev.source_ip, Some(ev)),
            evidence: Evidence::default(),
            did: BTreeSet::new(),
            occurrences: 0,
            extended: 0,
            parent: None,
            allow_reason: allowed.map(|a| a.reason.clone()),
            learned_at,
            sig: sig.clone(),
            routine: HashMap::new(),
            novel: Vec::new(),
            first_at: now,
            verdict: Verdict::Pending,
        });
        draft.occurrences += 1;
        draft.severity = draft.severity.max(severity);
        if draft.parent.is_none() {
            draft.parent = parent;
        }
        if draft.verdict == Verdict::Pending {
            if draft.parent.is_some() {
                // Descends from a suspicious session: never routine, reported at once.
                draft.verdict = Verdict::Report;
            } else if draft.occurrences == 1 {
                self.pending.insert((now.plus(SETTLE), dk.clone()));
            }
        }
        for h in &s.hops {
            for id in &h.event_ids {
                let action = format!("sts:{}", h.via.as_str());
                add_unique(&mut draft.evidence, h.at, id, Some(action), &h.user_agent);
            }
        }
        let id = draft.id.clone();
        if class == Class::Alert {
            let what = format!("the last session of a {}-hop role chain", s.depth);
            suspects.flag(
                &key,
                now,
                Suspect {
                    kind: ROLE_CHAINING,
                    severity,
                    parent: ParentRef::Id(id),
                    since: now,
                    what,
                },
            );
        }
        // The chain went deeper: the shorter path's occurrence continues here.
        if let Some(pk) = s.last().caller_key.as_deref() {
            if let Some(prefix) = self.leaves.peek(pk, now).cloned() {
                if prefix != dk {
                    self.extend(&prefix, &dk);
                    self.leaves
                        .upsert(pk.into(), now, || dk.clone())
                        .0
                        .clone_from(&dk);
                }
            }
        }
        self.leaves.upsert(key, now, || dk);
    }

    fn extend(&mut self, prefix: &str, deeper: &str) {
        let Some(p) = self.drafts.get_mut(prefix) else {
            return;
        };
        p.extended += 1;
        if p.occurrences != 1 {
            return;
        }
        let (evidence, did) = (p.evidence.clone(), p.did.clone());
        if let Some(d) = self.drafts.get_mut(deeper) {
            merge(&mut d.evidence, &evidence);
            for a in did {
                if d.did.len() < MAX_DID {
                    d.did.insert(a);
                }
            }
        }
    }

    /// Any call: the calls of a chain's last session are what the chain was for.
    pub(super) fn on_call(&mut self, ev: &Event) {
        if self.leaves.is_empty()
            || ev.identity.kind != IdentityType::AssumedRole
            || matches!(ev.detail, Detail::Issued(_))
        {
            return;
        }
        let Some(key) = ev.identity.access_key_id.as_deref() else {
            return;
        };
        let Some(dk) = self.leaves.peek(key, ev.time) else {
            return;
        };
        if let Some(d) = self.drafts.get_mut(dk) {
            d.evidence.add(ev);
            let action = ev.action();
            let room = d.routine.len() < MAX_ROUTINE;
            match d.routine.get_mut(&action) {
                Some(r) if r.last_key != key => {
                    r.occurrences += 1;
                    r.last_key = key.into();
                }
                Some(_) => {}
                None if room => {
                    let sensitive = ev.read_only == Some(false)
                        && ev.identity.invoked_by.is_none()
                        && SENSITIVE_SOURCES.contains(&ev.event_source());
                    d.routine.insert(
                        action.clone(),
                        Routine {
                            occurrences: 1,
                            last_key: key.into(),
                            sensitive,
                        },
                    );
                }
                None => {}
            }
            if d.verdict == Verdict::Routine {
                d.note_novel(&action);
            }
            if d.did.len() < MAX_DID {
                d.did.insert(action);
            }
        }
    }

    /// The findings, each with the reference to its parent finding (resolved by the caller). At
    /// the end of the data (`end`) drafts still waiting are judged as of the last event; otherwise
    /// (a checkpoint of a stream that goes on) they stay unreported.
    pub(super) fn finish(&mut self, end: bool) -> Vec<(Finding, Option<ParentRef>)> {
        let mut out = Vec::new();
        for (_, mut d) in std::mem::take(&mut self.drafts) {
            if d.extended >= d.occurrences {
                continue;
            }
            if d.verdict == Verdict::Pending {
                if !end {
                    continue;
                }
                d.judge(&self.paths, self.last);
            }
            if d.verdict == Verdict::Routine {
                if d.novel.is_empty() {
                    self.quiet += d.occurrences.saturating_sub(d.extended);
                    continue;
                }
                // Learned or not, something new and sensitive is judged by depth again.
                d.severity = if d.first.depth >= 3 {
                    Severity::High
                } else {
                    Severity::Medium
                };
            }
            out.push(d.into_finding());
        }
        out
    }
}

impl Draft {
    /// The judgement after the wait: routine when the path recurs (and nothing suspicious is
    /// behind it), else reported.
    fn judge(&mut self, paths: &Keyed<String, PathSeen>, now: EventTime) {
        if self.verdict != Verdict::Pending {
            return;
        }
        let recurring =
            self.parent.is_none() && paths.peek(&self.sig, now).is_some_and(PathSeen::recurring);
        if !recurring {
            self.verdict = Verdict::Report;
            return;
        }
        self.verdict = Verdict::Routine;
        let actions: Vec<String> = self.routine.keys().cloned().collect();
        for a in actions {
            self.note_novel(&a);
        }
    }

    /// Records `action` as new to a routine path when it is sensitive and done by at most a
    /// quarter of the path's occurrences (decided when seen: a finding never loses it).
    fn note_novel(&mut self, action: &str) {
        let rare = (self.occurrences / 4).max(1) as u32;
        let novel = self
            .routine
            .get(action)
            .is_some_and(|r| r.sensitive && r.occurrences <= rare);
        if novel {
            if let Err(at) = self.novel.binary_search_by(|n| n.as_str().cmp(action)) {
                self.novel.insert(at, action.to_owned());
            }
        }
    }
}

/// Services whose writes a recurring chain must not start doing by surprise.
const SENSITIVE_SOURCES: &[&str] = &[
    "iam.amazonaws.com",
    "organizations.amazonaws.com",
    "sso.amazonaws.com",
    "identitystore.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "guardduty.amazonaws.com",
    "config.amazonaws.com",
    "kms.amazonaws.com",
    "sts.amazonaws.com",
];

/// A path: where it began and the roles it went through.
fn signature(s: &Session, roles: &[&str]) -> String {
    let o = &s.origin;
    let from = match o.kind {
        OriginKind::IamUser | OriginKind::Root => format!("{}:{}", o.kind.as_str(), o.principal),
        OriginKind::Ec2Instance | OriginKind::Unknown => format!(
            "{}:{}",
            o.kind.as_str(),
            o.role_arn.as_deref().unwrap_or(&o.principal)
        ),
        OriginKind::AwsService => format!(
            "{}:{}:{}",
            o.kind.as_str(),
            o.principal,
            o.role_arn.as_deref().unwrap_or("")
        ),
        OriginKind::SamlFederation | OriginKind::WebIdentityFederation => {
            o.kind.as_str().to_owned()
        }
    };
    format!("{from}>{}", roles.join(">"))
}

#[path = "chain_report.rs"]
mod report;

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
