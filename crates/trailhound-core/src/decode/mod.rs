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
mod document;
mod fast;
mod inflate;
mod message;
mod net;
mod record;
mod scanner;
mod skip;
mod stream;

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::sync::Arc;

pub use message::safe_message;
pub use record::Text;
pub use skip::{Position, Skip, SkipReason};
use stream::{is_incomplete, strip_bom, trim, Cut, Lines, Next, ReaderLines, SliceLines};

use crate::event::{Event, RawText};

/// The largest single record or line accepted (larger ones are skipped and counted).
pub const MAX_RECORD: usize = 256 << 20;
/// The largest document (`Records` file or JSON array) held in memory.
pub const MAX_DOCUMENT: usize = 2 << 30;

/// Receives what decoding produces.
pub trait Sink {
    /// One decoded event.
    fn event(&mut self, event: Box<Event>);
    /// One skipped file, record or line.
    fn skip(&mut self, skip: Skip);
    /// Sigma rules to decide on each event while its record is at hand ([`Event::sigma`]).
    fn sigma(&self) -> Option<&crate::sigma::RuleSet> {
        None
    }

    /// True when every event should carry its original record text (`enrich`).
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

/// Decodes text already in memory, not gzip (tests, fuzzing): read in place.
pub fn decode_bytes(input: &str, bytes: &[u8], sink: &mut dyn Sink) {
    decode_text(Arc::from(input), false, bytes, sink);
}

/// Decodes text in memory, read in place; `gzip` says whether it was inflated (for messages).
fn decode_text(input: Arc<str>, gzip: bool, text: &[u8], sink: &mut dyn Sink) {
    let mut decoder = Decoder::new(input, gzip, sink);
    decoder.run_slice(text, 0);
    decoder.finish();
}

/// Decodes one input held whole in memory, as a file or an S3 object is read: gzip (sniffed by its
/// magic bytes) is inflated in one call when that gives exactly what streaming it would
/// ([`inflate`]), and streamed through the robust path otherwise; the text is read in place.
/// Gives the same events and skips as [`decode`] over a reader of the same bytes.
pub fn decode_whole(input: &Arc<str>, bytes: &[u8], sink: &mut dyn Sink) {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return decode_text(input.clone(), false, bytes, sink);
    }
    if sink.fast_path()
        && inflate::with_inflated(bytes, |text| decode_text(input.clone(), true, text, sink))
            .is_some()
    {
        return;
    }
    let (mut reader, gzip) = crate::input::sniff(bytes);
    decode(input, &mut reader, gzip, sink);
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
        let mut source = ReaderLines {
            reader,
            buf: SCRATCH.take(),
        };
        self.lines(&mut source, line);
        let mut buf = source.buf;
        buf.clear();
        if buf.capacity() <= MAX_SCRATCH {
            SCRATCH.set(buf);
        }
    }

    /// [`Decoder::run`] over text already in memory: lines and documents are read in place.
    fn run_slice(&mut self, text: &[u8], line: u64) {
        let mut source = SliceLines {
            text,
            at: 0,
            line_start: 0,
        };
        self.lines(&mut source, line);
    }

    fn lines(&mut self, source: &mut dyn Lines, mut line: u64) {
        loop {
            let buf = match source.next_line() {
                Next::Failed(e, partial) => return self.read_error(&e, partial, line),
                Next::Eof => return,
                Next::TooLong(len) => {
                    line += 1;
                    self.values += 1;
                    self.skip(
                        Position::Line(line),
                        SkipReason::BadRecord,
                        format!("line of {len} bytes exceeds the {MAX_RECORD}-byte record limit"),
                    );
                    continue;
                }
                Next::Line(buf) => {
                    line += 1;
                    buf
                }
            };
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
                let (doc, cut) = source.document(self.max_document);
                self.cut = match cut {
                    None => None,
                    Some(Cut::Read(e)) => Some(self.read_failure(&e)),
                    Some(Cut::TooLarge) => Some((
                        SkipReason::InvalidJsonDocument,
                        format!("document larger than {} bytes", self.max_document),
                    )),
                };
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

    /// Hands an event to the sink, with its original text when the sink wants it. Lines held back
    /// before the first event are now known to be bad lines of a CloudTrail file: skipped first.
    fn emit(&mut self, mut event: Box<Event>, raw: &str) {
        for skip in self.held.drain(..) {
            self.sink.skip(skip);
        }
        self.events += 1;
        if let Some(rules) = self.sink.sigma() {
            event.sigma = rules.hits(&event, raw);
        }
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
pub(crate) mod tests;
