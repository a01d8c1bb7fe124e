//! `InstanceCredentialExfiltration.*` (SPEC §2.1): instance credentials used from an address that
//! is not the instance's. The tracker decides *whether* an address is expected; this module decides
//! *what kind* of finding it is, aggregates one finding per (instance, source address) — a
//! credential refresh does not raise the same finding again; every key used is listed — and
//! explains it.
//!
//! | type | severity | when |
//! |---|---|---|
//! | `OutsideAWS` | high | outside AWS's ranges (another cloud is named), or private without a VPC endpoint |
//! | `InsideAWS` | high | an AWS address that is not the instance's, or a VPC endpoint of an account outside the organisation |
//! | `AffiliatedAccount` | medium | an address or VPC endpoint of another account of the organisation |
//! | `CopiedByOperator` | high | the address a person reached into the instance from (SSM, EC2 Instance Connect) minutes before |
use std::collections::HashMap;
use std::net::IpAddr;

use compact_str::CompactString;

use crate::address::{self, AddressBook};
use crate::event::{Delivery, Event};
use crate::finding::{
    stable_id, Confidence, Evidence, ExpectedAddress, Finding, Severity, SourceContext,
};
use crate::ranges::Provider;
use crate::remedy::StolenRole;
use crate::track::{Implausible, Instance, Lock, Observation, Touch, Tracker, Verdict, Why};

/// Finding type names (part of the output contract).
pub const OUTSIDE_AWS: &str = "InstanceCredentialExfiltration.OutsideAWS";
/// See [`OUTSIDE_AWS`].
pub const INSIDE_AWS: &str = "InstanceCredentialExfiltration.InsideAWS";
/// See [`OUTSIDE_AWS`].
pub const AFFILIATED: &str = "InstanceCredentialExfiltration.AffiliatedAccount";
/// See [`OUTSIDE_AWS`].
pub const COPIED_BY_OPERATOR: &str = "InstanceCredentialExfiltration.CopiedByOperator";

/// MITRE ATT&CK: Unsecured Credentials: Cloud Instance Metadata API; Valid Accounts: Cloud Accounts.
const MITRE: [&str; 2] = ["T1552.005", "T1078.004"];

/// Expected addresses listed per finding.
const MAX_EXPECTED: usize = 20;

/// A finding being accumulated.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Draft {
    #[serde(with = "crate::state::serde_util::as_json")]
    finding: Finding,
    evidence: Evidence,
    delivery: Option<Delivery>,
    /// For `CopiedByOperator`: who reached into the instance.
    operator: Option<Touch>,
}

/// The detector.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Exfiltration {
    #[serde(skip)]
    write_only: bool,
    #[serde(with = "crate::state::serde_util::sorted_map")]
    open: HashMap<(CompactString, IpAddr), Draft>,
}

impl Exfiltration {
    pub(super) fn new(write_only: bool) -> Self {
        Exfiltration {
            write_only,
            open: HashMap::new(),
        }
    }

    pub(super) fn on_observation(
        &mut self,
        ev: &Event,
        obs: &Observation,
        tracker: &Tracker,
        book: &AddressBook,
    ) {
        match &obs.verdict {
            Verdict::Unexpected(why) => {
                if self.write_only && ev.read_only == Some(true) {
                    return;
                }
                let draft = self
                    .open
                    .entry((obs.instance.clone(), obs.ip))
                    .or_insert_with(|| draft(ev, obs, why, None, tracker, book));
                draft.evidence.add(ev);
                if !draft
                    .finding
                    .access_key_ids
                    .contains(&obs.key.as_str().into())
                {
                    draft.finding.access_key_ids.push(obs.key.to_string());
                }
            }
            Verdict::Contested(lock) => {
                let key = (obs.instance.clone(), lock.ip);
                if let std::collections::hash_map::Entry::Vacant(slot) = self.open.entry(key) {
                    let obs = Observation {
                        key: lock.key.clone(),
                        ip: lock.ip,
                        ..obs.clone()
                    };
                    let real = ev.source_ip.as_str();
                    let mut d = draft(
                        ev,
                        &obs,
                        &Why::NotLock(obs.ip),
                        Some((lock, obs.ip, real)),
                        tracker,
                        book,
                    );
                    d.evidence = lock_evidence(lock);
                    slot.insert(d);
                }
            }
            Verdict::Presigned => {
                // What a thief took with presigned URLs from an address already flagged.
                if let Some(d) = self.open.get_mut(&(obs.instance.clone(), obs.ip)) {
                    d.evidence.add(ev);
                }
            }
            Verdict::Expected(_) | Verdict::Locked => {}
        }
    }

    /// The same drafts, judged with `write_only` (a run's setting, not state).
    pub(super) fn with_write_only(mut self, write_only: bool) -> Self {
        self.write_only = write_only;
        self
    }

    pub(super) fn finish(self) -> Vec<Finding> {
        self.open.into_values().map(Draft::into_finding).collect()
    }
}

impl Draft {
    fn into_finding(self) -> Finding {
        let Draft {
            mut finding,
            evidence,
            delivery,
            operator,
        } = self;
        if finding.access_key_ids.len() < 2 {
            // One key: `access_key_id` says it all.
            finding.access_key_ids.clear();
        }
        finding.first_seen = evidence.first.to_string();
        finding.last_seen = evidence.last.to_string();
        finding.event_count = evidence.count;
        finding.event_ids = evidence.ids();
        finding.actions = evidence.actions.iter().cloned().collect();
        finding.user_agents = evidence.user_agents.clone();
        if let Some(ua) = evidence.user_agents.first() {
            finding.user_agent = ua.clone();
        }
        finding.remediation = StolenRole::of(&finding, delivery, evidence.last).remediation();
        if let Some(t) = operator {
            operator_remediation(&mut finding, &t);
        }
        finding
    }
}

/// A person copied the credentials: the leak is the person, not the metadata service.
fn operator_remediation(f: &mut Finding, t: &Touch) {
    let who = short_principal(&t.principal);
    let r = &mut f.remediation;
    r.summary = format!(
        "Revoke the role's sessions, then find out why {who} used {}'s credentials from their own machine after {}: suspend their access until it is explained.",
        f.instance_id.as_deref().unwrap_or("the instance"),
        t.action
    );
    if let Some(step) = r.steps.iter_mut().find(|s| s.starts_with("Find the leak")) {
        *step = format!(
            "The credentials left the instance with a person: {} ran {} on it at {} (event {}) from {}, the address the credentials were then used from. Review the session (Session Manager session history and its S3/CloudWatch transcript, or the EC2 Instance Connect key push), ask the person, and treat their own credentials as compromised until explained.",
            t.principal, t.action, t.at, t.event_id, t.ip
        );
    }
    r.steps.retain(|s| !s.starts_with("Enforce IMDSv2"));
    r.steps.push(
        "Limit who can reach into instances with roles worth stealing: scope ssm:StartSession, ssm:SendCommand and ec2-instance-connect:SendSSHPublicKey to named instances and people, and log Session Manager sessions."
            .to_owned(),
    );
    r.commands
        .retain(|c| !c.contains("metadata-options") && !c.contains("metadata-defaults"));
    r.commands.push(format!(
        "aws cloudtrail lookup-events --region {} --lookup-attributes AttributeKey=Username,AttributeValue={who}",
        if f.region.is_empty() { "<region>" } else { &f.region }
    ));
}

/// The last part of an ARN (`arn:aws:iam::1:user/dana` → `dana`).
fn short_principal(arn: &str) -> &str {
    arn.rsplit(['/', ':']).next().unwrap_or(arn)
}

fn lock_evidence(lock: &Lock) -> Evidence {
    let mut e = Evidence::default();
    e.add_parts(lock.at, &lock.first_event, None, &lock.user_agent);
    e.count = lock.count;
    e.last = e.last.max(lock.last);
    e
}

/// Builds a finding from its first evidence event. `contested` = (the lock, its address, the
/// instance's real address) when a first-use lock turned out not to be the instance.
fn draft(
    ev: &Event,
    obs: &Observation,
    why: &Why,
    contested: Option<(&Lock, IpAddr, &str)>,
    tracker: &Tracker,
    book: &AddressBook,
) -> Draft {
    let inst = tracker.instance(&obs.instance, ev.time);
    let account = inst.map_or_else(|| ev.account().to_owned(), |i| i.account.to_string());
    let class = classify(ev, obs, why, inst, tracker, book);
    let confidence = if inst.is_some_and(|i| i.issued_seen) {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let delivery = obs.delivery;
    let role_arn = inst
        .and_then(|i| i.role_arn.as_deref())
        .or(ev.issuer_arn())
        .map(str::to_owned);
    let region = inst
        .and_then(|i| i.region.as_deref())
        .unwrap_or(&ev.region)
        .to_owned();
    let mut learned = inst.map(Instance::expected).unwrap_or_default();
    for l in tracker.account_addresses(&account, ev.time) {
        if !learned.iter().any(|k| k.ip == l.ip) {
            learned.push(l);
        }
    }
    let expected: Vec<ExpectedAddress> = learned
        .into_iter()
        .take(MAX_EXPECTED)
        .map(|l| ExpectedAddress {
            ip: l.ip.to_string(),
            how: l.how.as_str(),
            since: l.at.to_string(),
        })
        .collect();
    let explanation = explain(
        obs, why, &class, inst, delivery, confidence, contested, &expected,
    );
    let finding = Finding {
        id: stable_id(&[class.kind, &account, &obs.instance, &obs.ip.to_string()]),
        status: None,
        rule: None,
        finding_type: class.kind,
        severity: class.severity,
        confidence,
        title: format!(
            "Instance credentials of {} used {} ({})",
            obs.instance, class.short, obs.ip
        ),
        account_id: account,
        region,
        principal_arn: ev.identity_arn().unwrap_or("").to_owned(),
        role_arn,
        access_key_id: obs.key.to_string(),
        access_key_ids: vec![obs.key.to_string()],
        instance_id: Some(obs.instance.to_string()),
        credential_delivery: delivery.map(Delivery::as_str),
        source_ip: obs.ip.to_string(),
        source_ip_context: class.context,
        user_agent: ev.user_agent().to_string(),
        user_agents: Vec::new(),
        first_seen: String::new(),
        last_seen: String::new(),
        event_count: 0,
        event_ids: Vec::new(),
        actions: Vec::new(),
        mitre: MITRE.to_vec(),
        explanation,
        expected_addresses: expected,
        remediation: crate::finding::Remediation::default(),
        evidence_enrichment: Vec::new(),
        origin: None,
        chain: Vec::new(),
        parent_finding_id: None,
    };
    Draft {
        finding,
        evidence: Evidence::default(),
        delivery,
        operator: match why {
            Why::Operator(t) => Some((**t).clone()),
            _ => None,
        },
    }
}

struct Class {
    kind: &'static str,
    severity: Severity,
    short: String,
    context: SourceContext,
}

/// Outside AWS, inside AWS, or an affiliated account (SPEC §2.1, GuardDuty's split).
fn classify(
    ev: &Event,
    obs: &Observation,
    why: &Why,
    inst: Option<&Instance>,
    tracker: &Tracker,
    book: &AddressBook,
) -> Class {
    let mut context = SourceContext {
        ip: book.context(obs.ip),
        vpc_endpoint_id: ev.vpc_endpoint_id.as_deref().map(str::to_owned),
        vpc_endpoint_account_id: ev.vpc_endpoint_account_id.as_deref().map(str::to_owned),
        ..SourceContext::default()
    };
    let mine = inst.map_or("", |i| i.account.as_str());
    let (kind, short, summary) = if let Why::Operator(t) = why {
        let c = &context.ip;
        let place = match (c.provider_name, c.region.as_deref()) {
            (Some(p), Some(r)) => format!("{p} {r}"),
            (Some(p), None) => p.to_owned(),
            _ => "in no cloud provider's published ranges".to_owned(),
        };
        (
            COPIED_BY_OPERATOR,
            format!(
                "from the address {} reached into the instance from",
                short_principal(&t.principal)
            ),
            format!(
                "the address {} ran {} on the instance from, at {} ({})",
                t.principal, t.action, t.at, place
            ),
        )
    } else if let Why::ForeignEndpoint(owner) = why {
        let vpce = ev.vpc_endpoint_id.as_deref().unwrap_or("?");
        context.org_account = tracker.is_member(owner).then(|| owner.to_string());
        if tracker.is_member(owner) {
            (
                AFFILIATED,
                format!("through VPC endpoint {vpce} of member account {owner}"),
                format!("private address through VPC endpoint {vpce} of member account {owner}"),
            )
        } else {
            (INSIDE_AWS, format!("through VPC endpoint {vpce} of account {owner} outside the organisation"), format!("private address through VPC endpoint {vpce} owned by account {owner}, outside the organisation"))
        }
    } else if let Some(owner) = tracker.owner(obs.ip, ev.time).filter(|o| o.account != mine) {
        context.org_account = Some(owner.account.to_string());
        let what = format!(
            "an address of member account {} ({})",
            owner.account,
            owner.how.as_str()
        );
        if tracker.is_member(&owner.account) {
            (AFFILIATED, format!("from {what}"), what)
        } else {
            (INSIDE_AWS, format!("from {what}"), what)
        }
    } else {
        match book.cloud(obs.ip) {
            Some(c) if c.provider == Provider::Aws => {
                let region = c.region.unwrap_or("global");
                (INSIDE_AWS, "inside AWS from an address that is not the instance's".into(), format!("inside AWS ({region} {}), not one of the instance's addresses", if c.ec2 { "EC2 range" } else { "non-EC2 range" }))
            }
            Some(c) => {
                let region = c.region.map(|r| format!(" {r}")).unwrap_or_default();
                (OUTSIDE_AWS, format!("from outside AWS ({})", c.provider.name()), format!("outside AWS: {}{region}", c.provider.name()))
            }
            None if address::is_private(obs.ip) => (
                OUTSIDE_AWS,
                "from a private address without a VPC endpoint".into(),
                "private address without a VPC endpoint: not a path an instance's calls take (CloudTrail shows private sources only through VPC endpoints)".into(),
            ),
            None => (OUTSIDE_AWS, "from outside AWS".into(), "outside AWS (in no cloud provider's published ranges)".into()),
        }
    };
    context.summary = summary;
    let severity = if kind == AFFILIATED {
        Severity::Medium
    } else {
        Severity::High
    };
    Class {
        kind,
        severity,
        short,
        context,
    }
}

#[allow(clippy::too_many_arguments)]
fn explain(
    obs: &Observation,
    why: &Why,
    class: &Class,
    inst: Option<&Instance>,
    delivery: Option<Delivery>,
    confidence: Confidence,
    contested: Option<(&Lock, IpAddr, &str)>,
    expected: &[ExpectedAddress],
) -> String {
    let role = inst
        .and_then(|i| i.role_arn.as_deref())
        .unwrap_or("its role");
    let mut s = format!(
        "Temporary credentials {} that EC2 issued to instance {} (role {role}) were used from {}: {}. Instance credentials are only meant to be used by the instance itself; a call from another address means they were copied off it.",
        obs.key, obs.instance, obs.ip, class.context.summary
    );
    let reason = match (why, contested) {
        (_, Some((lock, lock_ip, real))) => format!(
            " The credentials were first used from {lock_ip} at {}, which was taken as the instance's own address; the instance later called from {real}, an address CloudTrail showed it owning before that, so the first user was not the instance: an attacker got there first.",
            lock.at
        ),
        (Why::NotLock(lock), _) => format!(" The instance has been calling from {lock} (its first address); this is a different one."),
        (Why::EgressKnown, _) => " The instance's own egress address is known from CloudTrail, and this is not it.".to_owned(),
        (Why::PrivateNoEndpoint, _) => " A private source address with no VPC endpoint is not how an instance's calls reach AWS (in anonymised datasets, outside addresses are often rewritten to private ones).".to_owned(),
        (Why::ForeignEndpoint(_), _) => " The call came through a VPC endpoint that does not belong to the instance's account.".to_owned(),
        (Why::Retired(at), _) => format!(" The instance handed this address over at {at} (an Elastic IP association change) and has been calling from its new address since; this one is still in use after the {} min grace period: two addresses at once, not a handover.", crate::track::HANDOVER_GRACE / crate::time::MINUTE),
        (Why::Operator(t), _) => format!(" {} ran {} on the instance (event {}) from this address at {}, and the instance's role credentials were then used from the same address, which is not the instance's: someone working on the instance copied its credentials (from the metadata service, the environment or the SDK's cache) to their own machine. A bastion whose role is used by people logged in on it calls from its own address, which this is not.", t.principal, t.action, t.event_id, t.at),
        (Why::Implausible(i), _) => {
            let what = match i {
                Implausible::OutsideAws => "an address outside AWS cannot be an EC2 instance's own".to_owned(),
                Implausible::NotEc2 => "the address is in an AWS range that EC2 instances do not use".to_owned(),
                Implausible::OtherRegion(r) => format!("the address is in {r}, another region than the instance's"),
                Implausible::OtherAccount(a) => format!("CloudTrail shows the address belonging to account {a}"),
                Implausible::UserAgent(u) => format!("the user agent is not an instance workload's ({u})"),
            };
            format!(" This was the first use seen, and it was not taken as the instance's address because {what} (attacker-first check).")
        }
    };
    s.push_str(&reason);
    if !expected.is_empty() {
        let list: Vec<String> = expected
            .iter()
            .map(|e| format!("{} ({})", e.ip, e.how))
            .collect();
        s.push_str(&format!(" Expected addresses: {}.", list.join(", ")));
    }
    if delivery == Some(Delivery::ImdsV1) {
        s.push_str(" The key was delivered by IMDSv1, which a plain HTTP GET can read: the signature of SSRF theft. Enforce IMDSv2.");
    }
    if confidence < Confidence::High {
        s.push_str(" Confidence is lowered: the session started before the input (its AssumeRole was not seen), so the instance's addresses were learned from its calls alone.");
    }
    s
}
