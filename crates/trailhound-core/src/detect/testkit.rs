//! Test-only builders of real-shaped CloudTrail records for the lineage and detector tests: STS
//! issuances (a principal's `AssumeRole`, the role owner's `AWSAccount` copy of a cross-account call,
//! web identity, a service's own `AssumeRole`), calls, and a small engine (tracker + detectors) to
//! run them through. Shapes follow docs/cloudtrail-record-shapes.md and the AWS CloudTrail
//! `userIdentity` reference.
#![allow(dead_code)]
use crate::address::AddressBook;
use crate::config::Settings;
use crate::decode::decode_bytes;
use crate::detect::Detectors;
use crate::event::Event;
use crate::finding::Finding;
use crate::ranges::Ranges;
use crate::track::Tracker;
use crate::useragent::UserAgent;

/// Decodes one record.
pub(crate) fn event(json: &str) -> Event {
    let mut out: Vec<Result<Event, crate::decode::Skip>> = Vec::new();
    decode_bytes("t", json.as_bytes(), &mut out);
    match out.pop() {
        Some(Ok(e)) => e,
        other => panic!("bad test record: {other:?}\n{json}"),
    }
}

/// `userIdentity` of an IAM user's long-term key.
pub(crate) fn user(acct: &str, name: &str, key: &str) -> String {
    format!(
        r#"{{"type":"IAMUser","principalId":"AIDA{name}EXAMPLE","arn":"arn:aws:iam::{acct}:user/{name}","accountId":"{acct}","accessKeyId":"{key}","userName":"{name}"}}"#
    )
}

/// `userIdentity` of a role session; `delivery` is `ec2RoleDelivery` for instance credentials.
pub(crate) fn role(
    acct: &str,
    role: &str,
    session: &str,
    key: &str,
    delivery: Option<&str>,
) -> String {
    let d = delivery
        .map(|d| format!(r#","ec2RoleDelivery":"{d}""#))
        .unwrap_or_default();
    format!(
        r#"{{"type":"AssumedRole","principalId":"AROA{role}:{session}","arn":"arn:aws:sts::{acct}:assumed-role/{role}/{session}","accountId":"{acct}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{role}","arn":"arn:aws:iam::{acct}:role/{role}","accountId":"{acct}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"2024-03-05T10:00:00Z","mfaAuthenticated":"false"}}{d}}}}}"#
    )
}

/// The role owner's copy of a cross-account `AssumeRole`: the caller's account, no key.
pub(crate) fn aws_account(caller_acct: &str) -> String {
    format!(
        r#"{{"type":"AWSAccount","principalId":"AIDACALLEREXAMPLE","accountId":"{caller_acct}"}}"#
    )
}

/// An AWS service acting for itself.
pub(crate) fn service(svc: &str) -> String {
    format!(r#"{{"type":"AWSService","invokedBy":"{svc}"}}"#)
}

/// A web-identity (OIDC) caller.
pub(crate) fn web_identity(acct: &str, subject: &str) -> String {
    format!(
        r#"{{"type":"WebIdentityUser","principalId":"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:{subject}","userName":"{subject}","identityProvider":"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"}}"#
    )
}

/// A record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record(
    time: &str,
    identity: &str,
    source: &str,
    name: &str,
    ip: &str,
    ua: &str,
    recipient: &str,
    request: &str,
    response: &str,
    id: &str,
    extra: &str,
) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{identity},"eventTime":"{time}","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"{ua}","requestParameters":{request},"responseElements":{response},"requestID":"req-{id}","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{recipient}","eventCategory":"Management"{extra}}}"#
    ))
}

/// An STS issuance by `identity` of `new_key` for `role_arn` (`name` = `AssumeRole`, …).
#[allow(clippy::too_many_arguments)]
pub(crate) fn issue(
    time: &str,
    name: &str,
    identity: &str,
    role_arn: &str,
    new_key: &str,
    ip: &str,
    ua: &str,
    recipient: &str,
    id: &str,
) -> Event {
    let request = if role_arn.is_empty() {
        r#"{"durationSeconds":3600}"#.to_owned()
    } else {
        format!(r#"{{"roleArn":"{role_arn}","roleSessionName":"s-{id}"}}"#)
    };
    let response = format!(
        r#"{{"credentials":{{"accessKeyId":"{new_key}","sessionToken":"FAKE","expiration":"Mar 5, 2024, 11:30:00 PM"}}}}"#
    );
    record(
        time, identity, "sts", name, ip, ua, recipient, &request, &response, id, "",
    )
}

/// A plain call (`iam:CreateUser`, `s3:ListBuckets`, …).
pub(crate) fn call(
    time: &str,
    identity: &str,
    action: &str,
    ip: &str,
    ua: &str,
    recipient: &str,
    id: &str,
) -> Event {
    let (svc, name) = action.split_once(':').unwrap_or(("sts", action));
    record(
        time, identity, svc, name, ip, ua, recipient, "null", "null", id, "",
    )
}

/// Tracker + detectors, as the pipeline wires them (without the reorder window: feed in order).
pub(crate) struct Engine {
    /// The tracker.
    pub tracker: Tracker,
    /// The detectors.
    pub detectors: Detectors,
    book: AddressBook,
}

impl Engine {
    /// Default settings, no chain allow-list.
    pub(crate) fn new() -> Self {
        Engine::with_allow(Vec::new())
    }

    /// With a chain allow-list.
    pub(crate) fn with_allow(allow: Vec<crate::config::ChainAllow>) -> Self {
        let settings = Settings::default();
        Engine {
            tracker: Tracker::new(&settings),
            detectors: Detectors::with_chain_allow(&settings, allow),
            book: AddressBook::new(Ranges::builtin(), &[]),
        }
    }

    /// One event through track → detect.
    pub(crate) fn feed(&mut self, ev: Event) {
        let obs = self.tracker.observe(&ev, &self.book);
        let ua = UserAgent::parse(ev.user_agent());
        self.detectors
            .on_event(&ev, &ua, obs.as_ref(), &self.tracker, &self.book);
    }

    /// The findings, sorted.
    pub(crate) fn finish(self) -> Vec<Finding> {
        let mut f = self.detectors.finish();
        crate::finding::sort(&mut f);
        f
    }
}
