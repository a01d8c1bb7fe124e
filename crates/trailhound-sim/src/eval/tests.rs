//! Scoring hand-written findings against hand-written ground truth: every rule of the module doc.
use super::report::Gate;
use super::*;
use crate::simulate::Expected;

const OUT: &str = "InstanceCredentialExfiltration.OutsideAWS";

fn ev(
    id: &str,
    scenario: &str,
    kind: &str,
    expected: &str,
    key: &str,
    ip: &str,
    time: &str,
) -> TruthEvent {
    TruthEvent {
        event_id: id.into(),
        event_time: time.into(),
        scenario_id: scenario.into(),
        kind: kind.into(),
        expected_type: expected.into(),
        expected_severity: "high".into(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        event_name: "GetCallerIdentity".into(),
        source_ip: ip.into(),
        credential: key.into(),
        principal_arn: "arn:aws:sts::111122223333:assumed-role/web/i-0abc".into(),
        instance_id: None,
    }
}

fn scenario(id: &str, kind: &str, first: &str, types: &[&str]) -> Scenario {
    Scenario {
        id: id.into(),
        kind: kind.into(),
        description: String::new(),
        account_id: "111122223333".into(),
        region: "us-east-1".into(),
        victim: String::new(),
        instance_id: None,
        credential: String::new(),
        attacker_ip: String::new(),
        attacker_network: String::new(),
        first_event_time: first.into(),
        last_event_time: first.into(),
        malicious_events: 1,
        expected: types
            .iter()
            .map(|t| Expected {
                finding_type: t.to_string(),
                severity: "high".into(),
                first_event_time: first.into(),
                events: 1,
            })
            .collect(),
    }
}

fn finding(
    id: &str,
    t: &str,
    sev: &str,
    key: &str,
    ip: &str,
    first: &str,
    events: &[&str],
) -> Finding {
    Finding {
        id: id.into(),
        finding_type: t.into(),
        severity: sev.into(),
        access_key_id: key.into(),
        source_ip: ip.into(),
        first_seen: first.into(),
        last_seen: first.into(),
        event_count: events.len() as u64,
        event_ids: events.iter().map(|e| e.to_string()).collect(),
        ..Finding::default()
    }
}

fn truth() -> Truth {
    Truth {
        events: vec![
            ev(
                "e1",
                "S01-exfil-outside-aws",
                "exfil-outside-aws",
                OUT,
                "ASIAK1",
                "73.1.2.3",
                "2026-10-05T10:00:00Z",
            ),
            ev(
                "e2",
                "S01-exfil-outside-aws",
                "exfil-outside-aws",
                OUT,
                "ASIAK1",
                "73.1.2.3",
                "2026-10-05T10:00:30Z",
            ),
            ev(
                "e3",
                "S02-chain-from-instance",
                "chain-from-instance",
                OUT,
                "ASIAK2",
                "46.101.130.4",
                "2026-10-05T12:00:00Z",
            ),
            ev(
                "e4",
                "S02-chain-from-instance",
                "chain-from-instance",
                "RoleChaining",
                "ASIAK3",
                "46.101.130.4",
                "2026-10-05T12:01:00Z",
            ),
            ev(
                "e6",
                "S02-chain-from-instance",
                "chain-from-instance",
                "Persistence",
                "ASIAK4",
                "46.101.130.4",
                "2026-10-05T12:03:00Z",
            ),
        ],
        scenarios: vec![
            scenario(
                "S01-exfil-outside-aws",
                "exfil-outside-aws",
                "2026-10-05T10:00:00Z",
                &[OUT],
            ),
            scenario(
                "S02-chain-from-instance",
                "chain-from-instance",
                "2026-10-05T12:00:00Z",
                &[OUT, "RoleChaining", "Persistence"],
            ),
        ],
        benign: vec![],
    }
}

fn findings() -> Vec<Finding> {
    vec![
        // Cites a legitimate event first and a malicious one: a detection, 7 s after the first event.
        finding(
            "f1",
            OUT,
            "high",
            "ASIAK1",
            "73.1.2.3",
            "2026-10-05T10:00:07Z",
            &["legit-1", "e1"],
        ),
        // Cites a malicious event but names the victim's own address: not this scenario's theft.
        finding(
            "f2",
            OUT,
            "high",
            "ASIAK1",
            "54.152.10.10",
            "2026-10-05T10:00:30Z",
            &["e2"],
        ),
        finding(
            "f3",
            "RoleChaining",
            "high",
            "ASIAK3",
            "46.101.130.4",
            "2026-10-05T12:01:00Z",
            &["e4"],
        ),
        // Below the severity floor used below: ignored, neither a detection nor a false positive.
        finding(
            "f4",
            "Persistence",
            "low",
            "ASIAK4",
            "46.101.130.4",
            "2026-10-05T12:03:00Z",
            &["e6"],
        ),
        finding(
            "f5",
            "InstanceCredentialExfiltration.InsideAWS",
            "high",
            "ASIAX",
            "3.13.1.1",
            "2026-10-05T15:00:00Z",
            &["legit-9"],
        ),
    ]
}

#[test]
fn detections_latency_and_false_positives() {
    let opts = Options {
        min_severity: Severity::Medium,
        require_types: vec!["InstanceCredentialExfiltration.*".into()],
    };
    let r = evaluate(&truth(), &findings(), &opts);
    let s1 = &r.scenarios[0];
    assert!(s1.types[0].detected);
    assert_eq!(s1.types[0].latency_seconds, Some(7));
    assert_eq!(s1.types[0].finding_ids, vec!["f1".to_string()]);
    let s2 = &r.scenarios[1];
    let detected: Vec<bool> = s2.types.iter().map(|t| t.detected).collect();
    assert_eq!(detected, vec![false, true, false]);
    let fps: Vec<&str> = r.false_positives.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(fps, vec!["f2", "f5"]);
    assert_eq!(
        (
            r.findings_read,
            r.findings_counted,
            r.true_positive_findings
        ),
        (5, 4, 2)
    );
    assert!((r.precision - 0.5).abs() < 1e-9);
    assert!((r.recall - 0.5).abs() < 1e-9);
    assert_eq!((r.required_pairs, r.required_detected), (2, 1));
    assert_eq!(
        r.missed_required,
        vec![format!("S02-chain-from-instance: {OUT}")]
    );
    let kinds: Vec<(&str, u64, u64, u64)> = r
        .by_kind
        .iter()
        .map(|k| (k.kind.as_str(), k.detected, k.partly, k.missed))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("chain-from-instance", 0, 1, 0),
            ("exfil-outside-aws", 1, 0, 0)
        ]
    );
    let inside = r
        .by_type
        .iter()
        .find(|t| t.finding_type.ends_with("InsideAWS"));
    assert_eq!(
        inside.map(|t| (t.expected, t.false_positives, t.required)),
        Some((0, 1, true))
    );
    let v = r.violations(&Gate {
        max_false_positives: Some(0),
        min_precision: Some(0.9),
        min_recall: None,
    });
    assert_eq!(v.len(), 3, "{v:?}");
    assert!(r.render().contains("MISSED"));
}

#[test]
fn a_perfect_run_passes_every_gate() {
    let f = vec![
        finding(
            "a",
            OUT,
            "high",
            "ASIAK1",
            "73.1.2.3",
            "2026-10-05T10:00:00Z",
            &["e1", "e2"],
        ),
        finding(
            "b",
            OUT,
            "high",
            "ASIAK2",
            "46.101.130.4",
            "2026-10-05T12:00:02Z",
            &["e3"],
        ),
        finding(
            "c",
            "RoleChaining",
            "medium",
            "ASIAK3",
            "46.101.130.4",
            "2026-10-05T12:01:00Z",
            &["e4"],
        ),
        finding(
            "d",
            "Persistence",
            "high",
            "ASIAK4",
            "46.101.130.4",
            "2026-10-05T12:03:00Z",
            &["e6"],
        ),
    ];
    let r = evaluate(
        &truth(),
        &f,
        &Options {
            min_severity: Severity::Low,
            require_types: vec![OUT.into()],
        },
    );
    assert_eq!((r.precision, r.recall), (1.0, 1.0));
    assert!(r
        .violations(&Gate {
            max_false_positives: Some(0),
            min_precision: Some(1.0),
            min_recall: Some(1.0)
        })
        .is_empty());
    assert_eq!(r.scenarios[1].types[0].latency_seconds, Some(2));
}

#[test]
fn nothing_found_is_all_missed_but_precise() {
    let r = evaluate(&truth(), &[], &Options::default());
    assert_eq!(r.detected_pairs, 0);
    assert_eq!(r.expected_pairs, 4);
    assert_eq!(r.precision, 1.0);
    assert!(
        r.violations(&Gate {
            min_recall: Some(0.1),
            ..Gate::default()
        })
        .len()
            == 1
    );
}

#[test]
fn findings_lines_are_read_leniently() {
    let text = "{\"id\":\"x\",\"type\":\"RoleChaining\",\"severity\":\"medium\",\"event_ids\":[\"e4\"],\"unknown\":1}\n\nnot json\n{\"id\":\"y\"}\n";
    let (ok, bad) = parse_findings(text);
    assert_eq!(ok.len(), 1);
    assert_eq!(bad.iter().map(|b| b.0).collect::<Vec<_>>(), vec![3, 4]);
}

/// Issue 13: each false positive is explained by the benign behaviour whose events it cites, or whose
/// credential (or instance) and address (and, for agents, client) it names; the rest are unexplained.
#[test]
fn issue_13_false_positives_are_grouped_by_the_benign_behaviour_behind_them() {
    use crate::simulate::Benign;
    let mut t = truth();
    t.benign = vec![
        Benign {
            behaviour: "presigned-url".into(),
            event_ids: vec!["p1".into()],
            instance_id: Some("i-1".into()),
            credential: "ASIAP".into(),
            source_ip: "73.9.9.9".into(),
            user_agent: None,
            event_time: "2026-10-05T10:00:00Z".into(),
        },
        Benign {
            behaviour: "aws-agent".into(),
            event_ids: vec!["a1".into()],
            instance_id: Some("i-2".into()),
            credential: "ASIAA".into(),
            source_ip: "54.152.1.1".into(),
            user_agent: Some("CWAgent/1.3".into()),
            event_time: "2026-10-05T10:00:00Z".into(),
        },
    ];
    let mut by_event = finding(
        "x1",
        OUT,
        "high",
        "ASIAZ",
        "1.1.1.1",
        "2026-10-05T10:00:00Z",
        &["p1"],
    );
    by_event.instance_id = Some("i-9".into());
    let mut by_instance = finding(
        "x2",
        "SsrfUserAgentAnomaly",
        "medium",
        "ASIAOTHER",
        "54.152.1.1",
        "2026-10-05T11:00:00Z",
        &["later"],
    );
    by_instance.instance_id = Some("i-2".into());
    by_instance.user_agent = "CWAgent/1.3".into();
    let mut other_client = by_instance.clone();
    other_client.id = "x3".into();
    other_client.user_agent = "curl/8.5.0".into();
    let unrelated = finding(
        "x4",
        OUT,
        "high",
        "ASIAQ",
        "8.8.8.8",
        "2026-10-05T11:00:00Z",
        &["zz"],
    );
    let r = evaluate(
        &t,
        &[by_event, by_instance, other_client, unrelated],
        &Options::default(),
    );
    let got: Vec<(&str, &str)> = r
        .false_positives
        .iter()
        .map(|f| (f.id.as_str(), f.behaviour.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("x1", "presigned-url"),
            ("x2", "aws-agent"),
            ("x3", "unexplained"),
            ("x4", "unexplained")
        ]
    );
    let rows: Vec<(&str, u64)> = r
        .false_positives_by_behaviour
        .iter()
        .map(|b| (b.behaviour.as_str(), b.false_positives))
        .collect();
    assert_eq!(
        rows,
        [("aws-agent", 1), ("presigned-url", 1), ("unexplained", 2)]
    );
    assert_eq!(r.false_positives_by_behaviour[2].by_severity["high"], 1);
    assert!(r.render().contains("by benign behaviour"));
}
