//! `trailhound watch --sqs-queue-url URL --state DIR`: the continuous worker. S3 object
//! notifications arrive on an SQS queue; each new CloudTrail object is read and fed to the same
//! engine as `scan`, on the same durable state (`--state`), so findings and their `id`s are the
//! ones `scan` gives on the same files.
//!
//! At-least-once in, exactly-once out: a message is deleted only after the state that covers its
//! events, and the findings they raised, are committed and delivered. A worker killed at any point
//! restarts from the last commit; the queue gives back the messages it had not deleted, objects
//! already read are recognised by name, and an interrupted delivery is repeated from the outbox
//! (an appended `--output` file is cut back to where that report started first).
//!
//! The clock lives here, not in the engine: the idle timer that releases the reorder window when
//! the queue goes quiet (`--idle-flush`), checkpoints (`--checkpoint-every`), retries with backoff,
//! `--until-idle`, and the metrics' lag.
use std::collections::{BTreeMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use clap::ValueEnum;
use serde_json::json;
use trailhound_core::finding::{self, Finding, Status};
use trailhound_core::pipeline::{Decoded, Engine};
use trailhound_core::summary::{StateCounts, Summary};
use trailhound_core::time::parse_duration;
use trailhound_net::aws::{Aws, CallError, Failure, Message};
use trailhound_net::notification::{self, Notice, Object};

use crate::drive::{self, AwsArgs, EngineArgs};
use crate::remote::{self, Remote};
use crate::sink;
use crate::state::{self, Store};

/// Formats a stream of findings can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One finding per line (JSON).
    Jsonl,
    /// One OCSF 1.1 Detection Finding (class 2004) per line.
    Ocsf,
}

/// Follow an organisation trail's S3 bucket through SQS and report findings as they happen.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The SQS queue that receives the bucket's `ObjectCreated` notifications (S3 → SQS,
    /// S3 → SNS → SQS, or EventBridge → SQS).
    #[arg(long, value_name = "URL")]
    pub sqs_queue_url: String,
    /// The engine's durable state (as `scan --state`): required, it is what lets a message be
    /// deleted.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Forget the saved state and start over.
    #[arg(long)]
    pub state_reset: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Append findings to this file (flushed and synced per checkpoint) instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Also publish each finding to this SNS topic (JSON message; attributes `type`,
    /// `severity`, `status`, `id` for subscription filters).
    #[arg(long, value_name = "ARN")]
    pub sns_topic_arn: Option<String>,
    /// Commit the state (and delete the messages it covers) at least this often while busy.
    #[arg(long, default_value = "10s")]
    pub checkpoint_every: String,
    /// Release the reorder window when no message has come for this long (`off`: never; events
    /// then wait for newer ones, exactly as in `scan --state`).
    #[arg(long, default_value = "30s")]
    pub idle_flush: String,
    /// Exit (after a last checkpoint) once the queue has been empty this long.
    #[arg(long, value_name = "DURATION")]
    pub until_idle: Option<String>,
    /// How long a received message stays hidden from other consumers; must exceed
    /// --checkpoint-every.
    #[arg(long, default_value = "5m")]
    pub visibility_timeout: String,
    /// Long-polling wait per receive (at most 20s).
    #[arg(long, default_value = "20s")]
    pub poll_wait: String,
    /// Receive calls in flight at once (up to 10 messages each): more hide the queue's latency.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=32))]
    pub receivers: u8,
    /// First retry delay of a message that could not be processed; doubled per receive, at most
    /// 15 minutes. After the queue's maxReceiveCount its redrive policy moves it to the
    /// dead-letter queue.
    #[arg(long, default_value = "10s")]
    pub retry_delay: String,
    /// Serve Prometheus metrics on this address (`GET /metrics`), e.g. 127.0.0.1:9184.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Write the summary (engine and worker counters) as JSON to this file at exit.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Decoding threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The worker's own counters (the engine's are in its [`Summary`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WatchCounts {
    /// Messages received (a redelivered message counts again).
    pub messages_received: u64,
    /// Messages deleted once what they carried was durable.
    pub messages_deleted: u64,
    /// Messages given back to the queue for a later retry, by reason.
    pub messages_retried: BTreeMap<String, u64>,
    /// `s3:TestEvent` messages.
    pub test_events: u64,
    /// S3 events that are not object creations (deletes, restores…), by name.
    pub other_events: BTreeMap<String, u64>,
    /// Objects read and fed to the engine.
    pub objects_read: u64,
    /// Bytes of the objects read.
    pub object_bytes: u64,
    /// Objects not read, by reason: `digest`, `not_cloudtrail`, `already_read`.
    pub objects_skipped: BTreeMap<String, u64>,
    /// Objects that could not be read, by reason (`object_gone`, `access_denied`, …).
    pub objects_failed: BTreeMap<String, u64>,
    /// Checkpoints committed.
    pub checkpoints: u64,
    /// Times the reorder window was released by the idle timer.
    pub idle_flushes: u64,
    /// Findings delivered, by type (new and updated).
    pub findings_delivered: BTreeMap<String, u64>,
    /// Deliveries that failed and were retried (SNS unreachable, output not writable).
    pub delivery_retries: u64,
    /// Where the time went, in seconds of wall clock: `receive` (waiting on SQS, long polls
    /// included), `fetch` (reading objects from S3), `engine` (decoding and detection),
    /// `checkpoint` (saving and committing the state, delivering findings), `delete`.
    pub seconds: BTreeMap<String, f64>,
}

impl WatchCounts {
    fn timed(&mut self, phase: &str, since: Instant) {
        *self.seconds.entry(phase.to_owned()).or_default() += since.elapsed().as_secs_f64();
    }
}

/// `n` receive calls at once (the first a long poll of `wait_s`); their messages together, or
/// the first error when none answered.
async fn receive_many(
    aws: &Aws,
    queue: &str,
    n: u8,
    wait_s: i32,
    visibility_s: i32,
) -> Result<Vec<Message>, CallError> {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..n {
        let (aws, queue) = (aws.clone(), queue.to_owned());
        // One long poll; the others only take what is there now.
        let wait_s = if i == 0 { wait_s } else { 0 };
        set.spawn(async move { aws.receive(&queue, 10, wait_s, visibility_s).await });
    }
    let mut messages = Vec::new();
    let mut error = None;
    let mut answered = false;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(m)) => {
                answered = true;
                messages.extend(m);
            }
            Ok(Err(e)) => error = Some(e),
            Err(e) => {
                error = Some(CallError {
                    kind: Failure::Unreachable,
                    message: format!("the receive task failed: {e}"),
                })
            }
        }
    }
    match error {
        Some(e) if !answered => Err(e),
        _ => Ok(messages),
    }
}

/// The run's summary: the engine's and the worker's.
#[derive(serde::Serialize)]
struct WatchSummary<'a> {
    #[serde(flatten)]
    engine: &'a Summary,
    watch: &'a WatchCounts,
}

/// What `/metrics` shows, updated by the worker.
#[derive(Default)]
struct Metrics {
    counts: WatchCounts,
    summary: Summary,
    /// Newest event time read (ms since the epoch).
    newest_event_ms: Option<i64>,
    last_checkpoint: Option<SystemTime>,
}

/// Durations, parsed.
struct Timing {
    checkpoint_every: Duration,
    idle_flush: Option<Duration>,
    until_idle: Option<Duration>,
    visibility_s: i32,
    poll_wait_s: i32,
    receivers: u8,
    retry_delay_s: i32,
}

fn duration(flag: &str, text: &str) -> Result<Duration> {
    let ms = parse_duration(text)
        .filter(|&ms| ms >= 0)
        .with_context(|| format!("{flag} {text:?}: expected a duration such as 30s or 5m"))?;
    Ok(Duration::from_millis(ms as u64))
}

impl Timing {
    fn of(args: &Args) -> Result<Timing> {
        let secs = |d: Duration| i32::try_from(d.as_secs()).unwrap_or(i32::MAX);
        let t = Timing {
            checkpoint_every: duration("--checkpoint-every", &args.checkpoint_every)?,
            idle_flush: match args.idle_flush.as_str() {
                "off" | "never" => None,
                text => Some(duration("--idle-flush", text)?),
            },
            until_idle: args
                .until_idle
                .as_deref()
                .map(|t| duration("--until-idle", t))
                .transpose()?,
            visibility_s: secs(duration("--visibility-timeout", &args.visibility_timeout)?),
            poll_wait_s: secs(duration("--poll-wait", &args.poll_wait)?).min(20),
            receivers: args.receivers,
            retry_delay_s: secs(duration("--retry-delay", &args.retry_delay)?).max(1),
        };
        if u64::try_from(t.visibility_s).unwrap_or(0) <= t.checkpoint_every.as_secs() {
            anyhow::bail!(
                "--visibility-timeout ({}s) must exceed --checkpoint-every ({}s): messages would come back before their checkpoint",
                t.visibility_s,
                t.checkpoint_every.as_secs()
            );
        }
        Ok(t)
    }
}

/// Runs `watch`.
pub fn run(args: Args) -> Result<ExitCode> {
    let timing = Timing::of(&args)?;
    let (settings, ranges) = drive::prepare(&args.engine, false)?;
    let (store, start, mut engine) =
        Store::open(&args.state, args.state_reset, |start| match &start.engine {
            Some(bytes) => drive::restore(settings, ranges, false, bytes),
            None => Ok(drive::engine(settings, ranges)),
        })?;
    let remote = Remote::connect(&args.aws)?;
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(tokio::sync::Notify::new());
    remote.rt().spawn(on_signal(stop.clone(), wake.clone()));
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    if let Some(addr) = args.metrics_addr {
        let listener = remote
            .rt()
            .block_on(tokio::net::TcpListener::bind(addr))
            .with_context(|| format!("--metrics-addr {addr}: cannot listen"))?;
        remote.rt().spawn(serve_metrics(listener, metrics.clone()));
        log("info", "metrics", &[("addr", json!(addr.to_string()))]);
    }
    let mut out = Output::open(&args)?;
    let mut worker = Worker {
        queue: args.sqs_queue_url.clone(),
        timing,
        threads: args
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1),
        store,
        pending_keys: HashSet::new(),
        pending: Vec::new(),
        counts: WatchCounts::default(),
        state: StateCounts::default(),
        metrics,
        stop,
        wake,
        last_commit: Instant::now(),
        dirty: false,
    };
    log(
        "info",
        "started",
        &[
            ("queue", json!(worker.queue)),
            ("state", json!(args.state.display().to_string())),
            ("inputs_already_read", json!(start.files.len())),
        ],
    );
    // An interrupted delivery goes out first, as it was.
    if !start.outbox.is_empty() {
        log(
            "info",
            "redelivering",
            &[("findings", json!(start.outbox.len()))],
        );
        worker.state.findings_redelivered += start.outbox.len() as u64;
        let ok = out.deliver(&remote, &start.outbox, start.outbox_at, &worker)?;
        if !ok {
            return Ok(ExitCode::SUCCESS);
        }
        worker.store.delivered()?;
    }
    let summary = worker.run(&remote, &mut engine, &mut out)?;
    let explained = WatchSummary {
        engine: &summary,
        watch: &worker.counts,
    };
    eprintln!("{summary}");
    eprintln!("{}", serde_json::to_string(&worker.counts)?);
    if let Some(path) = &args.summary_json {
        std::fs::write(path, serde_json::to_string_pretty(&explained)? + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    log("info", "stopped", &[]);
    Ok(ExitCode::SUCCESS)
}

/// The worker's loop and what it holds between checkpoints.
struct Worker {
    queue: String,
    timing: Timing,
    threads: usize,
    store: Store,
    /// Inputs fed since the last commit (those committed are asked of the store: memory stays
    /// bounded by the store's retention, however long the worker runs).
    pending_keys: HashSet<String>,
    /// Receipts of the messages fed since the last commit: deleted after it.
    pending: Vec<String>,
    counts: WatchCounts,
    state: StateCounts,
    metrics: Arc<Mutex<Metrics>>,
    stop: Arc<AtomicBool>,
    wake: Arc<tokio::sync::Notify>,
    last_commit: Instant,
    /// The engine changed since the last commit (events fed, window released).
    dirty: bool,
}

/// One object a batch reads.
struct Fetch {
    object: Object,
    name: Arc<str>,
    /// Index of its message in the batch.
    message: usize,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Receives, reads and checkpoints until stopped or idle long enough.
    fn run(&mut self, remote: &Remote, engine: &mut Engine, out: &mut Output) -> Result<Summary> {
        let mut last_message = Instant::now();
        let mut flushed = true;
        let mut failures = 0u32;
        let mut reached = false;
        while !self.stopping() {
            let busy = !self.pending.is_empty();
            let wait = if busy { 1 } else { self.timing.poll_wait_s };
            let wait = match (self.timing.idle_flush, flushed) {
                (Some(idle), false) => wait.min(
                    i32::try_from(idle.saturating_sub(last_message.elapsed()).as_secs())
                        .unwrap_or(0)
                        .max(1),
                ),
                _ => wait,
            };
            let took = Instant::now();
            let received = remote.rt().block_on(async {
                tokio::select! {
                    r = receive_many(remote.aws(), &self.queue, self.timing.receivers, wait, self.timing.visibility_s) => Some(r),
                    _ = self.wake.notified() => None,
                }
            });
            self.counts.timed("receive", took);
            let messages = match received {
                None => break,
                Some(Ok(m)) => {
                    failures = 0;
                    reached = true;
                    m
                }
                // A queue that does not exist or may not be read is an error at once, not a
                // retry loop: the worker was started wrong. Anything else is retried.
                Some(Err(e)) if !reached && matches!(e.kind, Failure::Gone | Failure::Denied) => {
                    anyhow::bail!("cannot receive from {}: {}", self.queue, e.message);
                }
                Some(Err(e)) => {
                    failures += 1;
                    let delay = backoff(1, failures, 60);
                    log(
                        "warn",
                        "receive failed",
                        &[
                            ("error", json!(e.to_string())),
                            ("retry_in_s", json!(delay)),
                        ],
                    );
                    self.pause(remote, delay);
                    continue;
                }
            };
            if messages.is_empty() {
                // Messages that carried nothing to read (test events, duplicates) are deleted too.
                if self.dirty || !self.pending.is_empty() {
                    self.checkpoint(remote, engine, out)?;
                }
                if let Some(idle) = self.timing.idle_flush {
                    if !flushed && last_message.elapsed() >= idle && engine.held_events() > 0 {
                        engine.release_window();
                        self.counts.idle_flushes += 1;
                        self.dirty = true;
                        log("info", "idle: released the reorder window", &[]);
                        self.checkpoint(remote, engine, out)?;
                        flushed = true;
                    }
                }
                if self
                    .timing
                    .until_idle
                    .is_some_and(|d| last_message.elapsed() >= d)
                {
                    log("info", "queue idle: stopping", &[]);
                    break;
                }
                continue;
            }
            last_message = Instant::now();
            flushed = false;
            self.batch(remote, engine, messages)?;
            if (self.dirty || !self.pending.is_empty())
                && self.last_commit.elapsed() >= self.timing.checkpoint_every
            {
                self.checkpoint(remote, engine, out)?;
            }
        }
        if self.dirty || !self.pending.is_empty() {
            self.checkpoint(remote, engine, out)?;
        }
        let (_, mut summary) = engine.checkpoint();
        self.state.events_held = engine.held_events();
        self.state.store_bytes = self.store.size();
        summary.state = Some(self.state.clone());
        Ok(summary)
    }

    /// Sleeps `secs` unless asked to stop.
    fn pause(&self, remote: &Remote, secs: i32) {
        remote.rt().block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(u64::try_from(secs).unwrap_or(1))) => {}
                _ = self.wake.notified() => {}
            }
        });
    }

    /// One received batch: sorts out what each message is, reads the new objects, feeds them to
    /// the engine in CloudTrail's delivery order, and gives back what failed.
    fn batch(
        &mut self,
        remote: &Remote,
        engine: &mut Engine,
        messages: Vec<Message>,
    ) -> Result<()> {
        self.counts.messages_received += messages.len() as u64;
        let mut fetches: Vec<Fetch> = Vec::new();
        // Messages with nothing to read: deleted with the next checkpoint.
        let mut settled = vec![true; messages.len()];
        let mut retry: BTreeMap<usize, String> = BTreeMap::new();
        for (i, m) in messages.iter().enumerate() {
            match notification::parse(&m.body) {
                Ok(Notice::Test) => self.counts.test_events += 1,
                Ok(Notice::Other(name)) => *self.counts.other_events.entry(name).or_default() += 1,
                Ok(Notice::Created(objects)) => {
                    for object in objects {
                        let url = remote::object_url(&object.bucket, &object.key);
                        let skip = if object.is_digest() {
                            Some("digest")
                        } else if !remote::is_cloudtrail_key(&object.key) {
                            Some("not_cloudtrail")
                        } else if self.pending_keys.contains(&url)
                            || fetches.iter().any(|f| *f.name == *url)
                            || self.store.was_read(&url)?
                        {
                            Some("already_read")
                        } else {
                            None
                        };
                        match skip {
                            Some(reason) => {
                                *self
                                    .counts
                                    .objects_skipped
                                    .entry(reason.to_owned())
                                    .or_default() += 1;
                            }
                            None => fetches.push(Fetch {
                                name: url.into(),
                                object,
                                message: i,
                            }),
                        }
                    }
                }
                Err(e) => {
                    log(
                        "warn",
                        "not an S3 notification",
                        &[
                            ("message_id", json!(m.id)),
                            ("receive_count", json!(m.receive_count)),
                            ("error", json!(e.to_string())),
                        ],
                    );
                    settled[i] = false;
                    retry.insert(i, "not_a_notification".into());
                }
            }
        }
        // Read every object of the batch at once.
        let took = Instant::now();
        let aws = remote.aws().clone();
        let fetched: Vec<Result<Vec<u8>, CallError>> = remote.rt().block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, f) in fetches.iter().enumerate() {
                let aws: Aws = aws.clone();
                let (bucket, key) = (f.object.bucket.clone(), f.object.key.clone());
                set.spawn(async move { (i, aws.get(&bucket, &key).await) });
            }
            let mut out: Vec<Option<Result<Vec<u8>, CallError>>> =
                (0..fetches.len()).map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                if let Ok((i, r)) = joined {
                    out[i] = Some(r);
                }
            }
            out.into_iter()
                .map(|r| {
                    r.unwrap_or_else(|| {
                        Err(CallError {
                            kind: Failure::Unreachable,
                            message: "the fetch task failed".into(),
                        })
                    })
                })
                .collect()
        });
        self.counts.timed("fetch", took);
        // A message with an object that could not be read is retried whole: none of it is fed.
        for (f, r) in fetches.iter().zip(&fetched) {
            if let Err(e) = r {
                *self
                    .counts
                    .objects_failed
                    .entry(e.kind.name().to_owned())
                    .or_default() += 1;
                log(
                    "warn",
                    "cannot read the object",
                    &[
                        ("object", json!(&*f.name)),
                        ("receive_count", json!(messages[f.message].receive_count)),
                        ("error", json!(e.to_string())),
                    ],
                );
                settled[f.message] = false;
                retry
                    .entry(f.message)
                    .or_insert_with(|| e.kind.name().to_owned());
            }
        }
        let mut ready: Vec<(&Fetch, &[u8])> = fetches
            .iter()
            .zip(&fetched)
            .filter(|(f, _)| settled[f.message])
            .filter_map(|(f, r)| r.as_ref().ok().map(|b| (f, b.as_slice())))
            .collect();
        ready.sort_by(|a, b| remote::order_key(&a.0.name).cmp(&remote::order_key(&b.0.name)));
        let want = engine.raw_want();
        let took = Instant::now();
        crate::ordered::map(
            &ready,
            self.threads,
            |(f, bytes): &(&Fetch, &[u8])| Decoded::decode_whole(&f.name, bytes, &want),
            |(f, bytes), decoded: Decoded| {
                engine.feed(decoded);
                self.counts.objects_read += 1;
                self.counts.object_bytes += bytes.len() as u64;
                self.pending_keys.insert(f.name.to_string());
            },
        );
        self.counts.timed("engine", took);
        if !ready.is_empty() {
            self.dirty = true;
        }
        for (i, m) in messages.iter().enumerate() {
            if settled[i] {
                self.pending.push(m.receipt.clone());
            }
        }
        for (i, reason) in retry {
            let m = &messages[i];
            let delay = backoff(self.timing.retry_delay_s, m.receive_count, 900);
            *self.counts.messages_retried.entry(reason).or_default() += 1;
            if let Err(e) =
                remote
                    .rt()
                    .block_on(remote.aws().retry_later(&self.queue, &m.receipt, delay))
            {
                log(
                    "warn",
                    "cannot delay the message",
                    &[("message_id", json!(m.id)), ("error", json!(e.to_string()))],
                );
            }
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.counts = self.counts.clone();
            m.newest_event_ms = engine.watermark().map(|t| t.0);
        }
        Ok(())
    }

    /// Commits the engine's state with the inputs read and the findings to report, delivers
    /// those, then deletes the messages the commit covers.
    fn checkpoint(&mut self, remote: &Remote, engine: &mut Engine, out: &mut Output) -> Result<()> {
        let took = Instant::now();
        let (findings, summary) = engine.checkpoint();
        let report = state::changes(&self.store, findings, &mut self.state)?;
        let at = out.position()?;
        let mut keys: Vec<String> = self.pending_keys.iter().cloned().collect();
        keys.sort();
        let mut sorted = report;
        sorted.sort_by(|a, b| finding::order(&a.0, &b.0));
        self.state.engine_state_bytes = self.store.save_run(engine, &keys, &sorted, at)?;
        self.counts.checkpoints += 1;
        self.last_commit = Instant::now();
        self.dirty = false;
        let findings: Vec<Finding> = sorted.into_iter().map(|(f, _)| f).collect();
        for f in &findings {
            match f.status {
                Some(Status::New) => self.state.findings_new += 1,
                _ => self.state.findings_updated += 1,
            }
        }
        if !out.deliver(remote, &findings, at, self)? {
            // Stopped while a destination was down, or stdout's reader went away: the outbox
            // keeps the report, the queue the messages; the next start delivers it.
            self.stop.store(true, Ordering::SeqCst);
            self.pending.clear();
            self.pending_keys.clear();
            return Ok(());
        }
        self.store.delivered()?;
        for f in &findings {
            *self
                .counts
                .findings_delivered
                .entry(f.finding_type.to_string())
                .or_default() += 1;
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.counts = self.counts.clone();
        }
        self.counts.timed("checkpoint", took);
        let took = Instant::now();
        if !self.pending.is_empty() {
            match remote
                .rt()
                .block_on(remote.aws().delete(&self.queue, &self.pending))
            {
                Ok(refused) => {
                    self.counts.messages_deleted += (self.pending.len() - refused) as u64;
                }
                // Not deleted: they come back, and are recognised as read.
                Err(e) => log(
                    "warn",
                    "cannot delete messages",
                    &[("error", json!(e.to_string()))],
                ),
            }
        }
        self.counts.timed("delete", took);
        log(
            "info",
            "checkpoint",
            &[
                ("messages", json!(self.pending.len())),
                ("objects", json!(self.pending_keys.len())),
                ("findings", json!(findings.len())),
                ("events_held", json!(engine.held_events())),
                (
                    "watermark",
                    json!(engine.watermark().map(|t| t.to_string())),
                ),
            ],
        );
        self.pending.clear();
        self.pending_keys.clear();
        if let Ok(mut m) = self.metrics.lock() {
            m.counts = self.counts.clone();
            m.summary = summary;
            m.newest_event_ms = engine.watermark().map(|t| t.0);
            m.last_checkpoint = Some(SystemTime::now());
        }
        Ok(())
    }
}

/// `base` × 2^(attempt − 1) seconds, at most `max`.
fn backoff(base: i32, attempt: u32, max: i32) -> i32 {
    let exp = attempt.saturating_sub(1).min(16);
    base.saturating_mul(1 << exp).min(max)
}

/// Where findings go: a file (appended) or stdout, and an SNS topic.
struct Output {
    format: Format,
    file: Option<(PathBuf, File)>,
    sns: Option<String>,
}

impl Output {
    fn open(args: &Args) -> Result<Output> {
        let file = match &args.output {
            Some(path) => Some((
                path.clone(),
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .with_context(|| format!("cannot open the output file {}", path.display()))?,
            )),
            None => None,
        };
        Ok(Output {
            format: args.format,
            file,
            sns: args.sns_topic_arn.clone(),
        })
    }

    /// The output file's length now (where the next report starts).
    fn position(&self) -> Result<Option<u64>> {
        match &self.file {
            Some((path, f)) => Ok(Some(
                f.metadata()
                    .with_context(|| format!("cannot read {}", path.display()))?
                    .len(),
            )),
            None => Ok(None),
        }
    }

    /// Writes `findings` (the file cut back to `at` first, when a delivery is repeated) and
    /// publishes them; retries with backoff until done. False when stopped before it was done.
    fn deliver(
        &mut self,
        remote: &Remote,
        findings: &[Finding],
        at: Option<u64>,
        worker: &Worker,
    ) -> Result<bool> {
        if findings.is_empty() {
            return Ok(true);
        }
        let mut text = Vec::new();
        match self.format {
            Format::Jsonl => sink::jsonl::write(&mut text, findings)?,
            Format::Ocsf => sink::ocsf::write(&mut text, findings)?,
        }
        match &mut self.file {
            Some((path, f)) => {
                if let Some(at) = at {
                    if f.metadata()?.len() > at {
                        f.set_len(at)?;
                    }
                }
                f.write_all(&text)
                    .and_then(|()| f.sync_data())
                    .with_context(|| format!("cannot write findings to {}", path.display()))?;
            }
            None => {
                let mut stdout = io::stdout().lock();
                match stdout.write_all(&text).and_then(|()| stdout.flush()) {
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(false),
                    other => other.context("cannot write findings")?,
                }
            }
        }
        let Some(topic) = &self.sns else {
            return Ok(true);
        };
        for f in findings {
            let body = serde_json::to_string(f)?;
            let subject = subject(f);
            let status = match f.status {
                Some(Status::Updated) => "updated",
                _ => "new",
            };
            let kind = f.finding_type.to_string();
            let severity = f.severity.as_str();
            let attributes = [
                ("type", kind.as_str()),
                ("severity", severity),
                ("status", status),
                ("id", f.id.as_str()),
            ];
            let mut attempt = 0;
            loop {
                let sent =
                    remote
                        .rt()
                        .block_on(remote.aws().publish(topic, &subject, &body, &attributes));
                match sent {
                    Ok(()) => break,
                    Err(e) => {
                        attempt += 1;
                        let delay = backoff(1, attempt, 60);
                        log(
                            "warn",
                            "cannot publish to SNS",
                            &[
                                ("topic", json!(topic)),
                                ("finding", json!(f.id)),
                                ("error", json!(e.to_string())),
                                ("retry_in_s", json!(delay)),
                            ],
                        );
                        if let Ok(mut m) = worker.metrics.lock() {
                            m.counts.delivery_retries += 1;
                        }
                        if worker.stopping() {
                            return Ok(false);
                        }
                        worker.pause(remote, delay);
                        if worker.stopping() {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }
}

/// An SNS subject: ASCII, at most 100 characters.
fn subject(f: &Finding) -> String {
    let text = format!(
        "trailhound: {} {} ({})",
        f.severity.as_str(),
        f.finding_type,
        f.id
    );
    text.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(100)
        .collect()
}

/// Sets `stop` on SIGTERM or Ctrl-C, and wakes the worker.
async fn on_signal(stop: Arc<AtomicBool>, wake: Arc<tokio::sync::Notify>) {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
    log("info", "stop requested: finishing the batch", &[]);
    stop.store(true, Ordering::SeqCst);
    wake.notify_waiters();
    wake.notify_one();
}

/// One structured log line on stderr (JSON).
fn log(level: &str, msg: &str, fields: &[(&str, serde_json::Value)]) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let ts = chrono::DateTime::from_timestamp(
        i64::try_from(now.as_secs()).unwrap_or(0),
        now.subsec_nanos(),
    )
    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    .unwrap_or_default();
    let mut line = serde_json::Map::new();
    line.insert("ts".into(), json!(ts));
    line.insert("level".into(), json!(level));
    line.insert("msg".into(), json!(msg));
    for (k, v) in fields {
        line.insert((*k).to_owned(), v.clone());
    }
    eprintln!("{}", serde_json::Value::Object(line));
}

/// Serves `GET /metrics` (Prometheus text format) until the process ends.
async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Mutex<Metrics>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 2048];
            let n = conn.read(&mut request).await.unwrap_or(0);
            let found = request[..n].starts_with(b"GET /metrics");
            let (status, body) = if found {
                (
                    "200 OK",
                    metrics.lock().map(|m| render(&m)).unwrap_or_default(),
                )
            } else {
                ("404 Not Found", "GET /metrics\n".to_owned())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).await;
            let _ = conn.write_all(body.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

/// The metrics in Prometheus' text exposition format.
fn render(m: &Metrics) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, rows: Vec<(String, f64)>| {
        let _ = writeln!(s, "# HELP trailhound_{name} {help}");
        let _ = writeln!(s, "# TYPE trailhound_{name} {kind}");
        for (labels, v) in rows {
            let _ = writeln!(s, "trailhound_{name}{labels} {v}");
        }
    };
    let one = |v: u64| vec![(String::new(), v as f64)];
    let by = |label: &str, map: &BTreeMap<String, u64>| {
        map.iter()
            .map(|(k, v)| {
                (
                    format!("{{{label}=\"{}\"}}", k.replace('"', "'")),
                    *v as f64,
                )
            })
            .collect::<Vec<_>>()
    };
    let by_static = |label: &str, map: &BTreeMap<&'static str, u64>| {
        map.iter()
            .map(|(k, v)| (format!("{{{label}=\"{k}\"}}"), *v as f64))
            .collect::<Vec<_>>()
    };
    let c = &m.counts;
    metric(
        "messages_received_total",
        "counter",
        "SQS messages received.",
        one(c.messages_received),
    );
    metric(
        "messages_deleted_total",
        "counter",
        "SQS messages deleted after their checkpoint.",
        one(c.messages_deleted),
    );
    metric(
        "messages_retried_total",
        "counter",
        "Messages given back for a retry, by reason.",
        by("reason", &c.messages_retried),
    );
    metric(
        "test_events_total",
        "counter",
        "s3:TestEvent messages.",
        one(c.test_events),
    );
    metric(
        "objects_read_total",
        "counter",
        "Objects read and fed to the engine.",
        one(c.objects_read),
    );
    metric(
        "object_bytes_total",
        "counter",
        "Bytes of objects read.",
        one(c.object_bytes),
    );
    metric(
        "objects_skipped_total",
        "counter",
        "Objects not read, by reason.",
        by("reason", &c.objects_skipped),
    );
    metric(
        "objects_failed_total",
        "counter",
        "Objects that could not be read, by reason.",
        by("reason", &c.objects_failed),
    );
    metric(
        "events_read_total",
        "counter",
        "Events decoded (at the last checkpoint).",
        one(m.summary.events_read),
    );
    metric(
        "records_skipped_total",
        "counter",
        "Records skipped, by reason (at the last checkpoint).",
        by_static("reason", &m.summary.events_skipped),
    );
    metric(
        "files_skipped_total",
        "counter",
        "Inputs skipped, by reason (at the last checkpoint).",
        by_static("reason", &m.summary.files_skipped),
    );
    metric(
        "findings_delivered_total",
        "counter",
        "Findings delivered (new and updated), by type.",
        by("type", &c.findings_delivered),
    );
    metric(
        "checkpoints_total",
        "counter",
        "State commits.",
        one(c.checkpoints),
    );
    metric(
        "idle_flushes_total",
        "counter",
        "Reorder windows released by the idle timer.",
        one(c.idle_flushes),
    );
    metric(
        "delivery_retries_total",
        "counter",
        "Failed deliveries retried.",
        one(c.delivery_retries),
    );
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    if let Some(newest) = m.newest_event_ms {
        let lag = now.as_millis() as f64 / 1000.0 - newest as f64 / 1000.0;
        metric(
            "lag_seconds",
            "gauge",
            "Newest event time read, behind the wall clock.",
            vec![(String::new(), lag)],
        );
    }
    if let Some(at) = m.last_checkpoint {
        let age = at.elapsed().unwrap_or_default().as_secs_f64();
        metric(
            "checkpoint_age_seconds",
            "gauge",
            "Time since the last state commit.",
            vec![(String::new(), age)],
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(10, 1, 900), 10);
        assert_eq!(backoff(10, 2, 900), 20);
        assert_eq!(backoff(10, 4, 900), 80);
        assert_eq!(backoff(10, 40, 900), 900);
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let mut m = Metrics::default();
        m.counts.messages_received = 12;
        m.counts.objects_failed.insert("object_gone".into(), 2);
        m.newest_event_ms = Some(0);
        let text = render(&m);
        assert!(text.contains("# TYPE trailhound_messages_received_total counter\ntrailhound_messages_received_total 12\n"));
        assert!(text.contains("trailhound_objects_failed_total{reason=\"object_gone\"} 2\n"));
        assert!(text.contains("# TYPE trailhound_lag_seconds gauge\n"));
    }
}
