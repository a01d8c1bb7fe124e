//! The fast path for a whole, valid log file: its records parsed straight into events in one pass
//! over the text, each with its span (so `enrich` can keep the record's text without a second pass).
//!
//! It only ever answers for a document the robust path ([`super::stream`]) would decode without a
//! single skip: valid UTF-8 (checked once, by the caller), exactly `{"Records":[…]}` or `[…]`, every
//! record a CloudTrail event object. Anything else (a bad record, an envelope, a syntax error,
//! another key beside `Records`, concatenated documents) returns false and the caller decodes the
//! document the robust way, so both paths give the same events and skips.
//!
//! The array's punctuation is read here; each record is read by [`super::scanner`], or, when the
//! scanner leaves it to serde (escapes, odd types, bad JSON), by its own `serde_json` stream
//! deserializer, whose byte offset after the record is where the record ends. (sonic-rs was tried
//! here and was slower on CloudTrail's records: `docs/performance-choices.md`.)
use std::fmt;
use std::ops::Range;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::Deserialize;

use super::record::{RawEvent, Shape};
use super::scanner;
use super::stream::Kind;
use crate::event::Event;

/// Every record of `text` as an event with its byte range in `text`; false (and `out` to be
/// discarded) when any part of it needs the robust path.
pub(super) fn events(text: &str, kind: Kind, out: &mut Vec<(Box<Event>, Range<usize>)>) -> bool {
    let b = text.as_bytes();
    let clean = scanner::is_clean(text);
    let mut at = skip_ws(b, 0);
    if kind == Kind::Records {
        for expected in ["{", "\"Records\"", ":"] {
            let Some(rest) = b[at..].strip_prefix(expected.as_bytes()) else {
                return false;
            };
            at = skip_ws(b, b.len() - rest.len());
        }
    }
    if b.get(at) != Some(&b'[') {
        return false;
    }
    at = skip_ws(b, at + 1);
    if b.get(at) == Some(&b']') {
        at += 1;
    } else {
        loop {
            let Some(end) = record(text, at, clean, out) else {
                return false;
            };
            at = skip_ws(b, end);
            match b.get(at) {
                Some(b',') => at = skip_ws(b, at + 1),
                Some(b']') => {
                    at += 1;
                    break;
                }
                _ => return false,
            }
        }
    }
    if kind == Kind::Records {
        at = skip_ws(b, at);
        if b.get(at) != Some(&b'}') {
            return false;
        }
        at += 1;
    }
    skip_ws(b, at) == b.len()
}

/// The record starting at `start` into `out`; where it ends, or `None` when it is not an event.
fn record(
    text: &str,
    start: usize,
    clean: bool,
    out: &mut Vec<(Box<Event>, Range<usize>)>,
) -> Option<usize> {
    if !text.get(start..)?.starts_with('{') {
        return None;
    }
    // Escapes, odd types or bad JSON: serde_json reads it (and the robust path reports it).
    let (raw, end) = scanner::record(text, start, clean).or_else(|| parsed(text, start))?;
    match raw.into_shape() {
        Ok(Shape::Event(event)) => {
            out.push((event, start..end));
            Some(end)
        }
        // Not an event: the robust path says what it is.
        _ => None,
    }
}

/// serde_json's reading of the object at `start`, and where it ends; `None` when it fails.
fn parsed(text: &str, start: usize) -> Option<(RawEvent<'_>, usize)> {
    let mut values = serde_json::Deserializer::from_str(text.get(start..)?).into_iter::<Object>();
    let Object(raw) = values.next()?.ok()?;
    Some((raw, start + values.byte_offset()))
}

/// The first index at or after `at` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
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

    use crate::decode::{decode, decode_whole, Sink, Skip};
    use crate::event::Event;
    use crate::input;

    /// Collects what the decoder hands over, with each event's text when `raw`; `fast: false`
    /// forces the robust path.
    struct Collect {
        raw: bool,
        fast: bool,
        items: Vec<String>,
    }

    impl Sink for Collect {
        fn event(&mut self, event: Box<Event>) {
            self.items.push(format!("{event:?}"));
        }
        fn skip(&mut self, skip: Skip) {
            self.items.push(format!("{skip}"));
        }
        fn wants_raw(&self) -> bool {
            self.raw
        }
        fn fast_path(&self) -> bool {
            self.fast
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

    /// `fast`: the input held whole ([`decode_whole`]: one-call inflate, text read in place, the
    /// one-pass parse); else streamed through the robust path, as stdin is.
    fn decoded(path: &Path, bytes: &[u8], raw: bool, fast: bool) -> Vec<String> {
        let mut sink = Collect {
            raw,
            fast,
            items: Vec::new(),
        };
        let name = Arc::from(path.display().to_string());
        if fast {
            decode_whole(&name, bytes, &mut sink);
        } else {
            let (mut reader, gzip) = input::sniff(std::io::Cursor::new(bytes));
            decode(&name, &mut reader, gzip, &mut sink);
        }
        sink.items
    }

    /// An event's debug form with its text replaced by `None`.
    fn strip_raw(item: &str) -> String {
        match item.find("raw: Some(") {
            Some(i) => format!("{}raw: None, sigma: None }}", &item[..i]),
            None => item.to_owned(),
        }
    }

    /// Every fixture and every malformed input gives the same events, texts and skips on both paths.
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
            let fast = decoded(path, &bytes, true, true);
            let robust = decoded(path, &bytes, true, false);
            assert_eq!(fast, robust, "{}", path.display());
            // Without the text, the same events (`raw: None` in place of the text) and skips.
            let plain = decoded(path, &bytes, false, true);
            let stripped: Vec<String> = fast.iter().map(|i| strip_raw(i)).collect();
            assert_eq!(plain, stripped, "{}", path.display());
            events += fast.iter().filter(|i| i.starts_with("Event")).count();
        }
        assert!(events > 500, "only {events} events in the test inputs");
    }

    /// Where JSON parsers are known to differ (escapes, surrogates, control characters, numbers,
    /// duplicate keys, nesting, odd types): the one-pass parse, with and without the record text,
    /// and the robust path give the same events and skips on every variant of a real record.
    #[test]
    fn both_paths_agree_on_what_parsers_disagree_about() {
        const BASE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/web/i-0abc","accountId":"123456789012","accessKeyId":"ASIAEXAMPLEKEY000001","sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::123456789012:role/web"},"attributes":{"creationDate":"2024-03-05T10:00:00Z","mfaAuthenticated":"false"},"ec2RoleDelivery":"2.0"}},"eventTime":"2024-03-05T11:05:12Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"r-1","eventID":"e-1","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012"}"#;
        let variants: Vec<(&str, &str)> = vec![
            ("\"aws-cli/2.15.0\"", "\"aws-cli\\u002f2.15.0\""),
            ("\"aws-cli/2.15.0\"", "\"aws\\ud83d\\ude00cli\""),
            ("\"aws-cli/2.15.0\"", "\"aws\\ud800cli\""),
            ("\"aws-cli/2.15.0\"", "\"aws\\udc00cli\""),
            ("\"r-1\"", "\"r\\ud800-1\""),
            ("\"r-1\"", "\"r\\x-1\""),
            ("\"r-1\"", "\"r\u{1}-1\""),
            ("\"aws-cli/2.15.0\"", "\"aws\u{1f}cli\""),
            ("\"aws-cli/2.15.0\"", "\"aws\u{7f}cli\""),
            ("\"requestID\"", "\"request\\u0049D\""),
            ("\"eventName\"", "\"event\\u004eame\""),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":01}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":1e400}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":-0.0e-0}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":1.}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":.5}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":+1}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":NaN}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":[1,2,]}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"n\":{\"a\":1,}}",
            ),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":{\"a\":1,\"a\":2}",
            ),
            ("\"requestID\":\"r-1\"", "\"requestID\":tru"),
            ("\"requestID\":\"r-1\"", "\"requestID\":nul"),
            ("\"requestID\":\"r-1\"", "\"requestID\":\"\\u12\""),
            (
                "\"eventName\":\"GetCallerIdentity\"",
                "\"eventName\":\"GetCallerIdentity\",\"eventName\":\"X\"",
            ),
            ("\"readOnly\":true", "\"readOnly\":\"TRUE\""),
            ("\"readOnly\":true", "\"readOnly\":1"),
            ("\"readOnly\":true", "\"readOnly\":null"),
            ("\"ec2RoleDelivery\":\"2.0\"", "\"ec2RoleDelivery\":2.0"),
            ("\"ec2RoleDelivery\":\"2.0\"", "\"ec2RoleDelivery\":2e0"),
            (
                "\"ec2RoleDelivery\":\"2.0\"",
                "\"ec2RoleDelivery\":18446744073709551616",
            ),
            ("\"ec2RoleDelivery\":\"2.0\"", "\"ec2RoleDelivery\":-1"),
            (
                "\"eventTime\":\"2024-03-05T11:05:12Z\"",
                "\"eventTime\":20240305",
            ),
            (
                "\"eventSource\":\"sts.amazonaws.com\"",
                "\"eventSource\":null",
            ),
            ("\"userIdentity\":{", "\"userIdentity\":[{"),
            ("\"userIdentity\":{", "\"userIdentity\":null,\"x\":{"),
            ("\"sessionContext\":{", "\"sessionContext\":null,\"x\":{"),
            ("\"sessionIssuer\":{", "\"sessionIssuer\":null,\"x\":{"),
            ("\"sessionIssuer\":{", "\"sessionIssuer\":{\"arn\":\"a\","),
            (
                "\"accountId\":\"123456789012\",",
                "\"accountId\":\"1\",\"accountId\":\"2\",",
            ),
            ("\"accountId\":\"123456789012\",", "\"accountId\":null,"),
            (
                "\"requestID\":\"r-1\"",
                r#""requestID":"r\n\t\"\\\/\u00e9-1""#,
            ),
            ("\"requestID\":\"r-1\"", r#""requestID":"r\ud800\udc00""#),
            (
                "\"requestID\":\"r-1\"",
                r#""requestID":{"k\u0041":[[],{},[{}],"",0,-0,1.5e+3,true,false,null]}"#,
            ),
            (
                "\"requestID\":\"r-1\"",
                "\"requestID\":{\"k\" : [ 1 , 2 ] , \"j\":\t{ } }",
            ),
            ("\"requestID\":\"r-1\"", "\"requestID\":{\"k\":\"a\nb\"}"),
            ("\"requestID\":\"r-1\"", "\"Records\":[]"),
            ("\"requestID\":\"r-1\"", "\"detail\":{}"),
            ("\"requestID\":\"r-1\"", "\"digestStartTime\":\"x\""),
            (
                "\"requestID\":\"r-1\"",
                "\"@timestamp\":\"2024-03-05T11:05:13Z\"",
            ),
            // The skip loop's bracket stack: mismatched, unclosed, missing colon or comma.
            ("\"requestID\":\"r-1\"", "\"requestID\":[1,{\"a\":[]}}"),
            ("\"requestID\":\"r-1\"", "\"requestID\":{\"a\":[1]]"),
            ("\"requestID\":\"r-1\"", "\"requestID\":{\"a\" 1}"),
            ("\"requestID\":\"r-1\"", "\"requestID\":[1 2]"),
            ("\"requestID\":\"r-1\"", "\"requestID\":{\"a\":1 \"b\":2}"),
            (
                "\"requestID\":\"r-1\"",
                "\"requestID\":[[[[{}]]],[],{\"\":[{\"b\":[null]}]}]",
            ),
            ("\"requestID\":\"r-1\"", "\"requestID\":{,}"),
            ("\"requestID\":\"r-1\"", "\"requestID\":[,1]"),
            // An escape or a control character after the first sixteen bytes of a string.
            (
                "\"aws-cli/2.15.0\"",
                "\"aws-cli/2.15.0 Python/3.11 exe/x86_64\\u0041 past the first step\"",
            ),
            (
                "\"requestID\":\"r-1\"",
                "\"requestID\":\"r-1 long enough to pass one step\u{1}\"",
            ),
            ("\"readOnly\":true", "\"readOnly\":\"maybe\""),
            ("\"readOnly\":true", "\"readOnly\":true,\"readOnly\":false"),
            (
                "\"aws-cli/2.15.0\"",
                "\"aws-cli/2.15.0 long enough to cross several eight-byte words\"",
            ),
            (
                "\"aws-cli/2.15.0\"",
                "\"aws-cli/2.15.0 long enough to cross several words \u{1}\"",
            ),
            (
                "\"aws-cli/2.15.0\"",
                "\"aws-cli/2.15.0 long enough to cross several words",
            ),
            ("\"requestParameters\":null", "\"requestParameters\" : null"),
            (
                "\"requestParameters\":null",
                "\"requestParameters\":\u{c}null",
            ),
        ];
        // The fast path does answer for a well-formed log file (it is not always falling back).
        let doc = format!("{{\"Records\":[{BASE},{BASE}]}}");
        let mut spanned = Vec::new();
        assert!(super::events(&doc, super::Kind::Records, &mut spanned));
        assert_eq!(spanned.len(), 2);
        let deep = format!("{}1{}", "[".repeat(3000), "]".repeat(3000));
        let deep_field = format!("\"requestParameters\":{deep}");
        let mut all: Vec<String> = variants
            .iter()
            .map(|(from, to)| {
                assert!(BASE.contains(from), "{from}");
                BASE.replacen(from, to, 1)
            })
            .collect();
        all.push(BASE.replacen("\"requestParameters\":null", &deep_field, 1));
        // Record by record: where the scanner answers, serde_json gives the same event and end.
        let shape = |s: Result<super::Shape, String>| match s {
            Ok(super::Shape::Event(e)) => format!("{e:?}"),
            Ok(_) => "not an event".to_owned(),
            Err(why) => why,
        };
        let mut answered = 0;
        for record in std::iter::once(BASE).chain(all.iter().map(String::as_str)) {
            for clean in [false, true] {
                if clean && !super::scanner::is_clean(record) {
                    continue;
                }
                if let Some((raw, end)) = super::scanner::record(record, 0, clean) {
                    answered += 1;
                    let Some((by_serde, serde_end)) = super::parsed(record, 0) else {
                        panic!("the scanner read what serde_json refuses: {record}");
                    };
                    assert_eq!(end, serde_end, "{record}");
                    assert_eq!(
                        shape(raw.into_shape()),
                        shape(by_serde.into_shape()),
                        "{record}"
                    );
                }
            }
        }
        assert!(super::scanner::record(BASE, 0, true).is_some());
        assert!(
            answered >= 20,
            "the scanner answered for only {answered} records"
        );
        for record in &all {
            for doc in [
                format!("{{\"Records\":[{record}]}}"),
                format!("{{\"Records\":[{BASE},{record},{BASE}]}}"),
                format!("[{record}]"),
            ] {
                let path = Path::new("variant.json");
                let bytes = doc.as_bytes();
                let robust = decoded(path, bytes, true, false);
                let fast = decoded(path, bytes, true, true);
                assert_eq!(fast, robust, "{doc}");
                let parsed = decoded(path, bytes, false, true);
                let stripped: Vec<String> = robust.iter().map(|i| strip_raw(i)).collect();
                assert_eq!(parsed, stripped, "{doc}");
            }
        }
    }
}
