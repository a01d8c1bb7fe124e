//! `trailhound enrich PATH…`: every event, unchanged except for redacted secrets, plus an
//! `enrichment` object (SPEC §3) — as NDJSON or an Elasticsearch/OpenSearch `_bulk` body.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use trailhound_core::enrich::{self, Enricher};

use crate::drive::{self, InputArgs};

/// Output forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One enriched event per line.
    Ndjson,
    /// Elasticsearch/OpenSearch `_bulk` body (`curl -H 'Content-Type: application/x-ndjson' --data-binary @file …/_bulk`).
    EsBulk,
}

/// Write every event with its enrichment.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Ndjson)]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Index name in `es-bulk` action lines (match the shipped index template's pattern `trailhound-cloudtrail*`).
    #[arg(long, default_value = "trailhound-cloudtrail")]
    pub index: String,
}

/// Runs `enrich`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (settings, ranges) = drive::prepare(&args.input)?;
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(BufWriter::with_capacity(
            1 << 20,
            File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?,
        )),
        None => Box::new(BufWriter::with_capacity(1 << 20, io::stdout())),
    };
    let format = match args.format {
        Format::Ndjson => enrich::Format::Ndjson,
        Format::EsBulk => enrich::Format::EsBulk,
    };
    let mut engine =
        drive::engine(settings, ranges).with_enrich(Enricher::new(format, &args.index), out);
    drive::run(&mut engine, &args.input);
    let (_, summary) = engine.finish();
    if let Some(err) = &summary.enrich_error {
        if err.contains("Broken pipe") {
            return Ok(ExitCode::SUCCESS);
        }
        bail!("cannot write the enriched events: {err}");
    }
    eprintln!("{summary}");
    if let Some(path) = &args.input.summary_json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("cannot write the summary to {}", path.display()))?;
    }
    if args.input.strict && summary.skipped_total() > 0 {
        eprintln!(
            "trailhound: --strict: {} inputs or records were skipped",
            summary.skipped_total()
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
