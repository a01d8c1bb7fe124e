//! `trailhound scan PATH…`: analyse CloudTrail files, directories or stdin and report findings.
//!
//! Inputs are driven through the engine by `drive`; this file chooses the output and exit code.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::ValueEnum;
use trailhound_core::finding::{self, Finding, Severity, Status};
use trailhound_core::pipeline::Engine;
use trailhound_core::summary::{StateCounts, Summary};
use trailhound_core::track::Explanation;

use crate::drive::{self, InputArgs};
use crate::sink;
use crate::state;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Table,
    /// One finding per line (JSON), for machines and SIEMs.
    Jsonl,
    /// One OCSF 1.1 Detection Finding (class 2004) per line.
    Ocsf,
    /// One self-contained HTML page: overview, filterable findings, chain graphs (use `--output`).
    Html,
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
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write findings here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is reported.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Explain a silence: print to stderr what was learned about this instance (`i-…`) and why
    /// each of its addresses was accepted or not. Repeatable.
    #[arg(long, value_name = "INSTANCE_ID")]
    pub explain: Vec<String>,
}

/// Runs `scan`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (mut settings, ranges) = drive::prepare(&args.input.engine, args.input.strict)?;
    if let Some(bad) = args
        .explain
        .iter()
        .find(|i| !trailhound_core::event::is_instance_id(i))
    {
        anyhow::bail!("--explain {bad:?}: expected an instance id such as i-0123456789abcdef0");
    }
    settings.explain.clone_from(&args.explain);
    let (findings, summary, explanations) = match &args.input.state {
        Some(dir) => {
            let (store, start, engine) =
                state::Store::open(dir, args.input.state_reset, |start| match &start.engine {
                    Some(bytes) => drive::restore(settings, ranges, false, bytes),
                    None => Ok(drive::engine(settings, ranges)),
                })?;
            let (findings, summary, explanations) = stateful(&store, start, engine, &args.input)?;
            // Written out only once the state (and this report, in its outbox) is durable.
            if !write_output(&args, &findings, &summary, true)? {
                return Ok(ExitCode::SUCCESS);
            }
            store.delivered()?;
            (findings, summary, explanations)
        }
        None => {
            let mut engine = drive::engine(settings, ranges);
            drive::run(&mut engine, &args.input);
            let (findings, summary, explanations) = engine.finish_explained();
            if !write_output(&args, &findings, &summary, false)? {
                return Ok(ExitCode::SUCCESS);
            }
            (findings, summary, explanations)
        }
    };
    for e in &explanations {
        eprintln!("{e}");
    }
    eprintln!("{summary}");
    if let Some(path) = &args.input.summary_json {
        let text = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    if args.input.strict && summary.skipped_total() > 0 {
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

/// A run with durable state: goes on from the store, reports what is new or updated (and what an
/// interrupted run did not get to write), and commits the state with that report.
fn stateful(
    store: &state::Store,
    start: state::Start,
    mut engine: Engine,
    input: &InputArgs,
) -> Result<(Vec<Finding>, Summary, Vec<Explanation>)> {
    let (files, left_out) = drive::run_unread(&mut engine, input, Some(&start.files));
    let (findings, mut summary) = engine.checkpoint();
    let mut counts = StateCounts {
        files_already_read: left_out,
        events_held: engine.held_events(),
        ..StateCounts::default()
    };
    let mut report = state::changes(store, findings, &mut counts)?;
    // An interrupted run's report goes out now, merged with this run's (a finding the reader never
    // saw stays `new`).
    for old in start.outbox {
        match report.iter_mut().find(|(f, _)| f.id == old.id) {
            Some((f, _)) => {
                if old.status == Some(Status::New) {
                    f.status = Some(Status::New);
                }
            }
            None => {
                counts.findings_redelivered += 1;
                let digest = state::digest(&old);
                report.push((old, digest));
            }
        }
    }
    for (f, _) in &report {
        match f.status {
            Some(Status::New) => counts.findings_new += 1,
            _ => counts.findings_updated += 1,
        }
    }
    report.sort_by(|a, b| finding::order(&a.0, &b.0));
    counts.engine_state_bytes = store.save_run(&engine, &files, &report, None)?;
    counts.store_bytes = store.size();
    summary.state = Some(counts);
    let explanations = engine.explanations();
    Ok((
        report.into_iter().map(|(f, _)| f).collect(),
        summary,
        explanations,
    ))
}

/// Writes the findings; false when the reader went away (a closed pipe). With `atomic`, a file is
/// written beside its name and renamed over it, so that writing the same report again (after an
/// interruption) gives the same file.
fn write_output(
    args: &Args,
    findings: &[Finding],
    summary: &Summary,
    atomic: bool,
) -> Result<bool> {
    let written = match &args.output {
        Some(path) if atomic => {
            let tmp = state::temp_beside(path);
            let file = File::create(&tmp)
                .with_context(|| format!("cannot create the output file {}", tmp.display()))?;
            let mut w = BufWriter::new(file);
            write_findings(&mut w, args.format, findings, summary)
                .and_then(|()| w.into_inner().map_err(|e| e.into_error()))
                .and_then(|f| f.sync_all())
                .and_then(|()| std::fs::rename(&tmp, path))
        }
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?;
            write_findings(&mut BufWriter::new(file), args.format, findings, summary)
        }
        None => write_findings(&mut io::stdout().lock(), args.format, findings, summary),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        other => other.context("cannot write findings").map(|()| true),
    }
}

fn write_findings(
    out: &mut dyn Write,
    format: Format,
    findings: &[Finding],
    summary: &Summary,
) -> io::Result<()> {
    match format {
        Format::Html => sink::html::write(out, findings, summary),
        Format::Jsonl => sink::jsonl::write(out, findings),
        Format::Ocsf => sink::ocsf::write(out, findings),
        Format::Table => sink::table::write(out, findings),
    }
}
