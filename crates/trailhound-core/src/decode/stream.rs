//! Byte-level helpers of the decoder: capped line reading, streaming the elements of a `Records`
//! document or a JSON array one at a time, finding where a value ends, and patching invalid UTF-8.
//!
//! Nothing here allocates per record: elements are handed over as borrowed [`RawValue`]s.
use std::fmt;
use std::io::{self, BufRead, Read};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize as _, Deserializer as _};
use serde_json::value::RawValue;

/// Which kind of document holds the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `{"Records": […]}`, CloudTrail's S3 log file.
    Records,
    /// A bare JSON array of events.
    Array,
}

/// Streams the records of a document to `f` (1-based index). On an error, returns it with the
/// number of records already delivered.
pub(super) fn elements(
    bytes: &[u8],
    kind: Kind,
    f: &mut dyn FnMut(&RawValue, u64),
) -> Result<(), (serde_json::Error, u64)> {
    let mut n = 0u64;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result = match kind {
        Kind::Records => de.deserialize_map(Doc(f, &mut n)),
        Kind::Array => Elements(f, &mut n).deserialize(&mut de),
    };
    result.and_then(|()| de.end()).map_err(|e| (e, n))
}

/// A log file object: the elements of its `Records` array are streamed, other keys skipped.
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

/// Where the first JSON value of `bytes` ends, when it is syntactically complete and something
/// other than whitespace follows it (concatenated values: `cat a.json b.json`, or `cat *.json.gz`
/// of CloudTrail files, which end without a newline).
pub(super) fn next_value_at(bytes: &[u8]) -> Option<usize> {
    // `&RawValue`, not `IgnoredAny`: skipping a raw value is iterative, so deep nesting is fine.
    let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
    match values.next() {
        Some(Ok(_)) => {
            let end = values.byte_offset();
            (!trim(&bytes[end..]).is_empty()).then_some(end)
        }
        _ => None,
    }
}

/// A copy of `bytes` with every byte of an invalid UTF-8 sequence replaced by `?` (offsets are
/// unchanged), and the offsets replaced, ascending.
pub(super) fn patch_utf8(bytes: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = bytes.to_vec();
    let mut bad = Vec::new();
    let mut i = 0;
    while i < out.len() {
        match std::str::from_utf8(&out[i..]) {
            Ok(_) => break,
            Err(e) => {
                let start = i + e.valid_up_to();
                let len = e.error_len().unwrap_or(out.len() - start);
                for b in &mut out[start..start + len] {
                    *b = b'?';
                }
                bad.extend(start..start + len);
                i = start + len;
            }
        }
    }
    (out, bad)
}

/// True when the value starts `{"Records"` (how CloudTrail writes log files), so the one-pass
/// streaming path can be taken directly.
pub(super) fn starts_with_records_key(bytes: &[u8]) -> bool {
    let rest = trim(bytes.strip_prefix(b"{").unwrap_or(b""));
    rest.starts_with(b"\"Records\"")
}

/// True when `bytes` is the start of a JSON value that continues on later lines.
pub(super) fn is_incomplete(bytes: &[u8]) -> bool {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    matches!(<&RawValue>::deserialize(&mut de), Err(e) if e.is_eof())
}

/// True when `bytes` is exactly one complete JSON object.
pub(super) fn is_object(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'{') && serde_json::from_slice::<&RawValue>(bytes).is_ok()
}

/// What [`Lines::next_line`] found.
pub(super) enum Next<'b> {
    Eof,
    /// A line, with its newline when it has one.
    Line(&'b [u8]),
    /// A line longer than [`super::MAX_RECORD`] (its length), consumed and dropped.
    TooLong(usize),
    /// A read error, and what was read of the line before it.
    Failed(io::Error, &'b [u8]),
}

/// What cut a document read whole short.
pub(super) enum Cut {
    Read(io::Error),
    /// More than the document limit.
    TooLarge,
}

/// Where the decoder reads its lines from: a reader (streamed, each line copied into a buffer) or
/// text already in memory (read in place).
pub(super) trait Lines {
    /// The next line.
    fn next_line(&mut self) -> Next<'_>;
    /// The line just read and the rest of the input after it, up to `max` more bytes: a document
    /// that spans lines, read whole; and what cut it short.
    fn document(&mut self, max: u64) -> (&[u8], Option<Cut>);
}

/// Lines from a reader, each copied into `buf`.
pub(super) struct ReaderLines<'r> {
    pub(super) reader: &'r mut dyn BufRead,
    pub(super) buf: Vec<u8>,
}

impl Lines for ReaderLines<'_> {
    fn next_line(&mut self) -> Next<'_> {
        self.buf.clear();
        match read_line_capped(self.reader, &mut self.buf, super::MAX_RECORD) {
            Err(e) => Next::Failed(e, &self.buf),
            Ok(LineRead::Eof) => Next::Eof,
            Ok(LineRead::TooLong(n)) => Next::TooLong(n),
            Ok(LineRead::Line) => Next::Line(&self.buf),
        }
    }

    fn document(&mut self, max: u64) -> (&[u8], Option<Cut>) {
        let mut rest = Read::take(&mut *self.reader, max);
        let cut = match rest.read_to_end(&mut self.buf) {
            Err(e) => Some(Cut::Read(e)),
            Ok(_) if rest.limit() == 0 && self.reader.fill_buf().is_ok_and(|b| !b.is_empty()) => {
                Some(Cut::TooLarge)
            }
            Ok(_) => None,
        };
        (&self.buf, cut)
    }
}

/// Lines of text in memory, borrowed in place.
pub(super) struct SliceLines<'t> {
    pub(super) text: &'t [u8],
    /// Where the next line starts.
    pub(super) at: usize,
    /// Where the line last read starts.
    pub(super) line_start: usize,
}

impl Lines for SliceLines<'_> {
    fn next_line(&mut self) -> Next<'_> {
        let rest = &self.text[self.at..];
        if rest.is_empty() {
            return Next::Eof;
        }
        let len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        self.line_start = self.at;
        self.at += len;
        if len > super::MAX_RECORD {
            Next::TooLong(len)
        } else {
            Next::Line(&rest[..len])
        }
    }

    fn document(&mut self, max: u64) -> (&[u8], Option<Cut>) {
        let left = (self.text.len() - self.at) as u64;
        let (end, cut) = if left > max {
            (self.at + max as usize, Some(Cut::TooLarge))
        } else {
            (self.text.len(), None)
        };
        self.at = end;
        (&self.text[self.line_start..end], cut)
    }
}

pub(super) enum LineRead {
    Eof,
    Line,
    TooLong(usize),
}

/// Reads up to and including `\n` into `buf`, refusing to buffer more than `cap` bytes (the rest
/// of an over-long line is consumed and dropped). On a read error, `buf` keeps what was read.
pub(super) fn read_line_capped(
    r: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<LineRead> {
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
        let (used, done) = match memchr::memchr(b'\n', chunk) {
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

/// `b` without a leading UTF-8 byte-order mark.
pub(super) fn strip_bom(b: &[u8]) -> &[u8] {
    b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b)
}

/// `b` without leading and trailing ASCII whitespace.
pub(super) fn trim(b: &[u8]) -> &[u8] {
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
