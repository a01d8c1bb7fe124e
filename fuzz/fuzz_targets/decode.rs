//! Fuzz target: the decoder on arbitrary bytes, plain or (when the bytes start with the gzip
//! magic) inflated, as `trailhound scan` opens a file. Invariants checked beyond "no panic": every
//! skip names its input and has a short message, decoding is deterministic, and the fast path for
//! an input held whole (libdeflate's one-call inflate, the text read in place, the one-pass parse)
//! gives exactly the events, record texts and skips the streamed robust path gives.
#![no_main]
use std::io::Cursor;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use trailhound_core::decode::{self, Sink, Skip};
use trailhound_core::event::Event;
use trailhound_core::input;

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = gz.write_all(data);
    gz.finish().unwrap_or_default()
}

fn decode_all(data: &[u8]) -> Vec<Result<Event, Skip>> {
    let name: Arc<str> = Arc::from("fuzz.json");
    let (mut reader, gzip) = input::sniff(Cursor::new(data.to_vec()));
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    decode::decode(&name, &mut reader, gzip, &mut out);
    out
}

/// A plain JSON document (BOM aside) that is an empty array or a log file with an empty `Records` array.
fn holds_no_records(data: &[u8]) -> bool {
    // The decoder trims ASCII whitespace (form feed included) around a document.
    match serde_json::from_slice::<serde_json::Value>(data.trim_ascii()) {
        Ok(serde_json::Value::Array(a)) => a.is_empty(),
        Ok(serde_json::Value::Object(o)) => o
            .get("Records")
            .and_then(|r| r.as_array())
            .is_some_and(|r| r.is_empty()),
        _ => false,
    }
}

/// Wants each record's text; `fast: false` forces the robust path.
struct WithText {
    fast: bool,
    items: Vec<Result<Event, Skip>>,
}

impl Sink for WithText {
    fn event(&mut self, event: Box<Event>) {
        self.items.push(Ok(*event));
    }
    fn skip(&mut self, skip: Skip) {
        self.items.push(Err(skip));
    }
    fn wants_raw(&self) -> bool {
        true
    }
    fn fast_path(&self) -> bool {
        self.fast
    }
}

/// `fast`: the input held whole, as `scan` reads a file or `watch` an object (one-call inflate,
/// text read in place, the one-pass parse); else streamed through the robust path, as stdin is.
fn decode_with_text(data: &[u8], fast: bool) -> Vec<Result<Event, Skip>> {
    let mut sink = WithText {
        fast,
        items: Vec::new(),
    };
    let name: Arc<str> = Arc::from("fuzz.json");
    if fast {
        decode::decode_whole(&name, data, &mut sink);
    } else {
        let (mut reader, gzip) = input::sniff(Cursor::new(data.to_vec()));
        decode::decode(&name, &mut reader, gzip, &mut sink);
    }
    sink.items
}

fuzz_target!(|data: &[u8]| {
    let out = decode_all(data);
    for item in &out {
        if let Err(skip) = item {
            assert_eq!(&*skip.input, "fuzz.json");
            assert!(!skip.message.is_empty());
            // Messages are capped (400 bytes and an ellipsis): a hostile record cannot flood stderr.
            assert!(skip.message.len() <= 403, "{skip}");
        }
    }
    // Not an event and no skip at all would be silent loss: every non-empty input says something,
    // except input that holds no records: no object at all (`[]`, `[][]`: an event is an object)
    // or a valid log file with an empty `Records` array. Nothing there to lose.
    assert!(
        !out.is_empty() || !data.contains(&b'{') || holds_no_records(data),
        "nothing reported for {} bytes",
        data.len()
    );
    let fast = decode_with_text(data, true);
    let robust = decode_with_text(data, false);
    assert_eq!(
        format!("{fast:?}"),
        format!("{robust:?}"),
        "fast and robust paths differ"
    );
    // Without the text: the same events and skips.
    let stripped: Vec<Result<Event, Skip>> = fast
        .into_iter()
        .map(|item| {
            item.map(|mut e| {
                e.raw = None;
                e
            })
        })
        .collect();
    assert_eq!(format!("{out:?}"), format!("{stripped:?}"));
    let again = decode_all(data);
    assert_eq!(format!("{out:?}"), format!("{again:?}"));
    // The one-call inflate on well-formed gzip of the input: one member, the same member twice
    // (its trailer is then also the file's last 8 bytes), and a member with a byte after it.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let gz = gzip(data);
        let variants = [
            gz.clone(),
            [gz.as_slice(), gz.as_slice()].concat(),
            [gz.as_slice(), &data[..data.len().min(1)]].concat(),
        ];
        for v in &variants {
            assert_eq!(
                format!("{:?}", decode_with_text(v, true)),
                format!("{:?}", decode_with_text(v, false)),
                "fast and robust paths differ on gzip"
            );
        }
    }
    // The in-memory entry point agrees with the reader one on plain input.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut mem: Vec<Result<Event, Skip>> = Vec::new();
        decode::decode_bytes("fuzz.json", data, &mut mem);
        assert_eq!(format!("{out:?}"), format!("{mem:?}"));
    }
});
