//! Tracker tests: inline CloudTrail records (real shapes), explicit times, expected verdicts.
use super::*;
use crate::decode::decode_bytes;
use crate::event::{TextParts, Texts};
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
        let arn = format!("arn:aws:sts::{ACCOUNT}:assumed-role/web/{id}");
        call.texts = Texts::new(TextParts {
            identity_arn: Some(&arn),
            ..call.texts.parts()
        });
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

/// us-east-1 EC2 IPv6 (2600:1f18::/33 is published for us-east-1 EC2).
const V6_A: &str = "2600:1f18:4a3b:c200:8f1e:23ab:91c4:7d10";
/// Another address in the same /64 (another instance of the subnet).
const V6_SAME_SUBNET: &str = "2600:1f18:4a3b:c200:1d2c:3b4a:5968:7a8b";
/// us-east-1 EC2 IPv4 addresses.
const V4_AUTO: &str = "54.158.201.37";
const V4_EIP: &str = "3.225.16.150";

fn presigned(time: &str, key: &str, ip: &str, ua: &str) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:{INSTANCE}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/web/{INSTANCE}","accountId":"{ACCOUNT}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::{ACCOUNT}:role/web","accountId":"{ACCOUNT}","userName":"web"}},"attributes":{{"creationDate":"2023-07-10T11:55:22Z","mfaAuthenticated":"false"}},"ec2RoleDelivery":"2.0"}}}},"eventTime":"{time}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"{ua}","requestParameters":{{"bucketName":"media-prod","Host":"media-prod.s3.us-east-1.amazonaws.com","key":"invoices/2023/07/inv-1043.pdf","X-Amz-Algorithm":"AWS4-HMAC-SHA256","X-Amz-Credential":"{key}/20230710/us-east-1/s3/aws4_request","X-Amz-Date":"20230710T120000Z","X-Amz-Expires":"900","X-Amz-SignedHeaders":"host"}},"responseElements":null,"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"QueryString","x-amz-id-2":"abc=","bytesTransferredOut":48213}},"requestID":"p","eventID":"p-{key}-{time}-{ip}","readOnly":true,"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::media-prod/invoices/2023/07/inv-1043.pdf"}}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"{ACCOUNT}","eventCategory":"Data"}}"#
    ))
}

/// A person's call naming the instance (`ssm:StartSession`), from `ip`.
fn touch(time: &str, ip: &str) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::{ACCOUNT}:user/dana","accountId":"{ACCOUNT}","accessKeyId":"AKIADANA","userName":"dana"}},"eventTime":"{time}","eventSource":"ssm.amazonaws.com","eventName":"StartSession","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off command/ssm.start-session","requestParameters":{{"target":"{INSTANCE}"}},"responseElements":{{"sessionId":"dana-0a1b2c3d4e5f60718","tokenValue":"Value hidden due to security reasons.","streamUrl":"wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/dana-0a1b2c3d4e5f60718"}},"requestID":"s","eventID":"s-{time}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management"}}"#
    ))
}

/// Issue 13, behaviour 2: each address family has its own lock; announced IPv6 addresses and their
/// /64 are the account's.
#[test]
fn issue_13_ipv4_and_ipv6_are_two_identities_of_one_instance() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Locked)
    );
    // The first IPv6 call is not "another address" to the IPv4 lock: it takes the IPv6 lock.
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:30Z", "ASIAKEY1", V6_A, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(
        r.verdict(call("2023-07-10T11:57:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
    assert_eq!(
        r.verdict(call("2023-07-10T11:57:30Z", "ASIAKEY1", V6_A, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
    // A second IPv4 address is still a second address.
    assert_eq!(
        r.verdict(call("2023-07-10T11:58:00Z", "ASIAKEY1", OTHER_EC2, "")),
        Some(Verdict::Unexpected(Why::NotLock(V4_AUTO.parse().unwrap())))
    );
}

#[test]
fn issue_13_ipv6_announced_at_launch_makes_its_subnet_the_accounts() {
    let mut r = Run::new();
    let other = "i-0fedcba9876543210";
    let resp = format!(
        r#"{{"instancesSet":{{"items":[{{"instanceId":"{other}","privateIpAddress":"10.0.1.10","networkInterfaceSet":{{"items":[{{"networkInterfaceId":"eni-0a1","privateIpAddress":"10.0.1.10","ipv6AddressesSet":{{"items":[{{"ipv6Address":"{V6_SAME_SUBNET}"}}]}}}}]}}}}]}}}}"#
    );
    r.verdict(ec2("2023-07-10T11:50:00Z", "RunInstances", "{}", &resp));
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    // This instance's own IPv6 address was never announced, but it is in the /64 where the
    // account's instances are given addresses.
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V6_A, "")),
        Some(Verdict::Expected(How::Subnet))
    );
}

/// Issue 13, behaviour 1: a presigned URL is sent by whoever holds it.
#[test]
fn issue_13_presigned_downloads_from_elsewhere_are_not_judged_and_never_lock() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
    // Before the instance's own first call: the downloader must not become the lock.
    assert_eq!(
        r.verdict(presigned(
            "2023-07-10T11:55:40Z",
            "ASIAKEY1",
            "81.2.69.160",
            browser
        )),
        Some(Verdict::Presigned)
    );
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(
        r.verdict(presigned(
            "2023-07-10T11:57:00Z",
            "ASIAKEY1",
            "92.40.11.7",
            browser
        )),
        Some(Verdict::Presigned)
    );
    // From the instance's own address it is the instance's call (and judged as one).
    assert_eq!(
        r.verdict(presigned(
            "2023-07-10T11:58:00Z",
            "ASIAKEY1",
            V4_AUTO,
            "curl/8.5.0"
        )),
        Some(Verdict::Expected(How::FirstUse))
    );
    assert_eq!(r.tracker.stats().presigned_elsewhere, 2);
    // A header-signed call from outside is still judged.
    assert!(matches!(
        r.verdict(call("2023-07-10T11:59:00Z", "ASIAKEY1", "92.40.11.7", "")),
        Some(Verdict::Unexpected(_))
    ));
}

/// A call by the instance itself with its own key `ASIAKEY1` (as an Auto Scaling instance takes a
/// pooled Elastic IP at boot, or runs SSM on itself).
#[allow(clippy::too_many_arguments)]
fn own_call(
    time: &str,
    source: &str,
    name: &str,
    ip: &str,
    ua: &str,
    request: &str,
    response: &str,
    id: &str,
) -> Event {
    event(&format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:{INSTANCE}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/web/{INSTANCE}","accountId":"{ACCOUNT}","accessKeyId":"ASIAKEY1","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::{ACCOUNT}:role/web","accountId":"{ACCOUNT}","userName":"web"}},"attributes":{{"creationDate":"2023-07-10T11:55:22Z","mfaAuthenticated":"false"}},"ec2RoleDelivery":"2.0"}}}},"eventTime":"{time}","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"{ua}","requestParameters":{request},"responseElements":{response},"requestID":"a","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management"}}"#
    ))
}

fn associate_unresolved(time: &str) -> Event {
    // The response has only the association id.
    own_call(
        time,
        "ec2",
        "AssociateAddress",
        V4_AUTO,
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.164.amzn2023.x86_64 exe/x86_64.amzn.2023",
        &format!(
            r#"{{"allocationId":"eipalloc-0pool1","instanceId":"{INSTANCE}","allowReassociation":true}}"#
        ),
        r#"{"requestId":"a","_return":true,"associationId":"eipassoc-0abc"}"#,
        &format!("assoc-{time}"),
    )
}

/// Issue 13, behaviour 4: an unresolved association change is a handover; the old address
/// retires after a grace period.
#[test]
fn issue_13_elastic_ip_handover_replaces_the_egress_and_retires_the_old_address() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(
        r.verdict(associate_unresolved("2023-07-10T11:56:20Z")),
        Some(Verdict::Expected(How::FirstUse))
    );
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:40Z", "ASIAKEY1", V4_EIP, "")),
        Some(Verdict::Expected(How::Handover))
    );
    // In flight.
    assert_eq!(
        r.verdict(call("2023-07-10T11:57:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Expected(How::Retiring))
    );
    assert_eq!(
        r.verdict(call("2023-07-10T12:10:00Z", "ASIAKEY1", V4_EIP, "")),
        Some(Verdict::Expected(How::Handover))
    );
    // Two addresses at once: the old one is still used 40 minutes later.
    assert!(matches!(
        r.verdict(call("2023-07-10T12:36:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Unexpected(Why::Retired(_)))
    ));
    assert_eq!(r.tracker.stats().handovers, 1);
}

#[test]
fn issue_13_a_handover_never_accepts_an_address_outside_aws() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, ""));
    r.verdict(associate_unresolved("2023-07-10T11:56:20Z"));
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:40Z", "ASIAKEY1", "81.2.69.160", "")),
        Some(Verdict::Unexpected(Why::NotLock(V4_AUTO.parse().unwrap())))
    );
}

/// Issue 13, the new signal: a person reached into the instance, then its credentials are used
/// from that person's address — even as the first address seen for a mid-stream key.
#[test]
fn issue_13_credentials_used_from_where_a_person_reached_into_the_instance() {
    let mut r = Run::new();
    // The person works from an EC2 address of the instance's region (a cloud desktop): plausible
    // as a first use, so only the touch tells.
    let desk = "54.160.17.9";
    assert_eq!(r.verdict(touch("2023-07-10T11:50:00Z", desk)), None);
    let v = r.verdict(call("2023-07-10T11:53:00Z", "ASIAMIDSTREAM", desk, ""));
    let Some(Verdict::Unexpected(Why::Operator(t))) = v else {
        panic!("{v:?}")
    };
    assert_eq!(t.principal, format!("arn:aws:iam::{ACCOUNT}:user/dana"));
    assert_eq!(t.action, "ssm:StartSession");
    // The instance's own calls are unaffected.
    assert_eq!(
        r.verdict(call("2023-07-10T11:54:00Z", "ASIAMIDSTREAM", V4_AUTO, "")),
        Some(Verdict::Locked)
    );
}

/// A bastion: its own address was its lock before people reached in from elsewhere.
#[test]
fn issue_13_a_bastion_used_by_people_logged_in_on_it_is_its_own_address() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    assert_eq!(
        r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Locked)
    );
    r.verdict(touch("2023-07-10T12:00:00Z", "81.2.69.160"));
    assert_eq!(
        r.verdict(call("2023-07-10T12:02:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
}

/// Issue 13, behaviour 5: after a start, the first call may be on either family.
#[test]
fn issue_13_stop_start_releases_both_locks() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    r.verdict(call("2023-07-10T11:56:00Z", "ASIAKEY1", V4_AUTO, ""));
    r.verdict(call("2023-07-10T11:56:30Z", "ASIAKEY1", V6_A, ""));
    r.verdict(ec2(
        "2023-07-10T19:00:00Z",
        "StartInstances",
        &format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{INSTANCE}"}}]}}}}"#),
        "null",
    ));
    r.verdict(assume("2023-07-10T19:00:20Z", "ASIAKEY2"));
    assert_eq!(
        r.verdict(call("2023-07-10T19:01:00Z", "ASIAKEY2", V6_SAME_SUBNET, "")),
        Some(Verdict::Locked)
    );
    assert_eq!(
        r.verdict(call("2023-07-10T19:01:30Z", "ASIAKEY2", OTHER_EC2, "")),
        Some(Verdict::Locked)
    );
}

/// An instance that runs SSM on itself with its own role, as its first call, is not a person
/// reaching in: its own address must not become an operator's.
#[test]
fn issue_13_an_instance_managing_itself_is_not_an_operator() {
    let mut r = Run::new();
    r.verdict(assume("2023-07-10T11:55:22Z", "ASIAKEY1"));
    let own = own_call(
        "2023-07-10T11:56:00Z",
        "ssm",
        "SendCommand",
        V4_AUTO,
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023",
        &format!(r#"{{"instanceIds":["{INSTANCE}"],"documentName":"AWS-RunShellScript"}}"#),
        "null",
        "self-ssm",
    );
    assert_eq!(r.verdict(own), Some(Verdict::Locked));
    assert_eq!(
        r.verdict(call("2023-07-10T11:57:00Z", "ASIAKEY1", V4_AUTO, "")),
        Some(Verdict::Expected(How::FirstUse))
    );
}
