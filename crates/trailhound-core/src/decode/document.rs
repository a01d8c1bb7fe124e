//! JSON values and documents: one value is an event, an EventBridge envelope, a `Records` log file,
//! a bare array, a digest or something else; a document's records are decoded one at a time (fast
//! path first, when the document is whole and valid UTF-8), so one bad record costs one record and a
//! break keeps the records before it. Concatenated documents are read one after the other.
use std::sync::Arc;

use serde_json::value::RawValue;

use super::record::{RawEvent, Shape};
use super::stream::{
    self, is_object, next_value_at, patch_utf8, starts_with_records_key, trim, Kind,
};
use super::{fast, Decoder, Flow, Position, SkipReason};

impl Decoder<'_> {
    /// One or more JSON values back to back: concatenated log files (`cat *.json.gz`; CloudTrail
    /// files end without a newline) are read one after the other.
    pub(super) fn values_in(&mut self, mut bytes: &[u8], pos: Position, mut first: bool) -> Flow {
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
                self.run_slice(rest, self.doc_line);
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
