//! Configuration tests: the documented example parses, and unknown keys and bad values are rejected
//! with the line or key and the value.
use super::*;
use crate::time::{HOUR, MINUTE};

#[test]
fn full_example_parses() {
    let text = r#"
[organization]
accounts = ["111111111111", "222222222222"]
[[trusted]]
cidr = "198.51.100.0/24"
label = "office"
[state]
ttl = "4h"
[order]
window = "5m"
[detect]
write_only = true
[[suppress]]
type = "InstanceCredentialExfiltration.InsideAWS"
source_cidr = "52.94.0.0/16"
reason = "partner scanner"
[[chains.allow]]
origin = "web_identity_federation"
roles = ["arn:aws:iam::111111111111:role/github-actions-deployer", "arn:aws:iam::*:role/ci-deploy"]
reason = "GitHub Actions deploy pipeline"
"#;
    let s = Config::parse(text)
        .unwrap()
        .settings(Some("instance_id,ip\ni-0abc1234def567890,3.225.16.5\n"))
        .unwrap();
    assert_eq!(s.org_accounts.len(), 2);
    assert_eq!(s.ttl, 4 * HOUR);
    assert_eq!(s.window, 5 * MINUTE);
    assert!(s.write_only);
    assert_eq!(s.trusted[0].label, "office");
    assert_eq!(s.chain_allow.len(), 1);
    assert_eq!(
        s.chain_allow[0].origin.as_deref(),
        Some("web_identity_federation")
    );
    assert_eq!(s.chain_allow[0].roles[1], "arn:aws:iam::*:role/ci-deploy");
    assert_eq!(
        s.inventory,
        vec![(
            "i-0abc1234def567890".to_owned(),
            "3.225.16.5".parse().unwrap()
        )]
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_line() {
    let err = Config::parse("[state]\nttl = \"6h\"\nttll = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("ttll"), "{err}");
    let err = Config::parse("[[trusted]]\ncidr = \"10.0.0.0/33\"\nlabel = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    let err = Config::parse("[state]\nttl = \"soon\"\n")
        .unwrap()
        .settings(None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("state.ttl") && err.contains("soon"), "{err}");
    let err = Config::parse("")
        .unwrap()
        .settings(Some("i-0abc1234def567890,not-an-ip\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn chains_allow_rejects_unknown_keys_and_bad_values() {
    let err = Config::parse(
        "[[chains.allow]]\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \"x\"\nrole = \"y\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("role"), "{err}");
    let err = Config::parse("[[chains.allow]]\norigin = \"github\"\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \"x\"\n")
        .unwrap()
        .settings(None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("chains.allow.origin") && err.contains("github"),
        "{err}"
    );
    let err = Config::parse("[[chains.allow]]\nroles = [\"ci-deploy\"]\nreason = \"x\"\n")
        .unwrap()
        .settings(None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("chains.allow.roles"), "{err}");
    let err =
        Config::parse("[[chains.allow]]\nroles = [\"arn:aws:iam::*:role/a\"]\nreason = \" \"\n")
            .unwrap()
            .settings(None)
            .unwrap_err()
            .to_string();
    assert!(err.contains("chains.allow.reason"), "{err}");
}
