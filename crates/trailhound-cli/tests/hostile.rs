//! Hostile input through the real binary (issue 7): every case of the malformed corpus in
//! `tests/malformed/` (made by `make_malformed.py`, expectations in its `expect.json`), plus a 50 MB
//! record and a million tiny records generated here. Each case checks that the message names the
//! file and the record or line, that the valid events beside the damage are still read (counted,
//! and the theft they hold still found), that the summary counts the skip under the right reason,
//! and the exit code with and without `--strict`. Secrets planted in records must never come out.
mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo, tempdir, unique};
use serde_json::Value;

/// The stolen key of `tests/fixtures/exfil_outside_aws`, whose records every case starts from.
const STOLEN_KEY: &str = "ASIASYRHRDCZ5CA5XKHM";

fn corpus() -> PathBuf {
    repo().join("tests/malformed")
}

fn expectations() -> Value {
    let text = std::fs::read_to_string(corpus().join("expect.json")).expect("expect.json");
    serde_json::from_str(&text).expect("expect.json is JSON")
}

/// One run of the binary: exit code, stdout, stderr, findings file and summary.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    findings: String,
    summary: Value,
}

impl Run {
    fn skipped(&self, level: &str) -> BTreeMap<String, u64> {
        self.summary[level]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn stolen_key_found(&self) -> bool {
        self.findings.lines().any(|l| {
            let f: Value = serde_json::from_str(l).expect("finding JSON");
            f["type"] == "InstanceCredentialExfiltration.OutsideAWS"
                && f["access_key_id"] == STOLEN_KEY
        })
    }

    /// Everything the run wrote.
    fn all_output(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.stdout, self.stderr, self.findings, self.summary
        )
    }
}

/// Runs `trailhound <command> <paths> <extra>`; `scan` writes JSONL findings to a file.
fn run(command: &str, paths: &[PathBuf], extra: &[&str]) -> Run {
    let dir = tempdir(&format!("hostile-{}", unique()));
    let findings = dir.join("findings.jsonl");
    let summary = dir.join("summary.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailhound"));
    cmd.arg(command).args(paths).arg("--no-progress");
    cmd.arg("--summary-json").arg(&summary);
    if command == "scan" {
        if !extra.contains(&"--format") {
            cmd.args(["--format", "jsonl"]);
        }
        cmd.arg("--output").arg(&findings);
    }
    let output = cmd.args(extra).output().expect("run trailhound");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        findings: std::fs::read_to_string(&findings).unwrap_or_default(),
        summary: std::fs::read_to_string(&summary)
            .map(|s| serde_json::from_str(&s).expect("summary JSON"))
            .unwrap_or(Value::Null),
    };
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !run.stderr.contains("panicked"),
        "{command} panicked: {}",
        run.stderr
    );
    run
}

fn counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_malformed_case_is_reported_counted_and_keeps_its_good_events() {
    let all = expectations();
    let cases = all["cases"].as_object().expect("cases");
    assert!(cases.len() >= 20, "corpus has {} cases", cases.len());
    let mut problems = Vec::new();
    for (name, want) in cases {
        let path = corpus().join(name);
        assert!(path.exists(), "{name} is listed but missing");
        let got = run("scan", std::slice::from_ref(&path), &[]);
        let mut problem = |what: String| problems.push(format!("{name}: {what}"));
        if got.code != Some(0) {
            problem(format!("exit {:?} without --strict", got.code));
        }
        let read = got.summary["events_read"].as_u64();
        if read != want["events_read"].as_u64() {
            problem(format!(
                "events_read {read:?}, want {}",
                want["events_read"]
            ));
        }
        for level in ["files_skipped", "events_skipped"] {
            let (g, w) = (got.skipped(level), counts(&want[level]));
            if g != w {
                problem(format!("{level} {g:?}, want {w:?}"));
            }
        }
        // Every expected message is on a skip line that names the file.
        for m in want["message"].as_array().into_iter().flatten() {
            let m = m.as_str().expect("message");
            let line = got
                .stderr
                .lines()
                .find(|l| l.starts_with("trailhound: skipped ") && l.contains(m));
            match line {
                Some(l) if l.contains(name.as_str()) => {}
                Some(l) => problem(format!("message does not name the file: {l}")),
                None => problem(format!("no skip message with {m:?} in:\n{}", got.stderr)),
            }
        }
        let skips: u64 = ["files_skipped", "events_skipped"]
            .iter()
            .map(|l| got.skipped(l).values().sum::<u64>())
            .sum();
        let messages = got
            .stderr
            .lines()
            .filter(|l| l.starts_with("trailhound: skipped "))
            .count() as u64;
        if messages != skips {
            problem(format!("{messages} skip messages for {skips} skips"));
        }
        if let Some(want_finding) = want["finding"].as_bool() {
            if got.stolen_key_found() != want_finding {
                problem(format!("theft found: {}", !want_finding));
            }
        }
        // --strict: any skip is a failure (exit 2); a clean input still exits 0.
        let strict = run("scan", std::slice::from_ref(&path), &["--strict"]);
        let want_code = if skips > 0 { 2 } else { 0 };
        if strict.code != Some(want_code) {
            problem(format!("--strict exit {:?}, want {want_code}", strict.code));
        }
        if strict.findings != got.findings {
            problem("--strict changed the findings".into());
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_whole_corpus_at_once_counts_every_skip() {
    let all = expectations();
    let mut want: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for case in all["cases"].as_object().expect("cases").values() {
        for level in ["files_skipped", "events_skipped"] {
            for (k, n) in counts(&case[level]) {
                *want
                    .entry(level.to_owned())
                    .or_default()
                    .entry(k)
                    .or_default() += n;
            }
        }
    }
    let got = run("scan", &[corpus()], &[]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    // The corpus directory also holds its README, generator and expect.json: not CloudTrail.
    let cases = all["cases"].as_object().expect("cases");
    let others = std::fs::read_dir(corpus())
        .expect("corpus")
        .filter_map(Result::ok)
        .filter(|e| !cases.contains_key(&*e.file_name().to_string_lossy()))
        .count() as u64;
    assert_eq!(others, 3);
    *want
        .entry("files_skipped".into())
        .or_default()
        .entry("not_cloudtrail".into())
        .or_default() += others;
    for level in ["files_skipped", "events_skipped"] {
        assert_eq!(
            got.skipped(level),
            want.remove(level).unwrap_or_default(),
            "{level}"
        );
    }
    assert!(got.stolen_key_found(), "{}", got.findings);
    assert_eq!(run("scan", &[corpus()], &["--strict"]).code, Some(2));
}

/// The records of `tests/fixtures/exfil_outside_aws`, in file order.
fn theft_records() -> Vec<Value> {
    let dir = repo().join("tests/fixtures/exfil_outside_aws");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&f).expect("open")),
            &mut text,
        )
        .expect("gunzip");
        let doc: Value = serde_json::from_str(&text).expect("log file");
        out.extend(doc["Records"].as_array().expect("Records").iter().cloned());
    }
    assert_eq!(out.len(), 25);
    out
}

fn write(path: &Path, f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    f(&mut w).expect("write");
    w.flush().expect("flush");
}

#[test]
fn a_50_mb_record_is_read_beside_the_others() {
    let dir = tempdir("50mb");
    let mut recs = theft_records();
    // A real event (the instance's own DescribeTags) whose requestParameters carry 50 MB.
    let mut big = recs[9].clone();
    big["eventID"] = "b16b16b1-0000-4000-8000-000000000050".into();
    big["requestParameters"] = serde_json::json!({ "filterSet": { "items": [
        { "name": "resource-id", "valueSet": { "items": [ { "value": "x".repeat(50 << 20) } ] } }
    ] } });
    recs.insert(12, big.clone());
    let log = dir.join("123456789012_CloudTrail_us-east-1_20240305T1015Z_big.json");
    write(&log, |w| {
        serde_json::to_writer(&mut *w, &serde_json::json!({ "Records": recs }))?;
        Ok(())
    });
    let ndjson = dir.join("big.ndjson");
    write(&ndjson, |w| {
        for r in &recs {
            serde_json::to_writer(&mut *w, r)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    });
    for path in [&log, &ndjson] {
        assert!(std::fs::metadata(path).expect("size").len() > 50 << 20);
        let got = run("scan", std::slice::from_ref(path), &["--strict"]);
        assert_eq!(got.code, Some(0), "{}: {}", path.display(), got.stderr);
        assert_eq!(got.summary["events_read"], 26, "{}", path.display());
        assert!(got.stolen_key_found(), "{}", path.display());
        // The big value is not echoed anywhere.
        assert!(got.all_output().len() < 1 << 20);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_million_tiny_records_are_counted_and_their_messages_capped() {
    let dir = tempdir("million");
    let recs = theft_records();
    let path = dir.join("123456789012_CloudTrail_us-east-1_20240305T1015Z_million.json");
    // 25 real records, then a million tiny ones: even ones are minimal events (distinct ids, an hour
    // later), odd ones `{}` (JSON, but not an event: each is a bad record).
    write(&path, |w| {
        w.write_all(b"{\"Records\":[")?;
        for r in &recs {
            serde_json::to_writer(&mut *w, r)?;
            w.write_all(b",")?;
        }
        for i in 0..1_000_000u32 {
            if i > 0 {
                w.write_all(b",")?;
            }
            if i % 2 == 0 {
                write!(
                    w,
                    "{{\"eventTime\":\"2024-03-05T12:{:02}:{:02}Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"eventID\":\"t{i}\"}}",
                    (i / 60_000) % 60,
                    (i / 1000) % 60
                )?;
            } else {
                w.write_all(b"{}")?;
            }
        }
        w.write_all(b"]}")?;
        Ok(())
    });
    let got = run("scan", std::slice::from_ref(&path), &[]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(got.summary["events_read"], 25 + 500_000);
    assert_eq!(got.summary["events_skipped"]["bad_record"], 500_000);
    assert!(got.stolen_key_found());
    // The first skips are printed (naming the record), the rest only counted.
    assert!(
        got.stderr.contains("_million.json: record 27: "),
        "{}",
        &got.stderr[..got.stderr.len().min(2000)]
    );
    let lines = got.stderr.lines().count();
    assert!(lines < 200, "{lines} stderr lines");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every window of 12 characters of `secret` (a partial leak is a leak).
fn fragments(secret: &str) -> Vec<&str> {
    (0..=secret.len() - 12)
        .map(|i| &secret[i..i + 12])
        .collect()
}

#[test]
fn secrets_in_records_never_reach_findings_stderr_errors_or_enrich() {
    let all = expectations();
    let secrets = [
        all["secret_access_key"].as_str().expect("secret"),
        all["session_token"].as_str().expect("token"),
    ];
    let inputs: Vec<PathBuf> = all["cases"]
        .as_object()
        .expect("cases")
        .iter()
        .filter(|(_, c)| c["secrets"] == true)
        .map(|(name, _)| corpus().join(name))
        .collect();
    assert_eq!(inputs.len(), 2);
    // The planted secrets really are in the inputs.
    for p in &inputs {
        let text = String::from_utf8_lossy(&std::fs::read(p).expect("read")).into_owned();
        assert!(
            text.contains(&secrets[1][..12])
                && (p.ends_with("secrets_cut.json")
                    || text.contains(secrets[0]) && text.contains(secrets[1])),
            "{}",
            p.display()
        );
    }
    let mut outputs = Vec::new();
    for format in ["jsonl", "table", "ocsf"] {
        let r = run("scan", &inputs, &["--format", format, "--strict"]);
        assert_eq!(r.code, Some(2), "{}", r.stderr);
        outputs.push((format!("scan --format {format}"), r));
    }
    let r = run("scan", &inputs, &[]);
    assert!(r.stolen_key_found(), "{}", r.findings);
    assert!(r.stderr.contains("secrets.ndjson:6: invalid JSON"));
    outputs.push(("scan".into(), r));
    let r = run("enrich", &inputs, &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.lines().count() > 20, "{}", r.stderr);
    outputs.push(("enrich".into(), r));
    for (what, r) in &outputs {
        let text = r.all_output();
        for s in secrets {
            for f in fragments(s) {
                assert!(
                    !text.contains(f),
                    "{what} leaks {f:?} of a planted secret:\n{text}"
                );
            }
        }
    }
}

#[test]
fn enrich_writes_every_event_of_the_whole_corpus() {
    // `enrich` stops at its first write error: one record it cannot write (a fuzzing find: an
    // event decoded with no record text) cost every event after it.
    let scan = run("scan", &[corpus()], &[]);
    let got = run("enrich", &[corpus()], &[]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    let read = scan.summary["events_read"].as_u64().expect("events_read");
    let dups = scan.summary["duplicates"].as_u64().expect("duplicates");
    assert_eq!(
        got.stdout.lines().count() as u64,
        read - dups,
        "{}",
        got.stderr
    );
    for line in got.stdout.lines() {
        serde_json::from_str::<Value>(line).expect("enriched line is JSON");
    }
}
