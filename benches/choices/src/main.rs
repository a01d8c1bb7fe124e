//! Issue 6: which inflate and which JSON crate, by measurement on CloudTrail files.
//!
//! `choices [OPTIONS] DIR...` loads every `*.json.gz` (and plain `*.json`) file under each DIR
//! into memory, then times each variant single-threaded, the variants interleaved round by
//! round, and prints the median of the rounds. `choices summarize FILE` turns `--tsv` rows
//! (from several binaries, see run.sh) into the same table.
//!
//! Options:
//!   --rounds N         rounds (default 3); the table shows the median
//!   --only LIST        comma-separated variant names (default: all this binary has)
//!   --tsv              print one raw row per (round, variant) instead of the table
//!   --label NAME       dataset label in the rows (default: the DIR)
//!   --min-bytes N      repeat each pass over the data until it has produced at least N bytes
//!                      (default 200_000_000, so that small real datasets are timed over a
//!                      useful span; the time reported is per pass)
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The flate2 backend this binary was built with (one per build: see Cargo.toml features).
const FLATE2: &str = if cfg!(feature = "zlib-rs-rd") {
    "flate2+zlib-rs+runtime_detection"
} else if cfg!(feature = "zlib-rs") {
    "flate2+zlib-rs (no runtime_detection)"
} else if cfg!(feature = "miniz") {
    "flate2+miniz_oxide"
} else {
    "flate2 (no backend feature)"
};

/// `-native` when built with `-C target-cpu=native` (detected through a feature the baseline
/// x86-64 target does not have).
const CPU: &str = if cfg!(target_feature = "avx2") {
    " [target-cpu=native]"
} else {
    ""
};

// ---------------------------------------------------------------------------------------------
// The record: the ~20 fields trailhound reads, borrowed. The two raw fields differ per parser
// (serde_json: `&RawValue`; sonic-rs: `LazyValue`, its borrowed raw JSON; simd-json has no raw
// value type (its buffer is unescaped in place), so it builds a `BorrowedValue` tree instead).
// ---------------------------------------------------------------------------------------------

type RawSerde<'a> = &'a serde_json::value::RawValue;
type RawSonic<'a> = sonic_rs::LazyValue<'a>;
type RawSimd<'a> = SimdRaw<'a>;

/// simd-json's `BorrowedValue<'de>` deserializes only at exactly the input lifetime; this
/// wrapper lets it sit in a struct derived with `#[serde(borrow)]` (the value is covariant).
pub struct SimdRaw<'a>(#[allow(dead_code)] simd_json::BorrowedValue<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for SimdRaw<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(SimdRaw(simd_json::BorrowedValue::<'de>::deserialize(d)?))
    }
}

macro_rules! record_types {
    ($module:ident, $raw:ident) => {
        pub mod $module {
            use super::*;

            /// A log file, its `Records` streamed one event at a time (as trailhound does: no
            /// `Vec` of events), each event digested then dropped.
            pub struct Doc {
                pub events: u64,
                pub digest: u64,
            }

            impl<'de> Deserialize<'de> for Doc {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
                    d.deserialize_map(DocVisitor)
                }
            }

            struct DocVisitor;

            impl<'de> Visitor<'de> for DocVisitor {
                type Value = Doc;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a CloudTrail log file")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
                    let mut doc = Doc {
                        events: 0,
                        digest: 0,
                    };
                    while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                        if key == "Records" {
                            map.next_value_seed(Records(&mut doc))?;
                        } else {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                    Ok(doc)
                }
            }

            struct Records<'d>(&'d mut Doc);

            impl<'de> de::DeserializeSeed<'de> for Records<'_> {
                type Value = ();
                fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                    d.deserialize_seq(self)
                }
            }

            impl<'de> Visitor<'de> for Records<'_> {
                type Value = ();
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an array of events")
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                    while let Some(e) = seq.next_element::<Event<'de>>()? {
                        self.0.events += 1;
                        self.0.digest += e.digest();
                    }
                    Ok(())
                }
            }

            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub struct Event<'a> {
                #[serde(borrow)]
                pub event_time: Option<Cow<'a, str>>,
                #[serde(rename = "eventID", borrow)]
                pub event_id: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub event_source: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub event_name: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub aws_region: Option<Cow<'a, str>>,
                #[serde(rename = "sourceIPAddress", borrow)]
                pub source_ip_address: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub user_agent: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub recipient_account_id: Option<Cow<'a, str>>,
                #[serde(default)]
                pub read_only: LooseBool,
                #[serde(borrow)]
                pub error_code: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub vpc_endpoint_id: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub vpc_endpoint_account_id: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub user_identity: Option<Identity<'a>>,
                #[serde(borrow)]
                pub request_parameters: Option<$raw<'a>>,
                #[serde(borrow)]
                pub response_elements: Option<$raw<'a>>,
            }

            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub struct Identity<'a> {
                #[serde(rename = "type", borrow)]
                pub kind: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub arn: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub account_id: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub access_key_id: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub invoked_by: Option<Cow<'a, str>>,
                #[serde(borrow)]
                pub session_context: Option<SessionContext<'a>>,
            }

            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            pub struct SessionContext<'a> {
                #[serde(borrow)]
                pub session_issuer: Option<Issuer<'a>>,
                #[serde(default, borrow)]
                pub ec2_role_delivery: LooseStr<'a>,
                #[serde(borrow)]
                pub source_identity: Option<Cow<'a, str>>,
            }

            #[derive(Deserialize)]
            pub struct Issuer<'a> {
                #[serde(borrow)]
                pub arn: Option<Cow<'a, str>>,
            }

            impl Event<'_> {
                /// A digest of what was read, so nothing is optimised away and the variants can
                /// be checked against each other (string lengths are of the unescaped text).
                pub fn digest(&self) -> u64 {
                    fn l(s: &Option<Cow<'_, str>>) -> u64 {
                        s.as_deref().map_or(0, |s| s.len() as u64 + 1)
                    }
                    let mut d = l(&self.event_time)
                        + l(&self.event_id)
                        + l(&self.event_source)
                        + l(&self.event_name)
                        + l(&self.aws_region)
                        + l(&self.source_ip_address)
                        + l(&self.user_agent)
                        + l(&self.recipient_account_id)
                        + l(&self.error_code)
                        + l(&self.vpc_endpoint_id)
                        + l(&self.vpc_endpoint_account_id)
                        + self.read_only.0.map_or(0, |b| 1 + b as u64)
                        + self.request_parameters.is_some() as u64 * 3
                        + self.response_elements.is_some() as u64 * 5;
                    if let Some(u) = &self.user_identity {
                        d += l(&u.kind) + l(&u.arn) + l(&u.account_id) + l(&u.access_key_id);
                        d += l(&u.invoked_by);
                        if let Some(c) = &u.session_context {
                            d += l(&c.ec2_role_delivery.0) + l(&c.source_identity);
                            d += c.session_issuer.as_ref().map_or(0, |i| l(&i.arn));
                        }
                    }
                    d
                }
            }
        }
    };
}

record_types!(with_serde, RawSerde);
record_types!(with_sonic, RawSonic);
record_types!(with_simd, RawSimd);

/// `readOnly`: a bool, or (in some exports) the string "true"/"false".
#[derive(Default)]
pub struct LooseBool(Option<bool>);

impl<'de> Deserialize<'de> for LooseBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LooseBool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a bool or \"true\"/\"false\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LooseBool, E> {
                Ok(LooseBool(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseBool, E> {
                Ok(LooseBool(v.parse().ok()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseBool, E> {
                Ok(LooseBool(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// `ec2RoleDelivery`: "1.0"/"2.0" as a string, or a number in some exports.
#[derive(Default)]
pub struct LooseStr<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<LooseStr<'de>, E> {
                Ok(LooseStr(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseStr<'de>, E> {
                Ok(LooseStr(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LooseStr<'de>, E> {
                Ok(LooseStr(Some(Cow::Owned(format!("{v:.1}")))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LooseStr<'de>, E> {
                Ok(LooseStr(Some(Cow::Owned(format!("{v}.0")))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseStr<'de>, E> {
                Ok(LooseStr(None))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

struct Data {
    /// The gzip files as stored (empty for plain `.json` input).
    gz: Vec<Vec<u8>>,
    /// Every document, uncompressed (what the parsers get).
    plain: Vec<Vec<u8>>,
    gz_bytes: u64,
    plain_bytes: u64,
    /// Uncompressed bytes of the gzip files only.
    gz_plain_bytes: u64,
    /// Largest gzip ISIZE and largest document, to size the reused buffers.
    max_isize: usize,
    max_plain: usize,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            let name = p.file_name().unwrap().to_string_lossy();
            if name.ends_with(".json.gz") || name.ends_with(".json") {
                out.push(p);
            }
        }
    }
}

/// The gzip ISIZE trailer: the uncompressed length mod 2^32 (CloudTrail files are < 4 GiB and
/// a single member).
fn isize_of(gz: &[u8]) -> usize {
    let t = &gz[gz.len() - 4..];
    u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
}

fn load(dirs: &[PathBuf]) -> Data {
    let mut paths = Vec::new();
    for d in dirs {
        walk(d, &mut paths);
    }
    let mut data = Data {
        gz: Vec::new(),
        plain: Vec::new(),
        gz_bytes: 0,
        plain_bytes: 0,
        gz_plain_bytes: 0,
        max_isize: 0,
        max_plain: 0,
    };
    for p in paths {
        let bytes = std::fs::read(&p).unwrap();
        let plain = if p.to_string_lossy().ends_with(".gz") {
            let mut out = Vec::with_capacity(isize_of(&bytes));
            flate2::bufread::MultiGzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .unwrap();
            data.gz_bytes += bytes.len() as u64;
            data.gz_plain_bytes += out.len() as u64;
            data.max_isize = data.max_isize.max(isize_of(&bytes));
            data.gz.push(bytes);
            out
        } else {
            bytes
        };
        // Digest files and other non-log JSON are left out of the parse set.
        if plain.starts_with(b"{\"Records\"") || has_records_key(&plain) {
            data.plain_bytes += plain.len() as u64;
            data.max_plain = data.max_plain.max(plain.len());
            data.plain.push(plain);
        }
    }
    data
}

fn has_records_key(doc: &[u8]) -> bool {
    doc.iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| doc[i..].starts_with(b"{") && doc.windows(10).any(|w| w == b"\"Records\""))
}

// ---------------------------------------------------------------------------------------------
// Variants. Each does one pass over the data and returns (bytes produced or read, events,
// digest).
// ---------------------------------------------------------------------------------------------

struct Scratch {
    out: Vec<u8>,
    inflater: libdeflater::Decompressor,
    copy: Vec<u8>,
    simd: simd_json::Buffers,
}

type Pass = fn(&Data, &mut Scratch) -> (u64, u64, u64);

struct Variant {
    name: String,
    phase: &'static str,
    run: Pass,
}

fn inflate_flate2(d: &Data, s: &mut Scratch) -> (u64, u64, u64) {
    let mut n = 0;
    let mut sum = 0u64;
    for gz in &d.gz {
        s.out.clear();
        flate2::bufread::MultiGzDecoder::new(&gz[..])
            .read_to_end(&mut s.out)
            .unwrap();
        n += s.out.len() as u64;
        sum = sum.wrapping_add(*s.out.last().unwrap_or(&0) as u64);
    }
    (n, 0, sum)
}

fn inflate_libdeflater(d: &Data, s: &mut Scratch) -> (u64, u64, u64) {
    let mut n = 0;
    let mut sum = 0u64;
    if s.out.len() < d.max_isize {
        s.out.resize(d.max_isize, 0);
    }
    for gz in &d.gz {
        let want = isize_of(gz);
        let got = s.inflater.gzip_decompress(gz, &mut s.out[..want]).unwrap();
        assert_eq!(got, want);
        n += got as u64;
        sum = sum.wrapping_add(s.out[got - 1] as u64);
    }
    (n, 0, sum)
}

fn parse_serde_json(d: &Data, _: &mut Scratch) -> (u64, u64, u64) {
    let (mut ev, mut dig) = (0, 0);
    for doc in &d.plain {
        let doc: with_serde::Doc = serde_json::from_slice(doc).unwrap();
        ev += doc.events;
        dig += doc.digest;
    }
    (d.plain_bytes, ev, dig)
}

/// What trailhound's decoder does today: split `Records` into borrowed `&RawValue`s, then parse
/// each one (the second pass re-reads every record's bytes).
fn parse_serde_json_two_pass(d: &Data, _: &mut Scratch) -> (u64, u64, u64) {
    let (mut ev, mut dig) = (0, 0);
    for doc in &d.plain {
        let mut de = serde_json::Deserializer::from_slice(doc);
        de.deserialize_map(SplitDoc(&mut |raw: &serde_json::value::RawValue| {
            let e: with_serde::Event = serde_json::from_str(raw.get()).unwrap();
            ev += 1;
            dig += e.digest();
        }))
        .unwrap();
        de.end().unwrap();
    }
    (d.plain_bytes, ev, dig)
}

/// `{"Records": [...]}` whose elements are handed over as borrowed raw JSON, one at a time.
struct SplitDoc<'f>(&'f mut dyn FnMut(&serde_json::value::RawValue));

impl<'de> Visitor<'de> for SplitDoc<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log file")
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "Records" {
                map.next_value_seed(SplitSeq(&mut *self.0))?;
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct SplitSeq<'f>(&'f mut dyn FnMut(&serde_json::value::RawValue));

impl<'de> de::DeserializeSeed<'de> for SplitSeq<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SplitSeq<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of events")
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(raw) = seq.next_element::<&'de serde_json::value::RawValue>()? {
            (self.0)(raw);
        }
        Ok(())
    }
}

fn parse_sonic_rs(d: &Data, _: &mut Scratch) -> (u64, u64, u64) {
    let (mut ev, mut dig) = (0, 0);
    for doc in &d.plain {
        let doc: with_sonic::Doc = sonic_rs::from_slice(doc).unwrap();
        ev += doc.events;
        dig += doc.digest;
    }
    (d.plain_bytes, ev, dig)
}

/// simd-json parses a mutable buffer in place: the copy of each document into a reused buffer
/// is inside the timed pass, as it would be in trailhound (the inflated bytes are also needed
/// intact for error reporting and the raw fields).
fn parse_simd_json(d: &Data, s: &mut Scratch) -> (u64, u64, u64) {
    let (mut ev, mut dig) = (0, 0);
    for doc in &d.plain {
        s.copy.clear();
        s.copy.extend_from_slice(doc);
        let doc: with_simd::Doc =
            simd_json::serde::from_slice_with_buffers(&mut s.copy, &mut s.simd).unwrap();
        ev += doc.events;
        dig += doc.digest;
    }
    (d.plain_bytes, ev, dig)
}

/// The copy alone, to show what part of simd-json's time it is.
fn copy_only(d: &Data, s: &mut Scratch) -> (u64, u64, u64) {
    let mut sum = 0u64;
    for doc in &d.plain {
        s.copy.clear();
        s.copy.extend_from_slice(doc);
        sum = sum.wrapping_add(*s.copy.last().unwrap_or(&0) as u64);
    }
    (d.plain_bytes, 0, sum)
}

fn variants() -> Vec<Variant> {
    let v = |name: String, phase, run| Variant { name, phase, run };
    vec![
        v(format!("{FLATE2}{CPU}"), "inflate", inflate_flate2 as Pass),
        v(format!("libdeflater{CPU}"), "inflate", inflate_libdeflater),
        v(format!("serde_json{CPU}"), "parse", parse_serde_json),
        v(
            format!("serde_json two-pass{CPU}"),
            "parse",
            parse_serde_json_two_pass,
        ),
        v(format!("simd-json{CPU}"), "parse", parse_simd_json),
        v(format!("sonic-rs{CPU}"), "parse", parse_sonic_rs),
        v(format!("memcpy only{CPU}"), "parse", copy_only),
    ]
}

/// Short names for `--only`.
fn short(name: &str) -> &'static str {
    match name {
        n if n.starts_with("flate2") => "flate2",
        n if n.starts_with("libdeflater") => "libdeflater",
        n if n.starts_with("serde_json two-pass") => "serde_json2",
        n if n.starts_with("serde_json") => "serde_json",
        n if n.starts_with("simd-json") => "simd-json",
        n if n.starts_with("sonic-rs") => "sonic-rs",
        _ => "memcpy",
    }
}

// ---------------------------------------------------------------------------------------------
// Running and reporting
// ---------------------------------------------------------------------------------------------

/// CPU time of this thread, in seconds: unlike wall time, it does not count the time the thread
/// waited for a core, which matters on a shared 2-core machine.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid pointer to a timespec, and a clock every Linux has.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

struct Row {
    label: String,
    phase: String,
    variant: String,
    round: u32,
    /// Wall seconds for one pass.
    secs: f64,
    /// Thread CPU seconds for one pass.
    cpu: f64,
    /// Output bytes (inflate) or input bytes (parse) of one pass.
    bytes: u64,
    /// Events in the data (0 when this binary did not count them).
    events: u64,
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "--help" || args[0] == "-h" {
        eprintln!(
            "usage: choices [--rounds N] [--only LIST] [--tsv] [--label NAME] [--min-bytes N] DIR...\n       \
             choices summarize ROWS.tsv...\n       choices strictness\n\
             variants for --only: flate2,libdeflater,serde_json,serde_json2,simd-json,sonic-rs,memcpy\n\
             (see run.sh for the full comparison across flate2 backends and target-cpu=native)"
        );
        return;
    }
    if args.first().map(String::as_str) == Some("strictness") {
        strictness();
        return;
    }
    if args.first().map(String::as_str) == Some("summarize") {
        let mut rows = Vec::new();
        for f in &args[1..] {
            rows.extend(read_rows(&std::fs::read_to_string(f).unwrap()));
        }
        print_table(&rows);
        return;
    }
    let mut rounds = 3u32;
    let mut only: Option<Vec<String>> = None;
    let mut tsv = false;
    let mut label = None;
    let mut min_bytes = 200_000_000u64;
    let mut dirs = Vec::new();
    while !args.is_empty() {
        let a = args.remove(0);
        match a.as_str() {
            "--rounds" => rounds = args.remove(0).parse().unwrap(),
            "--only" => only = Some(args.remove(0).split(',').map(String::from).collect()),
            "--tsv" => tsv = true,
            "--label" => label = Some(args.remove(0)),
            "--min-bytes" => min_bytes = args.remove(0).parse().unwrap(),
            _ if a.starts_with("--") => panic!("unknown option {a}"),
            _ => dirs.push(PathBuf::from(a)),
        }
    }
    assert!(!dirs.is_empty(), "usage: choices [OPTIONS] DIR...");
    let label = label.unwrap_or_else(|| {
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" ")
    });

    let t = Instant::now();
    let data = load(&dirs);
    eprintln!(
        "{label}: {} gzip files ({:.1} MB -> {:.1} MB), {} documents ({:.1} MB) loaded in {:.1}s",
        data.gz.len(),
        data.gz_bytes as f64 / 1e6,
        data.gz_plain_bytes as f64 / 1e6,
        data.plain.len(),
        data.plain_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let mut scratch = Scratch {
        out: Vec::with_capacity(data.max_isize),
        inflater: libdeflater::Decompressor::new(),
        copy: Vec::with_capacity(data.max_plain),
        simd: simd_json::Buffers::new(data.max_plain),
    };
    let selected: Vec<Variant> = variants()
        .into_iter()
        .filter(|v| {
            only.as_ref()
                .is_none_or(|o| o.iter().any(|x| x == short(&v.name)))
        })
        .filter(|v| v.phase == "parse" || !data.gz.is_empty())
        .collect();

    // One untimed pass of each over the first files: warms code, caches and buffers.
    let warm = Data {
        gz: data.gz.iter().take(50).cloned().collect(),
        plain: data.plain.iter().take(50).cloned().collect(),
        ..data
    };
    for v in &selected {
        (v.run)(&warm, &mut scratch);
    }
    drop(warm);
    let mut events = 0u64;
    // Every timed pass is checked against the first variant of its phase: same bytes, same
    // events, same digest of the fields read (simd-json's raw fields are trees, not text; the
    // digest only counts their presence, as for the others).
    let mut reference: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    let mut check = |v: &Variant, got: (u64, u64, u64)| {
        let key = if short(&v.name) == "memcpy" {
            "memcpy"
        } else {
            v.phase
        };
        let want = *reference.entry(key).or_insert(got);
        assert_eq!(
            want, got,
            "{} disagrees with the first {key} variant",
            v.name
        );
        got.1
    };

    let mut rows = Vec::new();
    for round in 1..=rounds {
        for v in &selected {
            let t = Instant::now();
            let c = thread_cpu();
            let mut passes = 0u32;
            let mut produced = 0u64;
            let mut got = (0, 0, 0);
            while passes == 0 || produced < min_bytes {
                got = (v.run)(&data, &mut scratch);
                produced += got.0;
                passes += 1;
            }
            let elapsed = t.elapsed().as_secs_f64();
            let cpu = thread_cpu() - c;
            let bytes = got.0;
            if check(v, got) > 0 {
                events = got.1;
            }
            let row = Row {
                label: label.clone(),
                phase: v.phase.to_string(),
                variant: v.name.clone(),
                round,
                secs: elapsed / f64::from(passes),
                cpu: cpu / f64::from(passes),
                bytes,
                events,
            };
            if tsv {
                println!(
                    "{}\t{}\t{}\t{}\t{:.6}\t{:.6}\t{}\t{}",
                    row.label,
                    row.phase,
                    row.variant,
                    row.round,
                    row.secs,
                    row.cpu,
                    row.bytes,
                    row.events
                );
            } else {
                eprintln!(
                    "round {round}: {:<48} {:8.4}s wall {:8.4}s cpu",
                    row.variant, row.secs, row.cpu
                );
            }
            rows.push(row);
        }
    }
    if !tsv {
        print_table(&rows);
    }
}

fn read_rows(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Row {
                label: f[0].to_string(),
                phase: f[1].to_string(),
                variant: f[2].to_string(),
                round: f[3].parse().unwrap(),
                secs: f[4].parse().unwrap(),
                cpu: f[5].parse().unwrap(),
                bytes: f[6].parse().unwrap(),
                events: f[7].parse().unwrap(),
            }
        })
        .collect()
}

/// Markdown table: per dataset and variant, the median (and fastest) thread-CPU time of one
/// pass over the data, the rates it gives, and the median wall time for comparison.
fn print_table(rows: &[Row]) {
    let mut groups: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    let mut events: BTreeMap<&str, u64> = BTreeMap::new();
    for r in rows {
        groups
            .entry((r.label.clone(), r.variant.clone()))
            .or_default()
            .push(r);
        if r.events > 0 {
            events.insert(&r.label, r.events);
        }
    }
    let med = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        let n = t.len();
        if n % 2 == 1 {
            t[n / 2]
        } else {
            (t[n / 2 - 1] + t[n / 2]) / 2.0
        }
    };
    struct Line {
        label: String,
        phase: String,
        variant: String,
        copy: bool,
        cpu: f64,
        cpu_min: f64,
        wall: f64,
        runs: usize,
        bytes: u64,
    }
    let mut lines: Vec<Line> = groups
        .iter()
        .map(|((label, variant), rs)| Line {
            label: label.clone(),
            phase: rs[0].phase.clone(),
            variant: variant.clone(),
            copy: variant.starts_with("memcpy"),
            cpu: med(rs.iter().map(|r| r.cpu).collect()),
            cpu_min: rs.iter().map(|r| r.cpu).fold(f64::INFINITY, f64::min),
            wall: med(rs.iter().map(|r| r.secs).collect()),
            runs: rs.len(),
            bytes: rs[0].bytes,
        })
        .collect();
    // Inflate before parse, the reference copy last, fastest first.
    lines.sort_by(|a, b| {
        (&a.label, a.phase != "inflate", a.copy)
            .cmp(&(&b.label, b.phase != "inflate", b.copy))
            .then(a.cpu.total_cmp(&b.cpu))
    });
    println!(
        "| data | phase | variant | runs | median CPU ms/pass | min | median wall ms | MB/s | events/s | time vs fastest |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut best: BTreeMap<(String, String), f64> = BTreeMap::new();
    for l in &lines {
        let ev = events.get(l.label.as_str()).copied().unwrap_or(0);
        let b = *best
            .entry((l.label.clone(), l.phase.clone()))
            .or_insert(l.cpu);
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {} | {} |",
            l.label,
            l.phase,
            l.variant,
            l.runs,
            l.cpu * 1e3,
            l.cpu_min * 1e3,
            l.wall * 1e3,
            l.bytes as f64 / 1e6 / l.cpu,
            if l.copy || ev == 0 {
                "–".to_string()
            } else {
                format!("{:.2} M", ev as f64 / l.cpu / 1e6)
            },
            if l.copy {
                "–".to_string()
            } else {
                format!("{:.2}×", l.cpu / b)
            },
        );
    }
}

/// Which malformed documents each parser rejects: a faster parser that validates less is not
/// a like-for-like replacement (trailhound reports malformed input rather than guess).
fn strictness() {
    let cases: [(&str, &[u8]); 6] = [
        (
            "valid",
            br#"{"Records":[{"eventName":"x","requestParameters":{"a":[1,true]}}]}"#,
        ),
        (
            "bad JSON in an ignored field",
            br#"{"Records":[{"eventName":"x","other":[1,,2]}]}"#,
        ),
        (
            "bad JSON in requestParameters",
            br#"{"Records":[{"eventName":"x","requestParameters":{"a":tru}}]}"#,
        ),
        (
            "invalid UTF-8 in a read string",
            b"{\"Records\":[{\"eventName\":\"x\xff\"}]}",
        ),
        (
            "invalid UTF-8 in an ignored string",
            b"{\"Records\":[{\"eventName\":\"x\",\"other\":\"\xff\"}]}",
        ),
        ("trailing garbage", br#"{"Records":[{"eventName":"x"}]} }"#),
    ];
    println!("| input | serde_json | simd-json | sonic-rs |");
    println!("|---|---|---|---|");
    let verdict = |ok: bool| if ok { "accepted" } else { "rejected" };
    for (name, doc) in cases {
        let serde = serde_json::from_slice::<with_serde::Doc>(doc).is_ok();
        let mut copy = doc.to_vec();
        let simd = simd_json::serde::from_slice::<with_simd::Doc>(&mut copy).is_ok();
        let sonic = sonic_rs::from_slice::<with_sonic::Doc>(doc).is_ok();
        println!(
            "| {name} | {} | {} | {} |",
            verdict(serde),
            verdict(simd),
            verdict(sonic)
        );
    }
}
