//! `trailhound simulate`: write a realistic organisation's CloudTrail with labelled attacks, and its
//! ground truth, under `--out`. Arguments are validated into `simulate::Settings` before any work.
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailhound_sim::simulate::{self, Format as CoreFormat, Settings, TRUTH_DIR};

/// Output form.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// CloudTrail's S3 layout: `AWSLogs/<org>/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz`.
    S3,
    /// One NDJSON stream, `events.ndjson.gz`.
    Ndjson,
}

/// Write a synthetic organisation's CloudTrail with labelled attacks, and its ground truth.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output directory (logs under `AWSLogs/`, ground truth under `ground-truth/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed and arguments give byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// About how many events to write; the organisation is sized for it.
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    /// Simulated days.
    #[arg(long, default_value_t = 1.0)]
    pub days: f64,
    /// Accounts in the organisation (management, shared services, prod, staging, dev, data, then more).
    #[arg(long, default_value_t = 6)]
    pub accounts: usize,
    /// Output form.
    #[arg(long, value_enum, default_value_t = Format::S3)]
    pub format: Format,
    /// First simulated second (UTC, `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DD`).
    #[arg(long, default_value = "2026-10-05T00:00:00Z")]
    pub start: String,
    /// Rounds of attack scenarios (each round runs every kind once); default one per 5 million events.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Also write hourly CloudTrail digest files (costs about a fifth of the speed: SHA-256 of every file).
    #[arg(long)]
    pub digests: bool,
    /// gzip level of the log files (1 fastest … 9 smallest).
    #[arg(long, default_value_t = 1)]
    pub gzip_level: u32,
    /// Replace an earlier simulation in `--out` (removes its `AWSLogs/`, `ground-truth/`, `events.ndjson.gz`).
    #[arg(long)]
    pub force: bool,
}

fn settings(a: &Args) -> Result<Settings> {
    if !(3..=500).contains(&a.accounts) {
        bail!("--accounts must be between 3 and 500 (got {})", a.accounts);
    }
    if !(a.days > 0.0 && a.days <= 3660.0) {
        bail!(
            "--days must be more than 0 and at most 3660 (got {})",
            a.days
        );
    }
    if a.events == 0 {
        bail!("--events must be at least 1");
    }
    if a.gzip_level > 9 {
        bail!("--gzip-level must be 0 to 9 (got {})", a.gzip_level);
    }
    let Some(start) = simulate::parse_iso(&a.start) else {
        bail!(
            "--start must look like 2026-10-05T00:00:00Z (got {:?})",
            a.start
        );
    };
    Ok(Settings {
        out: a.out.clone(),
        seed: a.seed,
        events: a.events,
        days: a.days,
        accounts: a.accounts,
        format: match a.format {
            Format::S3 => CoreFormat::S3,
            Format::Ndjson => CoreFormat::Ndjson,
        },
        start,
        gzip_level: a.gzip_level,
        digests: a.digests,
        rounds: a.rounds,
    })
}

/// What an earlier simulation left in `out`.
fn earlier(out: &Path) -> Vec<PathBuf> {
    ["AWSLogs", TRUTH_DIR, "events.ndjson.gz"]
        .iter()
        .map(|p| out.join(p))
        .filter(|p| p.exists())
        .collect()
}

/// Runs `simulate`.
pub fn run(args: Args) -> Result<ExitCode> {
    let s = settings(&args)?;
    let old = earlier(&s.out);
    if !old.is_empty() {
        if !args.force {
            bail!("{} already holds a simulation ({}); choose another --out or add --force to replace it", s.out.display(), old[0].display());
        }
        for p in old {
            let removed = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            removed.with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(&s.out)
        .with_context(|| format!("cannot create {}", s.out.display()))?;
    let t0 = Instant::now();
    let r = simulate::run(&s)
        .with_context(|| format!("cannot write the simulation into {}", s.out.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    let st = &r.stats;
    eprintln!(
        "trailhound simulate: {} events ({} records: {} late, {} duplicates) in {} files, {:.1} MB, {:.1} s ({:.0} events/s)",
        st.events,
        st.records,
        st.late,
        st.duplicates,
        st.files,
        st.bytes as f64 / 1e6,
        secs,
        st.events as f64 / secs.max(1e-9)
    );
    eprintln!(
        "  organisation {}: {} accounts, {} instances; {} attack scenarios, {} malicious events",
        r.org_id, r.accounts, r.instances, r.scenarios, st.malicious
    );
    eprintln!("  ground truth: {}", s.out.join(TRUTH_DIR).display());
    Ok(ExitCode::SUCCESS)
}
