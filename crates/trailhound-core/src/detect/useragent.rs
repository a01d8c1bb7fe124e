//! User-agent anomalies (SPEC §2.3): `AttackToolUserAgent` on any principal, and
//! `SsrfUserAgentAnomaly` for instance credentials used from the instance's own address.
//!
//! * Agents are parsed once per distinct string ([`crate::useragent::AgentCache`]): `useragent::UserAgent::parse` is
//!   pure, so memoising it changes nothing but the cost (the same few agents repeat millions of times).
//! * AWS services' and the console's agents are never flagged and never learned.
//! * Attack tools: a row of `data/useragent-attack-tools.tsv` named in the agent. Severity by kind:
//!   `offensive` (Pacu's `Pacu-Session-<uuid>` suffix) high; `pentest-os` (Kali, Parrot, Pentoo),
//!   `credential-check` (TruffleHog) and `simulation` (Stratus Red Team) medium; `audit` (ScoutSuite,
//!   Prowler) low. Raised to the parent's severity when the session descends from a suspicious one.
//!   Stratus Red Team *is* an attack tool: its detonations perform real techniques in the account.
//!   It is reported (medium) so no detonation goes unnoticed, and what it does links to it; an
//!   announced test is silenced with a `[[suppress]]` for its principal. One finding per (origin
//!   credential, tool): the sessions a credential assumed roll up into its finding.
//! * SSRF: see `ssrf`.
use std::collections::{BTreeSet, HashMap, HashSet};

use compact_str::CompactString;

use super::common::{apply_evidence, attach_lineage, blank, cut_off, source_context};
use super::suspects::{ParentRef, Suspect, Suspects};
use crate::address::AddressBook;
use crate::event::{Event, IdentityType};
use crate::finding::{stable_id, Evidence, Finding, Severity};
use crate::keyed::Keyed;
use crate::time::{EventTime, MINUTE};
use crate::track::Tracker;
use crate::useragent::{ToolKind, UserAgent};

/// Finding type names (part of the output contract).
pub const ATTACK_TOOL: &str = "AttackToolUserAgent";

fn base_severity(kind: ToolKind) -> Severity {
    match kind {
        ToolKind::Offensive => Severity::High,
        ToolKind::PentestOs | ToolKind::CredentialCheck | ToolKind::Simulation => Severity::Medium,
        ToolKind::Audit => Severity::Low,
    }
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ToolDraft {
    #[serde(with = "crate::state::serde_util::as_json")]
    finding: Finding,
    kind: ToolKind,
    evidence: Evidence,
    sessions: BTreeSet<String>,
    #[serde(with = "crate::state::serde_util::sorted_set")]
    agents: HashSet<String>,
    parent: Option<(ParentRef, String)>,
    roles: BTreeSet<String>,
    origin_key: Option<CompactString>,
}

/// `AttackToolUserAgent`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct AttackTools {
    #[serde(with = "crate::state::serde_util::sorted_map")]
    drafts: HashMap<String, ToolDraft>,
    /// Sessions seen with a tool before their issuance (same second, smaller eventID): their
    /// drafts are folded into the origin's when the issuance arrives.
    orphans: Keyed<CompactString, String>,
}

impl AttackTools {
    pub(super) fn new() -> Self {
        AttackTools {
            drafts: HashMap::new(),
            orphans: Keyed::new(MINUTE, 10_000),
        }
    }

    /// An STS issuance: a session used with the tool just before its issuance was logged joins its
    /// origin's finding.
    pub(super) fn on_issued(&mut self, key: &str, tracker: &Tracker, now: EventTime) {
        if self.orphans.is_empty() {
            return;
        }
        self.orphans.maintain(now);
        let Some(old) = self.orphans.remove(key) else {
            return;
        };
        let Some(s) = tracker.lineage().session(key, now) else {
            return;
        };
        let root = s
            .origin
            .key
            .as_deref()
            .unwrap_or(s.origin.principal.as_str());
        let Some((tool, _)) = old.split_once('|') else {
            return;
        };
        let new = format!("{tool}|{root}");
        if new == old || !self.drafts.contains_key(&new) {
            return;
        }
        let Some(d) = self.drafts.remove(&old) else {
            return;
        };
        if let Some(into) = self.drafts.get_mut(&new) {
            super::common::merge(&mut into.evidence, &d.evidence);
            into.evidence.count += d
                .evidence
                .count
                .saturating_sub(d.evidence.events.len() as u64);
            into.sessions.extend(d.sessions);
            into.agents.extend(d.agents);
            into.roles.extend(d.roles);
            into.finding.severity = into.finding.severity.max(d.finding.severity);
        }
    }

    pub(super) fn on_event(
        &mut self,
        ev: &Event,
        ua: &UserAgent,
        tracker: &Tracker,
        book: &AddressBook,
        suspects: &mut Suspects,
    ) {
        let (Some(tool), Some(kind)) = (ua.attack_tool, ua.attack_kind) else {
            return;
        };
        if ua.is_aws_service() || ua.is_console() || ev.identity.kind == IdentityType::AwsService {
            return;
        }
        let now = ev.time;
        let id = &ev.identity;
        let key = id.access_key_id.as_deref().filter(|k| !k.is_empty());
        let lineage = tracker.lineage();
        let session = key.and_then(|k| lineage.session(k, now));
        // The credential the sessions roll up to: the chain's origin key, else this key, else who.
        let root: String = session
            .and_then(|s| s.origin.key.as_deref().map(str::to_owned))
            .or_else(|| session.map(|s| s.origin.principal.to_string()))
            .or_else(|| key.map(str::to_owned))
            .or_else(|| ev.identity_arn().map(str::to_owned))
            .unwrap_or_else(|| ev.account().to_owned());
        let parent = key.and_then(|k| {
            suspects
                .nearest(k, lineage, now, |s| s.kind != ATTACK_TOOL)
                .map(|(_, s)| (s.parent.clone(), s.what.clone(), s.severity))
        });
        let severity = base_severity(kind).max(parent.as_ref().map_or(Severity::Low, |p| p.2));
        let dk = format!("{tool}|{root}");
        if let (Some(k), None) = (key, session) {
            if tracker.key(k, now).is_none() {
                self.orphans.upsert(k.into(), now, || dk.clone());
            }
        }
        let d = self.drafts.entry(dk).or_insert_with(|| {
            let mut f = blank(ATTACK_TOOL, severity);
            f.id = stable_id(&[ATTACK_TOOL, ev.account(), &root, tool]);
            f.title = format!(
                "{tool} ({}) user agent on {}",
                kind.as_str(),
                session
                    .filter(|s| s.origin.key.is_some())
                    .map_or(ev.identity_arn().unwrap_or(&root), |s| &s.origin.principal)
            );
            f.account_id = ev.account().to_owned();
            f.region = ev.region.to_string();
            f.principal_arn = session
                .filter(|s| s.origin.key.is_some())
                .map(|s| s.origin.principal.to_string())
                .or_else(|| ev.identity_arn().map(str::to_owned))
                .unwrap_or_default();
            f.access_key_id = session
                .and_then(|s| s.origin.key.as_deref())
                .or(key)
                .unwrap_or("")
                .to_owned();
            f.source_ip = ev.source_ip.to_string();
            f.source_ip_context = source_context(book, &ev.source_ip, Some(ev));
            f.user_agent = ev.user_agent().to_string();
            if let Some(s) = session {
                attach_lineage(&mut f, s);
            }
            ToolDraft {
                finding: f,
                kind,
                evidence: Evidence::default(),
                sessions: BTreeSet::new(),
                agents: HashSet::new(),
                parent: parent.as_ref().map(|p| (p.0.clone(), p.1.clone())),
                roles: BTreeSet::new(),
                origin_key: session.and_then(|s| s.origin.key.clone()),
            }
        });
        d.finding.severity = d.finding.severity.max(severity);
        d.evidence.add(ev);
        if d.agents.len() < 1000 {
            d.agents.insert(ev.user_agent().to_string());
        }
        if let Some(k) = key {
            if d.sessions.len() < 100 {
                d.sessions.insert(k.to_owned());
            }
        }
        if let Some(r) = ev.issuer_arn() {
            if d.roles.len() < 50 {
                d.roles.insert(r.to_owned());
            }
        }
        let suspect = Suspect {
            kind: ATTACK_TOOL,
            severity: d.finding.severity,
            parent: ParentRef::Id(d.finding.id.clone()),
            since: now,
            what: format!("driven by {tool} ({})", kind.as_str()),
        };
        for k in key.into_iter().chain(d.origin_key.as_deref()) {
            suspects.flag(k, now, suspect.clone());
        }
    }

    pub(super) fn finish(self) -> Vec<(Finding, Option<ParentRef>)> {
        self.drafts
            .into_values()
            .map(ToolDraft::into_finding)
            .collect()
    }
}

impl ToolDraft {
    fn into_finding(self) -> (Finding, Option<ParentRef>) {
        let ToolDraft {
            mut finding,
            kind,
            evidence,
            sessions,
            agents,
            parent,
            roles,
            ..
        } = self;
        apply_evidence(&mut finding, &evidence);
        let tool = finding.title.split(" (").next().unwrap_or("").to_owned();
        let who = if finding.principal_arn.is_empty() {
            "the caller".to_owned()
        } else {
            finding.principal_arn.clone()
        };
        let mut t = format!(
            "{who} made {} call(s) whose user agent names {tool}, from {} ({}).",
            evidence.count, finding.source_ip, finding.source_ip_context.summary
        );
        t.push_str(match kind {
            ToolKind::Offensive => " It is an attack framework: whoever holds these credentials is running offensive tooling against the account.",
            ToolKind::PentestOs => " The agent reports a penetration-testing distribution; GuardDuty raises its PenTest findings on the same marker. Either an announced test, or an attacker's machine.",
            ToolKind::CredentialCheck => " The tool validates leaked keys: the credential is exposed somewhere (a repository, a log, a paste) and someone checked that it works.",
            ToolKind::Simulation => " Stratus Red Team is an adversary-emulation tool: each detonation (one stratus-red-team_<uuid> per technique) performs a real attack technique in the account. It is usually an announced detection test — confirm it was, check that its cleanup ran, and silence it with a suppression for this principal if so.",
            ToolKind::Audit => " It is a dual-use posture scanner, also run by defenders (reported at low severity): confirm the scan was authorised.",
        });
        if agents.len() > 1 {
            t.push_str(&format!(
                " {} distinct agents (runs) were seen.",
                agents.len()
            ));
        }
        if sessions.len() > 1 {
            t.push_str(&format!(
                " {} credentials were involved (the origin and the role sessions it assumed{}).",
                sessions.len(),
                if roles.is_empty() {
                    String::new()
                } else {
                    format!(": {}", roles.iter().cloned().collect::<Vec<_>>().join(", "))
                }
            ));
        }
        if let Some(o) = &finding.origin {
            t.push_str(&format!(" Origin: {} ({}).", o.principal, o.kind));
        }
        if let Some((_, what)) = &parent {
            t.push_str(&format!(" The session was already suspicious: {what}."));
        }
        finding.explanation = t;
        let role_list: Vec<&str> = roles.iter().map(String::as_str).collect();
        let (mut steps, commands, policy) = cut_off(
            &role_list,
            None,
            &finding.access_key_id,
            &finding.principal_arn,
            evidence.last,
        );
        steps.insert(
            0,
            format!(
                "Ask the owner of {who} whether {tool} was run with these credentials, by whom and why."
            ),
        );
        if kind == ToolKind::Simulation {
            steps.push("For an authorised detonation: make sure its cleanup ran (`stratus cleanup`, or remove what it created), then suppress this type for the principal.".to_owned());
        }
        finding.remediation.summary = format!(
            "Confirm {tool} was authorised for {who}; if not, cut off the credential and everything it issued."
        );
        finding.remediation.steps = steps;
        finding.remediation.commands = commands;
        finding.remediation.revoke_policy = policy;
        (finding, parent.map(|p| p.0))
    }
}

#[cfg(test)]
#[path = "useragent_tests.rs"]
mod tests;
