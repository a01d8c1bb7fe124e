//! Tracker tests: inline CloudTrail records (real shapes), explicit times, expected verdicts.
use super::*;
use crate::decode::decode_bytes;
use crate::ranges::Ranges;

const ACCOUNT: &str = "123456789012";
const INSTANCE: &str = "i-0abc1234def567890";
/// us-east-1 EC2 addresses (3.225.16.0/20-ish range, checked by the ranges tests).
const NAT_EIP: &str = "3.225.16.109";
const OTHER_EC2: &str = "3.225.16.200";

fn event(json: &str) -> Event {
    let mut out: Vec<Result<Event, crate::decode::Skip>> = Vec::new();
    decode_bytes("t", json.as_bytes(), &mut out);
    match out.pop() {
        Some(Ok(e)) => e,
        other => panic!("bad test record: {other:?}"),
    }
}

fn assume(time: &str, key: &str) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}},"eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/web","roleSessionName":"{INSTANCE}"}},"responseElements":{{"credentials":{{"accessKeyId":"{key}","sessionToken":"FAKE","expiration":"Jul 10, 2023, 6:30:22 PM"}}}},"requestID":"r-1","eventID":"e-{key}-{time}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management"}}"#
    ))
}

fn call(time: &str, key: &str, ip: &str, extra: &str) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:{INSTANCE}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/web/{INSTANCE}","accountId":"{ACCOUNT}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::{ACCOUNT}:role/web","accountId":"{ACCOUNT}","userName":"web"}},"attributes":{{"creationDate":"2023-07-10T11:55:22Z","mfaAuthenticated":"false"}},"ec2RoleDelivery":"2.0"}}}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-sdk-go/1.44.0 (go1.20; linux; amd64)","requestParameters":null,"responseElements":null,"requestID":"x","eventID":"c-{key}-{time}-{ip}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management"{extra}}}"#
    ))
}

fn ec2(time: &str, name: &str, request: &str, response: &str) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::{ACCOUNT}:user/admin","accountId":"{ACCOUNT}","accessKeyId":"AKIAEXAMPLE"}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.13.0","requestParameters":{request},"responseElements":{response},"requestID":"q","eventID":"n-{name}-{time}","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"{ACCOUNT}"}}"#
    ))
}

struct Run {
    tracker: Tracker,
    book: AddressBook,
}

impl Run {
    fn new() -> Self {
        Run {
            tracker: Tracker::new(&Settings::default()),
            book: AddressBook::new(Ranges::builtin(), &[]),
        }
    }
    fn verdict(&mut self, ev: Event) -> Option<Verdict> {
        self.tracker.observe(&ev, &self.book).map(|o| o.verdict)
    }
}

#[test]
fn nat_eip_expected_and_private_without_endpoint_not() {
    let mut r = Run::new();
    r.verdict(ec2(
        "2023-07-10T11:55:08Z",
        "AllocateAddress",
        r#"{"domain":"vpc"}"#,
        &format!(r#"{{"publicIp":"{NAT_EIP}","allocationId":"eipalloc-1","domain":"vpc"}}"#),
    ));
    r.verdict(ec2("2023-07-10T11:55:14Z", "CreateNatGateway", r#"{"CreateNatGatewayRequest":{"AllocationId":"eipalloc-1"}}"#, r#"{"CreateNatGatewayResponse":{"natGateway":{"natGatewayAddressSet":{"item":{"allocationId":"eipalloc-1"}}}}}"#));
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2023-07-10T11:57:16Z", "ASIAKEY1", NAT_EIP, "")),
        Some(Verdict::Expected(How::AccountElasticIp))
    );
    assert_eq!(
        r.verdict(call(
            "2023-07-10T11:57:22Z",
            "ASIAKEY1",
            "192.168.10.20",
            ""
        )),
        Some(Verdict::Unexpected(Why::PrivateNoEndpoint))
    );
    let vpce = r#","vpcEndpointId":"vpce-0123456789abcdef0","vpcEndpointAccountId":"123456789012""#;
    assert_eq!(
        r.verdict(call("2023-07-10T11:58:00Z", "ASIAKEY1", "10.0.1.10", vpce)),
        Some(Verdict::Expected(How::VpcEndpoint))
    );
    let foreign =
        r#","vpcEndpointId":"vpce-0ffffffffffffffff","vpcEndpointAccountId":"999999999999""#;
    assert_eq!(
        r.verdict(call(
            "2023-07-10T11:59:00Z",
            "ASIAKEY1",
            "10.9.9.9",
            foreign
        )),
        Some(Verdict::Unexpected(Why::ForeignEndpoint(
            "999999999999".into()
        )))
    );
}

#[test]
fn attacker_first_outside_is_flagged_then_the_instance_locks() {
    let mut r = Run::new();
    r.verdict(assume("2024-03-05T12:00:00Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2024-03-05T12:01:00Z", "ASIAKEY1", "203.0.113.50", "")),
        Some(Verdict::Unexpected(Why::Implausible(
            Implausible::OutsideAws
        )))
    );
    assert_eq!(
        r.verdict(call("2024-03-05T12:02:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(
        r.verdict(call("2024-03-05T12:03:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
    assert_eq!(
        r.verdict(call("2024-03-05T12:04:00Z", "ASIAKEY1", NAT_EIP, "")),
        Some(Verdict::Unexpected(Why::NotLock(
            OTHER_EC2.parse().unwrap()
        )))
    );
}

#[test]
fn a_plausible_first_use_is_contested_by_the_known_address() {
    let mut r = Run::new();
    r.verdict(ec2(
        "2024-03-05T11:00:00Z",
        "AllocateAddress",
        "{}",
        &format!(r#"{{"publicIp":"{NAT_EIP}","allocationId":"eipalloc-1"}}"#),
    ));
    r.verdict(assume("2024-03-05T12:00:00Z", "ASIAKEY1"));
    // The thief, in AWS in the same region, gets there first: plausible, so it becomes the lock.
    assert_eq!(
        r.verdict(call("2024-03-05T12:01:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
    // The instance calls from the account's Elastic IP known since 11:00: the lock was not the instance.
    let Some(Verdict::Contested(lock)) =
        r.verdict(call("2024-03-05T12:02:00Z", "ASIAKEY1", NAT_EIP, ""))
    else {
        panic!("not contested")
    };
    assert_eq!(lock.ip.to_string(), OTHER_EC2);
    assert_eq!(lock.count, 1);
    // The thief's address is not re-locked afterwards.
    assert_eq!(
        r.verdict(call("2024-03-05T12:03:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Unexpected(Why::EgressKnown))
    );
}

#[test]
fn start_releases_the_lock_and_refresh_keeps_the_instance() {
    let mut r = Run::new();
    r.verdict(assume("2024-03-05T12:00:00Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2024-03-05T12:01:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
    // A refresh issues a new key; the instance (and its lock) carry over.
    r.verdict(assume("2024-03-05T13:00:00Z", "ASIAKEY2"));
    assert_eq!(
        r.verdict(call("2024-03-05T13:01:00Z", "ASIAKEY2", OTHER_EC2, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
    r.verdict(ec2(
        "2024-03-05T14:00:00Z",
        "StartInstances",
        &format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{INSTANCE}"}}]}}}}"#),
        "{}",
    ));
    assert_eq!(
        r.verdict(call("2024-03-05T14:05:00Z", "ASIAKEY2", NAT_EIP, "")),
        Some(Verdict::Locked)
    );
}

#[test]
fn state_expires_after_the_ttl() {
    let mut r = Run::new();
    r.verdict(assume("2024-03-05T00:00:00Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2024-03-05T00:01:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
    r.verdict(assume("2024-03-05T07:00:00Z", "ASIAKEY9"));
    assert_eq!(
        r.verdict(call("2024-03-05T07:01:00Z", "ASIAKEY9", NAT_EIP, "")),
        Some(Verdict::Locked)
    );
}

#[test]
fn session_names_alone_are_not_instances_and_services_never_count() {
    let mut r = Run::new();
    let lookalike = call("2024-03-05T12:00:00Z", "ASIAKEYX", "203.0.113.9", "").clone();
    let mut lookalike = lookalike;
    lookalike.identity.delivery = None;
    assert_eq!(r.verdict(lookalike), None);
    r.verdict(assume("2024-03-05T12:00:00Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call(
            "2024-03-05T12:01:00Z",
            "ASIAKEY1",
            "autoscaling.amazonaws.com",
            ""
        )),
        None
    );
    assert_eq!(
        r.verdict(call("2024-03-05T12:01:00Z", "ASIAKEY1", "AWS Internal", "")),
        None
    );
    let mut on_behalf = call("2024-03-05T12:02:00Z", "ASIAKEY1", "203.0.113.9", "");
    on_behalf.identity.invoked_by = Some("athena.amazonaws.com".into());
    assert_eq!(r.verdict(on_behalf), None);
}

#[test]
fn mid_stream_sessions_are_learned() {
    let mut r = Run::new();
    assert_eq!(
        r.verdict(call("2024-03-05T12:01:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(r.tracker.stats().mid_stream, 1);
    assert!(
        !r.tracker
            .instance(INSTANCE, EventTime::parse("2024-03-05T12:01:00Z").unwrap())
            .unwrap()
            .issued_seen
    );
}

#[test]
fn state_per_instance_fits_the_budget() {
    // Each instance: launched (two keys), refreshed once (two more), calling from its address.
    let mut r = Run::new();
    let n = 2000;
    for i in 0..n {
        let id = format!("i-{i:017x}");
        let t = |s: u32| format!("2024-03-05T1{}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60);
        for (k, sec) in [(2 * i, i % 1000), (2 * i + 1, i % 1000 + 1)] {
            let ev = assume(&t(sec), &format!("ASIA{k:016X}")).clone();
            let mut ev = ev;
            if let Detail::Issued(iss) = &mut ev.detail {
                iss.session_name = Some(id.as_str().into());
            }
            r.verdict(ev);
        }
        let mut call = call(
            &t(i % 1000 + 2),
            &format!("ASIA{:016X}", 2 * i + 1),
            &format!("3.225.{}.{}", i / 256, i % 256),
            "",
        );
        call.identity.arn = Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/web/{id}").into());
        assert_eq!(r.verdict(call), Some(Verdict::Locked));
    }
    let b = r.tracker.state_bytes();
    let n = n as usize;
    let (record, total) = (b.instances / n, (b.instances + b.keys + b.addresses) / n);
    assert!(record <= 512, "instance record: {record} bytes ({b:?})");
    assert!(
        total <= 800,
        "instance with its keys and address owner: {total} bytes ({b:?})"
    );
    assert_eq!(r.tracker.stats().instances, n);
}

/// An account's NAT gateway address is announced once (AllocateAddress, CreateNatGateway) and then
/// used for months: while its instances keep calling from it, it must never expire.
#[test]
fn an_account_egress_address_in_use_never_expires() {
    let mut r = Run::new();
    r.verdict(ec2(
        "2023-07-01T08:00:00Z",
        "AllocateAddress",
        r#"{"domain":"vpc"}"#,
        &format!(r#"{{"publicIp":"{NAT_EIP}","allocationId":"eipalloc-1","domain":"vpc"}}"#),
    ));
    r.verdict(ec2("2023-07-01T08:00:05Z", "CreateNatGateway", r#"{"CreateNatGatewayRequest":{"AllocationId":"eipalloc-1"}}"#, r#"{"CreateNatGatewayResponse":{"natGateway":{"natGatewayAddressSet":{"item":{"allocationId":"eipalloc-1"}}}}}"#));
    // Thirty days, one refresh and a few calls a day: far past the idle TTL of announced addresses.
    for day in 1..=30 {
        let key = format!("ASIAKEYDAY{day:02}");
        r.verdict(assume(&format!("2023-07-{day:02}T09:00:00Z"), &key));
        for hour in [9, 13, 17] {
            let time = format!("2023-07-{day:02}T{hour:02}:30:00Z");
            assert_eq!(
                r.verdict(call(&time, &key, NAT_EIP, "")),
                Some(Verdict::Expected(How::AccountElasticIp)),
                "{time}"
            );
        }
    }
}
