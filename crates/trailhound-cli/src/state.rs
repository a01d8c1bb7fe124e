//! `--state DIR`: where a stream cut into runs keeps what it learned, in one redb database
//! (`DIR/trailhound.redb`; `docs/state.md` says why redb).
//!
//! One write transaction per run holds everything that must agree: the engine's state
//! (`Engine::save_state`), the inputs read, a digest of every finding reported, and the run's
//! report itself (the *outbox*). The report is written out only after that commit, then marked
//! delivered in a second one. A run killed at any point therefore leaves either the state before it
//! (the next run does it all again) or the state after it with its report in the outbox (the next
//! run, given nothing new, writes that report again): no event lost, no finding reported twice.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use redb::{Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, TableDefinition};
use sha2::{Digest, Sha256};
use trailhound_core::finding::{Finding, Status};
use trailhound_core::pipeline::Engine;
use trailhound_core::summary::StateCounts;
use trailhound_core::time::{EventTime, HOUR};

/// `format`, `version`, `engine`, `outbox`, `delivered`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The engine's state, in pieces of [`PIECE`] bytes (redb keeps large values less compactly).
const ENGINE: TableDefinition<u32, &[u8]> = TableDefinition::new("engine");
/// Size of a piece of the engine's state.
const PIECE: usize = 1 << 20;
/// Finding id → digest of the finding as last reported.
const REPORTED: TableDefinition<&str, &[u8]> = TableDefinition::new("reported");
/// Input read (canonical path) → the stream's watermark when it was read (ms).
const FILES: TableDefinition<&str, i64> = TableDefinition::new("files");

/// What the database says it is.
const FORMAT: &[u8] = b"trailhound-state";
/// The store's layout version (the engine's state carries its own, `trailhound_core::state`).
const VERSION: &[u8] = b"1";
/// The database's name in the state directory.
pub const FILE_NAME: &str = "trailhound.redb";
/// Inputs are remembered this long (event time behind the watermark): enough for any file
/// CloudTrail delivers late, bounded however long the stream runs.
const FILES_KEPT: i64 = 14 * 24 * HOUR;

/// An opened state directory.
pub struct Store {
    db: Database,
    path: PathBuf,
}

/// What a run starts from.
#[derive(Default)]
pub struct Start {
    /// The engine's state (none on a first run).
    pub engine: Option<Vec<u8>>,
    /// Inputs already read.
    pub files: HashSet<String>,
    /// The report of a run whose output was interrupted (not marked delivered).
    pub outbox: Vec<Finding>,
    /// Where that report starts in an appended output file (`watch --output`): the file is cut
    /// back to this length before the report is written again, so that it holds it once.
    pub outbox_at: Option<u64>,
}

/// What a run leaves.
pub struct End<'a> {
    /// The engine's state.
    pub engine: &'a [u8],
    /// Inputs this run read.
    pub files: &'a [String],
    /// The stream's watermark.
    pub watermark: Option<EventTime>,
    /// Findings this run reports (new or updated), with their digests.
    pub report: &'a [(Finding, [u8; 32])],
    /// Length of the appended output file before this report (see [`Start::outbox_at`]).
    pub output_at: Option<u64>,
}

impl Store {
    /// Opens (or creates) the state in `dir`; `reset` starts over on purpose. A file that is not
    /// a trailhound state, or one of another version, is an error that changes nothing.
    ///
    /// `go_on` makes what the run needs of the last run's [`Start`] (the restored engine) and may
    /// refuse it; when it does, the file is left as it was.
    pub fn open<T>(
        dir: &Path,
        reset: bool,
        go_on: impl FnOnce(&Start) -> Result<T>,
    ) -> Result<(Store, Start, T)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        if reset && path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("--state-reset: cannot remove {}", path.display()))?;
        }
        let fresh = !path.exists();
        let cannot = || {
            format!(
                "cannot open the state {} (damaged, or not a trailhound state; --state-reset starts over)",
                path.display()
            )
        };
        if !fresh {
            // Read-only first: a file that is not ours, or of another version, is refused before
            // anything is written to it (opening for writing marks the file). A state whose last
            // run was killed needs redb's repair, which only a writer does.
            match ReadOnlyDatabase::open(&path) {
                Ok(db) => {
                    check(&db, &path)?;
                    let start = start(&db, &path)?;
                    let made = go_on(&start)?;
                    db.close().with_context(cannot)?;
                    let db = Database::open(&path).map_err(|e| opening(e, &path, cannot()))?;
                    return Ok((Store { db, path }, start, made));
                }
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => bail!(in_use(&path)),
                Err(e) => return Err(anyhow::Error::new(e).context(cannot())),
            }
        }
        let db = if fresh {
            Database::create(&path)
        } else {
            Database::open(&path)
        }
        .map_err(|e| opening(e, &path, cannot()))?;
        let store = Store { db, path };
        if fresh {
            let tx = store.db.begin_write()?;
            {
                let mut meta = tx.open_table(META)?;
                meta.insert("format", FORMAT)?;
                meta.insert("version", VERSION)?;
                tx.open_table(REPORTED)?;
                tx.open_table(ENGINE)?;
                tx.open_table(FILES)?;
            }
            tx.commit()?;
        }
        check(&store.db, &store.path)?;
        let start = start(&store.db, &store.path)?;
        let made = go_on(&start)?;
        Ok((store, start, made))
    }

    /// The digest of `id` as last reported.
    pub fn reported(&self, ids: &[&str]) -> Result<Vec<Option<[u8; 32]>>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(REPORTED)?;
        ids.iter()
            .map(|id| {
                Ok(table
                    .get(*id)?
                    .and_then(|v| <[u8; 32]>::try_from(v.value()).ok()))
            })
            .collect()
    }

    /// Whether a committed run recorded the input `key` as read (within the retention).
    pub fn was_read(&self, key: &str) -> Result<bool> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(FILES)?.get(key)?.is_some())
    }

    /// Makes the run durable: state, inputs, digests and the report, in one transaction.
    pub fn commit(&self, end: &End<'_>) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let mut engine = tx.open_table(ENGINE)?;
            engine.retain(|_, _| false)?;
            for (i, piece) in (0u32..).zip(end.engine.chunks(PIECE)) {
                engine.insert(i, piece)?;
            }
            let findings: Vec<&Finding> = end.report.iter().map(|(f, _)| f).collect();
            meta.insert("outbox", serde_json::to_vec(&findings)?.as_slice())?;
            meta.insert("delivered", b"0".as_slice())?;
            match end.output_at {
                Some(at) => meta.insert("outbox_at", at.to_le_bytes().as_slice())?,
                None => meta.remove("outbox_at")?,
            };
            let mut reported = tx.open_table(REPORTED)?;
            for (f, digest) in end.report {
                reported.insert(f.id.as_str(), digest.as_slice())?;
            }
            let mut files = tx.open_table(FILES)?;
            let mark = end.watermark.map_or(i64::MIN, |t| t.0);
            for name in end.files {
                files.insert(name.as_str(), mark)?;
            }
            if let Some(w) = end.watermark {
                let horizon = w.0.saturating_sub(FILES_KEPT);
                files.retain(|_, at| at >= horizon)?;
            }
        }
        tx.commit()
            .with_context(|| format!("cannot save the state {}", self.path.display()))?;
        Ok(())
    }

    /// Saves `engine`'s state and commits it with the run's inputs and report; returns the
    /// engine state's size in bytes.
    pub fn save_run(
        &self,
        engine: &Engine,
        files: &[String],
        report: &[(Finding, [u8; 32])],
        output_at: Option<u64>,
    ) -> Result<u64> {
        let saved = engine
            .save_state()
            .map_err(|e| anyhow::anyhow!("cannot save the state: {e}"))?;
        self.commit(&End {
            engine: &saved,
            files,
            watermark: engine.watermark(),
            report,
            output_at,
        })?;
        Ok(saved.len() as u64)
    }

    /// The report of the last commit has been written out.
    pub fn delivered(&self) -> Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(META)?.insert("delivered", b"1".as_slice())?;
        tx.commit()?;
        Ok(())
    }

    /// Bytes on disk.
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

/// A state another process holds (redb's file lock): one process per state directory.
fn in_use(path: &Path) -> String {
    format!(
        "the state {} is in use by another trailhound process (one scan, enrich or watch per state directory)",
        path.display()
    )
}

fn opening(e: redb::DatabaseError, path: &Path, cannot: String) -> anyhow::Error {
    match e {
        redb::DatabaseError::DatabaseAlreadyOpen => anyhow::anyhow!(in_use(path)),
        e => anyhow::Error::new(e).context(cannot),
    }
}

/// What the last run left.
fn start(db: &impl ReadableDatabase, path: &Path) -> Result<Start> {
    let tx = db.begin_read()?;
    let meta = tx.open_table(META)?;
    let mut engine: Option<Vec<u8>> = None;
    for row in tx.open_table(ENGINE)?.iter()? {
        let (_, piece) = row?;
        engine
            .get_or_insert_with(Vec::new)
            .extend_from_slice(piece.value());
    }
    let delivered = meta.get("delivered")?.is_none_or(|v| v.value() == b"1");
    let outbox = match meta.get("outbox")? {
        Some(v) if !delivered => serde_json::from_slice(v.value())
            .with_context(|| format!("the state {} is damaged (outbox)", path.display()))?,
        _ => Vec::new(),
    };
    let outbox_at = match meta.get("outbox_at")? {
        Some(v) if !delivered => <[u8; 8]>::try_from(v.value()).ok().map(u64::from_le_bytes),
        _ => None,
    };
    let mut files = HashSet::new();
    for row in tx.open_table(FILES)?.iter()? {
        let (k, _) = row?;
        files.insert(k.value().to_owned());
    }
    Ok(Start {
        engine,
        files,
        outbox,
        outbox_at,
    })
}

/// Refuses a database that is not a trailhound state of this version.
fn check(db: &impl ReadableDatabase, path: &Path) -> Result<()> {
    let what = |e: &dyn std::fmt::Display| {
        format!(
            "{} is not a trailhound state ({e}); --state-reset starts over",
            path.display()
        )
    };
    let tx = db.begin_read()?;
    let meta = tx.open_table(META).map_err(|e| anyhow::anyhow!(what(&e)))?;
    let get = |k: &str| -> Result<Option<Vec<u8>>> { Ok(meta.get(k)?.map(|v| v.value().to_vec())) };
    if get("format")?.as_deref() != Some(FORMAT) {
        bail!(what(&"no trailhound format mark"));
    }
    let version = get("version")?.unwrap_or_default();
    if version != VERSION {
        bail!(
            "{} was written by a trailhound with state layout version {}; this one reads version {} (use the trailhound that wrote it, or --state-reset)",
            path.display(),
            String::from_utf8_lossy(&version),
            String::from_utf8_lossy(VERSION)
        );
    }
    Ok(())
}

/// What of a checkpoint's findings is to be reported: those never reported (`new`) and those
/// changed since (`updated`), with their digests; unchanged ones are counted in `counts`.
pub fn changes(
    store: &Store,
    findings: Vec<Finding>,
    counts: &mut StateCounts,
) -> Result<Vec<(Finding, [u8; 32])>> {
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let before = store.reported(&ids)?;
    let mut report = Vec::new();
    for (mut f, prev) in findings.into_iter().zip(before) {
        let digest = digest(&f);
        f.status = match prev {
            None => Some(Status::New),
            Some(p) if p != digest => Some(Status::Updated),
            Some(_) => {
                counts.findings_unchanged += 1;
                continue;
            }
        };
        report.push((f, digest));
    }
    Ok(report)
}

/// A finding's digest: what it says, without its `status`.
pub fn digest(f: &Finding) -> [u8; 32] {
    let mut f = f.clone();
    f.status = None;
    let bytes = serde_json::to_vec(&f).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

/// `DIR/.NAME.trailhound-tmp` for `DIR/NAME`: where an output is written before it is renamed
/// over its name.
pub fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.trailhound-tmp"))
}

/// The key an input is remembered by: its canonical path.
pub fn file_key(path: &Path) -> Option<String> {
    std::fs::canonicalize(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}
