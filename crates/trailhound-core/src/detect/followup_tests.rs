//! Follow-up tests (issue 4): `Persistence`, `PrivilegeEscalation`, `DefenseEvasion` from the
//! documented list, low for any principal, raised and linked when the session descends from a
//! suspicious one.
use super::*;
use crate::detect::testkit::{call, issue, record, role, user, Engine};
use crate::finding::Finding;

const A: &str = "111111111111";
const OFFICE: &str = "198.51.100.23";
const CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off";
const PACU: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 Botocore/1.34.69 Pacu-Session-5c1e4e2a-4a4b-4c1e-9d6f-0b3c2f7a9e11";

fn of<'a>(fs: &'a [Finding], ty: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.finding_type == ty).collect()
}

#[test]
fn an_ordinary_admin_creating_a_user_is_low_and_unlinked() {
    let mut e = Engine::new();
    let u = user(A, "admin", "AKIAADMINEXAMPLE0001");
    e.feed(call(
        "2024-03-05T10:00:00Z",
        &u,
        "iam:CreateUser",
        OFFICE,
        CLI,
        A,
        "c1",
    ));
    e.feed(call(
        "2024-03-05T10:00:05Z",
        &u,
        "iam:CreateAccessKey",
        OFFICE,
        CLI,
        A,
        "c2",
    ));
    let fs = e.finish();
    let p = of(&fs, "Persistence");
    assert_eq!(p.len(), 1, "{fs:#?}");
    assert_eq!(p[0].severity, Severity::Low);
    assert_eq!(p[0].parent_finding_id, None);
    assert_eq!(p[0].event_ids, ["c1", "c2"]);
}

#[test]
fn read_only_and_service_calls_never_count() {
    let mut e = Engine::new();
    let u = user(A, "admin", "AKIAADMINEXAMPLE0001");
    e.feed(call(
        "2024-03-05T10:00:00Z",
        &u,
        "iam:ListUsers",
        OFFICE,
        CLI,
        A,
        "r1",
    ));
    e.feed(call(
        "2024-03-05T10:00:01Z",
        &u,
        "s3:ListBuckets",
        OFFICE,
        CLI,
        A,
        "r2",
    ));
    e.feed(record(
        "2024-03-05T10:00:02Z",
        r#"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#,
        "cloudtrail",
        "StopLogging",
        "cloudtrail.amazonaws.com",
        "cloudtrail.amazonaws.com",
        A,
        "null",
        "null",
        "s1",
        "",
    ));
    assert!(e.finish().is_empty());
}

#[test]
fn defense_evasion_and_privilege_escalation_are_their_own_families() {
    let mut e = Engine::new();
    let u = user(A, "admin", "AKIAADMINEXAMPLE0001");
    e.feed(call(
        "2024-03-05T10:00:00Z",
        &u,
        "cloudtrail:StopLogging",
        OFFICE,
        CLI,
        A,
        "d1",
    ));
    e.feed(call(
        "2024-03-05T10:00:01Z",
        &u,
        "guardduty:DeleteDetector",
        OFFICE,
        CLI,
        A,
        "d2",
    ));
    e.feed(call(
        "2024-03-05T10:00:02Z",
        &u,
        "iam:CreatePolicyVersion",
        OFFICE,
        CLI,
        A,
        "e1",
    ));
    let fs = e.finish();
    let d = of(&fs, "DefenseEvasion");
    assert_eq!(d.len(), 1, "{fs:#?}");
    assert_eq!(d[0].event_ids, ["d1", "d2"]);
    let p = of(&fs, "PrivilegeEscalation");
    assert_eq!(p.len(), 1, "{fs:#?}");
    assert_eq!(p[0].event_ids, ["e1"]);
}

#[test]
fn after_an_attack_tool_the_follow_up_takes_its_severity_and_links_to_it() {
    let mut e = Engine::new();
    let u = user(A, "dev", "AKIADEVEXAMPLE000001");
    e.feed(call(
        "2024-03-05T10:00:00Z",
        &u,
        "iam:ListUsers",
        "185.220.101.47",
        PACU,
        A,
        "p1",
    ));
    // The same key, a plain agent now: still the suspicious credential.
    e.feed(call(
        "2024-03-05T10:02:00Z",
        &u,
        "iam:AttachUserPolicy",
        "185.220.101.47",
        CLI,
        A,
        "p2",
    ));
    let fs = e.finish();
    let tool = of(&fs, "AttackToolUserAgent");
    assert_eq!(tool.len(), 1, "{fs:#?}");
    let esc = of(&fs, "PrivilegeEscalation");
    assert_eq!(esc.len(), 1, "{fs:#?}");
    assert_eq!(esc[0].severity, Severity::High);
    assert_eq!(
        esc[0].parent_finding_id.as_deref(),
        Some(tool[0].id.as_str())
    );
}

#[test]
fn a_session_assumed_by_a_suspicious_one_inherits_the_link() {
    let mut e = Engine::new();
    let u = user(A, "dev", "AKIADEVEXAMPLE000001");
    e.feed(call(
        "2024-03-05T10:00:00Z",
        &u,
        "sts:GetCallerIdentity",
        "185.220.101.47",
        PACU,
        A,
        "p1",
    ));
    e.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &u,
        "arn:aws:iam::111111111111:role/ops",
        "ASIAOPS0000000000001",
        "185.220.101.47",
        CLI,
        A,
        "h1",
    ));
    let ops = role(A, "ops", "s-h1", "ASIAOPS0000000000001", None);
    e.feed(call(
        "2024-03-05T10:02:00Z",
        &ops,
        "cloudtrail:DeleteTrail",
        "185.220.101.47",
        CLI,
        A,
        "d1",
    ));
    let fs = e.finish();
    let tool = of(&fs, "AttackToolUserAgent");
    let d = of(&fs, "DefenseEvasion");
    assert_eq!((tool.len(), d.len()), (1, 1), "{fs:#?}");
    assert!(d[0].severity >= Severity::High, "{:?}", d[0].severity);
    assert_eq!(d[0].parent_finding_id.as_deref(), Some(tool[0].id.as_str()));
    assert_eq!(d[0].origin.as_ref().map(|o| o.kind), Some("iam_user"));
}
