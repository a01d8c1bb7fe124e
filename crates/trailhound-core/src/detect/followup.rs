//! What the attacker does next (SPEC §2.4): `Persistence`, `PrivilegeEscalation`, `DefenseEvasion`,
//! from the documented event list `data/catalog-follow-ups.tsv` (cloudsplaining's privilege-escalation
//! methods, Stratus Red Team persistence and defense-evasion techniques, GuardDuty's `Stealth:*`).
//!
//! | when | severity |
//! |---|---|
//! | the credential, or one it descends from, is suspicious (exfiltrated instance credential, the end of an unusual role chain, an attack tool, an SSRF-like call) | the parent finding's (medium or high), linked by `parent_finding_id` |
//! | any other principal | low: context, not an alert — except reaching into instances (below) |
//!
//! * Reaching into an instance (`ssm:StartSession`, `ssm:SendCommand`,
//!   `ec2-instance-connect:SendSSHPublicKey`, `SendSerialConsoleSSHPublicKey`) is how people operate
//!   instances every day: it is a follow-up only from a suspicious session (issue 13: a low finding
//!   per engineer is noise). What a person then does with an instance's credentials elsewhere is
//!   `InstanceCredentialExfiltration.CopiedByOperator`.
//!
//! * Only writes count (`readOnly` true is skipped first: the cheap test on every event); calls by
//!   AWS services (`AWSService`, `invokedBy`) never count. Failed calls count as attempts (an
//!   `AccessDenied` `StopLogging` is still an attempt to blind the account) and are said so.
//! * Role-passing calls (`RunInstances` with an instance profile, `CreateFunction` with a role, …) are
//!   `PassRole` abuse only when their role parameter is present; the decoded event does not carry
//!   request parameters, so they are left out rather than raised on every launch.
//! * One finding per (family, parent finding) for linked calls — everything a compromise led to, in
//!   one place per family — and per (family, principal) otherwise (the role for role sessions, so an
//!   automation role's many sessions make one finding).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::common::{
    apply_evidence, attach_lineage, blank, cut_off, describe_origin, source_context,
};
use super::suspects::{ParentRef, Suspects};
use crate::address::AddressBook;
use crate::catalog::{Catalog, FollowUp};
use crate::event::{Event, IdentityType};
use crate::finding::{stable_id, Evidence, Finding, Severity};
use crate::track::{Session, Tracker};

/// Drafts kept (distinct (family, subject) pairs).
const MAX_DRAFTS: usize = 100_000;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Draft {
    #[serde(with = "crate::state::serde_util::as_json")]
    finding: Finding,
    family: FollowUp,
    evidence: Evidence,
    #[serde(
        serialize_with = "crate::state::serde_util::pairs",
        deserialize_with = "crate::state::serde_util::leak"
    )]
    reasons: BTreeMap<String, crate::state::serde_util::Name>,
    failed: BTreeMap<String, u64>,
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    mitre: BTreeSet<crate::state::serde_util::Name>,
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    parent: Option<(ParentRef, String, crate::state::serde_util::Name)>,
    session: Option<Session>,
}

/// The detector.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct FollowUps {
    #[serde(with = "crate::state::serde_util::sorted_map")]
    drafts: HashMap<String, Draft>,
}

impl FollowUps {
    pub(super) fn on_event(
        &mut self,
        ev: &Event,
        catalog: &Catalog,
        tracker: &Tracker,
        book: &AddressBook,
        suspects: &Suspects,
    ) {
        if ev.read_only == Some(true) {
            return;
        }
        let id = &ev.identity;
        if id.kind == IdentityType::AwsService || id.invoked_by.is_some() {
            return;
        }
        let facts = catalog.lookup(ev.event_source(), ev.event_name());
        let Some((family, reason)) = facts.follow_up else {
            return;
        };
        if facts.role_parameter.is_some() {
            return;
        }
        let now = ev.time;
        let key = id.access_key_id.as_deref().filter(|k| !k.is_empty());
        let lineage = tracker.lineage();
        let parent = key.and_then(|k| suspects.nearest(k, lineage, now, |_| true));
        if parent.is_none() && reaches_into_instances(ev.event_source(), ev.event_name()) {
            return;
        }
        let severity = parent.map_or(Severity::Low, |(_, s)| s.severity.max(Severity::Medium));
        let subject = match parent {
            Some((_, s)) => format!("parent:{}", s.parent.key()),
            None => format!("principal:{}:{}", ev.account(), principal(ev)),
        };
        let dk = format!("{}|{subject}", family.as_str());
        if !self.drafts.contains_key(&dk) && self.drafts.len() >= MAX_DRAFTS {
            return;
        }
        let session = key.and_then(|k| lineage.session(k, now));
        let d = self.drafts.entry(dk).or_insert_with(|| {
            let mut f = blank(family.as_str(), severity);
            f.id = stable_id(&[family.as_str(), &subject]);
            f.account_id = ev.account().to_owned();
            f.region = ev.region.to_string();
            f.principal_arn = ev.identity_arn().unwrap_or("").to_owned();
            f.role_arn = ev.issuer_arn().map(str::to_owned);
            f.access_key_id = key.unwrap_or("").to_owned();
            f.instance_id = key
                .and_then(|k| tracker.key(k, now))
                .map(|i| i.instance.to_string());
            f.source_ip = ev.source_ip.to_string();
            f.source_ip_context = source_context(book, &ev.source_ip, Some(ev));
            f.user_agent = ev.user_agent().to_string();
            if let Some(s) = session {
                attach_lineage(&mut f, s);
            }
            Draft {
                finding: f,
                family,
                evidence: Evidence::default(),
                reasons: BTreeMap::new(),
                failed: BTreeMap::new(),
                mitre: BTreeSet::new(),
                parent: parent.map(|(_, s)| (s.parent.clone(), s.what.clone(), s.kind)),
                session: session.cloned(),
            }
        });
        d.finding.severity = d.finding.severity.max(severity);
        d.evidence.add(ev);
        let action = ev.action();
        d.mitre.extend(facts.techniques.iter().map(|t| t.id));
        if let Some(code) = &ev.error_code {
            *d.failed.entry(format!("{action} ({code})")).or_default() += 1;
        }
        if d.reasons.len() < 100 {
            d.reasons.entry(action).or_insert(reason);
        }
    }

    pub(super) fn finish(self) -> Vec<(Finding, Option<ParentRef>)> {
        self.drafts.into_values().map(Draft::into_finding).collect()
    }
}

/// Who the calls are attributed to when no suspicious session is behind them: the role of a role
/// session (its sessions are many), else the caller's ARN.
fn principal(ev: &Event) -> &str {
    let id = &ev.identity;
    if id.kind == IdentityType::AssumedRole {
        if let Some(r) = ev.issuer_arn() {
            return r;
        }
    }
    ev.identity_arn().unwrap_or("unknown")
}

/// Session Manager, Run Command and EC2 Instance Connect: people's everyday way onto instances.
fn reaches_into_instances(source: &str, name: &str) -> bool {
    matches!(
        (source, name),
        ("ssm.amazonaws.com", "StartSession" | "SendCommand")
            | (
                "ec2-instance-connect.amazonaws.com",
                "SendSSHPublicKey" | "SendSerialConsoleSSHPublicKey"
            )
    )
}

fn words(f: FollowUp) -> &'static str {
    match f {
        FollowUp::Persistence => "persistence (new identities, keys, passwords or trust)",
        FollowUp::PrivilegeEscalation => "privilege-escalation (policy and permission changes)",
        FollowUp::DefenseEvasion => {
            "defense-evasion (logging and monitoring switched off or changed)"
        }
    }
}

impl Draft {
    fn into_finding(self) -> (Finding, Option<ParentRef>) {
        let Draft {
            mut finding,
            family,
            evidence,
            reasons,
            failed,
            mitre,
            parent,
            session,
        } = self;
        apply_evidence(&mut finding, &evidence);
        if !mitre.is_empty() {
            finding.mitre = mitre.into_iter().collect();
        }
        let who = if finding.principal_arn.is_empty() {
            "an unnamed caller".to_owned()
        } else {
            finding.principal_arn.clone()
        };
        let names: Vec<&str> = reasons
            .keys()
            .map(|a| a.split_once(':').map_or(a.as_str(), |(_, n)| n))
            .collect();
        finding.title = format!(
            "{}: {} by {}{}",
            family.as_str(),
            names.join(", "),
            short(&who),
            match &parent {
                Some((_, what, _)) => format!(" after {what}"),
                None => String::new(),
            }
        );
        let list: Vec<String> = reasons.iter().map(|(a, r)| format!("{a} ({r})")).collect();
        let mut t = format!(
            "{who} made {} {} call(s): {}.",
            evidence.count,
            words(family),
            list.join("; ")
        );
        if !failed.is_empty() {
            let f: Vec<String> = failed.iter().map(|(a, n)| format!("{a} ×{n}")).collect();
            t.push_str(&format!(
                " Failed attempts (still intent): {}.",
                f.join(", ")
            ));
        }
        match &parent {
            Some((_, what, kind)) => t.push_str(&format!(
                " The credential descends from a suspicious session — {what} ({kind}) — so this is what the intruder did next: reported at that finding's severity and linked to it."
            )),
            None => t.push_str(" No suspicious session is behind these calls: reported at low severity as context. They matter if this principal turns out to be compromised."),
        }
        if let Some(s) = &session {
            if s.depth > 0 || s.hops.len() > 1 {
                t.push_str(&format!(
                    " The session began at {} and went through {} issuance(s).",
                    describe_origin(&s.origin),
                    s.hops.len()
                ));
            }
        }
        finding.explanation = t;
        let roles: Vec<&str> = session
            .as_ref()
            .map(|s| s.roles().collect())
            .unwrap_or_default();
        let (mut steps, mut commands, policy) = if parent.is_some() {
            cut_off(
                &roles,
                session.as_ref().map(|s| &s.origin),
                &finding.access_key_id,
                &finding.principal_arn,
                evidence.last,
            )
        } else {
            (Vec::new(), Vec::new(), None)
        };
        let (summary, step, cmds): (&str, &str, &[&str]) = match family {
            FollowUp::Persistence => (
                "Find and remove what was created: users, access keys, login profiles, roles, trust-policy changes, identity providers.",
                "Undo the persistence: list IAM users and their access keys and login profiles created in the window, roles created or whose trust policy changed, and new SAML/OIDC providers; delete what the owner does not recognise (after preserving evidence).",
                &["aws iam get-account-authorization-details --output json > iam-snapshot.json", "aws iam list-access-keys --user-name <user>", "aws iam delete-access-key --user-name <user> --access-key-id <key>", "aws iam delete-login-profile --user-name <user>"],
            ),
            FollowUp::PrivilegeEscalation => (
                "Revert the permission changes: detach or delete the policies added, restore policy default versions.",
                "Undo the escalation: review policies attached or written to users, groups and roles in the window, policy versions created or made default, and boundaries removed; restore the previous state.",
                &["aws iam list-attached-user-policies --user-name <user>", "aws iam list-user-policies --user-name <user>", "aws iam delete-user-policy --user-name <user> --policy-name <policy>", "aws iam list-policy-versions --policy-arn <policy-arn>"],
            ),
            FollowUp::DefenseEvasion => (
                "Restore logging and detection now: trails, event selectors, GuardDuty, Config, flow logs.",
                "Restore visibility first: restart or recreate the trail and its event selectors, re-enable GuardDuty/Security Hub/Config, recreate flow logs and log groups; events missed while blind must be searched for elsewhere (S3 access logs, VPC flow logs, other accounts).",
                &["aws cloudtrail describe-trails", "aws cloudtrail start-logging --name <trail>", "aws cloudtrail get-event-selectors --trail-name <trail>", "aws guardduty list-detectors"],
            ),
        };
        steps.insert(0, step.to_owned());
        commands.extend(cmds.iter().map(|c| (*c).to_owned()));
        finding.remediation.summary = summary.to_owned();
        finding.remediation.steps = steps;
        finding.remediation.commands = commands;
        finding.remediation.revoke_policy = policy;
        (finding, parent.map(|p| p.0))
    }
}

fn short(s: &str) -> &str {
    s.rsplit(['/', ':']).next().unwrap_or(s)
}

#[cfg(test)]
#[path = "followup_tests.rs"]
mod tests;
