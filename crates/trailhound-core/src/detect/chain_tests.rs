//! `RoleChaining` tests (issue 4): real-shaped STS records (testkit), explicit times, expected findings.
use super::*;
use crate::config::glob;
use crate::detect::testkit::{aws_account, call, issue, record, role, user, web_identity, Engine};
use crate::finding::Finding;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const OFFICE: &str = "198.51.100.23";
const ATTACKER: &str = "185.220.101.47";
const CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023 prompt/off command/sts.assume-role";
const BOTO: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";
const INSTANCE: &str = "i-0a5b97b5c8174ca3a";

fn arn(acct: &str, r: &str) -> String {
    format!("arn:aws:iam::{acct}:role/{r}")
}

fn of<'a>(fs: &'a [Finding], ty: &str) -> Vec<&'a Finding> {
    fs.iter().filter(|f| f.finding_type == ty).collect()
}

/// EC2's own `AssumeRole` for an instance profile (SPEC §2.1): session name = instance id.
fn ec2_launch(e: &mut Engine, time: &str, key: &str) {
    let request = format!(
        r#"{{"roleArn":"{}","roleSessionName":"{INSTANCE}"}}"#,
        arn(A, "app-role")
    );
    let response = format!(
        r#"{{"credentials":{{"accessKeyId":"{key}","sessionToken":"FAKE","expiration":"Mar 5, 2024, 4:30:00 PM"}}}}"#
    );
    e.feed(record(
        time,
        r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#,
        "sts",
        "AssumeRole",
        "ec2.amazonaws.com",
        "ec2.amazonaws.com",
        A,
        &request,
        &response,
        &format!("launch-{key}"),
        "",
    ));
}

#[test]
fn depth_two_from_a_user_is_medium_and_lists_every_hop_and_what_the_last_session_did() {
    let mut e = Engine::new();
    let u = user(A, "alice", "AKIAALICEEXAMPLE0001");
    e.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &u,
        &arn(A, "ops"),
        "ASIAOPS0000000000001",
        OFFICE,
        CLI,
        A,
        "h1",
    ));
    let ops = role(A, "ops", "s-h1", "ASIAOPS0000000000001", None);
    e.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &ops,
        &arn(A, "admin"),
        "ASIAADM0000000000001",
        OFFICE,
        CLI,
        A,
        "h2",
    ));
    let adm = role(A, "admin", "s-h2", "ASIAADM0000000000001", None);
    e.feed(call(
        "2024-03-05T10:02:00Z",
        &adm,
        "s3:ListBuckets",
        OFFICE,
        CLI,
        A,
        "c1",
    ));
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1, "{fs:#?}");
    let f = ch[0];
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.access_key_id, "ASIAADM0000000000001");
    assert_eq!(f.chain.len(), 2);
    assert_eq!(f.chain[0].role_arn.as_deref(), Some(arn(A, "ops").as_str()));
    assert_eq!(
        f.chain[1].role_arn.as_deref(),
        Some(arn(A, "admin").as_str())
    );
    for h in &f.chain {
        assert_eq!(h.account_id, A);
        assert_eq!(h.source_ip, OFFICE);
        assert_eq!(h.user_agent, CLI);
        assert!(!h.time.is_empty());
    }
    let o = f.origin.as_ref().expect("origin");
    assert_eq!(o.kind, "iam_user");
    assert_eq!(o.access_key_id.as_deref(), Some("AKIAALICEEXAMPLE0001"));
    assert_eq!(o.source_ip, OFFICE);
    assert!(
        f.explanation.contains("s3:ListBuckets"),
        "{}",
        f.explanation
    );
    assert!(f.event_ids.iter().any(|i| i == "c1"));
}

#[test]
fn one_hop_is_not_a_chain() {
    let mut e = Engine::new();
    let u = user(A, "alice", "AKIAALICEEXAMPLE0001");
    e.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &u,
        &arn(A, "ops"),
        "ASIAOPS0000000000001",
        OFFICE,
        CLI,
        A,
        "h1",
    ));
    assert!(of(&e.finish(), ROLE_CHAINING).is_empty());
}

#[test]
fn stolen_instance_credential_depth_three_ending_in_create_user_is_high_and_linked() {
    let mut e = Engine::new();
    ec2_launch(&mut e, "2024-03-05T10:00:00Z", "ASIAINST000000000001");
    let inst = role(A, "app-role", INSTANCE, "ASIAINST000000000001", Some("1.0"));
    // The attacker's first call with the stolen key comes from outside AWS.
    e.feed(call(
        "2024-03-05T10:05:00Z",
        &inst,
        "sts:GetCallerIdentity",
        ATTACKER,
        BOTO,
        A,
        "x0",
    ));
    e.feed(issue(
        "2024-03-05T10:06:00Z",
        "AssumeRole",
        &inst,
        &arn(A, "deploy"),
        "ASIAHOP1000000000001",
        ATTACKER,
        BOTO,
        A,
        "h1",
    ));
    let h1 = role(A, "deploy", "s-h1", "ASIAHOP1000000000001", None);
    e.feed(issue(
        "2024-03-05T10:07:00Z",
        "AssumeRole",
        &h1,
        &arn(B, "OrganizationAccountAccessRole"),
        "ASIAHOP2000000000001",
        ATTACKER,
        BOTO,
        A,
        "h2",
    ));
    e.feed(issue(
        "2024-03-05T10:07:00Z",
        "AssumeRole",
        &aws_account(A),
        &arn(B, "OrganizationAccountAccessRole"),
        "ASIAHOP2000000000001",
        ATTACKER,
        BOTO,
        B,
        "h2b",
    ));
    let h2 = role(
        B,
        "OrganizationAccountAccessRole",
        "s-h2",
        "ASIAHOP2000000000001",
        None,
    );
    e.feed(issue(
        "2024-03-05T10:08:00Z",
        "AssumeRole",
        &h2,
        &arn(B, "admin"),
        "ASIAHOP3000000000001",
        ATTACKER,
        BOTO,
        B,
        "h3",
    ));
    let h3 = role(B, "admin", "s-h3", "ASIAHOP3000000000001", None);
    e.feed(call(
        "2024-03-05T10:09:00Z",
        &h3,
        "iam:CreateUser",
        ATTACKER,
        BOTO,
        B,
        "p1",
    ));
    e.feed(call(
        "2024-03-05T10:09:30Z",
        &h3,
        "iam:CreateAccessKey",
        ATTACKER,
        BOTO,
        B,
        "p2",
    ));
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1, "reported once, at its deepest path: {fs:#?}");
    let chain = ch[0];
    assert_eq!(chain.severity, Severity::High);
    assert_eq!(chain.chain.len(), 3);
    assert_eq!(chain.chain[1].account_id, B, "cross-account hop");
    assert_eq!(
        chain.chain[1].event_ids.len(),
        2,
        "both accounts' copies of the hop"
    );
    let o = chain.origin.as_ref().expect("origin");
    assert_eq!(o.kind, "ec2_instance");
    assert_eq!(o.instance_id.as_deref(), Some(INSTANCE));
    let exfil: Vec<&Finding> = fs
        .iter()
        .filter(|f| f.finding_type.starts_with("InstanceCredentialExfiltration"))
        .collect();
    assert_eq!(exfil.len(), 1, "{fs:#?}");
    assert_eq!(
        chain.parent_finding_id.as_deref(),
        Some(exfil[0].id.as_str())
    );
    let p = of(&fs, "Persistence");
    assert_eq!(p.len(), 1, "{fs:#?}");
    assert_eq!(p[0].severity, Severity::High);
    assert_eq!(p[0].parent_finding_id.as_deref(), Some(chain.id.as_str()));
    assert!(p[0].actions.iter().any(|a| a == "iam:CreateUser"));
    assert!(p[0].actions.iter().any(|a| a == "iam:CreateAccessKey"));
}

/// A CI/CD pipeline: GitHub OIDC into a deployer role, then a member's deploy role, every day.
fn ci_day(e: &mut Engine, day: u32) {
    let t = |m: u32| format!("2024-03-{day:02}T09:{m:02}:00Z");
    let fed = format!("ASIAFED{day:013}");
    let dep = format!("ASIADEP{day:013}");
    e.feed(issue(
        &t(0),
        "AssumeRoleWithWebIdentity",
        &web_identity(A, "repo:corp/app:ref:refs/heads/main"),
        &arn(A, "github-actions-deployer"),
        &fed,
        "20.55.14.3",
        "aws-sdk-js/3.540.0 configure-aws-credentials-for-github-actions",
        A,
        &format!("w{day}"),
    ));
    let s = role(
        A,
        "github-actions-deployer",
        &format!("s-w{day}"),
        &fed,
        None,
    );
    e.feed(issue(
        &t(1),
        "AssumeRole",
        &s,
        &arn(B, "ci-deploy"),
        &dep,
        "20.55.14.3",
        CLI,
        A,
        &format!("d{day}"),
    ));
    let d = role(B, "ci-deploy", &format!("s-d{day}"), &dep, None);
    e.feed(call(
        &t(2),
        &d,
        "cloudformation:UpdateStack",
        "20.55.14.3",
        CLI,
        B,
        &format!("u{day}"),
    ));
}

/// Issue 13: a path that recurs within the logs (the same origin and roles, again and again over
/// several hours) is normal operation, learned from its repetition: no finding at all.
#[test]
fn issue_13_a_ci_cd_chain_that_recurs_is_learned_and_not_reported() {
    let mut e = Engine::new();
    for day in 1..=6 {
        ci_day(&mut e, day);
    }
    let fs = e.finish();
    assert!(of(&fs, ROLE_CHAINING).is_empty(), "{fs:#?}");
}

/// Issue 14: a stream cut into runs cannot look ahead. A chain with no suspicious origin is
/// judged [`SETTLE`] after its path first occurred, at the first event past the wait: a checkpoint
/// before that leaves it out (it may yet prove routine), one after it has the same verdict as the
/// end of the data; a daily job's path recurs by then and is never reported.
#[test]
fn issue_14_a_stream_judges_a_chain_when_its_wait_ends_not_when_a_run_ends() {
    let preview = |e: &Engine| of(&e.detectors.preview().0, ROLE_CHAINING).len();
    let mut e = Engine::new();
    ci_day(&mut e, 1);
    assert_eq!(preview(&e), 0, "waiting: it may be a daily job");
    ci_day(&mut e, 2);
    ci_day(&mut e, 3);
    assert_eq!(preview(&e), 0, "three days: still waiting");
    let mut daily = Engine::new();
    for day in 1..=6 {
        ci_day(&mut daily, day);
    }
    assert_eq!(preview(&daily), 0, "judged routine on day 5: quiet");
    assert!(of(&daily.finish(), ROLE_CHAINING).is_empty());

    // A one-off chain: judged (reported) at the first event after its wait, whatever it is.
    let mut once = Engine::new();
    ci_day(&mut once, 1);
    once.feed(call(
        "2024-03-05T10:00:00Z",
        &user(A, "alice", "AKIAALICE00000000001"),
        "s3:ListBuckets",
        "203.0.113.9",
        CLI,
        A,
        "later",
    ));
    assert_eq!(preview(&once), 1, "past the wait: reported");
    assert_eq!(
        of(&once.detectors.preview().0, ROLE_CHAINING)[0].severity,
        Severity::Medium
    );
}

/// Below the recurrence bar the same chain is still a depth-2 alert (medium).
#[test]
fn issue_13_a_chain_seen_fewer_times_than_recurrence_needs_is_still_raised() {
    let mut e = Engine::new();
    for day in 1..RECUR_MIN {
        ci_day(&mut e, day);
    }
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1, "{fs:#?}");
    assert_eq!(ch[0].severity, Severity::Medium);
    assert_eq!(
        ch[0].origin.as_ref().map(|o| o.kind),
        Some("web_identity_federation")
    );
}

/// A recurring chain whose last session one day does something new and sensitive (an IAM write
/// its routine never does) is raised, and says what was new.
#[test]
fn issue_13_a_recurring_chain_that_does_something_new_and_sensitive_is_raised() {
    let mut e = Engine::new();
    for day in 1..=6 {
        ci_day(&mut e, day);
    }
    let d = role(B, "ci-deploy", "s-d6", "ASIADEP0000000000006", None);
    e.feed(call(
        "2024-03-06T09:05:00Z",
        &d,
        "iam:CreateAccessKey",
        "20.55.14.3",
        CLI,
        B,
        "k6",
    ));
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1, "{fs:#?}");
    assert_eq!(ch[0].severity, Severity::Medium);
    assert!(
        ch[0]
            .explanation
            .contains("its routine does not: iam:CreateAccessKey"),
        "{}",
        ch[0].explanation
    );
}

#[test]
fn an_allow_listed_path_is_low_with_its_reason() {
    let allow = ChainAllow {
        origin: Some("web_identity_federation".into()),
        roles: vec![
            arn(A, "github-actions-deployer"),
            "arn:aws:iam::*:role/ci-deploy".into(),
        ],
        reason: "GitHub Actions deploys".into(),
    };
    let mut e = Engine::with_allow(vec![allow]);
    ci_day(&mut e, 1);
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].severity, Severity::Low);
    assert!(ch[0].explanation.contains("GitHub Actions deploys"));
}

#[test]
fn the_allow_list_needs_the_same_origin_and_length() {
    let a = ChainAllow {
        origin: Some("iam_user".into()),
        roles: vec![
            "arn:aws:iam::*:role/a".into(),
            "arn:aws:iam::*:role/b".into(),
        ],
        reason: "x".into(),
    };
    let two = [arn(A, "a"), arn(B, "b")];
    let two: Vec<&str> = two.iter().map(String::as_str).collect();
    assert!(a.matches(OriginKind::IamUser.as_str(), &two));
    assert!(!a.matches(OriginKind::Ec2Instance.as_str(), &two));
    assert!(!a.matches(OriginKind::IamUser.as_str(), &two[..1]));
    assert!(glob(
        "arn:aws:iam::*:role/ci-*",
        "arn:aws:iam::1:role/ci-deploy"
    ));
    assert!(!glob(
        "arn:aws:iam::*:role/ci",
        "arn:aws:iam::1:role/ci-deploy"
    ));
    assert!(glob("*", ""));
}

#[test]
fn a_cross_account_chain_names_each_account() {
    let mut e = Engine::new();
    let u = user(A, "bob", "AKIABOBEXAMPLE000001");
    e.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &u,
        &arn(B, "audit"),
        "ASIAXB00000000000001",
        OFFICE,
        CLI,
        A,
        "x1",
    ));
    // The role owner's copy arrives too (type AWSAccount, no key).
    e.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &aws_account(A),
        &arn(B, "audit"),
        "ASIAXB00000000000001",
        OFFICE,
        CLI,
        B,
        "x1b",
    ));
    let s = role(B, "audit", "s-x1", "ASIAXB00000000000001", None);
    e.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &s,
        &arn(C, "data-admin"),
        "ASIAXC00000000000001",
        OFFICE,
        CLI,
        B,
        "x2",
    ));
    e.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &aws_account(B),
        &arn(C, "data-admin"),
        "ASIAXC00000000000001",
        OFFICE,
        CLI,
        C,
        "x2b",
    ));
    let fs = e.finish();
    let ch = of(&fs, ROLE_CHAINING);
    assert_eq!(ch.len(), 1, "{fs:#?}");
    let f = ch[0];
    assert_eq!(f.account_id, C);
    let accts: Vec<&str> = f.chain.iter().map(|h| h.account_id.as_str()).collect();
    assert_eq!(accts, [B, C]);
    assert_eq!(f.origin.as_ref().map(|o| o.account_id.as_str()), Some(A));
    assert!(
        f.chain.iter().all(|h| h.event_ids.len() == 2),
        "{:?}",
        f.chain
    );
}

#[test]
fn the_same_input_in_any_order_of_logging_copies_gives_the_same_finding() {
    let run = |owner_first: bool| {
        let mut e = Engine::new();
        let u = user(A, "bob", "AKIABOBEXAMPLE000001");
        let mine = issue(
            "2024-03-05T10:00:00Z",
            "AssumeRole",
            &u,
            &arn(B, "audit"),
            "ASIAXB00000000000001",
            OFFICE,
            CLI,
            A,
            "x1",
        );
        let theirs = issue(
            "2024-03-05T10:00:00Z",
            "AssumeRole",
            &aws_account(A),
            &arn(B, "audit"),
            "ASIAXB00000000000001",
            OFFICE,
            CLI,
            B,
            "x1b",
        );
        if owner_first {
            e.feed(theirs);
            e.feed(mine);
        } else {
            e.feed(mine);
            e.feed(theirs);
        }
        let s = role(B, "audit", "s-x1", "ASIAXB00000000000001", None);
        e.feed(issue(
            "2024-03-05T10:01:00Z",
            "AssumeRole",
            &s,
            &arn(B, "admin"),
            "ASIAXC00000000000001",
            OFFICE,
            CLI,
            B,
            "x2",
        ));
        e.finish()
    };
    assert_eq!(run(true), run(false));
}
