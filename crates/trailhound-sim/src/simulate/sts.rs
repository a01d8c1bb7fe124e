//! STS records that issue credentials other than the EC2 service's: `AssumeRole` by a principal (written
//! to both accounts when it crosses accounts, as CloudTrail does: same `requestID` and `sharedEventID`,
//! `userIdentity.type` `AWSAccount` in the role owner's copy), `AssumeRoleWithWebIdentity` (EKS pods,
//! GitHub Actions), and a service's own `AssumeRole` (`lambda.amazonaws.com`, `ecs-tasks.amazonaws.com`).
use super::calls::Svc;
use super::clients::Client;
use super::out::Out;
use super::record::{Rec, Who};
use super::session::{self, Owned};
use super::truth::Label;
use super::world::World;

/// An `AssumeRole` call by `caller` (in account `from`) issuing `target`, written to the caller's account
/// and, when the role is in another account, to the role owner's too (same `requestID` and
/// `sharedEventID`, `userIdentity.type` `AWSAccount`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn assume(
    w: &mut World,
    out: &mut Out,
    t: i64,
    caller: &Who<'_>,
    from: usize,
    target: &Owned,
    to: usize,
    ip: &str,
    client: &Client,
    label: Option<&Label<'_>>,
) {
    let (principal, caller_account) = match caller {
        Who::Role(s) => (s.principal, s.account),
        Who::User {
            principal, account, ..
        } => (*principal, *account),
        _ => ("", ""),
    };
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        target.role_arn, target.name
    );
    let mut resp = String::with_capacity(900);
    session::credentials(
        &mut resp,
        &mut w.rng,
        &target.key,
        t,
        3600,
        Some((&target.principal, &target.arn)),
    );
    let mut res = String::new();
    session::role_resource(&mut res, &target.account, &target.role_arn);
    let rid = w.rng.uuid();
    let shared = w.rng.uuid();
    let host = w.host(Svc::Sts, 0).to_string();
    for (k, acct) in [from, to].into_iter().enumerate() {
        if k == 1 && to == from {
            break;
        }
        let event_id = w.rng.uuid();
        let who = if k == 0 {
            caller.clone()
        } else {
            Who::Account {
                principal,
                account: caller_account,
            }
        };
        let mut r = Rec::api(
            t,
            who,
            "sts.amazonaws.com",
            "AssumeRole",
            "us-east-1",
            ip,
            client.ua,
            &w.org.accounts[acct].id,
            event_id.as_str(),
        );
        r.request = Some(&req);
        r.response = Some(&resp);
        r.resources = Some(&res);
        r.request_id = Some(rid.as_str());
        if to != from {
            r.shared_id = Some(shared.as_str());
        }
        if !client.tls.is_empty() {
            r.tls = Some((client.tls, client.cipher, &host));
        }
        out.emit(&r, acct, 0, label);
    }
}

/// A web-identity `AssumeRoleWithWebIdentity` issuing `sess` for `subject` from `provider`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn web_identity(
    w: &mut World,
    out: &mut Out,
    t: i64,
    sess: &Owned,
    acct: usize,
    region: usize,
    provider: &str,
    subject: &str,
    ip: &str,
    client: &Client,
) {
    let principal = format!("{provider}:sts.amazonaws.com:{subject}");
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        sess.role_arn, sess.name
    );
    let mut creds = String::with_capacity(900);
    session::credentials(
        &mut creds,
        &mut w.rng,
        &sess.key,
        t,
        3600,
        Some((&sess.principal, &sess.arn)),
    );
    let resp = format!("{},\"subjectFromWebIdentityToken\":\"{subject}\",\"provider\":\"{provider}\",\"audience\":\"sts.amazonaws.com\"}}", &creds[..creds.len() - 1]);
    let mut res = String::new();
    session::role_resource(&mut res, &sess.account, &sess.role_arn);
    let (event_id, rid) = (w.rng.uuid(), w.rng.uuid());
    let host = w.host(Svc::Sts, region).to_string();
    let who = Who::WebId {
        principal: &principal,
        name: subject,
        provider,
    };
    let mut r = Rec::api(
        t,
        who,
        "sts.amazonaws.com",
        "AssumeRoleWithWebIdentity",
        World::region(region),
        ip,
        client.ua,
        &sess.account,
        event_id.as_str(),
    );
    r.request = Some(&req);
    r.response = Some(&resp);
    r.resources = Some(&res);
    r.request_id = Some(rid.as_str());
    r.tls = Some((client.tls, client.cipher, &host));
    out.emit(&r, acct, region, None);
}

/// A service's own `AssumeRole` (`lambda.amazonaws.com`, `ecs-tasks.amazonaws.com`, …) issuing `sess`.
pub(crate) fn service_assume(
    w: &mut World,
    out: &mut Out,
    t: i64,
    sess: &Owned,
    acct: usize,
    region: usize,
    service: &str,
) {
    let req = format!(
        "{{\"roleArn\":\"{}\",\"roleSessionName\":\"{}\"}}",
        sess.role_arn, sess.name
    );
    let mut resp = String::with_capacity(900);
    session::credentials(
        &mut resp,
        &mut w.rng,
        &sess.key,
        t,
        3600 * 6,
        Some((&sess.principal, &sess.arn)),
    );
    let mut res = String::new();
    session::role_resource(&mut res, &sess.account, &sess.role_arn);
    let (event_id, rid, shared) = (w.rng.uuid(), w.rng.uuid(), w.rng.uuid());
    let mut r = Rec::api(
        t,
        Who::Service(service),
        "sts.amazonaws.com",
        "AssumeRole",
        World::region(region),
        service,
        service,
        &sess.account,
        event_id.as_str(),
    );
    r.request = Some(&req);
    r.response = Some(&resp);
    r.resources = Some(&res);
    r.request_id = Some(rid.as_str());
    r.shared_id = Some(shared.as_str());
    out.emit(&r, acct, region, None);
}
