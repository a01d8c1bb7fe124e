//! `trailhound scan PATH…`: analyse CloudTrail files, directories or stdin and report findings.
//!
//! Files are decoded in parallel, in batches, and their events handed to the engine in input order,
//! so findings are byte-identical whatever the thread count. Large files and stdin stream.
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use trailhound_core::config::{Config, Settings};
use trailhound_core::decode::{self, Position, Sink, Skip, SkipReason};
use trailhound_core::event::Event;
use trailhound_core::finding::Severity;
use trailhound_core::input::{self, Input, Origin};
use trailhound_core::pipeline::Engine;
use trailhound_core::ranges::Ranges;
use trailhound_core::time::parse_duration;

use crate::sink;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// One finding per line (JSON), for machines and SIEMs.
    Jsonl,
}

/// Severity threshold for `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding.
    Low,
    /// Medium and above.
    Medium,
    /// High and above.
    High,
    /// Critical only.
    Critical,
}

/// Analyse CloudTrail and report stolen or misused credentials.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// CloudTrail files (.json, .json.gz, NDJSON, arrays), directories (walked recursively), or `-` for stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write findings here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
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
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Also write the run summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
    /// Exit 2 when anything in the input was skipped.
    #[arg(long)]
    pub strict: bool,
    /// Decoding threads (default: all cores). Findings do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Files larger than this are streamed on the main thread instead of decoded in a parallel batch.
const PARALLEL_MAX_BYTES: u64 = 64 << 20;
/// Files decoded per parallel batch.
const BATCH: usize = 64;
/// Skip messages printed before they are only counted.
const MAX_SKIP_MESSAGES: u64 = 100;

/// Runs `scan`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (settings, ranges_file) = settings(&args)?;
    let ranges = ranges(ranges_file.as_deref())?;
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .context("cannot start the decoding threads")?;
    }
    let (inputs, walk_errors) = input::discover(&args.paths);
    let printed = Arc::new(AtomicU64::new(0));
    let on_skip = {
        let printed = printed.clone();
        Box::new(move |s: &Skip| {
            let n = printed.fetch_add(1, Ordering::Relaxed);
            if n < MAX_SKIP_MESSAGES {
                eprintln!("trailhound: skipped {s}");
            } else if n == MAX_SKIP_MESSAGES {
                eprintln!("trailhound: more skips are only counted (see the summary)");
            }
        })
    };
    let mut engine = Engine::new(settings, ranges, on_skip);
    for (path, err) in walk_errors {
        engine.skipped_input(Skip {
            input: path.display().to_string().into(),
            position: Position::File,
            reason: SkipReason::IoError,
            message: format!("cannot read: {err}"),
        });
    }
    let progress = progress_bar(&args, inputs.len() as u64);
    feed(&mut engine, &inputs, &progress);
    progress.finish_and_clear();
    let (findings, summary) = engine.finish();

    let written = match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?;
            write_findings(&mut BufWriter::new(file), args.format, &findings)
        }
        None => write_findings(&mut io::stdout().lock(), args.format, &findings),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("cannot write findings")?,
    }
    eprintln!("{summary}");
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    if args.strict && summary.skipped_total() > 0 {
        eprintln!(
            "trailhound: --strict: {} inputs or records were skipped",
            summary.skipped_total()
        );
        return Ok(ExitCode::from(2));
    }
    let threshold = args.fail_on.map(|f| match f {
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
        FailOn::Critical => Severity::Critical,
    });
    if threshold.is_some_and(|t| findings.iter().any(|f| f.severity >= t)) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_findings(
    out: &mut dyn Write,
    format: Format,
    findings: &[trailhound_core::finding::Finding],
) -> io::Result<()> {
    match format {
        Format::Jsonl => sink::jsonl::write(out, findings),
        Format::Table => sink::table::write(out, findings),
    }
}

/// Decodes inputs (small files in parallel batches) and feeds the engine in input order.
fn feed(engine: &mut Engine, inputs: &[Input], progress: &ProgressBar) {
    let mut i = 0;
    while i < inputs.len() {
        let input = &inputs[i];
        if input.digest {
            engine.skipped_input(digest_skip(input));
            progress.inc(1);
            i += 1;
            continue;
        }
        if !is_small_file(input) {
            stream(engine, input);
            progress.inc(1);
            i += 1;
            continue;
        }
        let end = (i..inputs.len())
            .take(BATCH)
            .take_while(|&j| !inputs[j].digest && is_small_file(&inputs[j]))
            .last()
            .map_or(i + 1, |j| j + 1);
        let decoded: Vec<Vec<Result<Event, Skip>>> =
            inputs[i..end].par_iter().map(decode_whole).collect();
        for items in decoded {
            engine.count_file();
            for item in items {
                match item {
                    Ok(ev) => engine.event(ev),
                    Err(skip) => engine.skip(skip),
                }
            }
            progress.inc(1);
        }
        i = end;
    }
}

fn is_small_file(input: &Input) -> bool {
    match &input.origin {
        Origin::File(p) => std::fs::metadata(p).is_ok_and(|m| m.len() <= PARALLEL_MAX_BYTES),
        Origin::Stdin => false,
    }
}

fn decode_whole(input: &Input) -> Vec<Result<Event, Skip>> {
    let name: Arc<str> = input.origin.name().into();
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    match input::open(&input.origin) {
        Ok((mut reader, gzip)) => decode::decode(&name, &mut reader, gzip, &mut out),
        Err(e) => out.push(Err(open_error(name, &e))),
    }
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

fn digest_skip(input: &Input) -> Skip {
    Skip {
        input: input.origin.name().into(),
        position: Position::File,
        reason: SkipReason::DigestFile,
        message: "CloudTrail digest file (integrity data, no events)".into(),
    }
}

fn progress_bar(args: &Args, files: u64) -> ProgressBar {
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
fn settings(args: &Args) -> Result<(Settings, Option<PathBuf>)> {
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
    Ok((settings, ranges_file))
}

/// The bundled ranges, or the bundled ones with AWS's replaced by a newer ip-ranges.json.
fn ranges(aws_file: Option<&Path>) -> Result<Ranges> {
    let Some(path) = aws_file else {
        return Ok(Ranges::builtin());
    };
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the AWS ip-ranges file {}", path.display()))?;
    Ranges::with_aws_json(&bytes).with_context(|| format!("{} is not a usable AWS ip-ranges.json (download a fresh one from https://ip-ranges.amazonaws.com/ip-ranges.json)", path.display()))
}
