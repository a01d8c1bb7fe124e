//! `trailhound investigate PATH… --key K | --instance I | --principal ARN`: one credential's whole
//! story (issue 16) — where it came from, every call it made (with the engine's enrichment), every
//! credential it created or assumed, followed recursively, and the findings that touch any of them.
//! What responders otherwise do with jq or Athena over the same files.
//!
//! The logs go through the same engine as `scan` and `enrich` (so the findings are `scan`'s and the
//! records are redacted as `enrich` writes them); `investigate` keeps what belongs to the story.
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use trailhound_core::enrich::{self, Enricher};

use crate::drive::{self, InputArgs};
use crate::investigate::{self, Collector, Seed, Story, Tap};
use crate::report;

/// Output forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a terminal: the credential tree, every call, the findings.
    Table,
    /// One JSON object per line (credentials, events with their enriched record, findings).
    Jsonl,
    /// One self-contained HTML page, in the report's style.
    Html,
}

/// Tell one credential's story.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// The access key to follow (`ASIA…` session or `AKIA…` user key).
    #[arg(long, value_name = "ACCESS_KEY_ID", group = "seed")]
    pub key: Option<String>,
    /// Every credential delivered to this EC2 instance (`i-…`).
    #[arg(long, value_name = "INSTANCE_ID", group = "seed")]
    pub instance: Option<String>,
    /// Every credential used by this principal (user, role or assumed-role ARN).
    #[arg(long, value_name = "ARN", group = "seed")]
    pub principal: Option<String>,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

/// Validates the seed.
fn seed(args: &Args) -> Result<Seed> {
    let valid_key = |k: &str| {
        (k.starts_with("ASIA") || k.starts_with("AKIA"))
            && (16..=128).contains(&k.len())
            && k.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    match (&args.key, &args.instance, &args.principal) {
        (Some(k), None, None) if valid_key(k) => Ok(Seed::Key(k.clone())),
        (Some(k), None, None) => {
            bail!("--key {k:?}: expected an access key id such as ASIAEXAMPLE1234567890 or AKIA…")
        }
        (None, Some(i), None) if trailhound_core::event::is_instance_id(i) => {
            Ok(Seed::Instance(i.clone()))
        }
        (None, Some(i), None) => {
            bail!("--instance {i:?}: expected an instance id such as i-0123456789abcdef0")
        }
        (None, None, Some(p)) if p.starts_with("arn:") => Ok(Seed::Principal(p.clone())),
        (None, None, Some(p)) => {
            bail!(
                "--principal {p:?}: expected an ARN such as arn:aws:iam::111122223333:role/deploy"
            )
        }
        _ => {
            bail!("say what to investigate: --key ACCESS_KEY_ID, --instance i-… or --principal ARN")
        }
    }
}

/// Runs `investigate`.
pub fn run(args: Args) -> Result<ExitCode> {
    let seed = seed(&args)?;
    let (settings, ranges) = drive::prepare(&args.input.engine, args.input.strict)?;
    let collector = Arc::new(Mutex::new(Collector::new(seed.clone())));
    let mut engine = drive::engine(settings, ranges).with_enrich(
        Enricher::new(enrich::Format::Ndjson, "trailhound"),
        Box::new(Tap(Arc::clone(&collector))),
    );
    drive::run(&mut engine, &args.input);
    let (findings, summary) = engine.finish();
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    let collector = Arc::try_unwrap(collector)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .context("the engine still holds the collector")?;
    let story = collector.finish(&findings);
    eprintln!("{summary}");
    let written = match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the output file {}", path.display()))?;
            write(
                &mut BufWriter::new(file),
                args.format,
                &seed,
                &story,
                &summary,
            )
        }
        None => write(
            &mut io::stdout().lock(),
            args.format,
            &seed,
            &story,
            &summary,
        ),
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other
            .context("cannot write the story")
            .map(|()| ExitCode::SUCCESS),
    }
}

fn write(
    out: &mut dyn Write,
    format: Format,
    seed: &Seed,
    story: &Story,
    summary: &trailhound_core::summary::Summary,
) -> io::Result<()> {
    match format {
        Format::Table => investigate::table(out, seed, story),
        Format::Jsonl => investigate::jsonl(out, story),
        Format::Html => {
            let summary = serde_json::to_value(summary)?;
            let inv = serde_json::json!({
                "seed": seed.describe(),
                "credentials": story.credentials,
                "events": story.events.len(),
                "missed_early": story.missed_early,
                "service_only": story.service_only,
            });
            let page = report::render(&report::Input {
                title: format!("trailhound investigate: {}", seed.describe()),
                findings: &story.findings,
                summary: Some(&summary),
                investigation: Some(inv),
                story_rows: story.events.clone(),
            })
            .map_err(io::Error::other)?;
            out.write_all(page.as_bytes())?;
            out.flush()
        }
    }
}
