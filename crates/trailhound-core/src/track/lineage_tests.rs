//! Lineage tests: real-shaped STS records through the tracker, explicit times, expected paths.
use super::*;
use crate::address::AddressBook;
use crate::config::Settings;
use crate::detect::testkit::{aws_account, issue, role, service, user, web_identity};
use crate::ranges::Ranges;
use crate::track::Tracker;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const IP: &str = "198.51.100.23";
const CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79 exe/x86_64.amzn.2023";

fn t(s: &str) -> EventTime {
    EventTime::parse(s).expect("time")
}

struct Run(Tracker, AddressBook);

impl Run {
    fn new() -> Self {
        Run(
            Tracker::new(&Settings::default()),
            AddressBook::new(Ranges::builtin(), &[]),
        )
    }
    fn feed(&mut self, ev: Event) {
        self.0.observe(&ev, &self.1);
    }
    fn session(&self, key: &str, at: &str) -> Option<&Session> {
        self.0.lineage().session(key, t(at))
    }
}

fn arn(acct: &str, r: &str) -> String {
    format!("arn:aws:iam::{acct}:role/{r}")
}

#[test]
fn user_key_to_two_roles_across_accounts() {
    let mut r = Run::new();
    let alice = user(A, "alice", "AKIAALICE0000000001");
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &alice,
        &arn(B, "ops"),
        "ASIAHOP1",
        IP,
        CLI,
        A,
        "e1",
    ));
    let hop1 = role(B, "ops", "s-e1", "ASIAHOP1", None);
    r.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &hop1,
        &arn(C, "admin"),
        "ASIAHOP2",
        IP,
        CLI,
        B,
        "e2",
    ));
    let s = r
        .session("ASIAHOP2", "2024-03-05T10:02:00Z")
        .expect("linked");
    assert_eq!(s.depth, 2);
    assert_eq!(s.origin.kind, OriginKind::IamUser);
    assert_eq!(s.origin.principal, "arn:aws:iam::111111111111:user/alice");
    assert_eq!(s.origin.key.as_deref(), Some("AKIAALICE0000000001"));
    assert_eq!(s.origin.source_ip, IP);
    let accounts: Vec<&str> = s.hops.iter().map(|h| h.account.as_str()).collect();
    assert_eq!(accounts, [B, C]);
    assert_eq!(
        s.ancestors().collect::<Vec<_>>(),
        ["ASIAHOP1", "AKIAALICE0000000001"]
    );
    assert_eq!(s.roles().count(), 2);
}

#[test]
fn cross_account_copies_are_one_hop_whichever_comes_first() {
    for owner_first in [false, true] {
        let mut r = Run::new();
        let alice = user(A, "alice", "AKIAALICE0000000001");
        let caller = issue(
            "2024-03-05T10:00:00Z",
            "AssumeRole",
            &alice,
            &arn(B, "ops"),
            "ASIAHOP1",
            IP,
            CLI,
            A,
            "caller-copy",
        );
        let owner = issue(
            "2024-03-05T10:00:00Z",
            "AssumeRole",
            &aws_account(A),
            &arn(B, "ops"),
            "ASIAHOP1",
            IP,
            CLI,
            B,
            "owner-copy",
        );
        if owner_first {
            r.feed(owner);
            let p = r
                .session("ASIAHOP1", "2024-03-05T10:00:00Z")
                .expect("provisional");
            assert!(p.provisional);
            assert_eq!(p.origin.kind, OriginKind::Unknown);
            r.feed(caller);
        } else {
            r.feed(caller);
            r.feed(owner);
        }
        let s = r
            .session("ASIAHOP1", "2024-03-05T10:00:01Z")
            .expect("linked");
        assert!(!s.provisional, "owner_first={owner_first}");
        assert_eq!(s.depth, 1);
        assert_eq!(s.origin.kind, OriginKind::IamUser);
        assert_eq!(s.hops.len(), 1);
        let mut ids: Vec<&str> = s.last().event_ids.iter().map(|e| e.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["caller-copy", "owner-copy"]);
    }
}

#[test]
fn federation_tokens_and_services() {
    let mut r = Run::new();
    // GitHub Actions OIDC into a deployer role: hop 1, origin web identity.
    let gha = web_identity(A, "repo:org/app:ref:refs/heads/main");
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRoleWithWebIdentity",
        &gha,
        &arn(A, "deployer"),
        "ASIAGHA",
        "20.42.1.1",
        "aws-sdk-nodejs/2.1400",
        A,
        "w1",
    ));
    let s = r.session("ASIAGHA", "2024-03-05T10:00:00Z").expect("gha");
    assert_eq!(
        (s.depth, s.origin.kind),
        (1, OriginKind::WebIdentityFederation)
    );
    // GetSessionToken keeps the depth; the role after it counts.
    let bob = user(A, "bob", "AKIABOB000000000001");
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "GetSessionToken",
        &bob,
        "",
        "ASIAMFA",
        IP,
        CLI,
        A,
        "g1",
    ));
    let mfa = user(A, "bob", "ASIAMFA");
    r.feed(issue(
        "2024-03-05T10:01:00Z",
        "AssumeRole",
        &mfa,
        &arn(B, "ops"),
        "ASIABOBOPS",
        IP,
        CLI,
        A,
        "g2",
    ));
    let s = r
        .session("ASIABOBOPS", "2024-03-05T10:02:00Z")
        .expect("bob");
    assert_eq!(s.depth, 1);
    assert_eq!(s.hops.len(), 2);
    assert_eq!(s.hops[0].via, Via::GetSessionToken);
    assert_eq!(s.origin.key.as_deref(), Some("AKIABOB000000000001"));
    // A Lambda function's own session is an origin (depth 0); what it assumes is hop 1.
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &service("lambda.amazonaws.com"),
        &arn(A, "fn-role"),
        "ASIALAMBDA",
        "lambda.amazonaws.com",
        "lambda.amazonaws.com",
        A,
        "l1",
    ));
    let fnr = role(A, "fn-role", "my-function", "ASIALAMBDA", None);
    r.feed(issue(
        "2024-03-05T10:03:00Z",
        "AssumeRole",
        &fnr,
        &arn(B, "reader"),
        "ASIALAMBDAB",
        "3.5.6.7",
        "Boto3/1.34.0",
        A,
        "l2",
    ));
    let s = r
        .session("ASIALAMBDAB", "2024-03-05T10:03:00Z")
        .expect("lambda child");
    assert_eq!((s.depth, s.origin.kind), (1, OriginKind::AwsService));
    assert_eq!(s.origin.principal, "lambda.amazonaws.com");
}

#[test]
fn instance_origin_unknown_parent_and_source_identity() {
    let mut r = Run::new();
    // Mid-stream instance credentials (ec2RoleDelivery + strict instance session name).
    let inst = role(A, "web", "i-0abc1234def567890", "ASIAINSTANCE", Some("1.0"));
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &inst,
        &arn(B, "x"),
        "ASIAX",
        "35.190.27.188",
        CLI,
        A,
        "i1",
    ));
    let s = r.session("ASIAX", "2024-03-05T10:00:00Z").expect("x");
    assert_eq!(s.origin.kind, OriginKind::Ec2Instance);
    assert_eq!(s.origin.instance.as_deref(), Some("i-0abc1234def567890"));
    assert_eq!(
        s.origin.role_arn.as_deref(),
        Some("arn:aws:iam::111111111111:role/web")
    );
    // A role session whose own issuance is not in the input: origin unknown, taken as depth 0.
    let old = role(A, "legacy", "someone", "ASIAOLD", None);
    let mut ev = issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &old,
        &arn(B, "y"),
        "ASIAY",
        IP,
        CLI,
        A,
        "u1",
    );
    if let crate::event::Detail::Issued(i) = &mut ev.detail {
        i.source_identity = Some("carol@example.com".into());
    }
    r.feed(ev);
    let s = r.session("ASIAY", "2024-03-05T10:00:00Z").expect("y");
    assert_eq!((s.depth, s.origin.kind), (1, OriginKind::Unknown));
    assert_eq!(
        s.origin.source_identity.as_deref(),
        Some("carol@example.com")
    );
    assert_eq!(r.0.lineage().stats().unknown_parent, 1);
}

#[test]
fn sessions_expire_with_their_credentials() {
    let mut r = Run::new();
    let alice = user(A, "alice", "AKIAALICE0000000001");
    // The builder's expiration is "Mar 5, 2024, 11:30:00 PM" (UTC).
    r.feed(issue(
        "2024-03-05T22:30:00Z",
        "AssumeRole",
        &alice,
        &arn(B, "ops"),
        "ASIAEXP",
        IP,
        CLI,
        A,
        "x1",
    ));
    assert!(
        r.session("ASIAEXP", "2024-03-05T23:34:59Z").is_some(),
        "within grace"
    );
    assert!(
        r.session("ASIAEXP", "2024-03-05T23:35:01Z").is_none(),
        "expired"
    );
}

#[test]
fn long_paths_keep_the_last_hops_and_count_all() {
    let mut r = Run::new();
    let alice = user(A, "alice", "AKIAALICE0000000001");
    r.feed(issue(
        "2024-03-05T10:00:00Z",
        "AssumeRole",
        &alice,
        &arn(A, "r0"),
        "ASIAK0",
        IP,
        CLI,
        A,
        "h0",
    ));
    for i in 1..20 {
        let caller = role(
            A,
            &format!("r{}", i - 1),
            "s",
            &format!("ASIAK{}", i - 1),
            None,
        );
        r.feed(issue(
            "2024-03-05T10:00:00Z",
            "AssumeRole",
            &caller,
            &arn(A, &format!("r{i}")),
            &format!("ASIAK{i}"),
            IP,
            CLI,
            A,
            &format!("h{i}"),
        ));
    }
    let s = r.session("ASIAK19", "2024-03-05T10:00:00Z").expect("deep");
    assert_eq!(s.depth, 20);
    assert_eq!(s.hops.len(), MAX_HOPS);
    assert_eq!(s.last().key, "ASIAK19");
    assert_eq!(s.origin.kind, OriginKind::IamUser);
}
