//! Session lineage (SPEC §2.2): which credential issued which. Every `AssumeRole`,
//! `AssumeRoleWithSAML`, `AssumeRoleWithWebIdentity`, `GetSessionToken` and `GetFederationToken` links
//! the caller's `userIdentity.accessKeyId` (the parent) to the `responseElements.credentials.accessKeyId`
//! it receives (the child), across accounts and regions, so every session knows its path back to its
//! origin and where that began.
//!
//! Invariants:
//! * Origins are credentials nobody in the input issued: an IAM user's (or root's) long-term key, an
//!   EC2 instance credential (the tracker's instance keys; the EC2 service's own `AssumeRole` never
//!   reaches this module), an AWS service's session (`lambda.amazonaws.com` assuming a function's
//!   role), a SAML/OIDC federation (`AssumeRoleWithSAML` / `AssumeRoleWithWebIdentity` have no parent
//!   key), or — when the parent's own issuance is older than the input — `Unknown`, taken as depth 0
//!   (a session of unknown depth is not assumed to be deep: no finding rests on a guess).
//! * Depth counts role assumptions from the origin: a federation's `AssumeRoleWith*` is hop 1, an
//!   `AssumeRole` adds one. `GetSessionToken` and `GetFederationToken` are links on the path (listed
//!   as hops) but do not add depth: the principal stays the same person.
//! * A cross-account `AssumeRole` is logged twice: in the caller's account (with the caller's key) and
//!   in the role owner's (`userIdentity.type` `AWSAccount`, no key). Either may come first; the two
//!   are one hop with two event ids, and the caller's copy decides the parent.
//! * `sourceIdentity` (set on the request, or inherited in the caller's `sessionContext`) is kept on
//!   the hop and on the origin: it names the person behind a whole chain.
//! * State is bounded in event time: a session is gone once its credentials expire (`expiration`,
//!   5 minutes of grace; when missing, the longest duration STS allows), and the maps are `Keyed`
//!   (role sessions ≤ 12 h, session and federation tokens ≤ 36 h) with a cap. Paths keep at most
//!   [`MAX_HOPS`] hops (the depth still counts them all).
use compact_str::CompactString;

use super::KeyInfo;
use crate::event::{assumed_role_session, is_instance_id, Event, IdentityType, Issued};
use crate::keyed::{Evictions, Keyed};
use crate::time::{EventTime, HOUR, MINUTE};

/// Hops kept per path (the oldest are dropped beyond this; `depth` still counts them).
pub const MAX_HOPS: usize = 16;

/// Longest role session STS issues (`AssumeRole*` `DurationSeconds` ≤ 12 h).
const ROLE_MAX: i64 = 12 * HOUR;
/// Longest session / federation token (`GetSessionToken`, `GetFederationToken` ≤ 36 h).
const TOKEN_MAX: i64 = 36 * HOUR;
/// Clock skew allowed past `expiration`.
const GRACE: i64 = 5 * MINUTE;

/// The STS call that issued a credential.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Via {
    /// `AssumeRole`.
    AssumeRole,
    /// `AssumeRoleWithSAML`.
    AssumeRoleWithSaml,
    /// `AssumeRoleWithWebIdentity`.
    AssumeRoleWithWebIdentity,
    /// `GetSessionToken`.
    GetSessionToken,
    /// `GetFederationToken`.
    GetFederationToken,
}

impl Via {
    /// The STS event name.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::AssumeRole => "AssumeRole",
            Via::AssumeRoleWithSaml => "AssumeRoleWithSAML",
            Via::AssumeRoleWithWebIdentity => "AssumeRoleWithWebIdentity",
            Via::GetSessionToken => "GetSessionToken",
            Via::GetFederationToken => "GetFederationToken",
        }
    }

    /// Parses an STS event name.
    pub fn from_event_name(name: &str) -> Option<Via> {
        Some(match name {
            "AssumeRole" => Via::AssumeRole,
            "AssumeRoleWithSAML" => Via::AssumeRoleWithSaml,
            "AssumeRoleWithWebIdentity" => Via::AssumeRoleWithWebIdentity,
            "GetSessionToken" => Via::GetSessionToken,
            "GetFederationToken" => Via::GetFederationToken,
            _ => return None,
        })
    }

    /// A role assumption (adds one to the depth).
    pub fn is_role(self) -> bool {
        matches!(
            self,
            Via::AssumeRole | Via::AssumeRoleWithSaml | Via::AssumeRoleWithWebIdentity
        )
    }
}

/// What kind of credential a chain began with.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum OriginKind {
    /// An IAM user's long-term (`AKIA…`) key.
    IamUser,
    /// The root user's key.
    Root,
    /// An EC2 instance credential.
    Ec2Instance,
    /// A SAML federation (`AssumeRoleWithSAML`, also IAM Identity Center).
    SamlFederation,
    /// An OIDC / web-identity federation (`AssumeRoleWithWebIdentity`: GitHub Actions, EKS pods, …).
    WebIdentityFederation,
    /// An AWS service's own session of a role (Lambda, ECS tasks, …).
    AwsService,
    /// A session whose issuance is not in the input.
    Unknown,
}

impl OriginKind {
    /// `iam_user`, `root`, `ec2_instance`, `saml_federation`, `web_identity_federation`,
    /// `aws_service`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginKind::IamUser => "iam_user",
            OriginKind::Root => "root",
            OriginKind::Ec2Instance => "ec2_instance",
            OriginKind::SamlFederation => "saml_federation",
            OriginKind::WebIdentityFederation => "web_identity_federation",
            OriginKind::AwsService => "aws_service",
            OriginKind::Unknown => "unknown",
        }
    }
}

/// Where a chain began.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// What kind of credential.
    pub kind: OriginKind,
    /// Who: user ARN, instance id, the federated role, the service, or the caller's ARN.
    pub principal: CompactString,
    /// The role of an origin that is a role session (instance, service, unknown).
    pub role_arn: Option<CompactString>,
    /// The origin's credential, when it has one.
    pub key: Option<CompactString>,
    /// The instance, for instance credentials.
    pub instance: Option<CompactString>,
    /// The origin's account.
    pub account: CompactString,
    /// Source address of the first issuance on the path.
    pub source_ip: CompactString,
    /// `sourceIdentity`, the first one set on the path.
    pub source_identity: Option<CompactString>,
}

/// One issuance on a path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hop {
    /// The STS call.
    pub via: Via,
    /// `requestParameters.roleArn`.
    pub role_arn: Option<CompactString>,
    /// The role's account (the caller's, for tokens).
    pub account: CompactString,
    /// `requestParameters.roleSessionName`.
    pub session_name: Option<CompactString>,
    /// Event time.
    pub at: EventTime,
    /// `sourceIPAddress`.
    pub source_ip: CompactString,
    /// `userAgent`.
    pub user_agent: CompactString,
    /// `awsRegion`.
    pub region: CompactString,
    /// The caller's key (none for federation and the role owner's copy).
    pub caller_key: Option<CompactString>,
    /// The caller's ARN, when logged.
    pub caller_arn: Option<CompactString>,
    /// The issued key.
    pub key: CompactString,
    /// `sourceIdentity` of the request, or inherited from the caller.
    pub source_identity: Option<CompactString>,
    /// The event ids (two for a cross-account call logged in both accounts).
    pub event_ids: Vec<CompactString>,
}

/// A live issued credential and its path.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    /// Role assumptions from the origin.
    pub depth: u16,
    /// Where the path began.
    pub origin: Origin,
    /// Issuances from the origin to this session (this one last; at most [`MAX_HOPS`]).
    pub hops: Vec<Hop>,
    /// When the credential stops working (with grace).
    pub expires: EventTime,
    /// Only the role owner's copy of the issuance was seen so far: the parent is not known yet.
    pub provisional: bool,
}

impl Session {
    /// This session's own issuance.
    pub fn last(&self) -> &Hop {
        // A session is never stored without its hop.
        &self.hops[self.hops.len() - 1]
    }

    /// The keys this session descends from, nearest first: every earlier issued key on the path,
    /// then the origin's key.
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        let n = self.hops.len().saturating_sub(1);
        self.hops[..n]
            .iter()
            .rev()
            .map(|h| h.key.as_str())
            .chain(self.origin.key.as_deref())
    }

    /// The role ARNs assumed on the path, in order (tokens excluded).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.hops
            .iter()
            .filter(|h| h.via.is_role())
            .filter_map(|h| h.role_arn.as_deref())
    }
}

/// Sizes and evictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineageStats {
    /// Sessions tracked now.
    pub sessions: usize,
    /// Issuances linked so far.
    pub issued: u64,
    /// Issuances whose parent key was not known (origin `Unknown`).
    pub unknown_parent: u64,
    /// Evictions of role sessions.
    pub role_evictions: Evictions,
    /// Evictions of session / federation tokens.
    pub token_evictions: Evictions,
}

/// The lineage of issued credentials.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Lineage {
    roles: Keyed<CompactString, Session>,
    tokens: Keyed<CompactString, Session>,
    issued: u64,
    unknown_parent: u64,
}

impl Lineage {
    /// An empty lineage holding at most `cap` sessions of each kind.
    pub fn new(cap: usize) -> Self {
        Lineage {
            roles: Keyed::new(ROLE_MAX + GRACE, cap),
            tokens: Keyed::new(TOKEN_MAX + GRACE, cap / 4),
            issued: 0,
            unknown_parent: 0,
        }
    }

    /// The live session of `key` at `now` (`None` when unknown or expired).
    pub fn session(&self, key: &str, now: EventTime) -> Option<&Session> {
        self.roles
            .peek(key, now)
            .or_else(|| self.tokens.peek(key, now))
            .filter(|s| now <= s.expires)
    }

    /// Where the session of `key` began, if it descends from a known issuance.
    pub fn origin(&self, key: &str, now: EventTime) -> Option<&Origin> {
        self.session(key, now).map(|s| &s.origin)
    }

    /// Sizes and evictions.
    pub fn stats(&self) -> LineageStats {
        LineageStats {
            sessions: self.roles.len() + self.tokens.len(),
            issued: self.issued,
            unknown_parent: self.unknown_parent,
            role_evictions: self.roles.evictions(),
            token_evictions: self.tokens.evictions(),
        }
    }

    pub(super) fn maintain(&mut self, now: EventTime) {
        self.roles.maintain(now);
        self.tokens.maintain(now);
    }

    /// Links one issuance (any STS issuance but the EC2 service's, which the tracker handles).
    pub(super) fn issued(
        &mut self,
        ev: &Event,
        issued: &Issued,
        instance_keys: &Keyed<CompactString, KeyInfo>,
    ) {
        let Some(via) = Via::from_event_name(ev.event_name()) else {
            return;
        };
        let now = ev.time;
        let id = &ev.identity;
        let hop = hop(ev, via, issued);
        let expires = expiry(now, via, issued.expiration);
        let child = issued.access_key_id.clone();
        let caller_key = id.access_key_id.as_deref().filter(|k| !k.is_empty());

        let (depth, origin, mut hops, provisional) = match (via, id.kind, caller_key) {
            (Via::AssumeRoleWithSaml | Via::AssumeRoleWithWebIdentity, _, _) => {
                let kind = if via == Via::AssumeRoleWithSaml {
                    OriginKind::SamlFederation
                } else {
                    OriginKind::WebIdentityFederation
                };
                let principal = ev
                    .identity_arn()
                    .map(CompactString::from)
                    .or_else(|| issued.role_arn.clone());
                (
                    1,
                    origin(kind, principal, None, ev, &hop),
                    Vec::new(),
                    false,
                )
            }
            (_, IdentityType::AwsService, _) | (_, _, None) if id.invoked_by.is_some() => {
                // An AWS service's own session: the origin credential itself (depth 0).
                let service = id.invoked_by.clone().unwrap_or_default();
                let mut o = origin(OriginKind::AwsService, Some(service), None, ev, &hop);
                o.role_arn = issued.role_arn.clone();
                (0, o, Vec::new(), false)
            }
            (_, _, None) => {
                // The role owner's copy of a cross-account call (`AWSAccount`, no key).
                if let Some(s) = self.roles.get(&child, now) {
                    add_ids(s.hops.last_mut(), &hop.event_ids);
                    return;
                }
                let who = id.account_id.as_deref().unwrap_or("").to_owned();
                let o = origin(OriginKind::Unknown, Some(who.into()), None, ev, &hop);
                (u16::from(via.is_role()), o, Vec::new(), true)
            }
            (_, kind, Some(key)) => {
                if let Some(existing) = self.find_mut(&child, now) {
                    if !existing.provisional {
                        // The same issuance again (the other account's copy with a key).
                        add_ids(existing.hops.last_mut(), &hop.event_ids);
                        return;
                    }
                }
                match self.session(key, now) {
                    Some(parent) => {
                        let depth = parent.depth.saturating_add(u16::from(via.is_role()));
                        let mut o = parent.origin.clone();
                        if o.source_identity.is_none() {
                            o.source_identity = hop.source_identity.clone();
                        }
                        (depth, o, parent.hops.clone(), false)
                    }
                    None => {
                        let o = caller_origin(ev, kind, key, instance_keys, &hop);
                        if o.kind == OriginKind::Unknown {
                            self.unknown_parent += 1;
                        }
                        (u16::from(via.is_role()), o, Vec::new(), false)
                    }
                }
            }
        };
        let mut hop = hop;
        // Merge the other copy's event id if the role owner's copy came first.
        if let Some(prev) = self.find_mut(&child, now) {
            if prev.provisional {
                for e in prev.last().event_ids.clone() {
                    if !hop.event_ids.contains(&e) {
                        hop.event_ids.push(e);
                    }
                }
            }
        }
        if hops.len() >= MAX_HOPS {
            hops.drain(..hops.len() + 1 - MAX_HOPS);
        }
        hops.push(hop);
        let session = Session {
            depth,
            origin,
            hops,
            expires,
            provisional,
        };
        self.issued += 1;
        let map = if via.is_role() {
            &mut self.roles
        } else {
            &mut self.tokens
        };
        map.remove(&child);
        map.upsert(child, now, move || session);
    }

    fn find_mut(&mut self, key: &str, now: EventTime) -> Option<&mut Session> {
        if self.roles.peek(key, now).is_some() {
            return self.roles.get(key, now);
        }
        self.tokens.get(key, now)
    }
}

fn add_ids(hop: Option<&mut Hop>, ids: &[CompactString]) {
    if let Some(h) = hop {
        for id in ids {
            if !h.event_ids.contains(id) {
                h.event_ids.push(id.clone());
            }
        }
    }
}

fn hop(ev: &Event, via: Via, issued: &Issued) -> Hop {
    let account = issued
        .role_arn
        .as_deref()
        .and_then(super::arn_account)
        .unwrap_or(ev.account());
    Hop {
        via,
        role_arn: issued.role_arn.clone(),
        account: account.into(),
        session_name: issued.session_name.clone(),
        at: ev.time,
        source_ip: ev.source_ip.clone(),
        user_agent: ev.user_agent().into(),
        region: ev.region.clone(),
        caller_key: ev.identity.access_key_id.clone().filter(|k| !k.is_empty()),
        caller_arn: ev.identity_arn().map(CompactString::from),
        key: issued.access_key_id.clone(),
        source_identity: issued
            .source_identity
            .clone()
            .or_else(|| ev.identity.source_identity.clone()),
        event_ids: if ev.event_id().is_empty() {
            Vec::new()
        } else {
            vec![ev.event_id().into()]
        },
    }
}

fn origin(
    kind: OriginKind,
    principal: Option<CompactString>,
    key: Option<&str>,
    ev: &Event,
    hop: &Hop,
) -> Origin {
    Origin {
        kind,
        principal: principal.unwrap_or_default(),
        role_arn: None,
        key: key.map(CompactString::from),
        instance: None,
        account: ev
            .identity
            .account_id
            .clone()
            .unwrap_or_else(|| ev.account().into()),
        source_ip: ev.source_ip.clone(),
        source_identity: hop.source_identity.clone(),
    }
}

/// The origin of a caller whose own issuance is not in the lineage.
fn caller_origin(
    ev: &Event,
    kind: IdentityType,
    key: &str,
    instance_keys: &Keyed<CompactString, KeyInfo>,
    hop: &Hop,
) -> Origin {
    let id = &ev.identity;
    let arn = ev.identity_arn().map(CompactString::from);
    match kind {
        IdentityType::IamUser => origin(OriginKind::IamUser, arn, Some(key), ev, hop),
        IdentityType::Root => origin(OriginKind::Root, arn, Some(key), ev, hop),
        _ => {
            // Instance credentials: a key the EC2 service issued, or (mid-stream) a strict instance
            // session name corroborated by `ec2RoleDelivery` — the tracker's rule.
            let instance = instance_keys
                .peek(key, ev.time)
                .map(|k| k.instance.clone())
                .or_else(|| {
                    let session = assumed_role_session(arn.as_deref()?)?;
                    (is_instance_id(session) && id.delivery.is_some()).then(|| session.into())
                });
            let kind = if instance.is_some() {
                OriginKind::Ec2Instance
            } else {
                OriginKind::Unknown
            };
            let principal = instance.clone().or(arn);
            let mut o = origin(kind, principal, Some(key), ev, hop);
            o.instance = instance;
            o.role_arn = ev.issuer_arn().map(CompactString::from);
            o
        }
    }
}

/// When the credential stops working: its `expiration` when plausible, else the longest STS allows.
fn expiry(now: EventTime, via: Via, expiration: Option<EventTime>) -> EventTime {
    let max = if via.is_role() { ROLE_MAX } else { TOKEN_MAX };
    match expiration {
        Some(e) if e > now && e.since(now) <= max => e.plus(GRACE),
        _ => now.plus(max + GRACE),
    }
}

#[cfg(test)]
#[path = "lineage_tests.rs"]
mod tests;
