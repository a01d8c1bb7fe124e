//! `trailhound enrich` through the real binary: every event comes out unchanged except for redacted
//! secrets, with an `enrichment` whose facts agree with the data files, whose origin follows the
//! session, whose fields all have a mapping in the shipped index template; es-bulk is well formed;
//! a small fixture has a golden output.
mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{dataset, repo, tempdir};
use serde_json::Value;

/// Runs `trailhound enrich` and returns (stdout lines, summary).
fn enrich(paths: &[PathBuf], extra: &[&str]) -> (Vec<String>, Value) {
    let dir = tempdir(&format!("enrich-{}", common::unique()));
    let summary = dir.join("summary.json");
    let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .arg("enrich")
        .args(paths)
        .args(["--no-progress", "--summary-json"])
        .arg(&summary)
        .args(extra)
        .output()
        .expect("run trailhound enrich");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect();
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary"))
        .expect("summary json");
    let _ = std::fs::remove_dir_all(&dir);
    (lines, summary)
}

fn invictus_records(dir: &Path) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir).expect("dir").filter_map(Result::ok) {
        let doc: Value =
            serde_json::from_slice(&std::fs::read(e.path()).expect("read")).expect("json");
        for r in doc["Records"].as_array().cloned().unwrap_or_default() {
            out.insert(r["eventID"].as_str().unwrap_or_default().to_owned(), r);
        }
    }
    out
}

/// Replaces the values of secret keys, as `enrich` must.
fn redacted(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let secret = ["sessiontoken", "secretaccesskey", "password"]
                        .contains(&k.to_ascii_lowercase().as_str())
                        && x.is_string();
                    (
                        k.clone(),
                        if secret {
                            Value::String("REDACTED".into())
                        } else {
                            redacted(x)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

#[test]
fn events_unchanged_but_secrets_and_facts_right() {
    let Some(ds) = dataset("invictus-aws-dataset") else {
        return eprintln!("skipped: invictus dataset not present");
    };
    let dir = ds.join("CloudTrail");
    let originals = invictus_records(&dir);
    let (lines, summary) = enrich(&[dir], &[]);
    assert_eq!(lines.len(), 2900);
    assert_eq!(summary["enriched"], 2900);
    let levels = access_levels();
    let mut seen_origin = BTreeSet::new();
    for line in &lines {
        assert!(
            !line.contains("IQoJb3JpZ2lu"),
            "a session token leaked: {}",
            &line[..200.min(line.len())]
        );
        let mut ev: Value = serde_json::from_str(line).expect("enriched JSON");
        let enrichment = ev
            .as_object_mut()
            .and_then(|m| m.remove("enrichment"))
            .expect("enrichment");
        let id = ev["eventID"].as_str().expect("eventID").to_owned();
        assert_eq!(ev, redacted(&originals[&id]), "event {id} changed");
        // Access level agrees with data/iam/access-levels.tsv for plain IAM-named actions.
        let (source, name) = (
            ev["eventSource"].as_str().unwrap_or(""),
            ev["eventName"].as_str().unwrap_or(""),
        );
        let prefix = source.split('.').next().unwrap_or("");
        if ["iam", "ec2", "sts", "kms", "secretsmanager", "ssm"].contains(&prefix) {
            if let Some(want) = levels.get(&(prefix.to_owned(), name.to_owned())) {
                assert_eq!(enrichment["access_level"], *want, "{prefix}:{name}");
            }
        }
        seen_origin.insert(
            enrichment["origin"]["kind"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
        if id == "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f" {
            // The stolen instance credential: its origin is the instance, delivered by IMDSv1.
            assert_eq!(enrichment["origin"]["kind"], "ec2_instance");
            assert_eq!(enrichment["origin"]["instance_id"], "i-0dbc91f429e48eeed");
            assert_eq!(enrichment["origin"]["credential_delivery"], "IMDSv1");
            assert_eq!(enrichment["source"]["private"], true);
        }
        if id == "6bf8950b-f1ed-439d-8fc8-211645bfbe0f" {
            assert_eq!(enrichment["source"]["provider"], "aws");
            assert_eq!(enrichment["source"]["region"], "us-east-1");
            assert_eq!(
                enrichment["source"]["org_account"], "123837392027",
                "the NAT's Elastic IP belongs to the account"
            );
        }
    }
    for kind in ["ec2_instance", "iam_user", "aws_service", "role_session"] {
        assert!(
            seen_origin.contains(kind),
            "no {kind} origin in {seen_origin:?}"
        );
    }
    assert_eq!(
        summary["unknown_actions"], 0,
        "every invictus action has an access level or a documented reason"
    );
}

/// `data/iam/access-levels.tsv` as (prefix, action) → level name.
fn access_levels() -> HashMap<(String, String), String> {
    let text =
        std::fs::read_to_string(repo().join("data/iam/access-levels.tsv")).expect("access levels");
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (Some(prefix), Some(code), Some(actions)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let level = match code {
            "L" => "List",
            "R" => "Read",
            "W" => "Write",
            "P" => "Permissions management",
            "T" => "Tagging",
            _ => continue,
        };
        for a in actions.split(' ') {
            out.insert((prefix.to_owned(), a.to_owned()), level.to_owned());
        }
    }
    out
}

/// Every leaf path under `enrichment` must be mapped in both shipped index templates.
#[test]
fn index_templates_map_every_enrichment_field() {
    let fixture = repo().join("tests/fixtures/imdsv1_ssrf_theft");
    let inputs: Vec<PathBuf> = std::fs::read_dir(&fixture)
        .expect("fixture")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("CloudTrail"))
        .collect();
    let (lines, _) = enrich(&inputs, &[]);
    let mut paths = BTreeSet::new();
    for l in &lines {
        let v: Value = serde_json::from_str(l).expect("json");
        leaves(&v["enrichment"], "", &mut paths);
    }
    assert!(paths.len() > 10, "{paths:?}");
    for file in [
        "trailhound-cloudtrail.index-template.json",
        "trailhound-cloudtrail.opensearch-index-template.json",
    ] {
        let t: Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("contrib/elasticsearch").join(file))
                .expect("template"),
        )
        .expect("template json");
        let mut node = &t["template"]["mappings"]["properties"]["enrichment"];
        assert!(node.is_object(), "{file}: no enrichment mapping");
        for p in &paths {
            node = &t["template"]["mappings"]["properties"]["enrichment"];
            for part in p.split('.') {
                node = &node["properties"][part];
            }
            assert!(
                node["type"].is_string(),
                "{file}: enrichment.{p} has no mapping"
            );
        }
    }
}

fn leaves(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            leaves(
                x,
                &if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                },
                out,
            )
        }),
        Value::Array(a) => a.iter().for_each(|x| leaves(x, prefix, out)),
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn es_bulk_pairs_actions_and_documents() {
    let fixture = repo().join("tests/fixtures/exfil_outside_aws");
    let inputs: Vec<PathBuf> = std::fs::read_dir(&fixture)
        .expect("fixture")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("CloudTrail"))
        .collect();
    let (lines, summary) = enrich(&inputs, &["--format", "es-bulk", "--index", "ct-test"]);
    assert_eq!(
        lines.len() as u64,
        2 * summary["enriched"].as_u64().expect("count")
    );
    for pair in lines.chunks(2) {
        let action: Value = serde_json::from_str(&pair[0]).expect("action");
        let doc: Value = serde_json::from_str(&pair[1]).expect("doc");
        assert_eq!(action["index"]["_index"], "ct-test");
        assert_eq!(action["index"]["_id"], doc["eventID"]);
        assert!(doc["enrichment"].is_object());
    }
}

#[test]
fn golden_output_for_a_small_fixture() {
    let fixture = repo().join("tests/fixtures/imdsv1_ssrf_theft");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&fixture)
        .expect("fixture")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("CloudTrail"))
        .collect();
    inputs.sort();
    let (lines, _) = enrich(&inputs, &["--threads", "1"]);
    let got = lines.join("\n") + "\n";
    let golden = repo().join("tests/enrich/imdsv1_ssrf_theft.enriched.ndjson");
    if std::env::var_os("TRAILHOUND_BLESS").is_some() {
        std::fs::write(&golden, &got).expect("bless");
    }
    let want = std::fs::read_to_string(&golden).expect("golden (TRAILHOUND_BLESS=1 to create)");
    assert!(
        want == got,
        "enriched output differs from {} (TRAILHOUND_BLESS=1 to accept)",
        golden.display()
    );
}

/// A pretty-printed log file (as `jq .` writes it): every enriched event is still one JSON line,
/// the same events as from the compact original. (Found by the pipeline fuzz target.)
#[test]
fn pretty_printed_records_stay_one_line_each() {
    let dir = tempdir(&format!("enrich-pretty-{}", common::unique()));
    let src = repo().join(
        "tests/fixtures/exfil_outside_aws/123456789012_CloudTrail_us-east-1_20240305T1015Z_bMB5y9oBGYjRhBt0.json.gz",
    );
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&src).expect("fixture")),
        &mut text,
    )
    .expect("gzip");
    let doc: Value = serde_json::from_str(&text).expect("log file");
    let pretty = dir.join("pretty.json");
    std::fs::write(&pretty, serde_json::to_string_pretty(&doc).expect("pretty")).expect("write");
    let (compact_lines, _) = enrich(&[src], &[]);
    let (pretty_lines, summary) = enrich(&[pretty], &[]);
    assert!(!pretty_lines.is_empty());
    assert_eq!(summary["enriched"], Value::from(pretty_lines.len()));
    let parse = |l: &String| serde_json::from_str::<Value>(l).expect("one JSON object per line");
    let compact: Vec<Value> = compact_lines.iter().map(parse).collect();
    let pretty: Vec<Value> = pretty_lines.iter().map(parse).collect();
    assert_eq!(compact, pretty);
    let _ = std::fs::remove_dir_all(&dir);
}
