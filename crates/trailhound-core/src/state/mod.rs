//! Durable state: the engine's state as data, so that a stream cut into runs (`--state`) gives the
//! same findings as one run. The engine writes and reads bytes; where they are kept (a transactional
//! store, never a file rewritten in place) is the caller's (the CLI's `state` module).
//!
//! What is kept is everything that changes findings: the reorder window's held events and
//! remembered ids, the event held back by the stages, the tracker (instances, keys, addresses,
//! lineage, touches) and the detectors (drafts of findings, learned clients and chain paths,
//! suspicious sessions). Caches (parsed user agents, interned strings) and configuration (the
//! inventory, allow-lists, `--explain`) are rebuilt from the run's settings. Every map is bounded
//! by the TTLs and caps the engine already has, so the state's size follows what is tracked, not
//! how many events were ever read.
//!
//! The bytes are a head, one line of JSON (`FORMAT`, `VERSION`, the [`Shape`]), then the state in
//! postcard, a compact binary serde encoding: the state of a busy organisation is mostly held
//! events and tracked instances, and JSON's field names and decimal numbers made it three times
//! bigger and slower to write and read (`bench --instances`). Postcard is not self-describing, so
//! any change to a state type needs a new `VERSION`; finding drafts, whose serde form is the
//! findings schema, are embedded as JSON strings. Maps are written in key order so that the same
//! state always gives the same bytes. A state of another version is refused, never misread.
pub mod serde_util;

use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::detect::Detectors;
use crate::event::Event;
use crate::order::Reorder;
use crate::track::Tracker;

/// What the document says it is.
pub const FORMAT: &str = "trailhound-engine-state";
/// The version of the state's layout. Bump it whenever a state type changes in a way an older
/// reader would misread (a renamed or retyped field, a changed meaning).
pub const VERSION: u32 = 1;

/// Why a state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not a trailhound engine state at all (another program's data, or bytes cut short).
    #[error("not a trailhound engine state ({0})")]
    NotState(String),
    /// Written by another version of trailhound.
    #[error("the state was written in format version {found}; this trailhound reads version {expected} (use the trailhound that wrote it, or start over with --state-reset)")]
    Version {
        /// The state's version.
        found: u32,
        /// This build's.
        expected: u32,
    },
    /// The settings that shape the state differ from the run's.
    #[error("the state was built with {0}; run with the same settings, or start over with --state-reset")]
    Settings(String),
    /// It says it is a state of this version but does not read as one.
    #[error("the state is damaged: {0}")]
    Corrupt(String),
}

/// The settings the state's shape depends on: a state built with another window, TTL or cap (or
/// by `scan` for `enrich`, whose held events carry their record text) would be misread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Reorder window (ms).
    pub window: i64,
    /// De-duplication horizon (ms).
    pub dedup_horizon: i64,
    /// Instance TTL (ms).
    pub ttl: i64,
    /// Instance cap.
    pub max_instances: usize,
    /// Held events keep their record text (`enrich`).
    pub raw: bool,
}

impl Shape {
    /// The shape of an engine with `settings`.
    pub fn of(settings: &Settings, raw: bool) -> Shape {
        Shape {
            window: settings.window,
            dedup_horizon: settings.dedup_horizon,
            ttl: settings.ttl,
            max_instances: settings.max_instances,
            raw,
        }
    }

    /// What differs from `other`, in words ("--ttl 6h (this run: 12h)").
    fn differences(&self, run: &Shape) -> String {
        let dur = |ms: i64| crate::time::format_duration(ms);
        let mut d = Vec::new();
        if self.window != run.window {
            d.push(format!(
                "--window {} (this run: {})",
                dur(self.window),
                dur(run.window)
            ));
        }
        if self.dedup_horizon != run.dedup_horizon {
            d.push(format!(
                "a de-duplication horizon of {} (this run: {})",
                dur(self.dedup_horizon),
                dur(run.dedup_horizon)
            ));
        }
        if self.ttl != run.ttl {
            d.push(format!(
                "--ttl {} (this run: {})",
                dur(self.ttl),
                dur(run.ttl)
            ));
        }
        if self.max_instances != run.max_instances {
            d.push(format!(
                "max_instances {} (this run: {})",
                self.max_instances, run.max_instances
            ));
        }
        if self.raw != run.raw {
            let by = |raw: bool| if raw { "enrich" } else { "scan" };
            d.push(format!("`{}` (this run: `{}`)", by(self.raw), by(run.raw)));
        }
        d.join(", ")
    }
}

/// The head of a state document (its first line), read first to say what a document is.
#[derive(Serialize, Deserialize)]
struct Head {
    format: String,
    version: u32,
    shape: Shape,
}

/// The state as written (borrowed from the engine).
#[derive(Serialize)]
pub(crate) struct Saved<'a> {
    /// The ids of the run's Sigma rules, in index order (held events name rules by index).
    pub sigma: Vec<&'a str>,
    pub reorder: &'a Reorder,
    pub next: &'a Option<Box<Event>>,
    pub tracker: &'a Tracker,
    pub detectors: &'a Detectors,
}

/// The state as read.
#[derive(Deserialize)]
pub(crate) struct Loaded {
    pub sigma: Vec<String>,
    pub reorder: Reorder,
    pub next: Option<Box<Event>>,
    pub tracker: Tracker,
    pub detectors: Detectors,
}

/// Reads a state document for an engine of shape `run`.
pub(crate) fn load(bytes: &[u8], run: &Shape) -> Result<Loaded, StateError> {
    let cut = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let (head, body) = bytes.split_at(cut);
    let head: Head = serde_json::from_slice(head).map_err(|e| {
        match std::str::from_utf8(head.get(..head.len().min(40)).unwrap_or_default()) {
            Ok(start) => StateError::NotState(format!("{e}; it begins {start:?}")),
            Err(_) => StateError::NotState(format!("{e}; binary data")),
        }
    })?;
    if head.format != FORMAT {
        return Err(StateError::NotState(format!(
            "it says it is {:?}",
            head.format
        )));
    }
    if head.version != VERSION {
        return Err(StateError::Version {
            found: head.version,
            expected: VERSION,
        });
    }
    if head.shape != *run {
        return Err(StateError::Settings(head.shape.differences(run)));
    }
    let body = body.get(1..).unwrap_or_default();
    postcard::from_bytes(body).map_err(|e| StateError::Corrupt(e.to_string()))
}

/// Writes a state document for an engine of shape `shape`.
pub(crate) fn save(shape: &Shape, saved: &Saved<'_>) -> Result<Vec<u8>, String> {
    let head = Head {
        format: FORMAT.to_owned(),
        version: VERSION,
        shape: shape.clone(),
    };
    let head = serde_json::to_vec(&head).map_err(|e| e.to_string())?;
    // Sized first: growing a buffer of tens of megabytes by doubling costs more (copies, and the
    // kernel zeroing fresh pages) than a second, allocation-free pass over the state.
    let size = postcard::experimental::serialized_size(saved).unwrap_or(0);
    let mut out = Vec::with_capacity(head.len() + 1 + size);
    out.extend_from_slice(&head);
    out.push(b'\n');
    postcard::to_extend(saved, out).map_err(|e| format!("the engine state does not serialise: {e}"))
}
