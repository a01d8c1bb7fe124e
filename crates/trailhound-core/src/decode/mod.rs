//! Decode: bytes of one input (already un-gzipped) → [`Event`]s, and a [`Skip`] for everything that
//! is not one.
//!
//! Accepted shapes (SPEC §1): a log file `{"Records":[…]}` (CloudTrail's S3 delivery), a bare JSON
//! array of events, one event per line (NDJSON, with `eventTime` or only `@timestamp`), EventBridge
//! envelopes (`detail`), and a single pretty-printed event. Digest files are recognised and skipped.
//!
//! Invariants: a bad record never stops its file (the next line or record is read); a broken document
//! keeps the records read before the break; a gzip stream cut short keeps what came before the cut,
//! even inside a one-line log file; every skip names its input and position and carries a reason
//! that the run summary counts. Concatenated documents (`cat *.json.gz`: CloudTrail files end without
//! a newline) are read one after the other. A record with bytes that are not UTF-8 costs that record.
//! Lines that are not CloudTrail before the first event are held back: if events follow, each is
//! skipped as a bad line; if none do, the file is not CloudTrail (one file-level skip) — so one
//! foreign line at the top of an NDJSON file cannot hide the file's events.
//!
//! Messages quote the bad value, made safe by [`safe_message`]: never a secret, never long.
//! Memory: NDJSON is read line by line (a line is capped at [`MAX_RECORD`]); a document (`Records`
//! or array) is held whole, as CloudTrail files are small (capped at [`MAX_DOCUMENT`]).
//! For `enrich` (the sink wants record text), each event keeps its record's text, secrets redacted,
//! as a span of one shared, exact-size copy of its document; a record that redaction changed gets
//! its own copy.
mod fast;
mod message;
mod net;
mod record;
mod stream;

use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::sync::Arc;

use serde_json::value::RawValue;

pub use message::safe_message;
pub use record::Text;
use stream::{
    is_incomplete, is_object, next_value_at, patch_utf8, read_line_capped, starts_with_records_key,
    strip_bom, trim, Kind, LineRead,
};

use crate::event::{Event, RawText};
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
    fn event(&mut self, event: Box<Event>);
    /// One skipped file, record or line.
    fn skip(&mut self, skip: Skip);
    /// True when events should carry their original record text ([`Event::raw`], for `enrich`).
    fn wants_raw(&self) -> bool {
        false
    }
    /// False forces the robust path for every document (tests and fuzzing check that both
    /// paths give the same events, texts and skips).
    fn fast_path(&self) -> bool {
        true
    }
}

impl Sink for Vec<Result<Event, Skip>> {
    fn event(&mut self, event: Box<Event>) {
        self.push(Ok(*event));
    }
    fn skip(&mut self, skip: Skip) {
        self.push(Err(skip));
    }
}

/// Decodes one input. `gzip` says whether `reader` inflates, so that read errors can be told apart.
pub fn decode(input: &Arc<str>, reader: &mut dyn BufRead, gzip: bool, sink: &mut dyn Sink) {
    let mut decoder = Decoder::new(input.clone(), gzip, sink);
    decoder.run(reader, 0);
    decoder.finish();
}

/// Decodes bytes already in memory (tests, fuzzing, stdin in batch).
pub fn decode_bytes(input: &str, bytes: &[u8], sink: &mut dyn Sink) {
    let input: Arc<str> = Arc::from(input);
    decode(&input, &mut &bytes[..], false, sink);
}

/// Lines that are not CloudTrail held back before the first event (see [`Decoder::hold`]).
const MAX_HELD: usize = 100;

/// The largest line buffer a thread keeps for its next input.
const MAX_SCRATCH: usize = 32 << 20;

thread_local! {
    /// This thread's line buffer, between inputs (see [`Decoder::run`]).
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

struct Decoder<'s> {
    input: Arc<str>,
    gzip: bool,
    sink: &'s mut dyn Sink,
    /// JSON values (lines, documents) handled so far.
    values: u64,
    /// Events handed to the sink.
    events: u64,
    /// Lines before the first event that are not CloudTrail, held back.
    held: Vec<Skip>,
    /// What cut the document being decoded short (a read error, the size cap): reported instead of
    /// the JSON error the cut causes.
    cut: Option<(SkipReason, String)>,
    /// The line the document being decoded starts on.
    doc_line: u64,
    /// The largest document held in memory ([`MAX_DOCUMENT`]; smaller in tests).
    max_document: u64,
    /// A file-level skip was reported (so the input is not also called empty).
    file_skipped: bool,
    /// The document being streamed, shared, when events carry their text ([`RawText`] spans).
    doc: Option<Arc<String>>,
}

enum Flow {
    Continue,
    StopFile,
    /// A complete value ends at this offset and another follows it.
    Next(usize),
}

impl<'s> Decoder<'s> {
    fn new(input: Arc<str>, gzip: bool, sink: &'s mut dyn Sink) -> Self {
        Decoder {
            input,
            gzip,
            sink,
            values: 0,
            events: 0,
            held: Vec::new(),
            cut: None,
            doc_line: 0,
            max_document: MAX_DOCUMENT as u64,
            file_skipped: false,
            doc: None,
        }
    }

    /// Reads lines after line `line`; a first value that spans lines is read as a whole document.
    fn run(&mut self, reader: &mut dyn BufRead, line: u64) {
        // The line buffer is reused across the inputs a thread decodes: a log file is one long
        // line, and growing a fresh buffer to its size costs a copy per doubling.
        let mut buf = SCRATCH.take();
        self.lines(reader, line, &mut buf);
        buf.clear();
        if buf.capacity() <= MAX_SCRATCH {
            SCRATCH.set(buf);
        }
    }

    fn lines(&mut self, reader: &mut dyn BufRead, mut line: u64, buf: &mut Vec<u8>) {
        loop {
            buf.clear();
            match read_line_capped(reader, buf, MAX_RECORD) {
                Err(e) => return self.read_error(&e, buf, line),
                Ok(LineRead::Eof) => return,
                Ok(LineRead::TooLong(len)) => {
                    line += 1;
                    self.values += 1;
                    self.skip(
                        Position::Line(line),
                        SkipReason::BadRecord,
                        format!("line of {len} bytes exceeds the {MAX_RECORD}-byte record limit"),
                    );
                    continue;
                }
                Ok(LineRead::Line) => line += 1,
            }
            let bytes = trim(if line == 1 { strip_bom(buf) } else { buf });
            if bytes.is_empty() {
                continue;
            }
            if !matches!(bytes[0], b'{' | b'[') {
                match self.hold(
                    Position::Line(line),
                    SkipReason::InvalidJson,
                    not_json(bytes),
                ) {
                    Flow::StopFile => return,
                    _ => continue,
                }
            }
            let first = self.values == 0;
            self.values += 1;
            if first && (bytes[0] == b'[' || (bytes.last() != Some(&b'}') && is_incomplete(bytes)))
            {
                // A document spanning lines (pretty-printed) or an array: read it whole.
                let doc = buf;
                let mut rest = Read::take(&mut *reader, self.max_document);
                if let Err(e) = rest.read_to_end(doc) {
                    self.cut = Some(self.read_failure(&e));
                } else if rest.limit() == 0 && reader.fill_buf().is_ok_and(|b| !b.is_empty()) {
                    self.cut = Some((
                        SkipReason::InvalidJsonDocument,
                        format!("document larger than {} bytes", self.max_document),
                    ));
                }
                self.doc_line = line;
                self.values_in(trim(strip_bom(doc)), Position::File, true);
                return self.report_cut();
            }
            if let Flow::StopFile = self.values_in(bytes, Position::Line(line), first) {
                return;
            }
        }
    }

    /// Ends the input: lines held back with no event after them mean the file is not CloudTrail.
    fn finish(&mut self) {
        let held = std::mem::take(&mut self.held);
        if let Some(first) = held.first() {
            let more = match held.len() {
                1 => String::new(),
                2 => " (and 1 more line like it)".to_owned(),
                n => format!(" (and {} more lines like it)", n - 1),
            };
            let msg = format!("{}{more}", first.message);
            self.skip(Position::File, SkipReason::NotCloudtrail, msg);
        } else if self.values == 0 && !self.file_skipped {
            self.skip(
                Position::File,
                SkipReason::NotCloudtrail,
                "empty input".into(),
            );
        }
    }

    /// One or more JSON values back to back: concatenated log files (`cat *.json.gz`; CloudTrail
    /// files end without a newline) are read one after the other.
    fn values_in(&mut self, mut bytes: &[u8], pos: Position, mut first: bool) -> Flow {
        loop {
            match self.value(bytes, pos, first) {
                Flow::Next(end) => {
                    bytes = trim(&bytes[end..]);
                    first = false;
                }
                flow => return flow,
            }
        }
    }

    /// One JSON value: an event, an envelope, a `Records` document, an array, a digest or something else.
    fn value(&mut self, bytes: &[u8], pos: Position, first: bool) -> Flow {
        if bytes.first() == Some(&b'[') {
            return self.stream(bytes, Kind::Array, pos);
        }
        if starts_with_records_key(bytes) {
            return self.stream(bytes, Kind::Records, pos);
        }
        let parsed = serde_json::from_slice::<RawEvent>(bytes);
        if parsed.is_err() {
            if let Some(end) = next_value_at(bytes) {
                // Another value follows on the same line: each is decoded on its own.
                return match self.value(&bytes[..end], pos, first) {
                    Flow::StopFile => Flow::StopFile,
                    _ => Flow::Next(end),
                };
            }
        }
        match parsed {
            Ok(raw) => match raw.into_shape() {
                // serde_json does not check the UTF-8 of strings it skips (fields trailhound
                // does not read): such a line costs the line, as a record does in a document.
                Ok(Shape::Event(event)) => match std::str::from_utf8(bytes) {
                    Ok(text) => self.emit(event, text),
                    Err(e) => self.skip(
                        pos,
                        SkipReason::InvalidJson,
                        format!(
                            "not UTF-8: invalid byte at offset {} of the record",
                            e.valid_up_to()
                        ),
                    ),
                },
                Ok(Shape::Records) => return self.stream(bytes, Kind::Records, pos),
                Ok(Shape::Digest) if first => {
                    self.held.clear();
                    self.skip(
                        Position::File,
                        SkipReason::DigestFile,
                        "CloudTrail digest file (integrity data, no events)".into(),
                    );
                    return Flow::StopFile;
                }
                Ok(Shape::Digest) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    "a digest document among events is not an event".into(),
                ),
                Ok(Shape::Envelope(detail)) => self.envelope(detail, pos),
                Ok(Shape::Unrelated(why)) if first && pos == Position::File => {
                    self.skip(
                        pos,
                        SkipReason::NotCloudtrail,
                        format!("JSON but not a CloudTrail event ({why})"),
                    );
                    return Flow::StopFile;
                }
                Ok(Shape::Unrelated(why)) => {
                    let msg = format!("JSON but not a CloudTrail event ({why})");
                    return self.hold(pos, SkipReason::BadRecord, msg);
                }
                Err(msg) => self.skip(pos, SkipReason::BadRecord, msg),
            },
            Err(e) if e.is_data() => self.skip(pos, SkipReason::BadRecord, e.to_string()),
            Err(e) if pos == Position::File => return self.broken_value(bytes, &e),
            Err(e) => self.skip(pos, SkipReason::InvalidJson, format!("invalid JSON: {e}")),
        }
        Flow::Continue
    }

    /// A document that is one broken value. When its first line is a cut record and NDJSON
    /// follows, the rest is read line by line (a bad line costs one line); otherwise the rest of
    /// the file is skipped.
    fn broken_value(&mut self, bytes: &[u8], e: &serde_json::Error) -> Flow {
        if let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            let rest = &bytes[nl + 1..];
            let next = rest
                .split(|&b| b == b'\n')
                .map(trim)
                .find(|l| !l.is_empty());
            if next.is_some_and(is_object) {
                let why = serde_json::from_slice::<&RawValue>(trim(&bytes[..nl]))
                    .err()
                    .map_or_else(|| e.to_string(), |e| e.to_string());
                let pos = Position::Line(self.doc_line);
                self.skip(pos, SkipReason::InvalidJson, format!("invalid JSON: {why}"));
                self.run(&mut &rest[..], self.doc_line);
                return Flow::StopFile;
            }
        }
        self.broken_document(e, None, Position::File);
        Flow::StopFile
    }

    /// A `Records` document or a JSON array: each record is decoded on its own, so one bad record
    /// costs one record, and a break keeps the records before it.
    fn stream(&mut self, bytes: &[u8], kind: Kind, pos: Position) -> Flow {
        if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
            if !self.sink.wants_raw() {
                return self.stream_text(text, kind, pos);
            }
            // Records keep their text (for `enrich`) as spans of one shared copy of the document.
            let doc = Arc::new(text.to_owned());
            let outer = self.doc.replace(doc.clone());
            let flow = self.stream_text(&doc, kind, pos);
            self.doc = outer;
            return flow;
        }
        match stream::elements(bytes, kind, &mut |raw, n| self.record(raw, n)) {
            Ok(()) => Flow::Continue,
            Err((e, n)) if e.is_syntax() && std::str::from_utf8(bytes).is_err() => {
                self.stream_patched(bytes, kind, pos, n)
            }
            Err((e, n)) => self.stream_error(bytes, &e, n, pos),
        }
    }

    /// [`Decoder::stream`] over valid UTF-8: the one-pass fast path when the document is well
    /// formed, else record by record.
    fn stream_text(&mut self, text: &str, kind: Kind, pos: Position) -> Flow {
        let mut events = Vec::new();
        if self.sink.fast_path() && fast::events(text, kind, &mut events) {
            for (event, span) in events {
                self.emit(event, text.get(span).unwrap_or_default());
            }
            return Flow::Continue;
        }
        match stream::elements(text.as_bytes(), kind, &mut |raw, n| self.record(raw, n)) {
            Ok(()) => Flow::Continue,
            Err((e, n)) => self.stream_error(text.as_bytes(), &e, n, pos),
        }
    }

    /// A document with bytes that are not UTF-8 (JSON text must be UTF-8, RFC 8259 §8.1): streamed
    /// again with them patched, and only the records that contain them are skipped. The first
    /// `done` records were already delivered.
    fn stream_patched(&mut self, bytes: &[u8], kind: Kind, pos: Position, done: u64) -> Flow {
        let (patched, bad) = patch_utf8(bytes);
        let base = patched.as_ptr() as usize;
        let result = stream::elements(&patched, kind, &mut |raw, n| {
            if n <= done {
                return;
            }
            let start = raw.get().as_ptr() as usize - base;
            let end = start + raw.get().len();
            match bad.get(bad.partition_point(|&b| b < start)) {
                Some(&b) if b < end => self.skip(
                    Position::Record(n),
                    SkipReason::InvalidJson,
                    format!("not UTF-8: invalid byte at offset {b} of the document"),
                ),
                _ => self.record(raw, n),
            }
        });
        match result {
            Ok(()) => Flow::Continue,
            Err((e, n)) => self.stream_error(&patched, &e, n, pos),
        }
    }

    fn stream_error(&mut self, bytes: &[u8], e: &serde_json::Error, n: u64, pos: Position) -> Flow {
        match next_value_at(bytes) {
            // A whole document followed by another (concatenated files): its own error, if it
            // had one, then the next document.
            Some(end) => {
                if !e.is_syntax() {
                    self.broken_document(e, Some(n), pos);
                }
                Flow::Next(end)
            }
            None => {
                self.broken_document(e, Some(n), pos);
                Flow::Continue
            }
        }
    }

    fn broken_document(&mut self, e: &serde_json::Error, records: Option<u64>, pos: Position) {
        if self.cut.is_some() {
            // The cut explains the break.
            return self.report_cut();
        }
        let msg = match records {
            Some(_) if e.is_data() => {
                format!("`Records` is not an array of records ({e}); the document is skipped")
            }
            Some(n) => format!(
                "invalid JSON at line {} column {} after {n} records (the rest of the document is skipped): {e}",
                e.line(),
                e.column()
            ),
            None => format!("invalid JSON: {e}"),
        };
        self.skip(pos, SkipReason::InvalidJsonDocument, msg);
    }

    /// One element of a `Records` array or JSON array.
    fn record(&mut self, raw: &RawValue, n: u64) {
        let pos = Position::Record(n);
        if !raw.get().starts_with('{') {
            // serde would fill a record's fields from an array by position: never an event.
            let what = kind_of(raw.get());
            let msg = format!("a record must be a JSON object, not {what}");
            return self.skip(pos, SkipReason::BadRecord, msg);
        }
        match serde_json::from_str::<RawEvent>(raw.get()) {
            Ok(r) => match r.into_shape() {
                Ok(Shape::Event(event)) => self.emit(event, raw.get()),
                Ok(Shape::Envelope(detail)) => self.envelope(detail, pos),
                Ok(Shape::Records | Shape::Digest) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    "a nested log or digest document is not an event".into(),
                ),
                Ok(Shape::Unrelated(why)) => self.skip(
                    pos,
                    SkipReason::BadRecord,
                    format!("JSON but not a CloudTrail event ({why})"),
                ),
                Err(msg) => self.skip(pos, SkipReason::BadRecord, msg),
            },
            Err(e) => self.skip(pos, SkipReason::BadRecord, e.to_string()),
        }
    }

    /// An EventBridge event: the CloudTrail record is its `detail`.
    fn envelope(&mut self, detail: &RawValue, pos: Position) {
        if !detail.get().starts_with('{') {
            let what = kind_of(detail.get());
            let msg = format!("envelope `detail` must be a JSON object, not {what}");
            return self.skip(pos, SkipReason::BadRecord, msg);
        }
        match serde_json::from_str::<RawEvent>(detail.get())
            .map_err(|e| e.to_string())
            .and_then(RawEvent::into_shape)
        {
            Ok(Shape::Event(event)) => self.emit(event, detail.get()),
            Ok(_) => self.skip(
                pos,
                SkipReason::BadRecord,
                "envelope `detail` is not a CloudTrail event".into(),
            ),
            Err(msg) => self.skip(pos, SkipReason::BadRecord, format!("in `detail`: {msg}")),
        }
    }

    /// Hands an event to the sink, with its original text when the sink wants it. Lines held back
    /// before the first event are now known to be bad lines of a CloudTrail file: skipped first.
    fn emit(&mut self, mut event: Box<Event>, raw: &str) {
        for skip in self.held.drain(..) {
            self.sink.skip(skip);
        }
        self.events += 1;
        if self.sink.wants_raw() {
            // Secrets never leave the decoder (and this runs on the decoding threads).
            let text = crate::redact::record_text(raw);
            let span = match (&text, &self.doc) {
                (Cow::Borrowed(t), Some(doc)) => RawText::within(doc, t),
                _ => None,
            };
            event.raw = span.or_else(|| RawText::new(&text));
        }
        self.sink.event(event);
    }

    /// A line that is not CloudTrail before any event is held back (at most [`MAX_HELD`]): if
    /// events follow, each held line is skipped on its own; if none do, the input is not
    /// CloudTrail and is skipped as a whole ([`Decoder::finish`]). So one foreign line at the top
    /// of an NDJSON file costs that line, not the file.
    fn hold(&mut self, position: Position, reason: SkipReason, message: String) -> Flow {
        let skip = self.make_skip(position, reason, message);
        if self.events > 0 {
            self.sink.skip(skip);
            return Flow::Continue;
        }
        self.held.push(skip);
        if self.held.len() < MAX_HELD {
            Flow::Continue
        } else {
            Flow::StopFile
        }
    }

    /// A read error after line `line`. A log file is one line: when that line was cut short, the
    /// records before the cut are still decoded.
    fn read_error(&mut self, e: &io::Error, partial: &[u8], line: u64) {
        let failure = self.read_failure(e);
        let partial = trim(strip_bom(partial));
        if self.values == 0 && matches!(partial.first(), Some(b'{' | b'[')) {
            self.values += 1;
            self.doc_line = line + 1;
            self.cut = Some(failure);
            self.values_in(partial, Position::File, true);
            return self.report_cut();
        }
        let (reason, what) = failure;
        let msg = match line {
            0 => what,
            _ => format!(
                "{what} after line {line}; the {} events before it were kept",
                self.events
            ),
        };
        self.skip(Position::File, reason, msg);
    }

    fn read_failure(&self, e: &io::Error) -> (SkipReason, String) {
        let (reason, what) = match (self.gzip, e.kind()) {
            (true, io::ErrorKind::UnexpectedEof) => (SkipReason::TruncatedGzip, "truncated gzip"),
            (true, io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) => {
                (SkipReason::InvalidGzip, "corrupt gzip")
            }
            _ => (SkipReason::IoError, "read error"),
        };
        (reason, format!("{what} ({e})"))
    }

    /// Reports what cut the current document short, if anything did.
    fn report_cut(&mut self) {
        if let Some((reason, what)) = self.cut.take() {
            let n = self.events;
            let msg = format!("{what}; the {n} events before the cut were kept");
            self.skip(Position::File, reason, msg);
        }
    }

    fn make_skip(&self, position: Position, reason: SkipReason, message: String) -> Skip {
        Skip {
            input: self.input.clone(),
            position,
            reason,
            message: safe_message(&message),
        }
    }

    fn skip(&mut self, position: Position, reason: SkipReason, message: String) {
        self.file_skipped |= reason.is_file_level();
        let skip = self.make_skip(position, reason, message);
        self.sink.skip(skip);
    }
}

/// The kind of a JSON value that is not an object, for messages (never its content).
fn kind_of(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    }
}

/// What a line that is not JSON looks like, for its message.
fn not_json(bytes: &[u8]) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return "UTF-16 text, not UTF-8 JSON (convert it: iconv -f UTF-16 -t UTF-8)".into();
    }
    // Redact before shortening: a secret cut at the 40th character would slip under the
    // redaction's minimum run and leak its first characters.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
    let shown: String = safe_message(&head).chars().take(40).collect();
    format!("not JSON (starts with {shown:?})")
}

#[cfg(test)]
mod tests;
