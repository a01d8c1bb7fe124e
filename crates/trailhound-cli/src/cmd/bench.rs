//! `trailhound bench DIR`: the whole-pipeline benchmark (issue 6). Loads every file under DIR into
//! memory (untimed), then times, single-threaded and with all cores:
//! (a) the floor — inflate and parse the same files into a borrowed 12-field struct, nothing else;
//! (b) `scan` end to end with every detection; (c) `enrich` (output to a null writer).
//! Each is reported in events/s and MB/s of raw JSON and as a ratio to the floor, with the
//! machine and the findings' digest (which must be identical across thread counts).
//!
//! Beside these in-memory stages (issue 18): (d) the fastest inflate and parse a Rust program can
//! do on the same files, libdeflater's whole-buffer inflate and sonic-rs's borrowed parse of the
//! same fields (`floor*`), and (e) what users run, timed from outside: this binary's
//! `scan DIR --format jsonl --output FILE` as a child process (directory walk, opening and reading
//! each file, findings written to a file), pinned to one core with `taskset -c 0` for the one-thread
//! row. Both are reported against `floor*`.
use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::Deserialize;
use trailhound_core::config::Settings;
use trailhound_core::decode::Text;
use trailhound_core::enrich::{self, Enricher};
use trailhound_core::finding::stable_id;
use trailhound_core::input::{self, Origin};
use trailhound_core::pipeline::{Decoded, Engine};
use trailhound_core::ranges::Ranges;
use trailhound_core::sigma::RuleSet;

/// Measure the pipeline against the decode floor.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A directory of CloudTrail files (e.g. `trailhound simulate --out DIR --events 1000000`).
    #[arg(required_unless_present = "instances")]
    pub dir: Option<PathBuf>,
    /// Instead: measure tracked state — launch this many instances (EC2 AssumeRole, then calls
    /// from their addresses) and report resident memory per instance.
    #[arg(long)]
    pub instances: Option<usize>,
    /// Repetitions per measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Thread counts to measure (default: 1 and all cores).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
}

/// Runs `bench`.
pub fn run(args: Args) -> Result<ExitCode> {
    if let Some(n) = args.instances {
        return state(n);
    }
    let dir = args.dir.clone().unwrap_or_default();
    let (inputs, _) = input::discover(std::slice::from_ref(&dir));
    let mut files: Vec<(Arc<str>, Vec<u8>)> = Vec::new();
    for i in inputs.iter().filter(|i| !i.digest) {
        if let Origin::File(p) = &i.origin {
            files.push((
                p.display().to_string().into(),
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
            ));
        }
    }
    let compressed: usize = files.iter().map(|f| f.1.len()).sum();
    let (events, raw_bytes) = floor_once(&files);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if args.threads.is_empty() {
        vec![1, cores]
    } else {
        args.threads.clone()
    };
    println!(
        "data: {} files, {} events, {:.1} MB gzipped, {:.1} MB raw JSON ({})",
        files.len(),
        events,
        mb(compressed),
        mb(raw_bytes),
        dir.display()
    );
    println!(
        "machine: {} cores, {}; median of {} runs, the stages taking turns",
        cores,
        std::env::consts::ARCH,
        args.runs
    );
    println!(
        "{:<8} {:>7} {:>12} {:>10} {:>9} {:>6}  findings",
        "stage", "threads", "events/s", "MB/s", "vs floor", "cores"
    );
    // `scan --sigma-builtin`: the 57 SigmaHQ rules.
    let rules = Arc::new(RuleSet::new(
        trailhound_core::sigma::builtin()
            .into_iter()
            .filter_map(Result::ok)
            .collect(),
    ));
    for &t in &threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .context("thread pool")?;
        // The stages take turns (floor, scan, enrich, floor, …) so that the machine's slow
        // moments fall on all three alike and the ratios hold.
        let (mut floor, mut scan, mut enrich, mut stateful, mut sigma) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut sigma_digest = String::new();
        let store = std::env::temp_dir().join(format!("trailhound-bench-{}", std::process::id()));
        let mut digest = String::new();
        let (mut fast, mut cli) = (Vec::new(), Vec::new());
        for _ in 0..args.runs.max(1) {
            floor.push(timed(|| pool.install(|| floor_once(&files)).0, events));
            fast.push(timed(|| pool.install(|| fast_floor_once(&files)), events));
            cli.push(cli_once(&dir, t, cores)?);
            scan.push(timed(
                || {
                    let (n, d) = pipeline_once(t, &files, false, None);
                    digest = d;
                    n
                },
                events,
            ));
            enrich.push(timed(|| pipeline_once(t, &files, true, None).0, events));
            sigma.push(timed(
                || {
                    let (n, d) = pipeline_once(t, &files, false, Some(rules.clone()));
                    sigma_digest = d;
                    n
                },
                events,
            ));
            stateful.push(timed(|| checkpointed_once(t, &files, &store), events));
        }
        let _ = std::fs::remove_dir_all(&store);
        let floor = median(floor);
        report("floor", t, events, raw_bytes, floor, floor, "");
        report("scan", t, events, raw_bytes, median(scan), floor, &digest);
        report("enrich", t, events, raw_bytes, median(enrich), floor, "");
        report("state", t, events, raw_bytes, median(stateful), floor, "");
        report(
            "sigma",
            t,
            events,
            raw_bytes,
            median(sigma),
            floor,
            &sigma_digest,
        );
        let fast = median(fast);
        report("floor*", t, events, raw_bytes, fast, fast, "");
        report("cli", t, events, raw_bytes, median(cli), fast, "");
    }
    println!(
        "floor*: libdeflater + sonic-rs, the same fields; cli: `trailhound scan DIR --format jsonl --output FILE` \
         as a child process (1 thread: pinned with taskset -c 0), its ratio against floor*"
    );
    Ok(ExitCode::SUCCESS)
}

/// Inflates every file whole with libdeflater (sized by the gzip trailer's ISIZE, grown if that
/// lies) and parses it with sonic-rs into the floor's borrowed fields; returns the events.
fn fast_floor_once(files: &[(Arc<str>, Vec<u8>)]) -> u64 {
    files
        .par_iter()
        .map_init(libdeflater::Decompressor::new, |inflater, (_, bytes)| {
            let raw;
            let text: &[u8] = if bytes.starts_with(&[0x1f, 0x8b]) && bytes.len() >= 18 {
                let tail: [u8; 4] = bytes[bytes.len() - 4..].try_into().unwrap_or_default();
                let mut size = (u32::from_le_bytes(tail) as usize).max(bytes.len());
                loop {
                    let mut out = vec![0u8; size];
                    match inflater.gzip_decompress(bytes, &mut out) {
                        Ok(n) => {
                            out.truncate(n);
                            raw = out;
                            break;
                        }
                        Err(libdeflater::DecompressionError::InsufficientSpace)
                            if size < 1 << 31 =>
                        {
                            size *= 2
                        }
                        Err(_) => return 0,
                    }
                }
                &raw
            } else {
                bytes
            };
            sonic_rs::from_slice::<FloorDoc>(text).map_or(0, |d| d.records.len() as u64)
        })
        .sum()
}

/// `trailhound scan DIR --format jsonl --output FILE` as users run it, timed from outside: on
/// one thread pinned to one core (`taskset -c 0`, when the machine has it), or with the default
/// threads on every core. It reads the same files as the in-memory stages (digests skipped).
fn cli_once(dir: &std::path::Path, threads: usize, cores: usize) -> Result<Timed> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let tmp = std::env::temp_dir().join(format!("trailhound-bench-cli-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let pinned = threads == 1
        && std::process::Command::new("taskset")
            .arg("-V")
            .output()
            .is_ok();
    let mut cmd = if pinned {
        let mut c = std::process::Command::new("taskset");
        c.args(["-c", "0"]).arg(&exe);
        c
    } else {
        std::process::Command::new(&exe)
    };
    cmd.arg("scan")
        .arg(dir)
        .args(["--format", "jsonl", "--no-progress", "--output"])
        .arg(tmp.join("findings.jsonl"))
        .arg("--summary-json")
        .arg(tmp.join("summary.json"));
    if !pinned || threads != 1 {
        cmd.arg("--threads")
            .arg(threads.min(cores.max(1)).to_string());
    }
    let start = Instant::now();
    let out = cmd
        .stderr(std::process::Stdio::null())
        .status()
        .context("cannot run scan")?;
    let wall = start.elapsed();
    if !out.success() && out.code() != Some(1) {
        anyhow::bail!("scan failed: {out}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
    // The child's CPU over its wall time is not measured from here.
    Ok(Timed {
        wall,
        cores: f64::NAN,
    })
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn report(
    stage: &str,
    threads: usize,
    events: u64,
    raw: usize,
    took: Timed,
    floor: Timed,
    digest: &str,
) {
    let secs = took.wall.as_secs_f64().max(1e-9);
    let cores = if took.cores.is_nan() {
        "-".to_owned()
    } else {
        format!("{:.2}", took.cores)
    };
    println!(
        "{stage:<8} {threads:>7} {:>12.0} {:>10.1} {:>8.0}% {cores:>6}  {digest}",
        events as f64 / secs,
        mb(raw) / secs,
        100.0 * floor.wall.as_secs_f64() / secs,
    );
}

/// Runs `f` once: its wall time and the cores it kept busy (CPU time over wall time); `f`
/// returns the events it saw (checked).
fn timed(f: impl FnOnce() -> u64, events: u64) -> Timed {
    let (start, cpu) = (Instant::now(), cpu_time());
    let n = f();
    let wall = start.elapsed();
    assert_eq!(n, events, "a run saw a different number of events");
    let cores = match (cpu, cpu_time()) {
        (Some(a), Some(b)) => b.saturating_sub(a).as_secs_f64() / wall.as_secs_f64(),
        _ => f64::NAN,
    };
    Timed { wall, cores }
}

/// The median run (by wall time).
fn median(mut times: Vec<Timed>) -> Timed {
    times.sort_by_key(|t| t.wall);
    times.swap_remove(times.len() / 2)
}

/// One measured run.
#[derive(Clone, Copy)]
struct Timed {
    wall: Duration,
    /// CPU time over wall time.
    cores: f64,
}

/// CPU time (user and system) of this process so far, from `/proc/self/stat` (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3; utime, stime are 14, 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let ticks: u64 = fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?;
    // The kernel reports clock ticks: USER_HZ, 100 on every Linux platform trailhound targets.
    Some(Duration::from_millis(ticks * 10))
}

/// The floor's record: the fields a detector needs, borrowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct FloorEvent<'a> {
    #[serde(borrow)]
    event_time: Option<Text<'a>>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Text<'a>>,
    #[serde(borrow)]
    event_source: Option<Text<'a>>,
    #[serde(borrow)]
    event_name: Option<Text<'a>>,
    #[serde(borrow)]
    aws_region: Option<Text<'a>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Option<Text<'a>>,
    #[serde(borrow)]
    user_agent: Option<Text<'a>>,
    #[serde(borrow)]
    recipient_account_id: Option<Text<'a>>,
    read_only: Option<serde_json::Value>,
    #[serde(borrow)]
    user_identity: Option<FloorIdentity<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct FloorIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    arn: Option<Text<'a>>,
    #[serde(borrow)]
    access_key_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct FloorDoc<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<FloorEvent<'a>>,
}

/// Inflates and parses every file; returns (events, raw bytes).
fn floor_once(files: &[(Arc<str>, Vec<u8>)]) -> (u64, usize) {
    files
        .par_iter()
        .map(|(_, bytes)| {
            let (mut reader, _) = input::sniff(io::Cursor::new(bytes.as_slice()));
            let mut raw = Vec::with_capacity(bytes.len() * 10);
            if reader.read_to_end(&mut raw).is_err() {
                return (0, 0);
            }
            let n = serde_json::from_slice::<FloorDoc>(&raw).map_or(0, |d| d.records.len() as u64);
            (n, raw.len())
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// The whole pipeline over in-memory files, fed as `scan` feeds it (files decoded by `threads`
/// workers ahead of the engine); returns (events read, digest of the findings).
fn pipeline_once(
    threads: usize,
    files: &[(Arc<str>, Vec<u8>)],
    with_enrich: bool,
    sigma: Option<Arc<RuleSet>>,
) -> (u64, String) {
    let settings = Settings {
        sigma,
        ..Settings::default()
    };
    let mut engine = Engine::new(settings, Ranges::builtin(), Box::new(|_| {}));
    if with_enrich {
        engine = engine.with_enrich(
            Enricher::new(enrich::Format::Ndjson, "bench"),
            Box::new(io::sink()),
        );
    }
    let want = engine.raw_want();
    let decode = |(name, bytes): &(Arc<str>, Vec<u8>)| Decoded::decode_whole(name, bytes, &want);
    crate::ordered::map(files, threads, decode, |_, decoded| engine.feed(decoded));
    let (findings, summary) = engine.finish();
    let lines: Vec<String> = findings
        .iter()
        .map(|f| serde_json::to_string(f).unwrap_or_default())
        .collect();
    let digest = stable_id(&lines.iter().map(String::as_str).collect::<Vec<_>>());
    (
        summary.events_read,
        format!("{} findings, digest {}", findings.len(), &digest[..12]),
    )
}

/// `scan --state` on a fresh state: the pipeline, then the checkpoint, the engine's state saved
/// and committed to a store in `dir`, as a run with durable state ends.
fn checkpointed_once(threads: usize, files: &[(Arc<str>, Vec<u8>)], dir: &std::path::Path) -> u64 {
    let mut engine = Engine::new(Settings::default(), Ranges::builtin(), Box::new(|_| {}));
    let want = engine.raw_want();
    let decode = |(name, bytes): &(Arc<str>, Vec<u8>)| Decoded::decode_whole(name, bytes, &want);
    crate::ordered::map(files, threads, decode, |_, decoded| engine.feed(decoded));
    let (_, summary) = engine.checkpoint();
    let saved = engine.save_state().unwrap_or_default();
    commit_to(dir, &saved);
    summary.events_read
}

/// Commits `engine` state to a fresh store in `dir` (the bench's stand-in for a run's commit).
fn commit_to(dir: &std::path::Path, engine: &[u8]) {
    let _ = std::fs::remove_dir_all(dir);
    let opened = crate::state::Store::open(dir, true, |_| Ok(()));
    if let Ok((store, ..)) = opened {
        let _ = store.commit(&crate::state::End {
            engine,
            files: &[],
            watermark: None,
            report: &[],
            output_at: None,
        });
    }
}

/// Resident set size of this process in bytes (Linux `/proc/self/status`).
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Tracked-state memory: `n` instances, each launched by the EC2 service's AssumeRole (two keys)
/// and calling from its own address, kept alive within the TTL.
fn state(n: usize) -> Result<ExitCode> {
    let mut engine = Engine::new(Settings::default(), Ranges::builtin(), Box::new(|_| {}));
    let before = rss().context("cannot read /proc/self/status")?;
    let name: Arc<str> = "synthetic".into();
    let mut batch = String::new();
    for i in 0..n {
        let id = format!("i-{i:017x}");
        let (k1, k2) = (
            format!("ASIA{:016X}", 2 * i),
            format!("ASIA{:016X}", 2 * i + 1),
        );
        let ip = format!("3.{}.{}.{}", 224 + (i >> 16) % 16, (i >> 8) & 255, i & 255);
        let t = |s: usize| {
            format!(
                "2024-03-05T{:02}:{:02}:{:02}Z",
                10 + s / 3600,
                s / 60 % 60,
                s % 60
            )
        };
        for (k, sec) in [(&k1, 0), (&k2, 1)] {
            batch.push_str(&format!(
                r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}},"eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{{"roleArn":"arn:aws:iam::123456789012:role/web-tier","roleSessionName":"{id}"}},"responseElements":{{"credentials":{{"accessKeyId":"{k}","sessionToken":"x","expiration":"2024-03-05T18:00:00Z"}}}},"eventID":"a{i}-{sec}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#,
                t(i % 3000 + sec)
            ));
            batch.push('\n');
        }
        batch.push_str(&format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/web-tier/{id}","accountId":"123456789012","accessKeyId":"{k2}","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::123456789012:role/web-tier"}},"ec2RoleDelivery":"2.0"}}}},"eventTime":"{}","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"{ip}","userAgent":"aws-sdk-java/2.25.1 Linux/5.10 OpenJDK_64-Bit_Server_VM/17","eventID":"c{i}","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}}"#,
            t(i % 3000 + 5)
        ));
        batch.push('\n');
        if batch.len() > 8 << 20 || i + 1 == n {
            let (mut reader, gzip) =
                input::sniff(io::Cursor::new(std::mem::take(&mut batch).into_bytes()));
            engine.feed(Decoded::decode(&name, &mut reader, gzip, false));
        }
    }
    let after = rss().context("cannot read /proc/self/status")?;
    let b = engine.state_bytes();
    let clock = Instant::now();
    let (_, summary) = engine.checkpoint();
    let checkpoint = clock.elapsed();
    let clock = Instant::now();
    let saved = engine
        .save_state()
        .map_err(|e| anyhow::anyhow!("cannot save the state: {e}"))?;
    let save = clock.elapsed();
    if let Ok(p) = std::env::var("TRAILHOUND_BENCH_DUMP") {
        std::fs::write(p, &saved)?;
    }
    let dir = std::env::temp_dir().join(format!("trailhound-bench-state-{}", std::process::id()));
    let clock = Instant::now();
    commit_to(&dir, &saved);
    let commit = clock.elapsed();
    let on_disk = std::fs::metadata(dir.join(crate::state::FILE_NAME)).map_or(0, |m| m.len());
    let clock = Instant::now();
    let (_, start, _) = crate::state::Store::open(&dir, false, |_| Ok(()))?;
    let bytes = start.engine.unwrap_or_default();
    let restored = Engine::restore(
        Settings::default(),
        Ranges::builtin(),
        Box::new(|_| {}),
        false,
        &bytes,
    )?;
    let load = clock.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    anyhow::ensure!(
        restored.save_state().ok().as_deref() == Some(saved.as_slice()),
        "the restored state differs from the saved one"
    );
    let per = |x: usize| x as f64 / n.max(1) as f64;
    println!("tracked instances: {} (of {n})", summary.instances_tracked);
    println!(
        "state per instance: {:.0} bytes instance record + {:.0} key index (2 keys) + {:.0} address owners = {:.0} bytes",
        per(b.instances),
        per(b.keys),
        per(b.addresses),
        per(b.instances + b.keys + b.addresses)
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "durable state (--state): {} bytes of engine state ({:.0} per instance), {} bytes on disk; checkpoint {:.0} ms, save {:.0} ms, commit {:.0} ms, load and restore {:.0} ms",
        saved.len(),
        per(saved.len()),
        on_disk,
        ms(checkpoint),
        ms(save),
        ms(commit),
        ms(load)
    );
    println!(
        "resident memory: {:.1} MiB before, {:.1} MiB with {n} instances tracked (includes the reorder window and de-dup ids)",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    Ok(ExitCode::SUCCESS)
}
