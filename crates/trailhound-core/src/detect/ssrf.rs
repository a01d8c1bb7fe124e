//! `SsrfUserAgentAnomaly` (SPEC §2.3): instance credentials used from the instance's own address
//! with a client its workloads do not use.
//!
//! * Per role, the workloads' clients are learned as (SDK family, major version) from calls made
//!   with the role's instance credentials from expected addresses. A call from the instance's own
//!   address with no agent or a raw HTTP client (curl, python-requests, Go-http-client, …) is an
//!   anomaly at once; one with a family the role's workloads never used is an anomaly once the
//!   role's profile is established ([`MIN_CALLS`] calls over [`MIN_SPAN`]). A new family seen on
//!   [`ROLLOUT`] instances of the role is a rollout and is learned. One finding per credential.
//! * AWS's own agents on the instance (SSM, CloudWatch, ECS, the VPC CNI, the EKS node's
//!   IAM authenticator and agents: `data/useragent-aws-agents.tsv`) are infrastructure,
//!   not a workload: never judged, never learned, even the first time a role's instances run them
//!   (issue 13). AWS services' and the console's agents likewise.
//! * A presigned S3 request from the instance's own address (`AuthenticationMethod` `QueryString`)
//!   is judged only for a raw client or none (issue 13: the SSRF pattern of a stolen key presigned
//!   offline and fetched through the server); other clients of presigned URLs are never learned.
//! * VPC endpoint network-activity records (no agent, no `readOnly`) are not client calls and are
//!   never judged.
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use compact_str::CompactString;
use memchr::memmem::Finder;

use super::common::{apply_evidence, blank, source_context};
use super::suspects::{ParentRef, Suspect, Suspects};
use crate::address::AddressBook;
use crate::event::{Delivery, Event};
use crate::finding::{stable_id, Evidence, Finding, Severity};
use crate::keyed::Keyed;
use crate::remedy::StolenRole;
use crate::time::{EventTime, HOUR, MINUTE};
use crate::track::{Observation, Tracker, Verdict};
use crate::useragent::{Family, UserAgent};

/// Finding type name (part of the output contract).
pub const SSRF: &str = "SsrfUserAgentAnomaly";

/// Calls from expected addresses before a role's client profile is established.
pub const MIN_CALLS: u64 = 20;
/// Event time a role's profile must span before it is established.
pub const MIN_SPAN: i64 = 30 * MINUTE;
/// Instances of a role a new client family must appear on to count as a rollout.
pub const ROLLOUT: usize = 3;
/// Client families remembered per role.
const MAX_FAMILIES: usize = 16;

/// AWS's agents on instances: `pattern<TAB>agent<TAB>source` rows; a user agent containing the
/// pattern is that agent's.
static AWS_AGENTS: &str = include_str!("../../../../data/useragent-aws-agents.tsv");

/// The AWS agent a user agent names, if any (`data/useragent-aws-agents.tsv`).
pub fn aws_agent(user_agent: &str) -> Option<&'static str> {
    // Parsed once, each pattern with its searcher: this runs for every client a role has not
    // learned, which is most events of a role's first hours.
    static AGENTS: OnceLock<Vec<(Finder<'static>, &'static str)>> = OnceLock::new();
    let agents = AGENTS.get_or_init(|| {
        AWS_AGENTS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut cols = l.split('\t');
                Some((Finder::new(cols.next()?), cols.next()?))
            })
            .collect()
    });
    agents
        .iter()
        .find(|(pattern, _)| pattern.find(user_agent.as_bytes()).is_some())
        .map(|&(_, agent)| agent)
}

/// A client: SDK family and major version.
type ClientKey = (Family, Option<u16>);

/// A role's workload clients.
#[derive(Clone, Default, serde::Serialize, serde::Deserialize)]
struct RoleProfile {
    families: Vec<ClientKey>,
    calls: u64,
    first: EventTime,
    /// Unknown families seen, with the instances they came from.
    candidates: Vec<(ClientKey, Vec<CompactString>)>,
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct SsrfDraft {
    #[serde(with = "crate::state::serde_util::as_json")]
    finding: Finding,
    evidence: Evidence,
    learned: Vec<(Family, Option<u16>)>,
    #[serde(deserialize_with = "crate::state::serde_util::leak")]
    reasons: BTreeSet<crate::state::serde_util::Name>,
    delivery: Option<Delivery>,
}

/// `SsrfUserAgentAnomaly`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct Ssrf {
    roles: Keyed<CompactString, RoleProfile>,
    #[serde(with = "crate::state::serde_util::sorted_map")]
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
            .issuer_arn()
            .or_else(|| inst.and_then(|i| i.role_arn.as_deref()))
        else {
            return;
        };
        self.roles.maintain(now);
        let (p, fresh) = self.roles.upsert_ref(role, now, RoleProfile::default);
        if fresh {
            p.first = now;
        }
        let fk = ua.family_key();
        let raw = matches!(ua.family, Family::Empty | Family::RawHttp);
        let known = p.families.contains(&fk);
        let established = p.calls >= MIN_CALLS && now.since(p.first) >= MIN_SPAN;
        // Only a client the role has not learned is looked up (the lookup is off the hot path).
        if !known && aws_agent(ev.user_agent()).is_some() {
            return;
        }
        // A presigned URL is fetched by whatever the holder runs (a media tool, a headless browser),
        // not by the role's SDK: only a raw HTTP client counts (the SSRF pattern: a stolen key,
        // presigned offline, fetched through the server), and nothing is learned from it.
        if ev.presigned && !raw {
            return;
        }
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
            f.principal_arn = ev.identity_arn().unwrap_or("").to_owned();
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
            f.user_agent = ev.user_agent().to_string();
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
    ev.user_agent().is_empty() && ev.read_only.is_none() && ev.vpc_endpoint_id.is_some()
}
