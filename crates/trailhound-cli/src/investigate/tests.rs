//! The collector on enriched lines written here (the shape `enrich` writes: the record, then its
//! `enrichment`), with explicit times.
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::*;

/// An enriched record: `key` calls `name` at `t` from `ip`; `extra` is merged in.
fn rec(t: &str, key: &str, arn: &str, name: &str, ip: &str, extra: Value) -> Value {
    let mut v = json!({
        "eventTime": format!("2024-03-05T{t}Z"), "eventID": format!("ev-{t}-{name}"),
        "eventName": name, "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.30",
        "userIdentity": {"type": "AssumedRole", "arn": arn, "accessKeyId": key},
        "enrichment": {"action": format!("sts:{name}"), "access_level": "Write",
            "mitre": [{"id": "T1548.005", "name": "x", "tactic": "y"}], "risks": ["privilege_escalation"],
            "origin": {"kind": "role_session"}}
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        for (k, x) in e {
            o.insert(k, x);
        }
    }
    v
}

fn assume(t: &str, key: &str, arn: &str, role: &str, issued: &str) -> Value {
    rec(
        t,
        key,
        arn,
        "AssumeRole",
        "185.220.101.47",
        json!({"requestParameters": {"roleArn": role, "roleSessionName": "s"},
           "responseElements": {"credentials": {"accessKeyId": issued, "sessionToken": "REDACTED"}}}),
    )
}

/// Feeds `records` through a [`Tap`] in uneven chunks, as the engine writes.
fn collect(seed: Seed, records: &[Value], findings: &[Value]) -> Story {
    let c = Arc::new(Mutex::new(Collector::new(seed)));
    let mut tap = Tap(Arc::clone(&c));
    for r in records {
        let line = serde_json::to_string(r).unwrap() + "\n";
        let (a, b) = line.as_bytes().split_at(line.len() / 3);
        tap.write_all(a).unwrap();
        tap.write_all(b).unwrap();
    }
    drop(tap);
    let c = Arc::try_unwrap(c).ok().unwrap().into_inner().unwrap();
    c.finish(findings)
}

const INST: &str = "arn:aws:sts::111111111111:assumed-role/app/i-0a5b97b5c8174ca3a";

#[test]
fn a_key_is_followed_through_what_it_assumed_and_created() {
    let records = [
        // Where the seed came from: EC2 issuing the instance's key.
        json!({"eventTime": "2024-03-05T10:00:00Z", "eventID": "ev-issue", "eventName": "AssumeRole",
            "sourceIPAddress": "ec2.amazonaws.com", "userAgent": "ec2.amazonaws.com",
            "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
            "requestParameters": {"roleArn": "arn:aws:iam::111111111111:role/app", "roleSessionName": "i-0a5b97b5c8174ca3a"},
            "responseElements": {"credentials": {"accessKeyId": "ASIAINSTANCE0000001", "sessionToken": "REDACTED"}}}),
        rec(
            "10:01:00",
            "ASIAINSTANCE0000001",
            INST,
            "GetCallerIdentity",
            "185.220.101.47",
            json!({}),
        ),
        assume(
            "10:02:00",
            "ASIAINSTANCE0000001",
            INST,
            "arn:aws:iam::222222222222:role/admin",
            "ASIAHOP100000000001",
        ),
        // Someone else's call, never followed.
        rec(
            "10:02:30",
            "ASIAOTHER0000000001",
            "arn:aws:sts::1:assumed-role/x/y",
            "ListBuckets",
            "10.0.0.1",
            json!({}),
        ),
        rec(
            "10:03:00",
            "ASIAHOP100000000001",
            "arn:aws:sts::222222222222:assumed-role/admin/s",
            "CreateAccessKey",
            "185.220.101.47",
            json!({"requestParameters": {"userName": "backdoor"}, "responseElements": {"accessKey": {"accessKeyId": "AKIABACKDOOR0000001", "userName": "backdoor"}},
                   "errorCode": null}),
        ),
        rec(
            "10:04:00",
            "AKIABACKDOOR0000001",
            "arn:aws:iam::222222222222:user/backdoor",
            "ListUsers",
            "185.220.101.47",
            json!({"errorCode": "AccessDenied", "errorMessage": "not allowed"}),
        ),
        // An admin deactivates the backdoor key: a call about it, by someone else.
        rec(
            "10:05:00",
            "ASIAADMIN0000000001",
            "arn:aws:sts::2:assumed-role/ir/z",
            "UpdateAccessKey",
            "10.0.0.2",
            json!({"requestParameters": {"accessKeyId": "AKIABACKDOOR0000001", "status": "Inactive"}}),
        ),
    ];
    let findings = [
        json!({"id": "chain", "type": "RoleChaining", "access_key_id": "ASIAHOP100000000001",
               "chain": [{"access_key_id": "ASIAHOP100000000001", "caller_access_key_id": "ASIAINSTANCE0000001"}]}),
        json!({"id": "unrelated", "type": "X", "access_key_id": "ASIAOTHER0000000001"}),
    ];
    let s = collect(Seed::Key("ASIAINSTANCE0000001".into()), &records, &findings);
    let keys: Vec<(&str, usize, &str)> = s
        .credentials
        .iter()
        .map(|c| (c.key.as_str(), c.depth, c.kind))
        .collect();
    assert_eq!(
        keys,
        [
            ("ASIAINSTANCE0000001", 0, "instance credential"),
            ("ASIAHOP100000000001", 1, "session"),
            ("AKIABACKDOOR0000001", 2, "access key")
        ]
    );
    let root = &s.credentials[0];
    let issue = root.issued_by.as_ref().expect("issuance found");
    assert_eq!(
        (issue.via.as_str(), issue.by.as_str()),
        ("AssumeRole", "ec2.amazonaws.com")
    );
    assert_eq!(root.session_name.as_deref(), Some("i-0a5b97b5c8174ca3a"));
    assert_eq!(root.calls, 2);
    let backdoor = &s.credentials[2];
    assert_eq!(backdoor.session_name.as_deref(), Some("backdoor"));
    assert_eq!((backdoor.calls, backdoor.failed), (1, 1));
    let ids: Vec<&str> = s.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert!(!ids.iter().any(|i| i.contains("ListBuckets")));
    let relations: Vec<&str> = s.events.iter().map(|e| e.relation).collect();
    assert_eq!(relations, ["issued", "by", "by", "by", "by", "about"]);
    let denied = s.events.iter().find(|e| !e.ok).unwrap();
    assert_eq!(denied.outcome, "AccessDenied: not allowed");
    assert_eq!(s.events[1].mitre, "T1548.005");
    assert_eq!(s.events[2].issued, "ASIAHOP100000000001");
    assert_eq!(s.findings.len(), 1);
    assert_eq!(s.findings[0]["id"], "chain");
    assert_eq!(
        (s.credentials[0].findings, s.credentials[1].findings),
        (1, 1)
    );
}

#[test]
fn an_instance_gathers_its_keys_and_folds_keys_only_aws_services_used() {
    let own = |t: &str, key: &str, ip: &str| {
        let mut r = rec(t, key, INST, "GetObject", ip, json!({}));
        r["enrichment"]["origin"] =
            json!({"kind": "ec2_instance", "instance_id": "i-0a5b97b5c8174ca3a"});
        r
    };
    let records = [
        own("10:00:00", "ASIAKEY1000000000001", "50.16.212.9"),
        own("10:00:01", "ASIAINTERNAL00000001", "AWS Internal"),
        own("11:00:00", "ASIAKEY2000000000002", "50.16.212.9"),
        rec(
            "11:00:01",
            "ASIAKEY3000000000003",
            "arn:aws:sts::1:assumed-role/app/i-0ffffffffffffffff",
            "GetObject",
            "1.2.3.4",
            json!({}),
        ),
    ];
    let findings = [
        json!({"id": "f", "type": "T", "access_key_id": "nope", "instance_id": "i-0a5b97b5c8174ca3a"}),
    ];
    let s = collect(
        Seed::Instance("i-0a5b97b5c8174ca3a".into()),
        &records,
        &findings,
    );
    let keys: Vec<&str> = s.credentials.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["ASIAKEY1000000000001", "ASIAKEY2000000000002"]);
    assert_eq!(s.service_only, 1);
    assert_eq!(s.events.len(), 3, "the service's call stays listed");
    assert_eq!(s.findings.len(), 1, "a finding on the instance touches it");
}

#[test]
fn a_principal_seeds_every_key_it_used() {
    let arn = "arn:aws:iam::111111111111:user/alice";
    let records = [
        rec(
            "10:00:00",
            "AKIAALICE0000000001",
            arn,
            "ListBuckets",
            "1.2.3.4",
            json!({}),
        ),
        rec(
            "10:01:00",
            "AKIAALICE0000000002",
            arn,
            "ListBuckets",
            "1.2.3.4",
            json!({}),
        ),
        rec(
            "10:02:00",
            "AKIABOB000000000001",
            "arn:aws:iam::111111111111:user/bob",
            "ListBuckets",
            "1.2.3.4",
            json!({}),
        ),
    ];
    let s = collect(Seed::Principal(arn.into()), &records, &[]);
    assert_eq!(s.credentials.len(), 2);
    assert!(s.credentials.iter().all(|c| c.kind == "access key"));
}

#[test]
fn calls_before_a_late_issuance_are_counted() {
    let records = [
        rec(
            "10:05:00",
            "ASIAHOP100000000001",
            "arn:aws:sts::2:assumed-role/admin/s",
            "ListUsers",
            "1.2.3.4",
            json!({}),
        ),
        assume(
            "10:02:00",
            "ASIASEED00000000001",
            INST,
            "arn:aws:iam::2:role/admin",
            "ASIAHOP100000000001",
        ),
    ];
    let s = collect(Seed::Key("ASIASEED00000000001".into()), &records, &[]);
    assert_eq!(s.credentials.len(), 2);
    assert_eq!(s.missed_early, 1);
}

#[test]
fn access_keys_are_read_with_or_without_spaces() {
    let line = br#"{"userIdentity": {"accessKeyId" : "ASIAA"}, "x": {"accessKeyId":"AKIAB"}, "accessKeyId": 5}"#;
    assert_eq!(access_keys(line).collect::<Vec<_>>(), ["ASIAA", "AKIAB"]);
}
