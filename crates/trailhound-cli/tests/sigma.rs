//! Issue 17 through the real binary: the SigmaHQ rules on the real datasets, rules of one's own
//! (and refused ones), and `enrich` naming the rules an event matches.
mod common;

use std::process::Command;

use common::{dataset, scan, tempdir};
use serde_json::Value;

fn sigma_findings(findings: &[Value]) -> Vec<&Value> {
    findings.iter().filter(|f| f["type"] == "Sigma").collect()
}

#[test]
fn the_builtin_rules_on_a_real_theft_link_what_the_stolen_session_did() {
    let Some(dir) = dataset("invictus-aws-dataset") else {
        eprintln!("skipped: ../shared/datasets/invictus-aws-dataset is not present");
        return;
    };
    let s = scan(&[dir], &["--sigma-builtin".into()]);
    let findings = s.parsed();
    let sigma = sigma_findings(&findings);
    assert!(!sigma.is_empty(), "{}", s.stderr());
    assert_eq!(s.summary["sigma"]["rules"], 57);
    let ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    for f in &sigma {
        let rule = &f["rule"];
        assert!(rule["id"].as_str().is_some_and(|id| id.len() == 36), "{f}");
        assert!(f["mitre"].as_array().is_some_and(|m| m
            .iter()
            .all(|t| t.as_str().is_some_and(|t| t.starts_with('T')))));
        assert!(f["explanation"]
            .as_str()
            .is_some_and(|e| e.contains(rule["title"].as_str().unwrap_or("?"))));
        if let Some(p) = f["parent_finding_id"].as_str() {
            assert!(ids.contains(&p), "the parent is reported");
        }
    }
    // What the stolen instance credential did next, by the community's rules, linked to the theft.
    let linked: Vec<&&Value> = sigma
        .iter()
        .filter(|f| f["parent_finding_id"].is_string())
        .collect();
    assert!(linked.len() >= 3, "{linked:#?}");
    assert!(linked
        .iter()
        .any(|f| f["rule"]["title"] == "AWS VPC Flow Logs Deleted" && f["severity"] == "high"));
    // The same run without rules: the same other findings.
    let plain = scan(&[dataset("invictus-aws-dataset").unwrap()], &[]);
    let others: Vec<&Value> = findings.iter().filter(|f| f["type"] != "Sigma").collect();
    assert_eq!(others.len(), plain.parsed().len());
}

#[test]
fn the_builtin_rules_run_over_every_dataset() {
    for name in ["invictus-aws-dataset", "sans504-s3-ransomware"] {
        let Some(dir) = dataset(name) else {
            eprintln!("skipped: ../shared/datasets/{name} is not present");
            continue;
        };
        let s = scan(&[dir], &["--sigma-builtin".into()]);
        assert!(
            s.output.status.success() || s.output.status.code() == Some(1),
            "{name}: {}",
            s.stderr()
        );
        assert!(
            !s.stderr().contains("sigma: refused"),
            "{name}: {}",
            s.stderr()
        );
        assert_eq!(s.summary["sigma"]["rules"], 57, "{name}");
    }
}

#[test]
fn own_rules_load_from_a_directory_and_bad_ones_are_refused_with_file_id_and_reason() {
    let Some(data) = dataset("sans504-s3-ransomware") else {
        eprintln!("skipped: ../shared/datasets/sans504-s3-ransomware is not present");
        return;
    };
    let dir = tempdir("own-sigma");
    std::fs::write(
        dir.join("bucket_policy.yml"),
        "title: Bucket policy changed\nid: 5f0b1c7e-9d8a-4c1e-8b1a-2f7e3c9d4a10\nstatus: experimental\nauthor: trailhound tests\ntags:\n    - attack.t1530\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    selection:\n        eventSource: s3.amazonaws.com\n        eventName|startswith: 'PutBucket'\n    condition: selection\nlevel: medium\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("windows.yml"),
        "title: Not ours\nid: 6a1c2d3e-0000-4000-8000-00000000000b\nlogsource:\n    product: windows\n    service: security\ndetection:\n    selection:\n        EventID: 4625\n    condition: selection\n",
    )
    .expect("write");
    let s = scan(
        std::slice::from_ref(&data),
        &["--sigma".into(), dir.display().to_string()],
    );
    let err = s.stderr();
    assert!(
        err.contains("windows.yml: rule 6a1c2d3e-0000-4000-8000-00000000000b: not for CloudTrail"),
        "{err}"
    );
    assert_eq!(s.summary["sigma"]["rules"], 1);
    // --strict makes a refused rule an error.
    let o = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(["scan", "--no-progress", "--strict", "--sigma"])
        .arg(&dir)
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn enrich_names_the_rules_an_event_matches() {
    let Some(data) = dataset("sans504-s3-ransomware") else {
        eprintln!("skipped: ../shared/datasets/sans504-s3-ransomware is not present");
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(["enrich", "--no-progress", "--sigma-builtin"])
        .arg(&data)
        .output()
        .expect("run");
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let mut named = 0;
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        if let Some(ids) = v["enrichment"]["sigma"].as_array() {
            named += 1;
            assert!(!ids.is_empty());
            // A ListBuckets by an IAM user is what "Potential Bucket Enumeration" describes.
            if v["eventName"] == "ListBuckets" && v["userIdentity"]["type"] != "AssumedRole" {
                assert!(
                    ids.iter()
                        .any(|i| i == "f305fd62-beca-47da-ad95-7690a0620084"),
                    "{ids:?}"
                );
            }
        }
    }
    assert!(named > 0);
}
