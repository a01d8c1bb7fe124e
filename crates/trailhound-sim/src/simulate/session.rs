//! Owned role sessions (people, services, attackers), and the STS responses that issue them.
use std::fmt::Write as _;

use super::clock;
use super::org::Org;
use super::record::RoleSession;
use super::rng::Rng;

/// A role session whose strings are owned (for sessions that are not instances').
#[derive(Clone, Debug)]
pub(crate) struct Owned {
    /// `AROA…:<name>`.
    pub principal: String,
    /// Session ARN.
    pub arn: String,
    /// Account id.
    pub account: String,
    /// `ASIA…` (empty for service-linked sessions that log none).
    pub key: String,
    /// Role id.
    pub role_id: String,
    /// Role ARN.
    pub role_arn: String,
    /// Role name.
    pub role_name: String,
    /// Session name.
    pub name: String,
    /// Issue time, ISO.
    pub created: String,
    /// MFA used.
    pub mfa: bool,
    /// OIDC provider (web identity sessions).
    pub web_provider: Option<String>,
    /// `sourceIdentity`.
    pub source_identity: Option<String>,
    /// `ec2RoleDelivery` (instance credentials).
    pub delivery: Option<&'static str>,
}

impl Owned {
    /// A new session of role `role` named `name`, issued at `t`.
    pub(crate) fn new(org: &Org, rng: &mut Rng, role: usize, name: &str, t: i64) -> Owned {
        let r = &org.roles[role];
        let a = &org.accounts[r.acct];
        Owned {
            principal: format!("{}:{name}", r.id),
            arn: format!("arn:aws:sts::{}:assumed-role/{}/{name}", a.id, r.name),
            account: a.id.clone(),
            key: rng.aws_key("ASIA", a.num).as_str().to_string(),
            role_id: r.id.clone(),
            role_arn: r.arn.clone(),
            role_name: r.name.clone(),
            name: name.to_string(),
            created: clock::iso_string(t),
            mfa: false,
            web_provider: None,
            source_identity: None,
            delivery: None,
        }
    }

    /// The session as a `userIdentity`.
    pub(crate) fn view(&self) -> RoleSession<'_> {
        RoleSession {
            principal: &self.principal,
            arn: &self.arn,
            account: &self.account,
            key: &self.key,
            role_id: &self.role_id,
            role_arn: &self.role_arn,
            role_name: &self.role_name,
            created: &self.created,
            mfa: self.mfa,
            delivery: self.delivery,
            web_provider: self.web_provider.as_deref(),
            source_identity: self.source_identity.as_deref(),
            invoked_by: None,
        }
    }
}

/// Appends a fake but well-formed session token.
pub(crate) fn token(o: &mut String, rng: &mut Rng) {
    o.push_str("IQoJb3JpZ2luX2VjE");
    for _ in 0..5 {
        o.push_str(rng.b64::<120>().as_str());
    }
}

/// `{"credentials":{…}}` (plus `assumedRoleUser` unless `ec2`): an STS response issuing `key` at `t`.
pub(crate) fn credentials(
    o: &mut String,
    rng: &mut Rng,
    key: &str,
    t: i64,
    lifetime: i64,
    assumed: Option<(&str, &str)>,
) {
    o.push_str("{\"credentials\":{\"accessKeyId\":\"");
    o.push_str(key);
    o.push_str("\",\"sessionToken\":\"");
    token(o, rng);
    o.push_str("\",\"expiration\":\"");
    clock::sts_expiration(o, t + lifetime);
    o.push_str("\"}");
    if let Some((id, arn)) = assumed {
        let _ = write!(
            o,
            ",\"assumedRoleUser\":{{\"assumedRoleId\":\"{id}\",\"arn\":\"{arn}\"}}"
        );
    }
    o.push('}');
}

/// `resources` naming a role.
pub(crate) fn role_resource(o: &mut String, account: &str, role_arn: &str) {
    let _ = write!(
        o,
        "[{{\"accountId\":\"{account}\",\"type\":\"AWS::IAM::Role\",\"ARN\":\"{role_arn}\"}}]"
    );
}
