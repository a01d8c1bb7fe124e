//! The command line as a user meets it: exit codes, configuration errors, a newer ip-ranges file,
//! stdin.
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{repo, scan, tempdir};

fn fixture(name: &str) -> Vec<PathBuf> {
    let dir = repo().join("tests/fixtures").join(name);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("md" | "toml" | "jsonl")
            ) && !p.ends_with("expect.json")
        })
        .collect();
    v.sort();
    v
}

fn trailhound(args: &[&str], paths: &[PathBuf]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .args(paths)
        .arg("--no-progress")
        .output()
        .expect("run")
}

#[test]
fn fail_on_sets_the_exit_code() {
    let inputs = fixture("exfil_outside_aws");
    assert_eq!(
        trailhound(&["scan", "--format", "jsonl", "--fail-on", "high"], &inputs)
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        trailhound(
            &["scan", "--format", "jsonl", "--fail-on", "critical"],
            &inputs
        )
        .status
        .code(),
        Some(0)
    );
    assert_eq!(
        trailhound(&["scan", "--format", "jsonl"], &inputs)
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn bad_config_names_the_line_and_exits_2() {
    let dir = tempdir("badconfig");
    let cfg = dir.join("trailhound.toml");
    std::fs::write(
        &cfg,
        "[organization]\naccounts = [\"111111111111\"]\n\n[state]\nttl = \"6h\"\ntll = \"1h\"\n",
    )
    .expect("write");
    let out = trailhound(
        &["scan", "--config", cfg.to_str().expect("utf-8")],
        &fixture("exfil_outside_aws"),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("line 6") && err.contains("tll") && err.contains("trailhound.toml"),
        "{err}"
    );
}

#[test]
fn a_newer_ip_ranges_file_replaces_the_bundled_aws_ranges() {
    let inputs = fixture("exfil_inside_aws_other_account");
    let bundled = scan(&inputs, &[]);
    assert!(
        bundled
            .parsed()
            .iter()
            .all(|f| f["type"] == "InstanceCredentialExfiltration.InsideAWS"),
        "{}",
        bundled.findings
    );
    // A ranges file in AWS's format that no longer lists the attacker's addresses: they are outside AWS now.
    let dir = tempdir("ipranges");
    let file = dir.join("ip-ranges.json");
    std::fs::write(
        &file,
        r#"{"syncToken":"1","createDate":"2026-11-20-00-00-00","prefixes":[{"ip_prefix":"44.192.0.0/11","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"},{"ip_prefix":"3.224.0.0/12","region":"us-east-1","service":"EC2","network_border_group":"us-east-1"}],"ipv6_prefixes":[]}"#,
    )
    .expect("write");
    let custom = scan(
        &inputs,
        &["--aws-ip-ranges".into(), file.display().to_string()],
    );
    let types: Vec<String> = custom
        .parsed()
        .iter()
        .map(|f| f["type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!types.is_empty());
    assert_ne!(
        custom.findings, bundled.findings,
        "the ranges file was not used"
    );
    std::fs::write(&file, b"{\"prefixes\": 7}").expect("write");
    let out = trailhound(
        &["scan", "--aws-ip-ranges", file.to_str().expect("utf-8")],
        &inputs,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ip-ranges"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text of every file of a fixture's export, one after the other (gzip inflated).
fn export_text(inputs: &[PathBuf]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&inputs[0])
        .expect("export dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    parts.sort();
    for p in parts {
        let raw = std::fs::read(&p).expect("read");
        let mut text = Vec::new();
        if raw.starts_with(&[0x1f, 0x8b]) {
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut text)
                .expect("gunzip");
        } else {
            text = raw;
        }
        bytes.extend(text);
    }
    bytes
}

#[test]
fn stdin_gives_the_same_findings_as_files() {
    let inputs = fixture("ndjson_timestamp");
    let files = scan(&inputs, &[]);
    let bytes = export_text(&inputs);
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(["scan", "-", "--format", "jsonl", "--no-progress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("feed stdin");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), files.findings);
}

/// `scan <(zcat …)` and named pipes: a path that is not a regular file is opened once and
/// streamed (reading it whole first, or opening it twice, would lose what its writer sent).
#[test]
fn a_named_pipe_gives_the_same_findings_as_files() {
    let inputs = fixture("ndjson_timestamp");
    let files = scan(&inputs, &[]);
    let bytes = export_text(&inputs);
    let dir = tempdir("fifo");
    let fifo = dir.join("events.ndjson");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: mkfifo is not available");
        return;
    }
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes))
    };
    let out = trailhound(&["scan", "--format", "jsonl"], &[fifo]);
    writer.join().expect("writer").expect("write the pipe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), files.findings);
}

#[test]
fn ocsf_detection_findings_mirror_the_jsonl_findings() {
    let inputs = fixture("exfil_outside_aws");
    let jsonl = scan(&inputs, &[]).parsed();
    let out = trailhound(&["scan", "--format", "ocsf"], &inputs);
    let ocsf: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(ocsf.len(), jsonl.len());
    for (o, f) in ocsf.iter().zip(&jsonl) {
        assert_eq!(o["class_uid"], 2004);
        assert_eq!(o["type_uid"], 200401);
        assert_eq!(o["finding_info"]["uid"], f["id"]);
        assert_eq!(o["finding_info"]["types"][0], f["type"]);
        assert_eq!(o["severity_id"], 4, "high");
        assert_eq!(o["src_endpoint"]["ip"], f["source_ip"]);
        assert_eq!(o["unmapped"]["trailhound"], *f);
    }
}

/// Issue 13: `--explain` says what was learned about an instance and why each address was accepted.
#[test]
fn explain_tells_why_each_address_of_an_instance_was_accepted() {
    let inputs: Vec<PathBuf> = fixture("elastic_ip_mid_life")
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    let out = trailhound(
        &[
            "scan",
            "--format",
            "jsonl",
            "--explain",
            "i-0b18474b305021f35",
        ],
        &inputs,
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "no finding expected");
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "instance i-0b18474b305021f35",
        "account 123456789012, region us-east-1",
        "52.5.188.20                              AssociateAddress (Elastic IP)",
        "54.226.73.151                            retired at 2024-03-05T11:10:09Z",
        "54.226.73.151: accepted: first plausible use, now the lock of its address family",
        "52.5.188.20: accepted: AssociateAddress (Elastic IP) (first such call: c33a1a95-67d8-4aab-9ed1-8615fc1de22a)",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    let bad = trailhound(&["scan", "--explain", "web-1"], &inputs);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected an instance id"));
}

/// Issue 18: the bench reports the faster floor (libdeflater + sonic-rs) and the CLI's own
/// end-to-end run on the same files, both having seen every event.
#[test]
fn bench_reports_the_fast_floor_and_the_cli_end_to_end() {
    let dir = repo().join("tests/fixtures/exfil_outside_aws");
    let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(["bench", "--runs", "1", "--threads", "1"])
        .arg(dir)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rate = |stage: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(stage))
            .unwrap_or_else(|| panic!("no {stage} row in {text}"));
        line.split_whitespace()
            .nth(2)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    for stage in ["floor", "scan", "floor*", "cli"] {
        assert!(rate(stage) > 0.0, "{stage}: {text}");
    }
}
