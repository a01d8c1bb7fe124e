//! The fast path for a whole, valid log file: its records parsed straight into events in one pass
//! over the bytes, with no per-record [`serde_json::value::RawValue`] pass first.
//!
//! It only ever answers for a document the robust path ([`super::stream`]) would decode without a
//! single skip: valid UTF-8, valid JSON, every record a CloudTrail event. Anything else (a bad
//! record, an envelope, a syntax error, concatenated documents) returns false and the caller
//! decodes the document the robust way, so both paths give the same events and skips. Used when
//! the sink does not want each record's text (`scan`; `enrich` needs the text).
use std::borrow::Cow;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer as _};

use super::record::{RawEvent, Shape};
use super::stream::Kind;
use crate::event::Event;

/// Every record of `bytes` as an event in `out`; false (and `out` to be discarded) when any part
/// of it needs the robust path.
pub(super) fn events(bytes: &[u8], kind: Kind, out: &mut Vec<Event>) -> bool {
    // JSON text must be UTF-8; serde skips unnamed strings without checking, the robust path does.
    // Checked once for the whole document, so the parser need not check each string again.
    let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
        return false;
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let result = match kind {
        Kind::Records => de.deserialize_map(Doc(out)),
        Kind::Array => Records(out).deserialize(&mut de),
    };
    result.and_then(|()| de.end()).is_ok()
}

/// A log file object: the records of its `Records` array, other keys skipped.
struct Doc<'o>(&'o mut Vec<Event>);

impl<'de> Visitor<'de> for Doc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log file object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "Records" {
                map.next_value_seed(Records(&mut *self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// An array of records, each of which must be an event.
struct Records<'o>(&'o mut Vec<Event>);

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(Object(raw)) = seq.next_element::<Object<'de>>()? {
            match raw.into_shape() {
                Ok(Shape::Event(event)) => self.0.push(*event),
                // Not an event: the robust path says what it is.
                _ => return Err(de::Error::custom("not an event")),
            }
        }
        Ok(())
    }
}

/// A record that is a JSON object (serde would also fill a struct from an array, by position; the
/// robust path skips such a record).
struct Object<'a>(RawEvent<'a>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail record object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<'de>, A::Error> {
        RawEvent::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use crate::decode::{decode, Sink, Skip};
    use crate::event::Event;
    use crate::input;

    /// Collects what the decoder hands over; `raw` chooses the robust path (record text wanted).
    struct Collect {
        raw: bool,
        items: Vec<String>,
    }

    impl Sink for Collect {
        fn event(&mut self, mut event: Event) {
            event.raw = None;
            self.items.push(format!("{event:?}"));
        }
        fn skip(&mut self, skip: Skip) {
            self.items.push(format!("{skip}"));
        }
        fn wants_raw(&self) -> bool {
            self.raw
        }
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    fn decoded(path: &Path, bytes: &[u8], raw: bool) -> Vec<String> {
        let (mut reader, gzip) = input::sniff(std::io::Cursor::new(bytes));
        let mut sink = Collect {
            raw,
            items: Vec::new(),
        };
        decode(
            &Arc::from(path.display().to_string()),
            &mut reader,
            gzip,
            &mut sink,
        );
        sink.items
    }

    /// Every fixture and every malformed input gives the same events and skips on both paths.
    #[test]
    fn fast_path_agrees_with_the_robust_path_on_every_test_input() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests");
        let mut all = Vec::new();
        files(&root.join("fixtures"), &mut all);
        files(&root.join("malformed"), &mut all);
        all.sort();
        let mut events = 0;
        for path in all.iter().filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".json") || name.ends_with(".gz") || name.ends_with(".ndjson")
        }) {
            let bytes = std::fs::read(path).unwrap();
            let fast = decoded(path, &bytes, false);
            let robust = decoded(path, &bytes, true);
            assert_eq!(fast, robust, "{}", path.display());
            events += fast.iter().filter(|i| i.starts_with("Event")).count();
        }
        assert!(events > 500, "only {events} events in the test inputs");
    }
}
