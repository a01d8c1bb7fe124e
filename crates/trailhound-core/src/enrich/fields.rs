//! The `enrichment` object, field by field (SPEC §3), and how each field is derived: the action's
//! catalogue facts, the session's origin as the tracker knows it, and the parsed user agent. These
//! are the serde forms; [`super::Enricher::write`] writes the same bytes by hand (`json`).
use serde::Serialize;

use crate::address::IpContext;
use crate::catalog::{Catalog, Facts, Technique};
use crate::event::{Event, IdentityType};
use crate::track::Tracker;
use crate::useragent::UserAgent;

/// The `enrichment` object.
#[derive(Debug, Serialize)]
pub struct Enrichment<'a> {
    /// `service:EventName`.
    pub action: Action<'a>,
    /// What the catalogue says about the action.
    #[serde(flatten)]
    pub facts: ActionPart<'a>,
    /// The session's origin.
    pub origin: Origin<'a>,
    /// Source-address context.
    pub source: SourceInfo<'a>,
    /// The parsed user agent.
    pub user_agent: AgentInfo,
    /// Ids of the Sigma rules the event matches (when rules are loaded and one does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sigma: Vec<&'a str>,
}

/// The part of the enrichment that depends on the action only (written once per catalogue entry
/// and reused: see [`Enricher::write`]).
#[derive(Debug, Serialize)]
pub struct ActionPart<'a> {
    /// IAM access level, or `Unknown`.
    pub access_level: &'static str,
    /// Why the access level is unknown, when it is on purpose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level_note: Option<&'static str>,
    /// MITRE ATT&CK techniques of the action.
    pub mitre: &'a [Technique],
    /// Risk categories.
    pub risks: Vec<&'static str>,
    /// Attacker follow-up family (Persistence / PrivilegeEscalation / DefenseEvasion), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<&'static str>,
}

impl<'a> ActionPart<'a> {
    pub(super) fn of(facts: &Facts<'a>) -> Self {
        ActionPart {
            access_level: facts.access.map_or("Unknown", |a| a.as_str()),
            access_level_note: facts.known_unknown,
            mitre: facts.techniques,
            risks: facts.risks.iter().collect(),
            follow_up: facts.follow_up.map(|(f, _)| f.as_str()),
        }
    }
}

/// `service:EventName`, written without building a string.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a>(pub &'a Event);

impl Serialize for Action<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        s.collect_str(&format_args!("{}:{}", e.service(), e.event_name()))
    }
}

/// Who is behind a call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Origin<'a> {
    /// `ec2_instance`, `iam_user`, `root`, `aws_service`, `role_session`, `federation`, `unknown`.
    pub kind: &'static str,
    /// The instance, for EC2 instance credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<&'a str>,
    /// The principal ARN the origin is known by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<&'a str>,
    /// The role behind an assumed-role session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<&'a str>,
    /// The AWS service invoking on the principal's behalf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<&'a str>,
    /// IMDS delivery for instance credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_delivery: Option<&'static str>,
}

/// Where the call came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SourceInfo<'a> {
    /// `ip`, `aws_service`, `aws_internal`, `other`.
    pub kind: &'static str,
    /// The AWS service name for service calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'a str>,
    /// Range, provider and trusted-label context for addresses.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub ip: Option<&'a IpContext>,
    /// `own` / `member` / `foreign`, when the call came through a VPC endpoint of a known account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint: Option<&'static str>,
    /// The organisation account CloudTrail shows owning the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_account: Option<&'a str>,
}

/// The parsed user agent.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct AgentInfo {
    /// Family, e.g. `boto3`.
    pub family: &'static str,
    /// Major version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub major: Option<u16>,
    /// Attack tool or pentest distribution named in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_tool: Option<&'static str>,
}

/// What the catalogue says about one evidence action of a finding.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ActionFacts {
    /// `service:EventName`.
    pub action: String,
    /// IAM access level, or `Unknown`.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub access_level: crate::state::serde_util::Name,
    /// MITRE ATT&CK technique ids.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub mitre: Vec<crate::state::serde_util::Name>,
    /// Risk categories.
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    pub risks: Vec<crate::state::serde_util::Name>,
}

/// The enrichment of a finding's evidence actions (`service:EventName`), for `scan` output.
pub fn action_facts(catalog: &Catalog, actions: &[String]) -> Vec<ActionFacts> {
    actions
        .iter()
        .map(|a| {
            let (service, name) = a.split_once(':').unwrap_or(("", a));
            let facts = catalog.lookup(&format!("{service}.amazonaws.com"), name);
            ActionFacts {
                action: a.clone(),
                access_level: facts.access.map_or("Unknown", |l| l.as_str()),
                mitre: facts.techniques.iter().map(|t| t.id).collect(),
                risks: facts.risks.iter().collect(),
            }
        })
        .collect()
}

impl AgentInfo {
    pub(super) fn of(ua: &UserAgent) -> Self {
        AgentInfo {
            family: ua.family_name(),
            major: ua.major,
            attack_tool: ua.attack_tool,
        }
    }
}

/// The session's origin, as far as the tracker knows it.
pub fn origin<'a>(ev: &'a Event, tracker: &'a Tracker) -> Origin<'a> {
    let id = &ev.identity;
    let mut o = Origin {
        kind: "unknown",
        instance_id: None,
        principal: ev.identity_arn(),
        role_arn: ev.issuer_arn(),
        invoked_by: id.invoked_by.as_deref(),
        credential_delivery: None,
    };
    o.kind = match id.kind {
        IdentityType::IamUser => "iam_user",
        IdentityType::Root => "root",
        IdentityType::AwsService => "aws_service",
        IdentityType::SamlUser | IdentityType::WebIdentityUser | IdentityType::FederatedUser => {
            "federation"
        }
        IdentityType::AssumedRole => {
            let key = id
                .access_key_id
                .as_deref()
                .and_then(|k| tracker.key(k, ev.time));
            match key {
                Some(k) => {
                    o.instance_id = Some(k.instance.as_str());
                    o.credential_delivery = k.delivery.or(id.delivery).map(|d| d.as_str());
                    "ec2_instance"
                }
                None if id.delivery.is_some() => {
                    o.instance_id = ev
                        .identity_arn()
                        .and_then(crate::event::assumed_role_session);
                    o.credential_delivery = id.delivery.map(|d| d.as_str());
                    "ec2_instance"
                }
                None => "role_session",
            }
        }
        _ => "unknown",
    };
    o
}
