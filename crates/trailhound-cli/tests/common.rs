//! Shared helpers for the integration tests: run the real `trailhound` binary.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// `../shared/datasets/<name>` beside the repository, if present.
pub fn dataset(name: &str) -> Option<PathBuf> {
    let p = repo().join("../shared/datasets").join(name);
    p.exists().then_some(p)
}

/// A fresh temporary directory for one test.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("trailhound-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The result of one scan.
pub struct Scan {
    /// Findings, JSON Lines text.
    pub findings: String,
    /// Summary JSON.
    pub summary: serde_json::Value,
    /// The process output (stderr has skips and the summary).
    pub output: Output,
}

impl Scan {
    /// Findings parsed.
    pub fn parsed(&self) -> Vec<serde_json::Value> {
        self.findings
            .lines()
            .map(|l| serde_json::from_str(l).expect("finding JSON"))
            .collect()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// Runs `trailhound scan --format jsonl` on `paths` with `extra` arguments.
pub fn scan(paths: &[PathBuf], extra: &[String]) -> Scan {
    let dir = tempdir(&format!("scan-{}", unique()));
    let out = dir.join("findings.jsonl");
    let summary = dir.join("summary.json");
    let output = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .arg("scan")
        .args(paths)
        .args(["--format", "jsonl", "--no-progress", "--output"])
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .args(extra)
        .output()
        .expect("run trailhound");
    assert!(
        output.status.code().is_some_and(|c| c == 0 || c == 1),
        "trailhound failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let findings = std::fs::read_to_string(&out).unwrap_or_default();
    let summary = std::fs::read_to_string(&summary)
        .map(|s| serde_json::from_str(&s).expect("summary JSON"))
        .unwrap_or(serde_json::Value::Null);
    let _ = std::fs::remove_dir_all(&dir);
    Scan {
        findings,
        summary,
        output,
    }
}

/// A number unique within this test process (for temp names).
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// True when every key of `want` is in `got` with an equal value (objects compared recursively).
pub fn subset(want: &serde_json::Value, got: &serde_json::Value) -> bool {
    match (want, got) {
        (serde_json::Value::Object(w), serde_json::Value::Object(g)) => w
            .iter()
            .all(|(k, v)| g.get(k).is_some_and(|gv| subset(v, gv))),
        _ => want == got,
    }
}
