//! Fuzz target: the decoder on arbitrary bytes, plain or (when the bytes start with the gzip
//! magic) inflated, as `trailhound scan` opens a file. Invariants checked beyond "no panic": every
//! skip names its input and has a short message, and decoding is deterministic.
#![no_main]
use std::io::Cursor;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use trailhound_core::decode::{self, Skip};
use trailhound_core::event::Event;
use trailhound_core::input;

fn decode_all(data: &[u8]) -> Vec<Result<Event, Skip>> {
    let name: Arc<str> = Arc::from("fuzz.json");
    let (mut reader, gzip) = input::sniff(Cursor::new(data.to_vec()));
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    decode::decode(&name, &mut reader, gzip, &mut out);
    out
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
    // Not an event and no skip at all would be silent loss: every non-empty input says something.
    assert!(!out.is_empty(), "nothing reported for {} bytes", data.len());
    let again = decode_all(data);
    assert_eq!(format!("{out:?}"), format!("{again:?}"));
    // The in-memory entry point agrees with the reader one on plain input.
    if !data.starts_with(&[0x1f, 0x8b]) {
        let mut mem: Vec<Result<Event, Skip>> = Vec::new();
        decode::decode_bytes("fuzz.json", data, &mut mem);
        assert_eq!(format!("{out:?}"), format!("{mem:?}"));
    }
});
