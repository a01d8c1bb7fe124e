//! What decoding reports instead of an event: a [`Skip`] names its input, the [`Position`] in it
//! and a [`SkipReason`] that the run summary counts (file-level reasons skip the rest of a file,
//! record-level ones a single record or line).
use std::fmt;
use std::sync::Arc;

/// Why something in the input was not turned into an event. File-level reasons skip (the rest of) a
/// file; record-level reasons skip one record or line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A CloudTrail digest file (integrity data, not events).
    DigestFile,
    /// Not a CloudTrail log: empty, not JSON, or JSON of another kind.
    NotCloudtrail,
    /// The gzip stream ends early; records before the cut were kept.
    TruncatedGzip,
    /// Gzip magic bytes but a corrupt stream.
    InvalidGzip,
    /// A document (`Records` file or array) that is not valid JSON from some point on.
    InvalidJsonDocument,
    /// The file could not be read.
    IoError,
    /// One line or record that is not valid JSON.
    InvalidJson,
    /// Valid JSON, but wrong field types or missing required fields.
    BadRecord,
}

impl SkipReason {
    /// The summary key (`files_skipped.<key>` or `events_skipped.<key>`).
    pub fn key(self) -> &'static str {
        match self {
            SkipReason::DigestFile => "digest_file",
            SkipReason::NotCloudtrail => "not_cloudtrail",
            SkipReason::TruncatedGzip => "truncated_gzip",
            SkipReason::InvalidGzip => "invalid_gzip",
            SkipReason::InvalidJsonDocument | SkipReason::InvalidJson => "invalid_json",
            SkipReason::IoError => "io_error",
            SkipReason::BadRecord => "bad_record",
        }
    }

    /// True when the reason concerns a whole file (or its remainder), false for one record.
    pub fn is_file_level(self) -> bool {
        !matches!(self, SkipReason::InvalidJson | SkipReason::BadRecord)
    }
}

/// Where in an input something was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// The input as a whole.
    File,
    /// A 1-based line (NDJSON).
    Line(u64),
    /// A 1-based record of a `Records` array or JSON array.
    Record(u64),
}

/// Something skipped, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// The input's name (path, or `-` for stdin).
    pub input: Arc<str>,
    /// Where in it.
    pub position: Position,
    /// Why (counted in the summary).
    pub reason: SkipReason,
    /// What exactly, quoting the bad value.
    pub message: String,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::File => write!(f, "{}: {}", self.input, self.message),
            Position::Line(n) => write!(f, "{}:{n}: {}", self.input, self.message),
            Position::Record(n) => write!(f, "{}: record {n}: {}", self.input, self.message),
        }
    }
}
