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
//! * SSRF: per role, the workloads' clients are learned as (SDK family, major version) from calls
//!   made with the role's instance credentials from expected addresses. A call from the instance's
//!   own address with no agent or a raw HTTP client (curl, python-requests, Go-http-client, …) is an
//!   anomaly at once; one with a family the role's workloads never used is an anomaly once the
//!   role's profile is established ([`MIN_CALLS`] calls over [`MIN_SPAN`]). A new family seen on
//!   [`ROLLOUT`] instances of the role is a rollout and is learned. One finding per credential.
//!   VPC endpoint network-activity records (no agent, no `readOnly`) are not client calls and are
//!   never judged.
use std::collections::{BTreeSet, HashMap, HashSet};

use compact_str::CompactString;

use super::common::{apply_evidence, attach_lineage, blank, cut_off, source_context};
use super::suspects::{ParentRef, Suspect, Suspects};
use crate::address::AddressBook;
use crate::event::{Delivery, Event, IdentityType};
use crate::finding::{stable_id, Evidence, Finding, Severity};
use crate::keyed::Keyed;
use crate::remedy::StolenRole;
use crate::time::{EventTime, HOUR, MINUTE};
use crate::track::{Observation, Tracker, Verdict};
use crate::useragent::{Family, ToolKind, UserAgent};

/// Finding type names (part of the output contract).
pub const ATTACK_TOOL: &str = "AttackToolUserAgent";
/// See [`ATTACK_TOOL`].
pub const SSRF: &str = "SsrfUserAgentAnomaly";

/// Calls from expected addresses before a role's client profile is established.
pub const MIN_CALLS: u64 = 20;
/// Event time a role's profile must span before it is established.
pub const MIN_SPAN: i64 = 30 * MINUTE;
/// Instances of a role a new client family must appear on to count as a rollout.
pub const ROLLOUT: usize = 3;
/// Distinct agents memoised before the cache starts over.
/// Client families remembered per role.
const MAX_FAMILIES: usize = 16;

fn base_severity(kind: ToolKind) -> Severity {
    match kind {
        ToolKind::Offensive => Severity::High,
        ToolKind::PentestOs | ToolKind::CredentialCheck | ToolKind::Simulation => Severity::Medium,
        ToolKind::Audit => Severity::Low,
    }
}

struct ToolDraft {
    finding: Finding,
    kind: ToolKind,
    evidence: Evidence,
    sessions: BTreeSet<String>,
    agents: HashSet<String>,
    parent: Option<(ParentRef, String)>,
    roles: BTreeSet<String>,
    origin_key: Option<CompactString>,
}

/// `AttackToolUserAgent`.
pub(super) struct AttackTools {
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
            .or_else(|| id.arn.as_deref().map(str::to_owned))
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
                    .map_or(id.arn.as_deref().unwrap_or(&root), |s| &s.origin.principal)
            );
            f.account_id = ev.account().to_owned();
            f.region = ev.region.to_string();
            f.principal_arn = session
                .filter(|s| s.origin.key.is_some())
                .map(|s| s.origin.principal.to_string())
                .or_else(|| id.arn.as_deref().map(str::to_owned))
                .unwrap_or_default();
            f.access_key_id = session
                .and_then(|s| s.origin.key.as_deref())
                .or(key)
                .unwrap_or("")
                .to_owned();
            f.source_ip = ev.source_ip.to_string();
            f.source_ip_context = source_context(book, &ev.source_ip, Some(ev));
            f.user_agent = ev.user_agent.to_string();
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
            d.agents.insert(ev.user_agent.to_string());
        }
        if let Some(k) = key {
            if d.sessions.len() < 100 {
                d.sessions.insert(k.to_owned());
            }
        }
        if let Some(r) = id.issuer_arn.as_deref() {
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

/// A client: SDK family and major version.
type ClientKey = (Family, Option<u16>);

/// A role's workload clients.
#[derive(Default)]
struct RoleProfile {
    families: Vec<ClientKey>,
    calls: u64,
    first: EventTime,
    /// Unknown families seen, with the instances they came from.
    candidates: Vec<(ClientKey, Vec<CompactString>)>,
}

struct SsrfDraft {
    finding: Finding,
    evidence: Evidence,
    learned: Vec<(Family, Option<u16>)>,
    reasons: BTreeSet<&'static str>,
    delivery: Option<Delivery>,
}

/// `SsrfUserAgentAnomaly`.
pub(super) struct Ssrf {
    roles: Keyed<CompactString, RoleProfile>,
    drafts: HashMap<CompactString, SsrfDraft>,
}

impl Ssrf {
    pub(super) fn new() -> Self {
        Ssrf {
            roles: Keyed::new(7 * 24 * HOUR, 200_000),
            drafts: HashMap::new(),
        }
    }

    /// A call made with instance credentials, as the tracker judged it.
    pub(super) fn on_observation(
        &mut self,
        ev: &Event,
        obs: &Observation,
        ua: &UserAgent,
        tracker: &Tracker,
        book: &AddressBook,
        suspects: &mut Suspects,
    ) {
        if !matches!(obs.verdict, Verdict::Expected(_) | Verdict::Locked) {
            return;
        }
        if ua.is_aws_service() || ua.is_console() || is_network_activity(ev) {
            return;
        }
        let now = ev.time;
        let inst = tracker.instance(&obs.instance, now);
        let Some(role) = ev
            .identity
            .issuer_arn
            .as_deref()
            .or_else(|| inst.and_then(|i| i.role_arn.as_deref()))
        else {
            return;
        };
        self.roles.maintain(now);
        let (p, fresh) = self.roles.upsert(role.into(), now, RoleProfile::default);
        if fresh {
            p.first = now;
        }
        let fk = ua.family_key();
        let raw = matches!(ua.family, Family::Empty | Family::RawHttp);
        let known = p.families.contains(&fk);
        let established = p.calls >= MIN_CALLS && now.since(p.first) >= MIN_SPAN;
        let reason = if raw {
            if ua.family == Family::Empty {
                "no user agent"
            } else {
                "a raw HTTP client"
            }
        } else if !known && established {
            let room = p.candidates.len() < MAX_FAMILIES;
            match p.candidates.iter_mut().find(|(f, _)| *f == fk) {
                Some((_, insts)) if !insts.contains(&obs.instance) => {
                    insts.push(obs.instance.clone())
                }
                Some(_) => {}
                None if room => p.candidates.push((fk, vec![obs.instance.clone()])),
                None => {}
            }
            if p.candidates
                .iter()
                .any(|(f, i)| *f == fk && i.len() >= ROLLOUT)
            {
                // The same new client on several instances: a rollout, not an intrusion.
                p.families.push(fk);
                return;
            }
            "a client the role's workloads never used"
        } else {
            if !known && p.families.len() < MAX_FAMILIES {
                p.families.push(fk);
            }
            p.calls += 1;
            return;
        };
        let learned = p.families.clone();
        let severity = if raw && obs.delivery == Some(Delivery::ImdsV1) {
            Severity::High
        } else {
            Severity::Medium
        };
        let d = self.drafts.entry(obs.key.clone()).or_insert_with(|| {
            let mut f = blank(SSRF, severity);
            let account = inst.map_or(ev.account(), |i| i.account.as_str());
            f.id = stable_id(&[SSRF, account, &obs.instance, &obs.key]);
            f.account_id = account.to_owned();
            f.region = ev.region.to_string();
            f.principal_arn = ev.identity.arn.as_deref().unwrap_or("").to_owned();
            f.role_arn = Some(role.to_owned());
            f.access_key_id = obs.key.to_string();
            f.instance_id = Some(obs.instance.to_string());
            f.credential_delivery = obs.delivery.map(Delivery::as_str);
            f.source_ip = obs.ip.to_string();
            f.source_ip_context = source_context(book, &ev.source_ip, Some(ev));
            f.source_ip_context.summary = format!(
                "the instance's own address ({})",
                f.source_ip_context.summary
            );
            f.user_agent = ev.user_agent.to_string();
            SsrfDraft {
                finding: f,
                evidence: Evidence::default(),
                learned,
                reasons: BTreeSet::new(),
                delivery: obs.delivery,
            }
        });
        d.finding.severity = d.finding.severity.max(severity);
        d.evidence.add(ev);
        d.reasons.insert(reason);
        suspects.flag(
            &obs.key,
            now,
            Suspect {
                kind: SSRF,
                severity: d.finding.severity,
                parent: ParentRef::Id(d.finding.id.clone()),
                since: now,
                what: format!("instance credentials used from the instance with {reason}"),
            },
        );
    }

    pub(super) fn finish(self) -> Vec<(Finding, Option<ParentRef>)> {
        self.drafts
            .into_values()
            .map(|d| (d.into_finding(), None))
            .collect()
    }
}

impl SsrfDraft {
    fn into_finding(self) -> Finding {
        let SsrfDraft {
            mut finding,
            evidence,
            learned,
            reasons,
            delivery,
        } = self;
        apply_evidence(&mut finding, &evidence);
        let instance = finding.instance_id.clone().unwrap_or_default();
        let why: Vec<&str> = reasons.into_iter().collect();
        finding.title = format!(
            "Instance credentials of {instance} used from the instance with {}",
            why.join(" / ")
        );
        let families: Vec<String> = learned
            .iter()
            .map(|(f, m)| match m {
                Some(m) => format!("{} {m}", f.as_str()),
                None => f.as_str().to_owned(),
            })
            .collect();
        let agents: Vec<&str> = evidence
            .user_agents
            .iter()
            .map(|u| if u.is_empty() { "(none)" } else { u.as_str() })
            .collect();
        let mut t = format!(
            "Temporary credentials {} of instance {instance} (role {}) were used from the instance's own address {} with {}: {}. The role's workloads use {}. A server-side request forgery replays stolen instance credentials through the application's own HTTP client, so the address is right but the client is not an AWS SDK (Netflix, \"Detecting Credential Compromise in AWS\"); a shell on the instance shows the same way.",
            finding.access_key_id,
            finding.role_arn.as_deref().unwrap_or("?"),
            finding.source_ip,
            why.join(" and "),
            agents.join(", "),
            if families.is_empty() { "nothing learned yet".to_owned() } else { families.join(", ") },
        );
        if delivery == Some(Delivery::ImdsV1) {
            t.push_str(" The key was delivered by IMDSv1, which a plain HTTP GET can read: the signature of SSRF. Enforce IMDSv2.");
        }
        if let Some(o) = &finding.origin {
            t.push_str(&format!(" Origin: {}.", o.principal));
        }
        finding.explanation = t;
        finding.remediation = StolenRole::of(&finding, delivery, evidence.last).remediation();
        finding
    }
}

/// A VPC endpoint's network-activity record (`eventType` `AwsVpceEvent`, `eventCategory`
/// `NetworkActivity`) rather than the API call itself: CloudTrail writes it with the endpoint but
/// without `userAgent` or `readOnly`, which every `AwsApiCall` record carries. It says nothing about
/// the client, so its missing agent is not "no user agent". (The decoded event keeps no `eventType`;
/// this shape is how such records look — CloudTrail network activity events, AWS docs.)
pub(super) fn is_network_activity(ev: &Event) -> bool {
    ev.user_agent.is_empty() && ev.read_only.is_none() && ev.vpc_endpoint_id.is_some()
}

#[cfg(test)]
#[path = "useragent_tests.rs"]
mod tests;
