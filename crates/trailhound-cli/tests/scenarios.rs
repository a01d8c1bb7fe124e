//! Scenario tests: every `tests/fixtures/<name>/` through the real binary, in every mode.
//!
//! Each fixture holds real-shaped CloudTrail input, a README with the story, and `expect.json`:
//! the findings that must appear (matched as a subset of each finding's JSON), whether they are the
//! only ones (`exact`), and summary counters. The same findings must come out byte-identical with
//! 1 or N threads, with the input files in another order, gzipped, and with every file duplicated.
//! `expected.findings.jsonl` is the golden output (`TRAILHOUND_BLESS=1` rewrites it).
mod common;

use std::path::{Path, PathBuf};

use common::{scan, subset, tempdir, Scan};
use serde_json::Value;

const META: &[&str] = &[
    "README.md",
    "expect.json",
    "config.toml",
    "inventory.csv",
    "expected.findings.jsonl",
    "make_fixtures.py",
];

fn fixtures() -> Vec<PathBuf> {
    let root = common::repo().join("tests/fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("expect.json").exists())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The inputs of a fixture: every entry except the meta files.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !META.contains(&p.file_name().and_then(|n| n.to_str()).unwrap_or("")))
        .collect();
    v.sort();
    v
}

fn args(dir: &Path, expect: &Value) -> Vec<String> {
    let mut a: Vec<String> = expect["args"]
        .as_array()
        .map(|x| {
            x.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(cfg) = expect["config"].as_str() {
        a.push("--config".into());
        a.push(dir.join(cfg).display().to_string());
    }
    a
}

fn check(name: &str, expect: &Value, run: &Scan) -> Vec<String> {
    let mut errors = Vec::new();
    let got = run.parsed();
    let want = expect["findings"].as_array().cloned().unwrap_or_default();
    for w in &want {
        if !got.iter().any(|g| subset(w, g)) {
            errors.push(format!("{name}: missing finding {w}"));
        }
    }
    if expect["exact"].as_bool().unwrap_or(false) && got.len() != want.len() {
        let brief: Vec<String> = got
            .iter()
            .map(|g| format!("{} {} {}", g["type"], g["access_key_id"], g["source_ip"]))
            .collect();
        errors.push(format!(
            "{name}: expected exactly {} findings, got {}: {brief:?}",
            want.len(),
            got.len()
        ));
    }
    if let Some(s) = expect.get("summary") {
        if !subset(s, &run.summary) {
            errors.push(format!(
                "{name}: summary {} does not contain {s}",
                run.summary
            ));
        }
    }
    errors
}

/// Copies inputs into `dir`, gzipping plain files, so every input is read through the gzip path.
fn gzipped_copy(inputs: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    use std::io::Write;
    let mut out = Vec::new();
    std::fs::create_dir_all(dir).expect("mkdir");
    for p in inputs {
        let target = dir.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(p, &target);
        } else {
            let bytes = std::fs::read(p).expect("read input");
            if bytes.starts_with(&[0x1f, 0x8b]) {
                std::fs::write(&target, bytes).expect("copy");
            } else {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&bytes).expect("gzip");
                std::fs::write(&target, gz.finish().expect("gzip")).expect("write");
            }
        }
        out.push(target);
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from)
        .expect("read dir")
        .filter_map(Result::ok)
    {
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).expect("copy");
        }
    }
}

#[test]
fn every_fixture_in_every_mode() {
    let dirs = fixtures();
    assert!(!dirs.is_empty(), "no fixtures under tests/fixtures");
    let bless = std::env::var_os("TRAILHOUND_BLESS").is_some();
    let mut errors = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_owned();
        let expect: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expect.json")).expect("expect.json"),
        )
        .expect("expect.json is JSON");
        let inputs = inputs(dir);
        let extra = args(dir, &expect);
        let base = scan(&inputs, &extra);
        errors.extend(check(&name, &expect, &base));

        // Same findings whatever the threads, the order the files are named in, gzip, duplicates.
        let mut one_thread = extra.clone();
        one_thread.extend(["--threads".to_owned(), "1".to_owned()]);
        let reversed: Vec<PathBuf> = inputs.iter().rev().cloned().collect();
        let tmp = tempdir(&format!("fixture-{name}"));
        let gz = gzipped_copy(&inputs, &tmp.join("gz"));
        let mut doubled = gzipped_copy(&inputs, &tmp.join("copy1"));
        doubled.extend(gzipped_copy(&inputs, &tmp.join("copy2")));
        for (mode, run) in [
            ("1 thread", scan(&inputs, &one_thread)),
            ("reversed", scan(&reversed, &extra)),
            ("gzip", scan(&gz, &extra)),
            ("duplicated", scan(&doubled, &extra)),
        ] {
            if run.findings != base.findings {
                errors.push(format!(
                    "{name}: findings differ in mode {mode}:\n{}\nvs\n{}",
                    run.findings, base.findings
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);

        let golden = dir.join("expected.findings.jsonl");
        if bless {
            std::fs::write(&golden, &base.findings).expect("bless");
        } else if let Ok(want) = std::fs::read_to_string(&golden) {
            if want != base.findings {
                errors.push(format!(
                    "{name}: findings differ from {} (TRAILHOUND_BLESS=1 to accept)",
                    golden.display()
                ));
            }
        } else {
            errors.push(format!(
                "{name}: no golden {} (run with TRAILHOUND_BLESS=1)",
                golden.display()
            ));
        }
    }
    assert!(
        errors.is_empty(),
        "{} problems:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
