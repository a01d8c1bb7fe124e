//! The bundled real datasets (../shared/datasets) through the real binary: the invictus
//! instance-credential theft is found, its negative controls stay quiet, the SANS S3-ransomware lab
//! (IAM-user keys only) raises no instance-credential finding, and re-splitting the same events
//! across files in another order gives byte-identical findings.
mod common;

use std::io::Write;
use std::path::PathBuf;

use common::{dataset, scan, tempdir};
use serde_json::Value;

const EXFIL: &str = "InstanceCredentialExfiltration.";

fn exfil_findings(findings: &[Value]) -> Vec<&Value> {
    findings
        .iter()
        .filter(|f| f["type"].as_str().is_some_and(|t| t.starts_with(EXFIL)))
        .collect()
}

#[test]
fn invictus_theft_found_and_controls_quiet() {
    let Some(dir) = dataset("invictus-aws-dataset") else {
        return eprintln!("skipped: ../shared/datasets/invictus-aws-dataset not present");
    };
    let run = scan(&[dir.join("CloudTrail")], &[]);
    let findings = run.parsed();
    let exfil = exfil_findings(&findings);
    assert_eq!(exfil.len(), 1, "exactly the theft must fire: {exfil:#?}");
    let f = exfil[0];
    // GROUND_TRUTH.md: the IMDSv1 key, used from the (anonymised) attacker address.
    assert_eq!(f["access_key_id"], "ASIATFQR7NSC36DZQP7P");
    assert_eq!(f["source_ip"], "192.168.10.20");
    assert_eq!(f["instance_id"], "i-0dbc91f429e48eeed");
    assert_eq!(f["credential_delivery"], "IMDSv1");
    assert_eq!(f["severity"], "high");
    assert_eq!(
        f["event_ids"],
        serde_json::json!([
            "bf68f8c0-590b-4740-ac89-aad0ed5dfe4f",
            "d3d5fd99-faa9-4959-a464-56fba613cc2e"
        ])
    );
    // Negative controls: the enumerate-from-instance role and its NAT address never appear.
    for f in &findings {
        let text = f.to_string();
        assert!(
            !text.contains("i-05c30218156bcc246") && !text.contains("ASIATFQR7NSCWFKWOWVD"),
            "negative control fired: {text}"
        );
    }
    assert_eq!(run.summary["events_read"], 2900);
    assert_eq!(run.summary["files_read"], 55);
}

#[test]
fn sans504_raises_no_instance_credential_finding() {
    let Some(dir) = dataset("sans504-s3-ransomware") else {
        return eprintln!("skipped: ../shared/datasets/sans504-s3-ransomware not present");
    };
    let run = scan(&[dir], &[]);
    let findings = run.parsed();
    assert!(
        exfil_findings(&findings).is_empty(),
        "{:#?}",
        exfil_findings(&findings)
    );
    let read = run.summary["events_read"].as_u64().unwrap_or(0);
    assert_eq!(
        read, 30_477,
        "every event of the lab is read: {}",
        run.summary
    );
    // GROUND_TRUTH.md lists one GROUND_TRUTH.md beside the data: it is a skipped non-log file.
    assert_eq!(run.summary["files_read"].as_u64().unwrap_or(0), 3_873);
}

/// A small deterministic generator (no dependency needed for shuffling test data).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Rewrites the invictus events into `parts` files, shuffled within 10-minute buckets, as a mix of
/// `{"Records":…}` documents, NDJSON and gzip.
fn resplit(
    records: &[(String, Value)],
    parts: usize,
    seed: u64,
    dir: &std::path::Path,
) -> Vec<PathBuf> {
    let mut rng = Lcg(seed);
    let mut sorted: Vec<&(String, Value)> = records.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // Shuffle inside 10-minute buckets (eventTime prefix "YYYY-MM-DDTHH:M").
    let mut buckets: Vec<Vec<&(String, Value)>> = Vec::new();
    for r in sorted {
        match buckets.last_mut() {
            Some(b) if b[0].0[..15] == r.0[..15] => b.push(r),
            _ => buckets.push(vec![r]),
        }
    }
    let mut events: Vec<&Value> = Vec::new();
    for mut b in buckets {
        for i in (1..b.len()).rev() {
            let j = (rng.next() as usize) % (i + 1);
            b.swap(i, j);
        }
        events.extend(b.iter().map(|r| &r.1));
    }
    let chunk = events.len().div_ceil(parts);
    let mut paths = Vec::new();
    for (i, part) in events.chunks(chunk).enumerate() {
        let path = dir.join(format!(
            "part-{i:03}.{}",
            ["json", "ndjson", "json.gz"][i % 3]
        ));
        let bytes = match i % 3 {
            0 => serde_json::to_vec(&serde_json::json!({ "Records": part })).expect("json"),
            _ => part
                .iter()
                .map(|e| e.to_string() + "\n")
                .collect::<String>()
                .into_bytes(),
        };
        let bytes = if i % 3 == 2 {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&bytes).expect("gzip");
            gz.finish().expect("gzip")
        } else {
            bytes
        };
        std::fs::write(&path, bytes).expect("write part");
        paths.push(path);
    }
    paths
}

#[test]
fn same_events_split_and_shuffled_differently_give_identical_findings() {
    let Some(dir) = dataset("invictus-aws-dataset") else {
        return eprintln!("skipped: invictus dataset not present");
    };
    let mut records = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("CloudTrail"))
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files {
        let doc: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
        for r in doc["Records"].as_array().cloned().unwrap_or_default() {
            records.push((r["eventTime"].as_str().unwrap_or_default().to_owned(), r));
        }
    }
    let original = scan(&[dir.join("CloudTrail")], &[]);
    assert!(!original.findings.is_empty());
    for (parts, seed) in [(7, 1), (23, 2), (101, 3)] {
        let tmp = tempdir(&format!("resplit-{parts}"));
        let paths = resplit(&records, parts, seed, &tmp);
        let run = scan(&paths, &["--threads".into(), "2".into()]);
        assert_eq!(
            run.findings, original.findings,
            "{parts} parts, seed {seed}"
        );
        assert_eq!(run.summary["events_read"], original.summary["events_read"]);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
