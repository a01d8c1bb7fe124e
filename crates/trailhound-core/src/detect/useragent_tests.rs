//! User-agent detector tests (issue 4): `AttackToolUserAgent` and `SsrfUserAgentAnomaly` on
//! real-shaped records (testkit), explicit times.
use super::*;
use crate::detect::ssrf::SSRF;
use crate::detect::testkit::{call, event, record, role, user, Engine};
use crate::finding::Finding;
use crate::useragent::AgentCache;

const A: &str = "111111111111";
const INSTANCE: &str = "i-0a5b97b5c8174ca3a";
const KEY: &str = "ASIAINST000000000001";
/// The instance's own (auto-assigned, us-east-1 EC2) public address.
const OWN: &str = "54.158.201.37";
const GO: &str =
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.1";
const PACU: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69 Pacu-Session-5c1e4e2a-4a4b-4c1e-9d6f-0b3c2f7a9e11";
const KALI: &str = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython md/distrib#kali.2024 exe/x86_64.kali.2024 prompt/off command/s3.ls";
const KALI_OLD: &str = "Boto3/1.26.45 Python/3.9.2 Linux/5.7.0-kali1-amd64 Botocore/1.29.45";

fn of<'a>(fs: &'a [Finding], ty: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.finding_type == ty).collect()
}

fn t(min: u32) -> String {
    format!("2024-03-05T{:02}:{:02}:00Z", 10 + min / 60, min % 60)
}

/// EC2's `AssumeRole` for the instance, then `n` calls from its own address with the Go SDK over
/// `n` minutes (the role's workload profile).
fn instance(delivery: &str, n: u32) -> Engine {
    let mut e = Engine::new();
    let request = format!(
        r#"{{"roleArn":"arn:aws:iam::{A}:role/batch-worker-role","roleSessionName":"{INSTANCE}"}}"#
    );
    let response = format!(
        r#"{{"credentials":{{"accessKeyId":"{KEY}","sessionToken":"FAKE","expiration":"Mar 5, 2024, 4:30:00 PM"}}}}"#
    );
    e.feed(record(
        &t(0),
        r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#,
        "sts",
        "AssumeRole",
        "ec2.amazonaws.com",
        "ec2.amazonaws.com",
        A,
        &request,
        &response,
        "launch",
        "",
    ));
    let who = role(A, "batch-worker-role", INSTANCE, KEY, Some(delivery));
    for i in 0..n {
        e.feed(call(
            &t(1 + i * 2),
            &who,
            "s3:GetObject",
            OWN,
            GO,
            A,
            &format!("w{i}"),
        ));
    }
    e
}

fn me(delivery: &str) -> String {
    role(A, "batch-worker-role", INSTANCE, KEY, Some(delivery))
}

#[test]
fn pacu_on_a_user_key_is_high() {
    let mut e = Engine::new();
    let u = user(A, "dev", "AKIADEVEXAMPLE000001");
    e.feed(call(
        &t(0),
        &u,
        "iam:ListUsers",
        "185.220.101.47",
        PACU,
        A,
        "p1",
    ));
    e.feed(call(
        &t(1),
        &u,
        "iam:ListRoles",
        "185.220.101.47",
        PACU,
        A,
        "p2",
    ));
    let fs = e.finish();
    let f = of(&fs, ATTACK_TOOL);
    assert_eq!(f.len(), 1, "one finding per credential and tool: {fs:#?}");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].event_count, 2);
    assert!(f[0].title.contains("Pacu"), "{}", f[0].title);
}

#[test]
fn kali_in_the_cli_or_the_kernel_is_medium() {
    for (ua, id) in [(KALI, "k1"), (KALI_OLD, "k2")] {
        let mut e = Engine::new();
        let u = user(A, "dev", "AKIADEVEXAMPLE000001");
        e.feed(call(&t(0), &u, "s3:ListBuckets", "203.0.113.9", ua, A, id));
        let fs = e.finish();
        let f = of(&fs, ATTACK_TOOL);
        assert_eq!(f.len(), 1, "{ua}: {fs:#?}");
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[0].title.contains("Kali"), "{}", f[0].title);
    }
}

#[test]
fn console_and_service_agents_are_never_flagged() {
    let mut e = instance("2.0", 25);
    let u = user(A, "admin", "AKIAADMINEXAMPLE0001");
    let agents = [
        "console.amazonaws.com",
        "signin.amazonaws.com",
        "[S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.205 OpenJDK_64-Bit_Server_VM/25.372-b08 java/1.8.0_372 vendor/Oracle_Corporation cfg/retry-mode/standard]",
        "AWS Internal",
        "cloudformation.amazonaws.com",
        "ssm.amazonaws.com",
    ];
    for (i, ua) in agents.iter().enumerate() {
        e.feed(call(
            &t(60 + i as u32),
            &u,
            "s3:ListBuckets",
            "203.0.113.9",
            ua,
            A,
            &format!("u{i}"),
        ));
        // The same agents on the instance's role, from its own address: no SSRF either.
        e.feed(call(
            &t(60 + i as u32),
            &me("2.0"),
            "s3:ListBuckets",
            OWN,
            ua,
            A,
            &format!("s{i}"),
        ));
    }
    let fs = e.finish();
    assert!(of(&fs, ATTACK_TOOL).is_empty(), "{fs:#?}");
    assert!(of(&fs, SSRF).is_empty(), "{fs:#?}");
}

#[test]
fn a_raw_http_client_from_the_instance_is_ssrf_and_high_with_imdsv1() {
    for (delivery, sev) in [("1.0", Severity::High), ("2.0", Severity::Medium)] {
        let mut e = instance(delivery, 5);
        e.feed(call(
            &t(20),
            &me(delivery),
            "sts:GetCallerIdentity",
            OWN,
            "curl/8.5.0",
            A,
            "c1",
        ));
        e.feed(call(
            &t(21),
            &me(delivery),
            "s3:ListBuckets",
            OWN,
            "python-requests/2.31.0",
            A,
            "c2",
        ));
        let fs = e.finish();
        let f = of(&fs, SSRF);
        assert_eq!(f.len(), 1, "{fs:#?}");
        assert_eq!(f[0].severity, sev, "delivery {delivery}");
        assert_eq!(f[0].instance_id.as_deref(), Some(INSTANCE));
        assert_eq!(f[0].source_ip, OWN);
        assert_eq!(f[0].event_ids, ["c1", "c2"]);
        assert!(f[0].title.contains("raw HTTP client"), "{}", f[0].title);
        assert!(
            fs.iter()
                .all(|f| !f.finding_type.starts_with("InstanceCredentialExfiltration")),
            "the address is the instance's: {fs:#?}"
        );
    }
}

#[test]
fn a_client_the_role_never_used_is_ssrf_once_the_profile_is_established() {
    let boto = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.79 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";
    // Too early: 5 calls over 10 minutes is no profile yet; the new client is learned.
    let mut e = instance("2.0", 5);
    e.feed(call(
        &t(15),
        &me("2.0"),
        "s3:ListBuckets",
        OWN,
        boto,
        A,
        "b0",
    ));
    assert!(of(&e.finish(), SSRF).is_empty());
    // Established: MIN_CALLS calls over more than MIN_SPAN.
    let mut e = instance("2.0", 25);
    e.feed(call(
        &t(60),
        &me("2.0"),
        "s3:ListBuckets",
        OWN,
        boto,
        A,
        "b1",
    ));
    let fs = e.finish();
    let f = of(&fs, SSRF);
    assert_eq!(f.len(), 1, "{fs:#?}");
    assert!(f[0].explanation.contains("go"), "{}", f[0].explanation);
}

#[test]
fn a_vpc_endpoint_network_activity_record_is_not_a_call_without_agent() {
    let mut e = instance("2.0", 3);
    // eventType AwsVpceEvent / eventCategory NetworkActivity: no userAgent, no readOnly.
    let who = me("2.0");
    e.feed(event(&format!(
        r#"{{"eventVersion":"1.11","userIdentity":{who},"eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"10.20.1.15","requestID":"r1","eventID":"n1","eventType":"AwsVpceEvent","recipientAccountId":"{A}","vpcEndpointId":"vpce-0439c998d37f9cfbc","vpcEndpointAccountId":"{A}","eventCategory":"NetworkActivity"}}"#,
        t(10)
    )));
    let fs = e.finish();
    assert!(of(&fs, SSRF).is_empty(), "{fs:#?}");
}

#[test]
fn the_agent_cache_is_the_parser() {
    let mut c = AgentCache::default();
    for ua in [PACU, KALI, GO, "", "curl/8.5.0"] {
        assert_eq!(c.parse(ua), UserAgent::parse(ua));
        assert_eq!(c.parse(ua), UserAgent::parse(ua));
    }
    // More agents than the front table has slots, sharing lengths, prefixes and suffixes (so
    // slots collide), asked in turns: every answer is still the parser's.
    let agents: Vec<String> = (0..2000)
        .map(|i| match i % 4 {
            0 => format!(
                "Boto3/1.{} md/Botocore#1.{} Linux/5.7.0-kali1-amd64",
                i % 97,
                i
            ),
            1 => format!("aws-cli/2.{:04} Python/3.11 Linux/6.1", i),
            2 => format!("Pacu-Session-{:06} Boto3/1.34.0", i),
            _ => format!("curl/8.{}.0", i),
        })
        .collect();
    for round in 0..3 {
        for ua in agents.iter().skip(round).step_by(3).chain(&agents) {
            assert_eq!(c.parse(ua), UserAgent::parse(ua), "{ua}");
        }
    }
}
