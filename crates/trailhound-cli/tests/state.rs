//! Issue 14 through the real binary: `scan --state DIR` carries a stream across runs. A day of the
//! simulator's organisation cut into consecutive runs gives the findings of one run; a run killed
//! with SIGKILL at any moment and run again ends as if it had never been interrupted; a state that
//! is damaged, foreign, of another version or built with other settings is refused and left alone.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::tempdir;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::Value;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const ENGINE: TableDefinition<u32, &[u8]> = TableDefinition::new("engine");
const REPORTED: TableDefinition<&str, &[u8]> = TableDefinition::new("reported");
const FILES: TableDefinition<&str, i64> = TableDefinition::new("files");

fn trailhound() -> Command {
    Command::new(env!("CARGO_BIN_EXE_trailhound"))
}

/// One simulated day of an organisation (with its attacks and ordinary behaviours), shared by
/// the tests of this file.
fn day() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempdir("state-sim");
        let o = trailhound()
            .args([
                "simulate", "--days", "1", "--events", "30000", "--seed", "14", "--out",
            ])
            .arg(&dir)
            .output()
            .expect("run simulate");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        dir
    })
}

/// `scan FILES… --state STATE --format jsonl --output OUT` with the simulation's configuration.
fn scan_cmd(sim: &Path, files: &[PathBuf], state: &Path, out: &Path) -> Command {
    let mut c = trailhound();
    c.arg("scan")
        .args(files)
        .arg("--config")
        .arg(sim.join("ground-truth/trailhound.toml"))
        .args(["--format", "jsonl", "--no-progress", "--state"])
        .arg(state)
        .arg("--output")
        .arg(out);
    c
}

fn run(mut c: Command) -> Output {
    let o = c.output().expect("run trailhound");
    assert!(
        o.status.code().is_some_and(|c| c == 0 || c == 1),
        "trailhound failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn read_findings(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("finding JSON"))
        .collect()
}

/// The latest version of every finding across runs' outputs, without `status`; and each id's
/// statuses in order.
#[derive(Default)]
struct Merged {
    latest: BTreeMap<String, Value>,
    statuses: BTreeMap<String, Vec<String>>,
}

impl Merged {
    fn add(&mut self, findings: Vec<Value>) {
        for mut f in findings {
            let id = f["id"].as_str().expect("id").to_owned();
            let status = f
                .as_object_mut()
                .and_then(|o| o.remove("status"))
                .and_then(|s| s.as_str().map(str::to_owned))
                .expect("a finding of a run with --state has a status");
            self.statuses.entry(id.clone()).or_default().push(status);
            self.latest.insert(id, f);
        }
    }

    /// Every finding was new once, first, then only updated.
    fn assert_reported_once(&self) {
        for (id, s) in &self.statuses {
            assert_eq!(s[0], "new", "{id}: {s:?}");
            assert!(s[1..].iter().all(|x| x == "updated"), "{id}: {s:?}");
        }
    }
}

/// Runs the files cut into `n` consecutive parts (each part also given the last third of the one
/// before when `overlap`), one run per part on one state.
fn cut_into(sim: &Path, n: usize, overlap: bool, name: &str) -> (Merged, PathBuf) {
    cut_with(sim, n, overlap, name, &[])
}

/// [`cut_into`], with more `scan` arguments.
fn cut_with(sim: &Path, n: usize, overlap: bool, name: &str, extra: &[&str]) -> (Merged, PathBuf) {
    let all = common::log_files(sim);
    let work = tempdir(name);
    let state = work.join("state");
    let mut merged = Merged::default();
    for i in 0..n {
        let (mut a, b) = (i * all.len() / n, (i + 1) * all.len() / n);
        if overlap && i > 0 {
            a -= ((b - a) / 3).max(1).min(a);
        }
        let out = work.join(format!("run-{i}.jsonl"));
        let mut cmd = scan_cmd(sim, &all[a..b], &state, &out);
        cmd.args(extra);
        run(cmd);
        merged.add(read_findings(&out));
    }
    (merged, state)
}

/// What a state directory holds, table by table (the engine's state byte for byte).
type Contents = (Vec<u8>, BTreeMap<String, Vec<u8>>, BTreeMap<String, i64>);

fn state_contents(dir: &Path) -> Contents {
    let db = Database::open(dir.join("trailhound.redb")).expect("open state");
    let tx = db.begin_read().expect("read");
    let engine = tx
        .open_table(ENGINE)
        .expect("engine")
        .iter()
        .expect("iter")
        .flat_map(|r| r.expect("row").1.value().to_vec())
        .collect();
    let reported = tx
        .open_table(REPORTED)
        .expect("reported")
        .iter()
        .expect("iter")
        .map(|r| {
            let (k, v) = r.expect("row");
            (k.value().to_owned(), v.value().to_vec())
        })
        .collect();
    let files = tx
        .open_table(FILES)
        .expect("files")
        .iter()
        .expect("iter")
        .map(|r| {
            let (k, v) = r.expect("row");
            (k.value().to_owned(), v.value())
        })
        .collect();
    (engine, reported, files)
}

#[test]
fn issue_14_a_day_cut_into_runs_gives_the_findings_of_one_run() {
    let sim = day();
    let (one, one_state) = cut_into(sim, 1, false, "cut-1");
    one.assert_reported_once();
    assert!(
        one.latest.len() >= 8,
        "the simulated day has its attacks: {:?}",
        one.latest.keys()
    );
    let one_engine = state_contents(&one_state).0;
    for (n, overlap) in [(2, false), (7, false), (24, false), (7, true)] {
        let (cut, state) = cut_into(sim, n, overlap, &format!("cut-{n}-{overlap}"));
        cut.assert_reported_once();
        assert_eq!(
            cut.latest.keys().collect::<Vec<_>>(),
            one.latest.keys().collect::<Vec<_>>(),
            "{n} runs (overlap {overlap}): the same findings"
        );
        for (id, f) in &one.latest {
            assert_eq!(
                &cut.latest[id], f,
                "{n} runs (overlap {overlap}): finding {id}"
            );
        }
        assert!(
            state_contents(&state).0 == one_engine,
            "{n} runs (overlap {overlap}): the same engine state, byte for byte"
        );
    }
}

#[test]
fn issue_14_sigma_findings_carry_across_runs_too() {
    let sim = day();
    let sigma = ["--sigma-builtin"];
    let (one, one_state) = cut_with(sim, 1, false, "sigma-1", &sigma);
    let (cut, state) = cut_with(sim, 7, false, "sigma-7", &sigma);
    assert!(one.latest.values().any(|f| f["type"] == "Sigma"));
    cut.assert_reported_once();
    assert_eq!(cut.latest, one.latest);
    assert!(state_contents(&state).0 == state_contents(&one_state).0);
}

#[test]
fn issue_14_a_second_run_on_the_same_files_reads_nothing_and_reports_nothing() {
    let sim = day();
    let all = common::log_files(sim);
    let work = tempdir("again");
    let state = work.join("state");
    let first = work.join("first.jsonl");
    run(scan_cmd(sim, &all, &state, &first));
    assert!(!read_findings(&first).is_empty());
    let again = work.join("again.jsonl");
    let o = run(scan_cmd(sim, &all, &state, &again));
    assert!(read_findings(&again).is_empty(), "nothing new to report");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("{} files already read", all.len())),
        "{err}"
    );
}

/// A tiny seeded generator for kill delays (reproducible points).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn issue_14_runs_killed_at_random_moments_end_as_if_never_interrupted() {
    let sim = day();
    let all = common::log_files(sim);
    let n = 4;
    let part = |i: usize| &all[i * all.len() / n..(i + 1) * all.len() / n];
    // The uninterrupted sequence, timed.
    let calm = tempdir("calm");
    let mut want = Merged::default();
    let mut took = Vec::new();
    for i in 0..n {
        let out = calm.join(format!("run-{i}.jsonl"));
        let t = Instant::now();
        run(scan_cmd(sim, part(i), &calm.join("state"), &out));
        took.push(t.elapsed());
        want.add(read_findings(&out));
    }
    // The same sequence, each run killed (SIGKILL) at random moments and run again, until one
    // finishes on its own.
    let mut rng = Lcg(14);
    let storm = tempdir("storm");
    let mut got = Merged::default();
    let mut kills = 0;
    for (i, took) in took.iter().enumerate() {
        let out = storm.join(format!("run-{i}.jsonl"));
        let summary = storm.join(format!("run-{i}.summary.json"));
        // The output file as the last killed attempt left it.
        let mut killed_output: Option<String> = None;
        for attempt in 0.. {
            let mut child = scan_cmd(sim, part(i), &storm.join("state"), &out)
                .arg("--summary-json")
                .arg(&summary)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let wait = if attempt < 6 {
                took.mul_f64(0.8 * rng.next())
            } else {
                Duration::from_secs(3600)
            };
            let deadline = Instant::now() + wait;
            let status = loop {
                if let Some(s) = child.try_wait().expect("wait") {
                    break Some(s);
                }
                if Instant::now() >= deadline {
                    child.kill().expect("SIGKILL");
                    child.wait().expect("reap");
                    kills += 1;
                    killed_output = std::fs::read_to_string(&out).ok();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(2));
            };
            if let Some(s) = status {
                assert!(s.code().is_some_and(|c| c == 0 || c == 1), "run {i}: {s}");
                break;
            }
        }
        // What the reader has after the run: the output file as the finished run left it. A kill
        // can land after a run delivered its report (output written, delivery committed) but
        // before the process exited; the attempt after it then reads nothing new and has nothing
        // to deliver, and its empty report replaces the file. The reader's view is then the file
        // the killed run left. (An attempt killed before delivering has its report delivered
        // again by the next one: `findings_redelivered`.)
        let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary"))
            .expect("json");
        let delivered_by_the_killed_run =
            s["files_read"] == 0 && s["state"]["findings_redelivered"] == 0;
        if let Some(text) = killed_output.filter(|_| delivered_by_the_killed_run) {
            got.add(
                text.lines()
                    .map(|l| serde_json::from_str(l).expect("finding JSON"))
                    .collect(),
            );
        }
        got.add(read_findings(&out));
    }
    // A run that goes faster than when it was timed may finish before its kill: the count varies
    // with the machine's load, but every run is attacked up to six times.
    assert!(kills >= n, "only {kills} kills");
    eprintln!("{kills} runs killed");
    got.assert_reported_once();
    assert_eq!(got.latest, want.latest, "the same findings");
    assert!(
        state_contents(&storm.join("state")) == state_contents(&calm.join("state")),
        "the same state (engine, findings reported, inputs read)"
    );
}

#[test]
fn issue_14_a_damaged_foreign_or_mismatched_state_is_refused_and_left_alone() {
    let sim = day();
    let all = common::log_files(sim);
    let some = &all[..all.len() / 4];
    let work = tempdir("refused");
    let out = work.join("out.jsonl");
    let refused = |state: &Path, extra: &[&str], says: &str| {
        let db = state.join("trailhound.redb");
        let before = std::fs::read(&db).ok();
        let _ = std::fs::remove_file(&out);
        let o = scan_cmd(sim, some, state, &out)
            .args(extra)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "expected {says:?} in: {err}");
        assert!(
            std::fs::read(&db).ok() == before,
            "{says}: the state is untouched"
        );
        assert!(!out.exists(), "no output written");
    };

    // Bytes that are not a database at all.
    let junk = work.join("junk");
    std::fs::create_dir_all(&junk).expect("mkdir");
    std::fs::write(junk.join("trailhound.redb"), b"{\"not\": \"a database\"}\n").expect("write");
    refused(&junk, &[], "cannot open the state");

    // A real state cut short.
    let good = work.join("good");
    run(scan_cmd(sim, some, &good, &out));
    let bytes = std::fs::read(good.join("trailhound.redb")).expect("read");
    let cut = work.join("cut");
    std::fs::create_dir_all(&cut).expect("mkdir");
    std::fs::write(cut.join("trailhound.redb"), &bytes[..bytes.len() / 3]).expect("write");
    refused(&cut, &[], "cannot open the state");

    // Another program's redb database.
    let foreign = work.join("foreign");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    {
        let db = Database::create(foreign.join("trailhound.redb")).expect("create");
        let tx = db.begin_write().expect("write");
        tx.open_table(TableDefinition::<&str, u64>::new("orders"))
            .expect("table")
            .insert("a", 1)
            .expect("insert");
        tx.commit().expect("commit");
    }
    refused(&foreign, &[], "not a trailhound state");

    // A state written by another version: the store's layout, then the engine's format.
    let copy = |name: &str| {
        let d = work.join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("trailhound.redb"), &bytes).expect("copy");
        d
    };
    let set_meta = |dir: &Path, key: &str, value: &[u8]| {
        let db = Database::open(dir.join("trailhound.redb")).expect("open");
        let tx = db.begin_write().expect("write");
        tx.open_table(META)
            .expect("meta")
            .insert(key, value)
            .expect("insert");
        tx.commit().expect("commit");
    };
    let newer = copy("newer-store");
    set_meta(&newer, "version", b"999");
    refused(&newer, &[], "layout version 999");
    let newer_engine = copy("newer-engine");
    {
        // The engine's head says version 9 (the first piece holds the head).
        let db = Database::open(newer_engine.join("trailhound.redb")).expect("open");
        let tx = db.begin_write().expect("write");
        {
            let mut table = tx.open_table(ENGINE).expect("engine");
            let mut first = table.get(0).expect("get").expect("piece").value().to_vec();
            let at = first
                .windows(12)
                .position(|w| w == b"\"version\":1,")
                .expect("a version in the head");
            first[at + 10] = b'9';
            table.insert(0, first.as_slice()).expect("insert");
        }
        tx.commit().expect("commit");
    }
    refused(&newer_engine, &[], "format version 9");

    // Settings that shape the state.
    refused(
        &copy("window"),
        &["--window", "5m"],
        "--window 15m (this run: 5m)",
    );

    // --state-reset starts over on purpose.
    let reset = copy("reset");
    let o = scan_cmd(sim, some, &reset, &out)
        .args(["--window", "5m", "--state-reset"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let first = read_findings(&out);
    assert!(first.iter().all(|f| f["status"] == "new"));
}

#[test]
fn issue_14_enrich_cut_into_runs_writes_every_event_once_in_one_runs_order() {
    let sim = day();
    let all = common::log_files(sim);
    let enrich = |files: &[PathBuf], state: &Path, out: &Path| {
        let o = trailhound()
            .arg("enrich")
            .args(files)
            .arg("--config")
            .arg(sim.join("ground-truth/trailhound.toml"))
            .args(["--no-progress", "--state"])
            .arg(state)
            .arg("--output")
            .arg(out)
            .output()
            .expect("run");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(out).expect("output")
    };
    let work = tempdir("enrich-cut");
    let one = enrich(&all, &work.join("one"), &work.join("one.ndjson"));
    assert!(one.lines().count() > 1000);
    let n = 5;
    let mut cut = String::new();
    for i in 0..n {
        let part = &all[i * all.len() / n..(i + 1) * all.len() / n];
        cut.push_str(&enrich(
            part,
            &work.join("cut"),
            &work.join(format!("cut-{i}.ndjson")),
        ));
    }
    assert!(
        cut == one,
        "five runs write what one run writes, in its order"
    );
    // A state made by `scan` is not one for `enrich` (its held events have no record text).
    let o = scan_cmd(sim, &all[..10], &work.join("scan"), &work.join("s.jsonl")).output();
    assert!(o.expect("run").status.success());
    let o = trailhound()
        .arg("enrich")
        .args(&all[10..20])
        .args(["--no-progress", "--state"])
        .arg(work.join("scan"))
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`scan` (this run: `enrich`)"));
}

#[test]
fn issue_14_changing_the_sigma_rules_between_runs_renumbers_held_matches() {
    let sim = day();
    let all = common::log_files(sim);
    let work = tempdir("sigma-change");
    let state = work.join("state");
    let half = all.len() / 2;
    let mut first = scan_cmd(sim, &all[..half], &state, &work.join("a.jsonl"));
    first.arg("--sigma-builtin");
    run(first);
    // The second run keeps one rule of the builtin set (a copy, under its own path) and drops the rest.
    let rules = work.join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::copy(
        common::repo().join("data/sigma/rules/aws_sts_assumerole_misuse.yml"),
        rules.join("assumerole.yml"),
    )
    .expect("copy");
    let mut second = scan_cmd(sim, &all[half..], &state, &work.join("b.jsonl"));
    second.arg("--sigma").arg(&rules);
    run(second);
    for f in read_findings(&work.join("b.jsonl")) {
        if f["type"] == "Sigma" {
            assert_eq!(f["rule"]["title"], "AWS STS AssumeRole Misuse", "{f}");
        }
    }
}
