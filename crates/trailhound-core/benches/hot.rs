//! Criterion benchmarks of the hot pieces, throughput in events and bytes, setup untimed.
//! Data: every CloudTrail record of the scenario fixtures (`tests/fixtures`), repeated to ~50,000
//! events and re-delivered as one `{"Records":[…]}` document, plain and gzipped.
//! Run: `cargo bench -p trailhound-core --bench hot`. The whole-pipeline comparison against the
//! decode floor is `trailhound bench DIR` (README, Performance).
use std::io::{Read, Write};
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use trailhound_core::config::Settings;
use trailhound_core::decode::{decode_bytes, Skip};
use trailhound_core::event::Event;
use trailhound_core::pipeline::Engine;
use trailhound_core::ranges::Ranges;
use trailhound_core::useragent::UserAgent;

fn records() -> Vec<serde_json::Value> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("fixtures")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for d in dirs.iter().filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(d)
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files
            .iter()
            .filter(|f| f.to_string_lossy().ends_with(".json.gz"))
        {
            let mut text = Vec::new();
            if flate2::read::GzDecoder::new(std::fs::File::open(f).expect("open"))
                .read_to_end(&mut text)
                .is_err()
            {
                continue;
            }
            if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&text) {
                out.extend(doc["Records"].as_array().cloned().unwrap_or_default());
            }
        }
    }
    out
}

fn corpus() -> (Vec<u8>, Vec<u8>, u64) {
    let base = records();
    let mut all = Vec::new();
    let mut i = 0u64;
    while all.len() < 50_000 {
        for r in &base {
            let mut r = r.clone();
            r["eventID"] = serde_json::Value::String(format!("00000000-0000-4000-8000-{i:012x}"));
            all.push(r);
            i += 1;
        }
    }
    let plain = serde_json::to_vec(&serde_json::json!({ "Records": all })).expect("json");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).expect("gzip");
    (plain, gz.finish().expect("gzip"), all.len() as u64)
}

fn decode_all(bytes: &[u8]) -> Vec<Result<Event, Skip>> {
    let mut out: Vec<Result<Event, Skip>> = Vec::new();
    decode_bytes("bench.json", bytes, &mut out);
    out
}

fn benches(c: &mut Criterion) {
    let (plain, gz, n) = corpus();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(n));
    g.bench_function("records_json", |b| b.iter(|| decode_all(&plain).len()));
    g.bench_function("records_json_gz", |b| {
        b.iter(|| {
            let mut out: Vec<Result<Event, Skip>> = Vec::new();
            let name: std::sync::Arc<str> = "bench.json.gz".into();
            let (mut r, gzip) = trailhound_core::input::sniff(std::io::Cursor::new(gz.clone()));
            trailhound_core::decode::decode(&name, &mut r, gzip, &mut out);
            out.len()
        })
    });
    g.finish();

    let events: Vec<Event> = decode_all(&plain)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("order_track_detect", |b| {
        b.iter_batched(
            || {
                (
                    events.clone(),
                    Engine::new(Settings::default(), Ranges::builtin(), Box::new(|_| {})),
                )
            },
            |(events, mut engine)| {
                for ev in events {
                    trailhound_core::decode::Sink::event(&mut engine, Box::new(ev));
                }
                engine.finish().0.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let agents: Vec<&str> = events.iter().map(|e| e.user_agent()).collect();
    let mut g = c.benchmark_group("lookups");
    g.throughput(Throughput::Elements(agents.len() as u64));
    g.bench_function("user_agent_parse", |b| {
        b.iter(|| {
            agents
                .iter()
                .filter(|a| UserAgent::parse(a).attack_tool.is_some())
                .count()
        })
    });
    let ranges = Ranges::builtin();
    let ips: Vec<std::net::IpAddr> = events
        .iter()
        .filter_map(|e| e.source_ip.parse().ok())
        .collect();
    g.throughput(Throughput::Elements(ips.len() as u64));
    g.bench_function("ranges_lookup", |b| {
        b.iter(|| {
            ips.iter()
                .filter(|ip| ranges.lookup(**ip).is_some())
                .count()
        })
    });
    g.finish();

    // Every enriched record's text goes through redaction (most hold no secret).
    let texts: Vec<String> = records().iter().map(|r| r.to_string()).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("record_text", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter(|t| {
                    matches!(
                        trailhound_core::redact::record_text(t),
                        std::borrow::Cow::Owned(_)
                    )
                })
                .count()
        })
    });
    g.finish();
}

criterion_group! {
    name = hot;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(hot);
