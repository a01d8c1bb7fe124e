//! `trailhound report --findings FILE [--summary FILE] --output report.html`: the HTML report
//! (issue 16) for findings already written by `scan --format jsonl` (and its `--summary-json`).
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::report;

/// Write the HTML report of a findings file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Findings as JSON Lines (`trailhound scan … --format jsonl --output FILE`); `-` for stdin.
    #[arg(long)]
    pub findings: PathBuf,
    /// The run summary (`trailhound scan … --summary-json FILE`), for the overview.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// The page to write.
    #[arg(long, short)]
    pub output: PathBuf,
    /// The page's title.
    #[arg(long, default_value = "trailhound report")]
    pub title: String,
}

/// Runs `report`.
pub fn run(args: Args) -> Result<ExitCode> {
    let findings = report::read_findings(&args.findings)?;
    let summary = args
        .summary
        .as_deref()
        .map(report::read_summary)
        .transpose()?;
    let page = report::render(&report::Input {
        title: args.title,
        findings: &findings,
        summary: summary.as_ref(),
        investigation: None,
        story_rows: Vec::new(),
    })?;
    std::fs::write(&args.output, page)
        .with_context(|| format!("cannot write the report to {}", args.output.display()))?;
    eprintln!(
        "trailhound: wrote {} ({} findings)",
        args.output.display(),
        findings.len()
    );
    Ok(ExitCode::SUCCESS)
}
