//! Driving the engine: the input options `scan` and `enrich` share, turning them into validated
//! settings, and feeding every input to the engine — small files read whole in one call and decoded on
//! every core ahead of the engine (the engine's own thread decodes too while it would wait), large
//! files and stdin streamed — in input order, so results never depend on the thread count.
use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use trailhound_core::config::{Config, Settings};
use trailhound_core::decode::{Position, Skip, SkipReason};
use trailhound_core::deferred::Deferred;
use trailhound_core::input::{self, Input, Origin};
use trailhound_core::pipeline::{Decoded, Engine, RawWant};
use trailhound_core::ranges::Ranges;
use trailhound_core::sigma::{Rule, RuleSet};
use trailhound_core::time::parse_duration;

/// Input and engine options shared by `scan` and `enrich`.
#[derive(clap::Args, Debug)]
pub struct InputArgs {
    /// CloudTrail files (.json, .json.gz, NDJSON, arrays), directories (walked recursively), `-` for
    /// stdin, or `s3://bucket/prefix` (every object under the prefix, read through the AWS SDK).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Also write the run summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Exit 2 when anything in the input was skipped.
    #[arg(long)]
    pub strict: bool,
    /// Threads (default: all cores): the engine's thread and N-1 decoding threads; the engine's
    /// thread decodes too whenever it would wait. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Keep the engine's state in this directory: go on from where the last run stopped (instances,
    /// lineage, learned paths and clients, held events, inputs already read, findings already
    /// reported) and save it at the end. Findings are then reported once, and again only as
    /// updates (`status`).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// With --state: forget the saved state and start over.
    #[arg(long, requires = "state")]
    pub state_reset: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// What the engine is configured with, whatever feeds it (`scan`, `enrich`, `watch`).
#[derive(clap::Args, Debug)]
pub struct EngineArgs {
    /// Configuration file (TOML): organisation, trusted ranges, inventory, TTL, window, suppressions.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only write calls raise exfiltration findings (Prisma Cloud's behaviour; default: every call, as GuardDuty).
    #[arg(long)]
    pub write_only: bool,
    /// Reorder window, e.g. 15m (overrides the config).
    #[arg(long)]
    pub window: Option<String>,
    /// Idle time after which an instance's state is forgotten, e.g. 6h (overrides the config).
    #[arg(long)]
    pub ttl: Option<String>,
    /// A newer AWS ip-ranges.json to use instead of the bundled one (overrides the config).
    #[arg(long)]
    pub aws_ip_ranges: Option<PathBuf>,
    /// Sigma rules (YAML) to run on every event: a file or a directory of `.yml`/`.yaml` files.
    /// Repeatable. Rules for other log sources, or using what is not supported, are refused with
    /// the reason (an error with --strict).
    #[arg(long, value_name = "PATH")]
    pub sigma: Vec<PathBuf>,
    /// Run the 57 SigmaHQ CloudTrail rules bundled with trailhound (DRL 1.1; `data/sigma/`).
    #[arg(long)]
    pub sigma_builtin: bool,
}

/// Where AWS is, for `s3://` inputs and `watch` (else the standard AWS configuration).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AwsArgs {
    /// AWS region (default: from the environment or profile).
    #[arg(long)]
    pub region: Option<String>,
    /// Endpoint URL for S3, SQS and SNS (an S3-compatible store, moto); also `AWS_ENDPOINT_URL`.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// As `trailhound-net` takes it.
    pub fn connect(&self) -> trailhound_net::aws::Connect {
        trailhound_net::aws::Connect {
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        }
    }
}

/// Files larger than this are streamed on the main thread instead of decoded whole by a worker.
const PARALLEL_MAX_BYTES: u64 = 64 << 20;
/// Skip messages printed before they are only counted.
const MAX_SKIP_MESSAGES: u64 = 100;

/// Validated settings and ranges.
pub fn prepare(args: &EngineArgs, strict: bool) -> Result<(Settings, Deferred<Ranges>)> {
    let (settings, ranges_file) = settings(args, strict)?;
    let ranges = ranges(ranges_file.as_deref())?;
    Ok((settings, ranges))
}

/// A new engine that prints the first skips on stderr.
pub fn engine(settings: Settings, ranges: Deferred<Ranges>) -> Engine {
    Engine::new(settings, ranges, print_skips())
}

/// An engine that goes on from a saved state (`raw`: for `enrich`), printing the first skips.
pub fn restore(
    settings: Settings,
    ranges: Deferred<Ranges>,
    raw: bool,
    state: &[u8],
) -> Result<Engine> {
    Engine::restore(settings, ranges, print_skips(), raw, state)
        .context("cannot go on from the state")
}

/// Prints the first [`MAX_SKIP_MESSAGES`] skips on stderr, then only counts them.
fn print_skips() -> Box<dyn FnMut(&Skip) + Send> {
    let printed = Arc::new(AtomicU64::new(0));
    Box::new(move |s: &Skip| {
        let n = printed.fetch_add(1, Ordering::Relaxed);
        if n < MAX_SKIP_MESSAGES {
            eprintln!("trailhound: skipped {s}");
        } else if n == MAX_SKIP_MESSAGES {
            eprintln!("trailhound: more skips are only counted (see the summary)");
        }
    })
}

/// Feeds every input named by `args` to `engine`, with a progress bar on a terminal.
pub fn run(engine: &mut Engine, args: &InputArgs) {
    run_unread(engine, args, None);
}

/// [`run`], without the files an earlier run read (`read`: their [`crate::state::file_key`]s, or
/// `s3://bucket/key` for objects); returns the keys of the inputs this run read and how many it
/// left out.
pub fn run_unread(
    engine: &mut Engine,
    args: &InputArgs,
    read: Option<&std::collections::HashSet<String>>,
) -> (Vec<String>, u64) {
    let (local, urls): (Vec<PathBuf>, Vec<String>) = {
        let mut local = Vec::new();
        let mut urls = Vec::new();
        for p in &args.paths {
            match p.to_str().filter(|s| s.starts_with("s3://")) {
                Some(url) => urls.push(url.to_owned()),
                None => local.push(p.clone()),
            }
        }
        (local, urls)
    };
    let (inputs, walk_errors) = input::discover(&local);
    let mut sources: Vec<Source> = inputs.into_iter().map(Source::Local).collect();
    let remote = if urls.is_empty() {
        None
    } else {
        match list_objects(engine, &args.aws, &urls) {
            Some((remote, objects)) => {
                sources.extend(objects);
                sources.sort_by(|a, b| {
                    crate::remote::order_key(&a.name()).cmp(&crate::remote::order_key(&b.name()))
                });
                Some(remote)
            }
            None => None,
        }
    };
    let mut keys = Vec::new();
    let mut left_out = 0;
    if let Some(read) = read {
        sources.retain(|s| match s.key() {
            Some(k) if read.contains(&k) => {
                left_out += 1;
                false
            }
            Some(k) => {
                keys.push(k);
                true
            }
            None => true,
        });
    }
    for (path, err) in walk_errors {
        engine.skipped_input(Skip {
            input: path.display().to_string().into(),
            position: Position::File,
            reason: SkipReason::IoError,
            message: format!("cannot read: {err}"),
        });
    }
    let progress = progress_bar(args, sources.len() as u64);
    // Objects wait on the network: more of them are fetched at once than there are cores.
    let threads = match remote {
        Some(_) => threads(args).max(REMOTE_FETCHES),
        None => threads(args),
    };
    feed(engine, &sources, remote.as_ref(), &progress, threads);
    progress.finish_and_clear();
    (keys, left_out)
}

/// Objects fetched at once when reading from S3.
const REMOTE_FETCHES: usize = 8;

/// Lists every `s3://` input; a listing that fails is a skip naming the URL and the reason.
fn list_objects(
    engine: &mut Engine,
    aws: &AwsArgs,
    urls: &[String],
) -> Option<(crate::remote::Remote, Vec<Source>)> {
    let remote = match crate::remote::Remote::connect(aws) {
        Ok(r) => r,
        Err(e) => {
            for url in urls {
                engine.skipped_input(Skip {
                    input: url.as_str().into(),
                    position: Position::File,
                    reason: SkipReason::IoError,
                    message: format!("{e:#}"),
                });
            }
            return None;
        }
    };
    let mut objects = Vec::new();
    for url in urls {
        let listed = crate::remote::parse_url(url)
            .ok_or_else(|| "expected s3://bucket/prefix".to_owned())
            .and_then(|(bucket, prefix)| {
                remote
                    .list(bucket, prefix)
                    .map(|l| (bucket, l))
                    .map_err(|e| format!("cannot list: {e}"))
            });
        match listed {
            Ok((bucket, listed)) => objects.extend(
                listed
                    .into_iter()
                    .filter(|o| !o.key.ends_with('/'))
                    .map(|o| Source::Object {
                        bucket: bucket.to_owned(),
                        digest: input::is_digest(Path::new(&o.key)),
                        key: o.key,
                    }),
            ),
            Err(message) => engine.skipped_input(Skip {
                input: url.as_str().into(),
                position: Position::File,
                reason: SkipReason::IoError,
                message,
            }),
        }
    }
    objects.dedup_by(|a, b| a.name() == b.name());
    Some((remote, objects))
}

/// One input: a local file (or stdin), or an S3 object.
enum Source {
    Local(Input),
    Object {
        bucket: String,
        key: String,
        digest: bool,
    },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Local(i) => i.origin.name(),
            Source::Object { bucket, key, .. } => crate::remote::object_url(bucket, key),
        }
    }

    /// What the state remembers it by (none for stdin).
    fn key(&self) -> Option<String> {
        match self {
            Source::Local(Input {
                origin: Origin::File(p),
                ..
            }) => crate::state::file_key(p),
            Source::Local(_) => None,
            Source::Object { .. } => Some(self.name()),
        }
    }

    fn is_digest(&self) -> bool {
        match self {
            Source::Local(i) => i.digest,
            Source::Object { digest, .. } => *digest,
        }
    }
}

/// What a worker made of one input.
enum Work {
    /// A small file or an object, decoded whole.
    Decoded(Decoded),
    /// A digest file, skipped by name.
    Digest,
    /// A large file or stdin: streamed on the engine's thread, with bounded memory.
    Stream,
}

/// Decodes inputs on every core (small files and objects whole, ahead of the engine) and feeds
/// the engine in input order.
fn feed(
    engine: &mut Engine,
    sources: &[Source],
    remote: Option<&crate::remote::Remote>,
    progress: &ProgressBar,
    threads: usize,
) {
    let want = engine.raw_want();
    let decode = |source: &Source| match source {
        s if s.is_digest() => Work::Digest,
        Source::Local(input) => read_small(input, &want),
        Source::Object { bucket, key, .. } => {
            let name: Arc<str> = source.name().into();
            let fetched = remote
                .ok_or_else(|| trailhound_net::aws::CallError {
                    kind: trailhound_net::aws::Failure::Unreachable,
                    message: "no AWS connection".into(),
                })
                .and_then(|r| r.get(bucket, key));
            Work::Decoded(match fetched {
                Ok(bytes) => Decoded::decode_whole(&name, &bytes, &want),
                Err(e) => failed(crate::remote::fetch_skip(name, &e), &want),
            })
        }
    };
    crate::ordered::map(sources, threads, decode, |source, work| {
        match (work, source) {
            (Work::Decoded(d), _) => engine.feed(d),
            (Work::Digest, _) => engine.skipped_input(digest_skip(&source.name())),
            (Work::Stream, Source::Local(input)) => stream(engine, input),
            (Work::Stream, Source::Object { .. }) => {}
        }
        progress.inc(1);
    });
}

/// Threads, the engine's included: `--threads`, or every core this process may run on.
fn threads(args: &InputArgs) -> usize {
    args.threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// The largest read buffer a decoding thread keeps for its next file.
const MAX_KEPT_READ: usize = 4 << 20;

thread_local! {
    /// This thread's file buffer, between files.
    static READ_BUF: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// A small regular file, read whole in one call and decoded in memory (the fast path); a pipe
/// (`<(zcat …)`, a FIFO) or a device is streamed here, and a large file or stdin is left to be
/// streamed by the engine's thread, both with bounded memory. One `open`, one `fstat` and one read
/// per file: nothing else.
fn read_small(input: &Input, want: &RawWant) -> Work {
    let Origin::File(path) = &input.origin else {
        return Work::Stream;
    };
    let name: Arc<str> = input.origin.name().into();
    let opened = File::open(path).and_then(|f| f.metadata().map(|m| (f, m)));
    let (file, meta) = match opened {
        Ok(opened) => opened,
        Err(e) => return Work::Decoded(failed(open_error(name, &e), want)),
    };
    if !meta.is_file() {
        // Read once, here: reopening a pipe would lose what its writer already sent.
        return Work::Decoded(decode_reader(&name, file, want));
    }
    if meta.len() > PARALLEL_MAX_BYTES {
        return Work::Stream;
    }
    let mut buf = READ_BUF.take();
    buf.clear();
    buf.reserve(meta.len() as usize + 1);
    // Capped: a file that grows while it is read is streamed instead.
    let work = match file.take(PARALLEL_MAX_BYTES + 1).read_to_end(&mut buf) {
        Ok(n) if n as u64 <= PARALLEL_MAX_BYTES => {
            Work::Decoded(Decoded::decode_whole(&name, &buf, want))
        }
        Ok(_) => Work::Stream,
        // Streamed instead: the decoder says where the read failed and keeps what came before.
        Err(_) => Work::Decoded(match File::open(path) {
            Ok(file) => decode_reader(&name, file, want),
            Err(e) => failed(open_error(name, &e), want),
        }),
    };
    if buf.capacity() <= MAX_KEPT_READ {
        READ_BUF.set(buf);
    }
    work
}

/// Streams an open file through the robust path.
fn decode_reader(name: &Arc<str>, file: File, want: &RawWant) -> Decoded {
    let (mut reader, gzip) = input::buffered(file);
    Decoded::decode_with(name, &mut reader, gzip, want)
}

/// An input that gave nothing but `skip`.
fn failed(skip: Skip, want: &RawWant) -> Decoded {
    let mut out = Decoded::empty(want);
    out.items.push(Err(skip));
    out
}

fn stream(engine: &mut Engine, input: &Input) {
    let name: Arc<str> = input.origin.name().into();
    match input::open(&input.origin) {
        Ok((mut reader, gzip)) => engine.read(&name, &mut reader, gzip),
        Err(e) => engine.skipped_input(open_error(name, &e)),
    }
}

fn open_error(input: Arc<str>, e: &io::Error) -> Skip {
    Skip {
        input,
        position: Position::File,
        reason: SkipReason::IoError,
        message: format!("cannot open: {e}"),
    }
}

pub fn digest_skip(name: &str) -> Skip {
    Skip {
        input: name.into(),
        position: Position::File,
        reason: SkipReason::DigestFile,
        message: "CloudTrail digest file (integrity data, no events)".into(),
    }
}

fn progress_bar(args: &InputArgs, files: u64) -> ProgressBar {
    if args.no_progress || !io::stderr().is_terminal() || files < 2 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(files);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} files ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// Config file, then command-line overrides, validated; and the ip-ranges file to load, if any.
fn settings(args: &EngineArgs, strict: bool) -> Result<(Settings, Option<PathBuf>)> {
    let (config, dir) = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the config file {}", path.display()))?;
            let config = Config::parse(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?;
            (
                config,
                path.parent().map(Path::to_path_buf).unwrap_or_default(),
            )
        }
        None => (Config::default(), PathBuf::new()),
    };
    let inventory = match &config.instances.inventory {
        Some(p) => {
            let p = dir.join(p);
            Some(std::fs::read_to_string(&p).with_context(|| {
                format!(
                    "cannot read the inventory {} named in the config",
                    p.display()
                )
            })?)
        }
        None => None,
    };
    let mut settings =
        config
            .settings(inventory.as_deref())
            .with_context(|| match &args.config {
                Some(p) => format!("invalid config file {}", p.display()),
                None => "invalid settings".to_owned(),
            })?;
    settings.write_only |= args.write_only;
    if let Some(w) = &args.window {
        settings.window = parse_duration(w)
            .filter(|&ms| ms >= 0)
            .with_context(|| format!("--window {w:?}: expected a duration such as 15m"))?;
    }
    if let Some(t) = &args.ttl {
        settings.ttl = parse_duration(t)
            .filter(|&ms| ms > 0)
            .with_context(|| format!("--ttl {t:?}: expected a duration such as 6h"))?;
    }
    let ranges_file = args
        .aws_ip_ranges
        .clone()
        .or_else(|| config.ranges.aws_ip_ranges.as_ref().map(|p| dir.join(p)));
    settings.sigma = sigma_rules(args, strict)?;
    Ok((settings, ranges_file))
}

/// The Sigma rules of `--sigma` and `--sigma-builtin`: each refused rule is reported with its file,
/// id and reason (and is an error with `--strict`).
fn sigma_rules(args: &EngineArgs, strict: bool) -> Result<Option<Arc<RuleSet>>> {
    if args.sigma.is_empty() && !args.sigma_builtin {
        return Ok(None);
    }
    let mut loaded = Vec::new();
    if args.sigma_builtin {
        loaded.extend(trailhound_core::sigma::builtin());
    }
    for path in &args.sigma {
        let mut files = Vec::new();
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            while let Some(dir) = stack.pop() {
                let entries = std::fs::read_dir(&dir)
                    .with_context(|| format!("--sigma: cannot read {}", dir.display()))?;
                for e in entries {
                    let p = e?.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                        files.push(p);
                    }
                }
            }
            files.sort();
        } else {
            files.push(path.clone());
        }
        for f in files {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("--sigma: cannot read {}", f.display()))?;
            loaded.push(Rule::parse(&text, &f.display().to_string()));
        }
    }
    let mut rules = Vec::new();
    let mut refused = 0;
    for r in loaded {
        match r {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                refused += 1;
                eprintln!("trailhound: sigma: refused {e}");
            }
        }
    }
    if refused > 0 && strict {
        anyhow::bail!("--strict: {refused} Sigma rule(s) refused");
    }
    if refused > 0 {
        eprintln!(
            "trailhound: sigma: {} rules loaded, {refused} refused (the run goes on without them)",
            rules.len()
        );
    }
    Ok(Some(Arc::new(RuleSet::new(rules))))
}

/// The bundled ranges (built on a thread of their own while the run starts), or the bundled ones
/// with AWS's replaced by a newer ip-ranges.json.
fn ranges(aws_file: Option<&Path>) -> Result<Deferred<Ranges>> {
    let Some(path) = aws_file else {
        return Ok(Deferred::spawn(Ranges::builtin));
    };
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the AWS ip-ranges file {}", path.display()))?;
    Ranges::with_aws_json(&bytes).map(Deferred::from).with_context(|| format!("{} is not a usable AWS ip-ranges.json (download a fresh one from https://ip-ranges.amazonaws.com/ip-ranges.json)", path.display()))
}
