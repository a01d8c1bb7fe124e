//! Findings: the output contract (SPEC §4), stable ids, and the evidence accumulator every
//! detector shares ("one finding per (credential, source address): counts, evidence, no storms").
use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::address::IpContext;
use crate::event::Event;
use crate::time::EventTime;

/// How bad.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Investigate.
    Medium,
    /// Act now.
    High,
    /// Act now, confirmed compromise.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Severity> {
        [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// How sure trailhound is that the finding is what it says.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Weak evidence.
    Low,
    /// Some context missing (e.g. the session started before the input).
    Medium,
    /// The full story is in the input.
    High,
}

/// An expected address of the instance, shown as evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExpectedAddress {
    /// Address.
    pub ip: String,
    /// How it became expected.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub how: crate::state::serde_util::Name,
    /// Since when.
    pub since: String,
}

/// What to do.
#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Remediation {
    /// One line.
    pub summary: String,
    /// Ordered steps.
    pub steps: Vec<String>,
    /// Commands to run (AWS CLI).
    pub commands: Vec<String>,
    /// For stolen role credentials: the inline policy that revokes sessions issued before the
    /// given time (Deny `*` with `DateLessThan aws:TokenIssueTime`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_policy: Option<serde_json::Value>,
}

/// Whether a run reports a finding for the first time (`--state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not reported before.
    New,
    /// Reported before; more evidence since (same `id`, `last_seen` and `event_count` grown).
    Updated,
}

/// One finding (SPEC §4).
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Finding {
    /// Stable id: a hash of the type and what the finding is about (never random).
    pub id: String,
    /// With durable state (`--state`): whether this run reports the finding for the first time
    /// or reports more evidence for one reported before (same `id`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Finding type, e.g. `InstanceCredentialExfiltration.OutsideAWS`.
    #[serde(rename = "type")]
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub finding_type: crate::state::serde_util::Name,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// One line for people.
    pub title: String,
    /// Account of the principal.
    pub account_id: String,
    /// Region of the first evidence event.
    pub region: String,
    /// The caller's ARN.
    pub principal_arn: String,
    /// The role behind the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The credential used.
    pub access_key_id: String,
    /// Every credential the finding covers, when more than one (an instance's keys across
    /// refreshes: one finding per instance and address, not per key); `access_key_id` first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_key_ids: Vec<String>,
    /// The instance the credential was issued to, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// `IMDSv1` / `IMDSv2`, for instance credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub credential_delivery: Option<crate::state::serde_util::Name>,
    /// Source address of the evidence.
    pub source_ip: String,
    /// What the address is.
    pub source_ip_context: SourceContext,
    /// User agent of the first evidence event.
    pub user_agent: String,
    /// Distinct user agents (first ten).
    pub user_agents: Vec<String>,
    /// First evidence time.
    pub first_seen: String,
    /// Last evidence time.
    pub last_seen: String,
    /// Number of evidence events.
    pub event_count: u64,
    /// Evidence event ids, first first (at most [`MAX_EVIDENCE`]; `event_count` is exact).
    pub event_ids: Vec<String>,
    /// Distinct actions (`service:EventName`) of the evidence.
    pub actions: Vec<String>,
    /// MITRE ATT&CK technique ids.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub mitre: Vec<crate::state::serde_util::Name>,
    /// What happened and why it is suspicious, in plain words.
    pub explanation: String,
    /// The instance's expected addresses at the time (exfiltration findings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_addresses: Vec<ExpectedAddress>,
    /// What to do.
    pub remediation: Remediation,
    /// Enrichment of the evidence actions (access level, MITRE, risks), filled in by the pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence_enrichment: Vec<crate::enrich::ActionFacts>,
    /// Where the session behind the evidence began (role chains and what they did next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<ChainOrigin>,
    /// Every credential issuance from the origin to the session behind the evidence, first first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainHop>,
    /// The Sigma rule behind a `Sigma` finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// The finding this one follows from (the exfiltration, chain or attack tool the session descends
    /// from), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_finding_id: Option<String>,
}

/// The Sigma rule a `Sigma` finding comes from (its `id`, as published, and what it says of itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RuleRef {
    /// The rule's `id`.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `level`.
    pub level: String,
    /// `tags` (MITRE tactics and techniques).
    pub tags: Vec<String>,
    /// `author`.
    pub author: String,
    /// `references`.
    pub references: Vec<String>,
}

/// Where a chain of sessions began (SPEC §2.2: an IAM user's long-term key, an EC2 instance, a
/// SAML/OIDC federation, an AWS service).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainOrigin {
    /// `iam_user`, `root`, `ec2_instance`, `saml_federation`, `web_identity_federation`,
    /// `aws_service` or `unknown` (a session that began before the input).
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub kind: crate::state::serde_util::Name,
    /// Who: the user ARN, the instance id, the federated role, the service, or the caller ARN.
    pub principal: String,
    /// The role of an origin that is itself a role session (instance, service, unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The origin's own credential (`AKIA…` key, instance key), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The instance, for instance credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The origin's account.
    pub account_id: String,
    /// Where the chain began: the source address of the first issuance.
    pub source_ip: String,
    /// `sourceIdentity` set on the chain (the person behind it), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

/// One credential issuance on a chain (`AssumeRole*`, `GetSessionToken`, `GetFederationToken`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainHop {
    /// The STS call, e.g. `AssumeRole`.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub via: crate::state::serde_util::Name,
    /// The role assumed (none for `GetSessionToken` / `GetFederationToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The account of the role (or of the caller, for session tokens).
    pub account_id: String,
    /// `roleSessionName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// When.
    pub time: String,
    /// Where the call came from.
    pub source_ip: String,
    /// The caller's user agent.
    pub user_agent: String,
    /// The credential the call used (none for federation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_access_key_id: Option<String>,
    /// The credential it issued.
    pub access_key_id: String,
    /// `sourceIdentity` of the call, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// The call's event ids (a cross-account call is logged in both accounts).
    pub event_ids: Vec<String>,
}

/// Source-address context of a finding: ranges, configuration, and what CloudTrail showed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceContext {
    /// Ranges and trusted labels.
    #[serde(flatten)]
    pub ip: IpContext,
    /// `vpcEndpointId` of the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    /// `vpcEndpointAccountId` of the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_account_id: Option<String>,
    /// The organisation account CloudTrail shows owning the address (or endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_account: Option<String>,
    /// One line for people, e.g. "outside AWS (Google Cloud us-central1)".
    pub summary: String,
}

/// Evidence ids kept per finding.
pub const MAX_EVIDENCE: usize = 1000;

/// Accumulates the evidence of one finding as events arrive.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Evidence {
    /// First evidence time.
    pub first: EventTime,
    /// Last evidence time.
    pub last: EventTime,
    /// Exact count.
    pub count: u64,
    /// (time, id) of the first [`MAX_EVIDENCE`] events.
    pub events: Vec<(EventTime, String)>,
    /// Distinct actions.
    pub actions: BTreeSet<String>,
    /// Distinct user agents, in order of appearance.
    pub user_agents: Vec<String>,
}

impl Evidence {
    /// Adds one event.
    pub fn add(&mut self, ev: &Event) {
        // The action is formatted only when it is new (many evidence events repeat one action).
        let service = ev.service();
        let known = self.actions.iter().any(|a| {
            a.len() == service.len() + 1 + ev.event_name().len()
                && a.starts_with(service)
                && a[service.len()..].starts_with(':')
                && a.ends_with(ev.event_name())
        });
        let action = (!known).then(|| ev.action());
        self.add_parts(ev.time, ev.event_id(), action, ev.user_agent());
    }

    /// Adds one event from its parts.
    pub fn add_parts(
        &mut self,
        time: EventTime,
        id: &str,
        action: Option<String>,
        user_agent: &str,
    ) {
        if self.count == 0 {
            self.first = time;
            self.last = time;
        }
        self.first = self.first.min(time);
        self.last = self.last.max(time);
        self.count += 1;
        if self.events.len() < MAX_EVIDENCE {
            self.events.push((time, id.to_owned()));
        }
        if let Some(a) = action {
            if self.actions.len() < 100 {
                self.actions.insert(a);
            }
        }
        if self.user_agents.len() < 10 && !self.user_agents.iter().any(|u| u == user_agent) {
            self.user_agents.push(user_agent.to_owned());
        }
    }

    /// Evidence ids ordered by event time (then id), first first.
    pub fn ids(&self) -> Vec<String> {
        let mut e = self.events.clone();
        e.sort();
        e.into_iter().map(|(_, id)| id).collect()
    }
}

/// A stable id: the first 128 bits of SHA-256 over the parts, hex.
pub fn stable_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let mut s = String::with_capacity(32);
    for b in &digest[..16] {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Sorts findings into the defined output order: first evidence, type, id.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(order);
}

/// The defined output order: first evidence, type, id.
pub fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.first_seen, a.finding_type, &a.id).cmp(&(&b.first_seen, b.finding_type, &b.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_separated() {
        assert_eq!(stable_id(&["a", "bc"]), stable_id(&["a", "bc"]));
        assert_ne!(stable_id(&["a", "bc"]), stable_id(&["ab", "c"]));
        assert_eq!(stable_id(&["x"]).len(), 32);
    }

    #[test]
    fn evidence_orders_by_time_and_caps() {
        let mut e = Evidence::default();
        e.add_parts(
            EventTime(20),
            "b",
            Some("sts:GetCallerIdentity".into()),
            "ua1",
        );
        e.add_parts(
            EventTime(10),
            "a",
            Some("ec2:DescribeInstances".into()),
            "ua1",
        );
        assert_eq!(e.ids(), ["a", "b"]);
        assert_eq!(
            (e.first, e.last, e.count),
            (EventTime(10), EventTime(20), 2)
        );
        assert_eq!(e.user_agents, ["ua1"]);
        assert_eq!(Severity::parse("high"), Some(Severity::High));
        assert!(Severity::Medium < Severity::High);
    }
}
