//! Decode: bytes of one input (already un-gzipped) → [`Event`]s, and a [`Skip`] for everything that
//! is not one.
//!
//! Accepted shapes (SPEC §1): a log file `{"Records":[…]}` (CloudTrail's S3 delivery), a bare JSON
//! array of events, one event per line (NDJSON, with `eventTime` or only `@timestamp`), EventBridge
//! envelopes (`detail`), and a single pretty-printed event. Digest files are recognised and skipped.
//!
//! Invariants: a bad record never stops its file (the next line or record is read); a broken document
//! keeps the records read before the break; every skip names its input and position and carries a
//! reason that the run summary counts. Memory: NDJSON is read line by line (a line is capped at
//! [`MAX_RECORD`]); a document (`Records` or array) is held whole, as CloudTrail files are small.
mod net;
mod record;

use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;
use serde_json::value::RawValue;

use crate::event::Event;
use record::{RawEvent, Shape};

/// The largest single record or line accepted (larger ones are skipped and counted).
pub const MAX_RECORD: usize = 256 << 20;
/// The largest document (`Records` file or JSON array) held in memory.
pub const MAX_DOCUMENT: usize = 2 << 30;

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

/// Receives what decoding produces.
pub trait Sink {
    /// One decoded event.
    fn event(&mut self, event: Event);
    /// One skipped file, record or line.
    fn skip(&mut self, skip: Skip);
    /// True when events should carry their original record text ([`Event::raw`], for `enrich`).
    fn wants_raw(&self) -> bool {
        false
    }
}

impl Sink for Vec<Result<Event, Skip>> {
    fn event(&mut self, event: Event) {
        self.push(Ok(event));
    }
    fn skip(&mut self, skip: Skip) {
        self.push(Err(skip));
    }
}

/// Decodes one input. `gzip` says whether `reader` inflates, so that read errors can be told apart.
pub fn decode(input: &Arc<str>, reader: &mut dyn BufRead, gzip: bool, sink: &mut dyn Sink) {
    Decoder {
        input: input.clone(),
        gzip,
        sink,
        values: 0,
    }
    .run(reader);
}

/// Decodes bytes already in memory (tests, fuzzing, stdin in batch).
pub fn decode_bytes(input: &str, bytes: &[u8], sink: &mut dyn Sink) {
    let input: Arc<str> = Arc::from(input);
    decode(&input, &mut &bytes[..], false, sink);
}

struct Decoder<'s> {
    input: Arc<str>,
    gzip: bool,
    sink: &'s mut dyn Sink,
    /// Values (lines, documents) handled so far.
    values: u64,
}

enum Flow {
    Continue,
    StopFile,
}

impl Decoder<'_> {
    fn run(&mut self, reader: &mut dyn BufRead) {
        let mut buf = Vec::new();
        let mut line = 0u64;
        loop {
            buf.clear();
            match read_line_capped(reader, &mut buf, MAX_RECORD) {
                Err(e) => return self.read_error(&e, line),
                Ok(LineRead::Eof) => break,
                Ok(LineRead::TooLong(len)) => {
                    line += 1;
                    self.skip(
                        Position::Line(line),
                        SkipReason::BadRecord,
                        format!("line of {len} bytes exceeds the {MAX_RECORD}-byte record limit"),
                    );
                    continue;
                }
                Ok(LineRead::Line) => line += 1,
            }
            let first = self.values == 0;
            let bytes = trim(if line == 1 { strip_bom(&buf) } else { &buf });
            if bytes.is_empty() {
                continue;
            }
            if first && !matches!(bytes[0], b'{' | b'[') {
                let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
                return self.skip(
                    Position::File,
                    SkipReason::NotCloudtrail,
                    format!("not JSON (starts with {shown:?})"),
                );
            }
            if first && (bytes[0] == b'[' || (bytes.last() != Some(&b'}') && is_incomplete(bytes)))
            {
                // A document spanning lines (pretty-printed) or an array: read it whole.
                let mut doc = std::mem::take(&mut buf);
                let mut rest = reader.take(MAX_DOCUMENT as u64);
                if let Err(e) = rest.read_to_end(&mut doc) {
                    self.read_error(&e, line);
                    // What was read before the error is still decoded below.
                }
                self.values += 1;
                self.document(trim(strip_bom(&doc)));
                return;
            }
            self.values += 1;
            if let Flow::StopFile = self.value(bytes, Position::Line(line), first) {
                return;
            }
        }
        if self.values == 0 {
            self.skip(
                Position::File,
                SkipReason::NotCloudtrail,
                "empty input".into(),
            );
        }
    }

    /// A whole document: a `Records` file, an array of events, or one pretty-printed value.
    fn document(&mut self, bytes: &[u8]) {
        if bytes.first() == Some(&b'[') {
            let result = stream_array(bytes, &mut |raw, n| self.record(raw, n));
            if let Err((e, n)) = result {
                self.broken_document(&e, n);
            }
        } else {
            self.value(bytes, Position::File, true);
        }
    }

    /// One JSON value: an event, an envelope, a `Records` document, a digest or something else.
    fn value(&mut self, bytes: &[u8], pos: Position, first: bool) -> Flow {
        if starts_with_records_key(bytes) {
            return self.records_document(bytes);
        }
        match serde_json::from_slice::<RawEvent>(bytes) {
            Ok(raw) => match raw.into_shape() {
                Ok(Shape::Event(event)) => {
                    self.emit(*event, std::str::from_utf8(bytes).unwrap_or_default())
                }
                Ok(Shape::Records) => return self.records_document(bytes),
                Ok(Shape::Digest) => {
                    self.skip(
                        Position::File,
                        SkipReason::DigestFile,
                        "CloudTrail digest file (integrity data, no events)".into(),
                    );
                    return Flow::StopFile;
                }
                Ok(Shape::Envelope(detail)) => self.envelope(detail, pos),
                Ok(Shape::Unrelated(why)) if first => {
                    self.skip(
                        Position::File,
                        SkipReason::NotCloudtrail,
                        format!("JSON but not CloudTrail ({why})"),
                    );
                    return Flow::StopFile;
                }
                Ok(Shape::Unrelated(why)) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    format!("not a CloudTrail event ({why})"),
                ),
                Err(msg) => self.skip(pos, SkipReason::BadRecord, msg),
            },
            Err(e) if e.is_data() => self.skip(pos, SkipReason::BadRecord, e.to_string()),
            Err(e) if pos == Position::File => {
                self.skip(
                    pos,
                    SkipReason::InvalidJsonDocument,
                    format!("invalid JSON: {e}"),
                );
                return Flow::StopFile;
            }
            Err(e) => self.skip(pos, SkipReason::InvalidJson, format!("invalid JSON: {e}")),
        }
        Flow::Continue
    }

    /// A log file: each element of `Records` is decoded on its own, so one bad record costs one record.
    fn records_document(&mut self, bytes: &[u8]) -> Flow {
        if let Err((e, n)) = stream_records(bytes, &mut |raw, n| self.record(raw, n)) {
            self.broken_document(&e, n);
        }
        Flow::StopFile
    }

    fn broken_document(&mut self, e: &serde_json::Error, records: u64) {
        let msg = format!("invalid JSON at line {} column {} after {records} records (the rest of the file is skipped): {e}", e.line(), e.column());
        self.skip(Position::File, SkipReason::InvalidJsonDocument, msg);
    }

    /// One element of a `Records` array or JSON array.
    fn record(&mut self, raw: &RawValue, n: u64) {
        let pos = Position::Record(n);
        match serde_json::from_str::<RawEvent>(raw.get()) {
            Ok(r) => match r.into_shape() {
                Ok(Shape::Event(event)) => self.emit(*event, raw.get()),
                Ok(Shape::Envelope(detail)) => self.envelope(detail, pos),
                Ok(Shape::Records | Shape::Digest) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    "a nested log or digest document is not an event".into(),
                ),
                Ok(Shape::Unrelated(why)) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    format!("not a CloudTrail event ({why})"),
                ),
                Err(msg) => self.skip(pos, SkipReason::BadRecord, msg),
            },
            Err(e) => self.skip(pos, SkipReason::BadRecord, e.to_string()),
        }
    }

    /// An EventBridge event: the CloudTrail record is its `detail`.
    fn envelope(&mut self, detail: &RawValue, pos: Position) {
        match serde_json::from_str::<RawEvent>(detail.get())
            .map_err(|e| e.to_string())
            .and_then(RawEvent::into_shape)
        {
            Ok(Shape::Event(event)) => self.emit(*event, detail.get()),
            Ok(_) => self.skip(
                pos,
                SkipReason::BadRecord,
                "envelope `detail` is not a CloudTrail event".into(),
            ),
            Err(msg) => self.skip(pos, SkipReason::BadRecord, format!("in `detail`: {msg}")),
        }
    }

    /// Hands an event to the sink, with its original text when the sink wants it.
    fn emit(&mut self, mut event: Event, raw: &str) {
        if self.sink.wants_raw() {
            event.raw = Some(raw.into());
        }
        self.sink.event(event);
    }

    fn read_error(&mut self, e: &io::Error, lines: u64) {
        let (reason, what) = match (self.gzip, e.kind()) {
            (true, io::ErrorKind::UnexpectedEof) => (SkipReason::TruncatedGzip, "truncated gzip"),
            (true, io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) => {
                (SkipReason::InvalidGzip, "corrupt gzip")
            }
            _ => (SkipReason::IoError, "read error"),
        };
        self.skip(
            Position::File,
            reason,
            format!("{what} after {lines} lines: {e}; what came before was kept"),
        );
    }

    fn skip(&mut self, position: Position, reason: SkipReason, message: String) {
        self.sink.skip(Skip {
            input: self.input.clone(),
            position,
            reason,
            message,
        });
    }
}

/// Streams the elements of the top-level `Records` array to `f` (1-based index); other keys are
/// skipped. On a syntax error, returns it with the number of records already delivered.
fn stream_records(
    bytes: &[u8],
    f: &mut dyn FnMut(&RawValue, u64),
) -> Result<(), (serde_json::Error, u64)> {
    struct Doc<'f, 'g>(&'f mut dyn FnMut(&RawValue, u64), &'g mut u64);
    impl<'de> Visitor<'de> for Doc<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a CloudTrail log file object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if key == "Records" {
                    map.next_value_seed(Elements(&mut *self.0, &mut *self.1))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }
    let mut n = 0u64;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = de.deserialize_map(Doc(f, &mut n)).and_then(|()| de.end());
    result.map_err(|e| (e, n))
}

/// Streams the elements of a top-level JSON array to `f`.
fn stream_array(
    bytes: &[u8],
    f: &mut dyn FnMut(&RawValue, u64),
) -> Result<(), (serde_json::Error, u64)> {
    let mut n = 0u64;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = Elements(f, &mut n)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    result.map_err(|e| (e, n))
}

/// A sequence whose elements are handed over one at a time as raw JSON.
struct Elements<'f, 'g>(&'f mut dyn FnMut(&RawValue, u64), &'g mut u64);

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            *self.1 += 1;
            (self.0)(raw, *self.1);
        }
        Ok(())
    }
}

/// True when the value starts `{"Records"` (how CloudTrail writes log files), so the one-pass
/// streaming path can be taken directly.
fn starts_with_records_key(bytes: &[u8]) -> bool {
    let rest = trim(bytes.strip_prefix(b"{").unwrap_or(b""));
    rest.starts_with(b"\"Records\"")
}

/// True when `bytes` is the start of a JSON value that continues on later lines.
fn is_incomplete(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    matches!(IgnoredAny::deserialize(&mut de), Err(e) if e.is_eof())
}

use serde::Deserialize as _;

enum LineRead {
    Eof,
    Line,
    TooLong(usize),
}

/// Reads up to and including `\n` into `buf`, refusing to buffer more than `cap` bytes (the rest
/// of an over-long line is consumed and dropped).
fn read_line_capped(r: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> io::Result<LineRead> {
    let mut total = 0usize;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(match total {
                0 => LineRead::Eof,
                n if n > cap => LineRead::TooLong(n),
                _ => LineRead::Line,
            });
        }
        let (used, done) = match memchr_newline(chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if total + used <= cap {
            buf.extend_from_slice(&chunk[..used]);
        } else {
            buf.clear();
        }
        total += used;
        r.consume(used);
        if done {
            return Ok(if total > cap {
                LineRead::TooLong(total)
            } else {
                LineRead::Line
            });
        }
    }
}

fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests;
