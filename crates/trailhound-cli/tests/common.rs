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

/// Runs the `trailhound` binary with `args`; returns (exit code, stdout, stderr).
pub fn run(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trailhound"))
        .args(args)
        .output()
        .expect("run trailhound");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A user agent that is markup and script: if any of it ran, `data-pwned` would be set.
pub const HOSTILE_AGENT: &str = "</script><script>document.documentElement.dataset.pwned=1</script><img src=x onerror=\"document.documentElement.dataset.pwned=2\"><!--";
/// A secret planted in the hostile records' parameters (must be redacted everywhere).
pub const PLANTED_SECRET: &str = "hunter2-PLANTED-SECRET";
/// The stolen key of `tests/fixtures/exfil_outside_aws`.
pub const FIXTURE_STOLEN_KEY: &str = "ASIASYRHRDCZ5CA5XKHM";

/// `tests/fixtures/exfil_outside_aws`, with the attacker's calls (from 73.158.64.21) carrying
/// [`HOSTILE_AGENT`] and request parameters holding markup and [`PLANTED_SECRET`], written as
/// plain JSON files under `dir`.
pub fn hostile_logs(dir: &Path) -> PathBuf {
    use std::io::Read;
    let src = repo().join("tests/fixtures/exfil_outside_aws");
    let out = dir.join("hostile-logs");
    std::fs::create_dir_all(&out).expect("dir");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("fixture")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    names.sort();
    for p in names {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).expect("open"))
            .read_to_string(&mut text)
            .expect("gunzip");
        let mut doc: serde_json::Value = serde_json::from_str(&text).expect("json");
        for r in doc["Records"].as_array_mut().expect("Records") {
            if r["sourceIPAddress"] == "73.158.64.21" {
                r["userAgent"] = HOSTILE_AGENT.into();
                r["requestParameters"] = serde_json::json!({
                    "name": "</script><script>document.documentElement.dataset.pwned=3</script>",
                    "password": PLANTED_SECRET,
                });
            }
        }
        let name = p
            .file_name()
            .expect("name")
            .to_string_lossy()
            .replace(".gz", "");
        std::fs::write(out.join(name), serde_json::to_string(&doc).expect("json")).expect("write");
    }
    out
}

/// A simulated organisation (`simulate --events 30000 --seed 7`: every attack scenario, role
/// chains included) scanned once per test binary: its logs, findings and summary.
pub struct World {
    /// The simulation's directory.
    pub dir: PathBuf,
    /// `scan --format jsonl` output.
    pub findings: PathBuf,
    /// `scan --summary-json` output.
    pub summary: PathBuf,
    /// The findings, parsed.
    pub parsed: Vec<serde_json::Value>,
}

impl World {
    /// The logs.
    pub fn logs(&self) -> PathBuf {
        self.dir.join("AWSLogs")
    }
    /// The simulation's configuration.
    pub fn config(&self) -> PathBuf {
        self.dir.join("ground-truth/trailhound.toml")
    }
}

/// The simulated world (made on first use).
pub fn world() -> &'static World {
    static WORLD: std::sync::OnceLock<World> = std::sync::OnceLock::new();
    WORLD.get_or_init(|| {
        let dir = tempdir("report-world");
        let sim = dir.join("sim");
        let (code, _, err) = run(&[
            "simulate".as_ref(),
            "--out".as_ref(),
            sim.as_os_str(),
            "--events".as_ref(),
            "30000".as_ref(),
            "--seed".as_ref(),
            "7".as_ref(),
        ]);
        assert_eq!(code, Some(0), "simulate: {err}");
        let findings = dir.join("findings.jsonl");
        let summary = dir.join("summary.json");
        let (code, _, err) = run(&[
            "scan".as_ref(),
            sim.join("AWSLogs").as_os_str(),
            "--config".as_ref(),
            sim.join("ground-truth/trailhound.toml").as_os_str(),
            "--format".as_ref(),
            "jsonl".as_ref(),
            "--no-progress".as_ref(),
            "--output".as_ref(),
            findings.as_os_str(),
            "--summary-json".as_ref(),
            summary.as_os_str(),
        ]);
        assert_eq!(code, Some(0), "scan: {err}");
        let parsed: Vec<serde_json::Value> = std::fs::read_to_string(&findings)
            .expect("findings")
            .lines()
            .map(|l| serde_json::from_str(l).expect("finding"))
            .collect();
        assert!(
            parsed.iter().any(|f| f["type"] == "RoleChaining"),
            "the world has a role chain"
        );
        World {
            dir: sim,
            findings,
            summary,
            parsed,
        }
    })
}

/// A simulation's log files in reading order (delivery time, as `scan` reads a directory),
/// without digests.
pub fn log_files(sim: &Path) -> Vec<PathBuf> {
    let (inputs, errors) = trailhound_core::input::discover(&[sim.join("AWSLogs")]);
    assert!(errors.is_empty());
    inputs
        .into_iter()
        .filter(|i| !i.digest)
        .filter_map(|i| match i.origin {
            trailhound_core::input::Origin::File(p) => Some(p),
            trailhound_core::input::Origin::Stdin => None,
        })
        .collect()
}
