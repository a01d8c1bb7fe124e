//! Tests for `catalog`: every embedded file parses cleanly, lookups agree with the data files row by row
//! (expected values are read from the files, not typed twice), and every event type of the public
//! datasets has an access level or a documented reason not to.
use super::build::{self, rows, FILES};
use super::*;
use std::collections::BTreeSet;
use std::sync::OnceLock;

fn cat() -> &'static Catalog {
    static CAT: OnceLock<Catalog> = OnceLock::new();
    CAT.get_or_init(Catalog::builtin)
}

fn src(prefix: &str) -> String {
    format!("{prefix}.amazonaws.com")
}

#[test]
fn catalog_is_send_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<Catalog>();
}

#[test]
fn every_data_file_parses_and_is_non_empty() {
    let (_, problems) = build::builtin();
    assert!(
        problems.is_empty(),
        "data problems:\n{}",
        problems.join("\n")
    );
    for (name, text) in FILES {
        assert!(rows(text).next().is_some(), "{name} has no rows");
    }
    let (services, actions) = cat().size();
    assert!(
        services > 400 && actions > 20_000,
        "{services} services, {actions} actions"
    );
}

#[test]
fn access_levels_match_the_data_file() {
    let mut n = 0;
    for (_, c) in rows(build::ACCESS_LEVELS) {
        let want = build_level(c[1]);
        for action in c[2].split(' ') {
            assert_eq!(
                cat().access_level(&src(c[0]), action),
                Some(want),
                "{}:{action}",
                c[0]
            );
            n += 1;
        }
    }
    assert!(n > 20_000);
}

fn build_level(code: &str) -> AccessLevel {
    match code {
        "L" => AccessLevel::List,
        "R" => AccessLevel::Read,
        "W" => AccessLevel::Write,
        "P" => AccessLevel::PermissionsManagement,
        _ => AccessLevel::Tagging,
    }
}

#[test]
fn event_name_aliases_take_their_actions_level() {
    for (_, c) in rows(build::EVENT_NAMES) {
        let (tp, ta) = c[2].split_once(':').unwrap_or((c[0], c[2]));
        let want = cat().access_level(&src(tp), ta);
        assert!(want.is_some(), "{tp}:{ta}");
        assert_eq!(
            cat().access_level(&src(c[0]), c[1]),
            want,
            "{}:{}",
            c[0],
            c[1]
        );
    }
}

#[test]
fn known_lookups() {
    use AccessLevel::*;
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<AccessLevel>)] = &[
        ("s3.amazonaws.com", "ListBuckets", Some(List)),
        ("s3.amazonaws.com", "GetBucketCors", Some(Read)), // s3:GetBucketCORS, case-insensitive
        ("s3.amazonaws.com", "HeadBucket", Some(List)),
        ("s3.amazonaws.com", "PutBucketPolicy", Some(PermissionsManagement)),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", Some(Write)),
        ("lambda.amazonaws.com", "ListFunctions20150331", Some(List)),
        ("monitoring.amazonaws.com", "DescribeAlarms", Some(Read)),
        ("email.amazonaws.com", "SendEmail", Some(Write)),
        ("iam.amazonaws.com", "CreateAccessKey", Some(PermissionsManagement)),
        ("iam.amazonaws.com", "createaccesskey", Some(PermissionsManagement)),
        ("iam.amazonaws.com", "AttachRolePolicy", Some(PermissionsManagement)),
        ("iam.amazonaws.com", "TagRole", Some(Tagging)),
        ("sts.amazonaws.com", "GetCallerIdentity", Some(Read)),
        ("api.ecr.amazonaws.com", "GetAuthorizationToken", Some(Read)),
        ("signin.amazonaws.com", "ConsoleLogin", None),
        ("iam.amazonaws.com", "NoSuchAction", None),
        ("nosuchservice.amazonaws.com", "CreateThing", None),
        ("", "", None),
    ];
    for &(s, n, want) in cases {
        assert_eq!(cat().access_level(s, n), want, "{s} {n}");
    }
    let long = "A".repeat(4 * MAX_ACTION);
    assert_eq!(cat().access_level("iam.amazonaws.com", &long), None);
    assert_eq!(cat().access_level("iam.amazonaws.com", "CréateUser"), None);
}

#[test]
fn prefixes() {
    #[rustfmt::skip]
    let cases = [
        ("s3.amazonaws.com", "s3"), ("monitoring.amazonaws.com", "cloudwatch"), ("email.amazonaws.com", "ses"),
        ("tagging.amazonaws.com", "tag"), ("api.ecr.amazonaws.com", "ecr"), ("portal.sso.amazonaws.com", "sso"),
        ("runtime.sagemaker.amazonaws.com", "sagemaker"), ("application-insights.amazonaws.com", "applicationinsights"),
        ("servicecatalog-appregistry.amazonaws.com", "servicecatalog"), ("fips.lambda.amazonaws.com", "lambda"),
        ("brand-new.amazonaws.com", "brand-new"), ("example.com", "example.com"),
    ];
    for (s, want) in cases {
        assert_eq!(cat().iam_prefix(s), want, "{s}");
    }
    for (_, c) in rows(build::EVENT_SOURCES) {
        assert_eq!(cat().iam_prefix(c[0]), c[1], "{}", c[0]);
    }
}

#[test]
fn risks_match_the_data_files() {
    for text in [build::RISKS, build::RISKS_EXTRA] {
        for (_, c) in rows(text) {
            let (p, a) = c[0].split_once(':').unwrap_or_default();
            let want = Risks::from_name(c[1]).unwrap_or_default();
            assert!(cat().risks(&src(p), a).contains(want), "{} {}", c[0], c[1]);
        }
    }
    let r = cat().risks("iam.amazonaws.com", "CreateAccessKey");
    assert!(r.contains(Risks::PRIVILEGE_ESCALATION | Risks::CREDENTIALS_EXPOSURE));
    assert_eq!(
        r.iter().collect::<Vec<_>>(),
        [
            "privilege_escalation",
            "resource_exposure",
            "credentials_exposure"
        ]
    );
    assert!(cat()
        .risks("s3.amazonaws.com", "GetObject")
        .contains(Risks::DATA_EXFILTRATION));
    assert!(cat().risks("s3.amazonaws.com", "ListBuckets").is_empty());
}

#[test]
fn techniques_match_the_data_file() {
    let mut keys = BTreeSet::new();
    for (_, c) in rows(build::TECHNIQUES) {
        let (p, a) = c[0].split_once(':').unwrap_or_default();
        let got: Vec<_> = cat().techniques(&src(p), a).iter().map(|t| t.id).collect();
        assert_eq!(got, c[1].split(',').collect::<Vec<_>>(), "{}", c[0]);
        assert!(
            keys.insert(c[0].to_ascii_lowercase()),
            "{} listed twice",
            c[0]
        );
    }
    assert!(
        keys.len() >= 150,
        "only {} actions mapped to techniques",
        keys.len()
    );
    let stop = cat().techniques("cloudtrail.amazonaws.com", "StopLogging");
    assert_eq!(stop, [cat().technique("T1685.002").expect("T1685.002")]);
    assert_eq!(stop[0].tactic, "Defense Impairment");
    // Versioned Lambda names reach the unversioned row.
    assert_eq!(
        cat().techniques("lambda.amazonaws.com", "CreateFunction20150331")[0].id,
        "T1648"
    );
}

#[test]
fn follow_ups_match_the_data_file() {
    for (_, c) in rows(build::FOLLOW_UPS) {
        let (p, a) = c[0].split_once(':').unwrap_or_default();
        let f = cat().lookup(&src(p), a);
        let (family, reason) = f.follow_up.expect(c[0]);
        assert_eq!((family.as_str(), reason), (c[1], c[3]), "{}", c[0]);
        assert_eq!(f.role_parameter, (c[2] != "-").then_some(c[2]), "{}", c[0]);
    }
    let run = cat().lookup("ec2.amazonaws.com", "RunInstances");
    assert_eq!(
        run.follow_up.map(|f| f.0),
        Some(FollowUp::PrivilegeEscalation)
    );
    assert_eq!(run.role_parameter, Some("iamInstanceProfile"));
    assert_eq!(
        cat()
            .follow_up("lambda.amazonaws.com", "CreateFunction20150331")
            .map(|f| f.0),
        Some(FollowUp::PrivilegeEscalation)
    );
    assert_eq!(
        cat()
            .follow_up("iam.amazonaws.com", "CreateLoginProfile")
            .map(|f| f.0),
        Some(FollowUp::Persistence)
    );
    assert_eq!(
        cat()
            .follow_up("guardduty.amazonaws.com", "DeleteDetector")
            .map(|f| f.0),
        Some(FollowUp::DefenseEvasion)
    );
    assert_eq!(cat().follow_up("s3.amazonaws.com", "GetObject"), None);
}

#[test]
fn finding_techniques_agree_with_the_mitre_table() {
    for t in mitre::ALL {
        assert_eq!(cat().technique(t.id).as_ref(), Some(t), "{}", t.id);
    }
    for ty in [
        "InstanceCredentialExfiltration.OutsideAWS",
        "InstanceCredentialExfiltration.InsideAWS",
        "InstanceCredentialExfiltration.AffiliatedAccount",
        "RoleChaining",
        "SsrfUserAgentAnomaly",
        "AttackToolUserAgent",
        "Persistence",
        "PrivilegeEscalation",
        "DefenseEvasion",
    ] {
        assert!(!Catalog::finding_techniques(ty).is_empty(), "{ty}");
    }
    let ids: Vec<_> = Catalog::finding_techniques("InstanceCredentialExfiltration.OutsideAWS")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, ["T1552.005", "T1078.004"]);
    assert!(Catalog::finding_techniques("NoSuchFinding").is_empty());
}

#[test]
fn mitre_ids_are_v19() {
    // ATT&CK v19 revoked these; the catalog must carry their replacements (T1685, T1685.002, T1686.001).
    for (_, c) in rows(build::MITRE) {
        assert!(
            !c[0].starts_with("T1562") && c[0] != "T1070.001",
            "revoked id {}",
            c[0]
        );
        assert!(
            c[2] != "Defense Evasion",
            "{}: Defense Evasion is Stealth / Defense Impairment in v19",
            c[0]
        );
    }
}

#[test]
fn api_version_suffixes() {
    for (name, want) in [
        ("updatefunctioncode20150331v2", Some("updatefunctioncode")),
        ("listfunctions20150331", Some("listfunctions")),
        ("createdistribution2020_05_31", Some("createdistribution")),
        ("listobjectsv2", None),
        ("getobject", None),
        ("20150331", None),
    ] {
        assert_eq!(strip_api_version(name), want, "{name}");
    }
}

#[test]
fn dataset_coverage() {
    let Some(root) = crate::useragent::tests::datasets_root() else {
        return;
    };
    let mut pairs = BTreeSet::new();
    crate::useragent::tests::for_each_record(&root, &mut |r| {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        pairs.insert((s("eventSource"), s("eventName")));
    });
    let (mut levelled, mut unknown, mut missing) = (0, 0, Vec::new());
    for (s, n) in &pairs {
        let f = cat().lookup(s, n);
        match (f.access, f.known_unknown) {
            (Some(_), _) => levelled += 1,
            (None, Some(_)) => unknown += 1,
            (None, None) => missing.push(format!("{s} {n}")),
        }
    }
    let total = pairs.len();
    println!(
        "catalog coverage: {levelled}/{total} event types have an access level ({:.1} %), {unknown} known unknowns",
        100.0 * levelled as f64 / total as f64
    );
    assert!(
        missing.is_empty(),
        "event types with neither an access level nor a reason:\n{}",
        missing.join("\n")
    );
}
