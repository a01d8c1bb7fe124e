//! `trailhound enrich PATH…`: every event, unchanged except for redacted secrets, plus an
//! `enrichment` object (SPEC §3) — as NDJSON or an Elasticsearch/OpenSearch `_bulk` body.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use trailhound_core::enrich::{self, Enricher};
use trailhound_core::summary::StateCounts;

use crate::drive::{self, InputArgs};
use crate::state;

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
    let (settings, ranges) = drive::prepare(&args.input.engine, args.input.strict)?;
    let (store, engine) = match &args.input.state {
        Some(dir) => {
            let (store, start, engine) =
                state::Store::open(dir, args.input.state_reset, |start| match &start.engine {
                    Some(bytes) => drive::restore(settings, ranges, true, bytes),
                    None => Ok(drive::engine(settings, ranges)),
                })?;
            (Some((store, start)), engine)
        }
        None => (None, drive::engine(settings, ranges)),
    };
    // With state, a file is written beside its name and renamed over it once complete.
    let target = match (&args.output, &store) {
        (Some(path), Some(_)) => Some(state::temp_beside(path)),
        (path, _) => path.clone(),
    };
    let out: Box<dyn Write + Send> = match &target {
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
    let enricher = Enricher::new(format, &args.index);
    let summary = match store {
        Some((store, start)) => {
            let mut engine = engine.with_enrich(enricher, out);
            let (files, left_out) = drive::run_unread(&mut engine, &args.input, Some(&start.files));
            let (_, mut summary) = engine.checkpoint();
            if let (Some(tmp), Some(path)) = (&target, &args.output) {
                // A run that read nothing new leaves the last output as it was.
                if files.is_empty() && left_out > 0 {
                    let _ = std::fs::remove_file(tmp);
                } else if summary.enrich_error.is_none() {
                    std::fs::rename(tmp, path)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
            }
            let saved = store.save_run(&engine, &files, &[], None)?;
            summary.state = Some(StateCounts {
                files_already_read: left_out,
                events_held: engine.held_events(),
                engine_state_bytes: saved,
                store_bytes: store.size(),
                ..StateCounts::default()
            });
            summary
        }
        None => {
            let mut engine = engine.with_enrich(enricher, out);
            drive::run(&mut engine, &args.input);
            engine.finish().1
        }
    };
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
