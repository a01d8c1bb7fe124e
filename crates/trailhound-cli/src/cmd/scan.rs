//! `trailhound scan PATH…`: analyse CloudTrail files, directories or stdin and report findings.
//!
//! Inputs are driven through the engine by `drive`; this file chooses the output and exit code.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::ValueEnum;
use trailhound_core::finding::{Finding, Severity};
use trailhound_core::summary::Summary;

use crate::drive::{self, InputArgs};
use crate::sink;

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
    let (mut settings, ranges) = drive::prepare(&args.input)?;
    if let Some(bad) = args
        .explain
        .iter()
        .find(|i| !trailhound_core::event::is_instance_id(i))
    {
        anyhow::bail!("--explain {bad:?}: expected an instance id such as i-0123456789abcdef0");
    }
    settings.explain.clone_from(&args.explain);
    let mut engine = drive::engine(settings, ranges);
    drive::run(&mut engine, &args.input);
    let (findings, summary, explanations) = engine.finish_explained();
    let written = match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?;
            write_findings(&mut BufWriter::new(file), args.format, &findings, &summary)
        }
        None => write_findings(&mut io::stdout().lock(), args.format, &findings, &summary),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        other => other.context("cannot write findings")?,
    }
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
