//! What the lineage-aware detectors (role chains, user agents, follow-ups) share: turning lineage into
//! the finding's `origin` and `chain`, describing them in words, source-address context, evidence
//! into finding fields, and the remediation steps for role sessions and user keys.
use std::net::IpAddr;

use serde_json::json;

use crate::address::{self, AddressBook, Source};
use crate::catalog::Catalog;
use crate::event::{role_name, Event};
use crate::finding::{
    ChainHop, ChainOrigin, Confidence, Evidence, Finding, Remediation, Severity, SourceContext,
};
use crate::ranges::Provider;
use crate::time::EventTime;
use crate::track::{Hop, Origin, OriginKind, Session};
use crate::useragent::UserAgent;

/// Evidence ids kept beyond which `add_unique` stops checking for repeats (the check is linear).
const DEDUP_SCAN: usize = 256;

/// A finding with every field empty but its type and severity.
pub(super) fn blank(kind: &'static str, severity: Severity) -> Finding {
    Finding {
        id: String::new(),
        status: None,
        rule: None,
        finding_type: kind,
        severity,
        confidence: Confidence::High,
        title: String::new(),
        account_id: String::new(),
        region: String::new(),
        principal_arn: String::new(),
        role_arn: None,
        access_key_id: String::new(),
        access_key_ids: Vec::new(),
        instance_id: None,
        credential_delivery: None,
        source_ip: String::new(),
        source_ip_context: SourceContext::default(),
        user_agent: String::new(),
        user_agents: Vec::new(),
        first_seen: String::new(),
        last_seen: String::new(),
        event_count: 0,
        event_ids: Vec::new(),
        actions: Vec::new(),
        mitre: Catalog::finding_techniques(kind)
            .iter()
            .map(|t| t.id)
            .collect(),
        explanation: String::new(),
        expected_addresses: Vec::new(),
        remediation: Remediation::default(),
        evidence_enrichment: Vec::new(),
        origin: None,
        chain: Vec::new(),
        parent_finding_id: None,
    }
}

/// Copies accumulated evidence into the finding's evidence fields.
pub(super) fn apply_evidence(f: &mut Finding, e: &Evidence) {
    f.first_seen = e.first.to_string();
    f.last_seen = e.last.to_string();
    f.event_count = e.count;
    f.event_ids = e.ids();
    f.actions = e.actions.iter().cloned().collect();
    f.user_agents = e.user_agents.clone();
    if f.user_agent.is_empty() {
        if let Some(ua) = e.user_agents.first() {
            f.user_agent = ua.clone();
        }
    }
}

/// Adds an event to `e` unless its id is already there (hops shared by several occurrences).
pub(super) fn add_unique(
    e: &mut Evidence,
    time: EventTime,
    id: &str,
    action: Option<String>,
    ua: &str,
) {
    if e.events.len() < DEDUP_SCAN && e.events.iter().any(|(_, i)| i == id) {
        return;
    }
    e.add_parts(time, id, action, ua);
}

/// Adds every event of `from` to `into` (ids not already present), with its actions and agents.
pub(super) fn merge(into: &mut Evidence, from: &Evidence) {
    for (t, id) in &from.events {
        if into.events.len() < DEDUP_SCAN && into.events.iter().any(|(_, i)| i == id) {
            continue;
        }
        if into.count == 0 {
            into.first = *t;
            into.last = *t;
        }
        into.first = into.first.min(*t);
        into.last = into.last.max(*t);
        into.count += 1;
        if into.events.len() < crate::finding::MAX_EVIDENCE {
            into.events.push((*t, id.clone()));
        }
    }
    for a in &from.actions {
        if into.actions.len() < 100 {
            into.actions.insert(a.clone());
        }
    }
    for u in &from.user_agents {
        if into.user_agents.len() < 10 && !into.user_agents.contains(u) {
            into.user_agents.push(u.clone());
        }
    }
}

/// The UTC day of an event time (for "seen on several days").
pub(super) fn day(t: EventTime) -> i64 {
    t.0.div_euclid(86_400_000)
}

/// The finding's `origin`.
pub(super) fn origin_out(o: &Origin) -> ChainOrigin {
    ChainOrigin {
        kind: o.kind.as_str(),
        principal: o.principal.to_string(),
        role_arn: o.role_arn.as_deref().map(str::to_owned),
        access_key_id: o.key.as_deref().map(str::to_owned),
        instance_id: o.instance.as_deref().map(str::to_owned),
        account_id: o.account.to_string(),
        source_ip: o.source_ip.to_string(),
        source_identity: o.source_identity.as_deref().map(str::to_owned),
    }
}

/// The finding's `chain`.
pub(super) fn hops_out(hops: &[Hop]) -> Vec<ChainHop> {
    hops.iter()
        .map(|h| ChainHop {
            via: h.via.as_str(),
            role_arn: h.role_arn.as_deref().map(str::to_owned),
            account_id: h.account.to_string(),
            session_name: h.session_name.as_deref().map(str::to_owned),
            time: h.at.to_string(),
            source_ip: h.source_ip.to_string(),
            user_agent: h.user_agent.to_string(),
            caller_access_key_id: h.caller_key.as_deref().map(str::to_owned),
            access_key_id: h.key.to_string(),
            source_identity: h.source_identity.as_deref().map(str::to_owned),
            event_ids: h.event_ids.iter().map(|e| e.to_string()).collect(),
        })
        .collect()
}

/// Sets `origin` and `chain` of a finding from the session behind its evidence.
pub(super) fn attach_lineage(f: &mut Finding, s: &Session) {
    f.origin = Some(origin_out(&s.origin));
    f.chain = hops_out(&s.hops);
    if f.instance_id.is_none() {
        f.instance_id = s.origin.instance.as_deref().map(str::to_owned);
    }
    if s.origin.kind == OriginKind::Unknown {
        f.confidence = f.confidence.min(Confidence::Medium);
    }
}

/// The origin in words, e.g. "EC2 instance i-0abc (role web, key ASIA…) from 203.0.113.7".
pub(super) fn describe_origin(o: &Origin) -> String {
    let key = o
        .key
        .as_deref()
        .map(|k| format!(", key {k}"))
        .unwrap_or_default();
    let role = o
        .role_arn
        .as_deref()
        .map(|r| format!(" (role {r}{key})"))
        .unwrap_or_else(|| {
            if key.is_empty() {
                String::new()
            } else {
                format!(" ({})", &key[2..])
            }
        });
    let who = match o.kind {
        OriginKind::IamUser => format!("IAM user {}{role}", o.principal),
        OriginKind::Root => format!("the root user of {}{role}", o.account),
        OriginKind::Ec2Instance => format!("EC2 instance {}{role}", o.principal),
        OriginKind::SamlFederation => format!("a SAML federation into {}", o.principal),
        OriginKind::WebIdentityFederation => {
            format!("a web-identity (OIDC) federation into {}", o.principal)
        }
        OriginKind::AwsService => format!("AWS service {}{role}", o.principal),
        OriginKind::Unknown => format!(
            "{}{role}, a session whose own issuance is not in the input",
            if o.principal.is_empty() {
                "an unknown caller"
            } else {
                &o.principal
            }
        ),
    };
    let identity = o
        .source_identity
        .as_deref()
        .map(|s| format!(", sourceIdentity {s}"))
        .unwrap_or_default();
    format!("{who} from {}{identity}", o.source_ip)
}

/// One hop in words.
pub(super) fn describe_hop(h: &Hop) -> String {
    let target = match (&h.role_arn, h.via.is_role()) {
        (Some(r), _) => format!(
            "role {} in {}",
            role_name(r).unwrap_or(r.as_str()),
            h.account
        ),
        (None, _) => format!("a {} session", h.via.as_str()),
    };
    let ua = UserAgent::parse(&h.user_agent);
    format!(
        "{} → {target} at {} from {} ({})",
        h.via.as_str(),
        h.at,
        h.source_ip,
        if h.user_agent.is_empty() {
            "no user agent"
        } else {
            ua.family_name()
        }
    )
}

/// Source-address context of a `sourceIPAddress` value (an address, a service name, `AWS Internal`).
pub(super) fn source_context(
    book: &AddressBook,
    source: &str,
    ev: Option<&Event>,
) -> SourceContext {
    let mut c = SourceContext {
        vpc_endpoint_id: ev.and_then(|e| e.vpc_endpoint_id.as_deref().map(str::to_owned)),
        vpc_endpoint_account_id: ev
            .and_then(|e| e.vpc_endpoint_account_id.as_deref().map(str::to_owned)),
        ..SourceContext::default()
    };
    match address::source(source) {
        Source::Ip(ip) => {
            c.ip = book.context(ip);
            c.summary = ip_summary(book, ip);
        }
        _ => {
            c.ip.ip = source.to_owned();
            c.summary = format!("not an address: {source}");
        }
    }
    c
}

fn ip_summary(book: &AddressBook, ip: IpAddr) -> String {
    if let Some(label) = book.trusted(ip) {
        return format!("trusted range ({label})");
    }
    match book.cloud(ip) {
        Some(c) if c.provider == Provider::Aws => format!(
            "inside AWS ({} {})",
            c.region.unwrap_or("global"),
            if c.ec2 { "EC2 range" } else { "non-EC2 range" }
        ),
        Some(c) => format!("outside AWS: {}", c.provider.name()),
        None if address::is_private(ip) => "private address".to_owned(),
        None => "outside AWS (in no cloud provider's published ranges)".to_owned(),
    }
}

/// The inline policy that denies every session of a role issued before `before` (+1 s).
pub(super) fn revoke_policy(before: EventTime) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": before.plus(1000).to_string()}}
        }]
    })
}

/// Steps and commands that cut off a credential and everything issued from it: first deactivate a
/// long-term key at the origin (or the key itself, when `key` is an IAM user's `AKIA…` key of
/// `principal`), then revoke the sessions of every role on the path.
pub(super) fn cut_off(
    roles: &[&str],
    origin: Option<&Origin>,
    key: &str,
    principal: &str,
    before: EventTime,
) -> (Vec<String>, Vec<String>, Option<serde_json::Value>) {
    let mut steps = Vec::new();
    let mut commands = Vec::new();
    let policy = revoke_policy(before);
    let text = policy.to_string();
    let mut names: Vec<&str> = roles.iter().filter_map(|r| role_name(r)).collect();
    names.dedup();
    if !names.is_empty() {
        steps.push(format!(
            "Revoke the sessions now: attach the inline policy below to role(s) {} (it denies every call made with their sessions issued before {}; legitimate users simply assume the role again).",
            names.join(", "),
            before.plus(1000)
        ));
        for n in &names {
            commands.push(format!("aws iam put-role-policy --role-name {n} --policy-name AWSRevokeOlderSessions --policy-document '{text}'"));
        }
    }
    // A long-term user key at the root of it all is cut first: nothing new can be issued from it.
    let user_key = match origin {
        Some(o) if o.kind == OriginKind::IamUser => {
            o.key.as_deref().map(|k| (k, o.principal.as_str()))
        }
        _ if key.starts_with("AKIA") && principal.contains(":user/") => Some((key, principal)),
        _ => None,
    };
    if let Some((k, arn)) = user_key {
        let user = arn.rsplit('/').next().unwrap_or(arn);
        steps.insert(0, format!("Deactivate the long-term key {k} of {arn} until its owner confirms the activity, then rotate it."));
        commands.insert(0, format!("aws iam update-access-key --user-name {user} --access-key-id {k} --status Inactive"));
    }
    if let Some(o) = origin {
        match o.kind {
            OriginKind::Root => steps.push("The chain began with the root user's credentials: rotate the root password and keys, check MFA.".to_owned()),
            OriginKind::Ec2Instance => steps.push(format!("The chain began with instance credentials of {}: treat the instance as compromised (see its InstanceCredentialExfiltration or SsrfUserAgentAnomaly finding) and enforce IMDSv2.", o.principal)),
            _ => {}
        }
    }
    if !key.is_empty() {
        commands.push(format!(
            "aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={key}"
        ));
    } else if let Some(user) = principal
        .split_once(":user/")
        .map(|(_, u)| u.rsplit('/').next().unwrap_or(u))
    {
        commands.push(format!(
            "aws cloudtrail lookup-events --lookup-attributes AttributeKey=Username,AttributeValue={user}"
        ));
    }
    (steps, commands, (!names.is_empty()).then_some(policy))
}
