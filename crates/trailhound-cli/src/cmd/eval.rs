//! `trailhound eval`: score a scan's findings against a simulation's ground truth.
//!
//! Exit codes: 0 every threshold met, 1 a threshold missed (a required detection missed, precision or
//! recall too low, too many false positives), 2 error.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use trailhound_sim::eval::{self, Gate, Options, Severity, Truth};

/// Score findings against a simulation's ground truth.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The simulation's output directory (or its `ground-truth/` folder).
    #[arg(long)]
    pub truth: PathBuf,
    /// Findings as JSON Lines (`trailhound scan … --format jsonl --output FILE`).
    #[arg(long)]
    pub findings: PathBuf,
    /// Ignore findings below this severity (low, medium, high, critical).
    #[arg(long, default_value = "low")]
    pub min_severity: String,
    /// Finding types whose every expected detection is required (comma-separated; `Prefix.*` allowed).
    #[arg(long, value_delimiter = ',')]
    pub require_types: Vec<String>,
    /// Fail below this precision (0–1).
    #[arg(long)]
    pub min_precision: Option<f64>,
    /// Fail below this recall over every expected detection (0–1).
    #[arg(long)]
    pub min_recall: Option<f64>,
    /// Fail with more false positives than this.
    #[arg(long)]
    pub max_false_positives: Option<u64>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs `eval`.
pub fn run(args: Args) -> Result<ExitCode> {
    let Some(min_severity) = Severity::parse(&args.min_severity) else {
        bail!(
            "--min-severity must be low, medium, high or critical (got {:?})",
            args.min_severity
        );
    };
    for (flag, v) in [
        ("--min-precision", args.min_precision),
        ("--min-recall", args.min_recall),
    ] {
        if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            bail!("{flag} must be between 0 and 1");
        }
    }
    let truth = Truth::load(&args.truth).with_context(|| {
        format!(
            "cannot load the ground truth of {} (written by `trailhound simulate`)",
            args.truth.display()
        )
    })?;
    let text = std::fs::read_to_string(&args.findings)
        .with_context(|| format!("cannot read the findings file {}", args.findings.display()))?;
    let (findings, bad) = eval::parse_findings(&text);
    for (line, reason) in &bad {
        eprintln!(
            "{}:{line}: not a finding: {reason}",
            args.findings.display()
        );
    }
    let opts = Options {
        min_severity,
        require_types: args.require_types.clone(),
    };
    let report = eval::evaluate(&truth, &findings, &opts);
    print!("{}", report.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let violations = report.violations(&Gate {
        min_precision: args.min_precision,
        min_recall: args.min_recall,
        max_false_positives: args.max_false_positives,
    });
    for v in &violations {
        eprintln!("trailhound eval: FAIL: {v}");
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
