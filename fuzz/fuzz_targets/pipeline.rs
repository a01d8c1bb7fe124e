//! Fuzz target: the whole pipeline — decode → order → track → enrich → detect — on arbitrary
//! input, wired from the core library's public stages as `pipeline::Engine` wires them. The bytes
//! are split at `\0` into up to four inputs (files of one run), each sniffed for gzip like a file.
//! Findings must serialise, enriched lines must be JSON, and (for one input in eight, chosen by
//! its length so a failure reproduces) a second run must give the same bytes.
//!
//! The address book (cloud ranges) and the enricher are built once per process: they are read-only
//! lookups (the enricher's cache only memoises), and building them per input made the target run
//! at 3 inputs a second. Order, tracking and detection state are new for every input.
#![no_main]
use std::io::Cursor;
use std::sync::{Arc, Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use trailhound_core::address::AddressBook;
use trailhound_core::config::Settings;
use trailhound_core::decode::{self, Sink, Skip};
use trailhound_core::detect::Detectors;
use trailhound_core::enrich::{Enricher, Format};
use trailhound_core::event::Event;
use trailhound_core::finding;
use trailhound_core::input;
use trailhound_core::order::Reorder;
use trailhound_core::ranges::Ranges;
use trailhound_core::track::Tracker;
use trailhound_core::useragent::AgentCache;

fn book() -> &'static AddressBook {
    static BOOK: OnceLock<AddressBook> = OnceLock::new();
    BOOK.get_or_init(|| AddressBook::new(Ranges::builtin(), &Settings::default().trusted))
}

fn enricher() -> &'static Mutex<Enricher> {
    static ENRICHER: OnceLock<Mutex<Enricher>> = OnceLock::new();
    ENRICHER.get_or_init(|| Mutex::new(Enricher::new(Format::EsBulk, "cloudtrail")))
}

/// Order, track, enrich and detect, fed by the decoder.
struct Stages {
    reorder: Reorder,
    tracker: Tracker,
    detectors: Detectors,
    agents: AgentCache,
    enriched: Vec<u8>,
    skips: Vec<String>,
}

impl Stages {
    fn process(&mut self, ev: Box<Event>) {
        let book = book();
        let obs = self.tracker.observe(&ev, book);
        let ua = self.agents.parse(ev.user_agent());
        let mut enricher = enricher().lock().expect("enricher");
        enricher
            .write(&mut self.enriched, &ev, &ua, &self.tracker, book)
            .expect("enrich to memory");
        drop(enricher);
        self.detectors
            .on_event(&ev, &ua, obs.as_ref(), &self.tracker, book);
    }
}

impl Sink for Stages {
    fn event(&mut self, event: Box<Event>) {
        let mut released = Vec::new();
        self.reorder.push(event, &mut |ev| released.push(ev));
        for ev in released {
            self.process(ev);
        }
    }
    fn skip(&mut self, skip: Skip) {
        self.skips.push(skip.to_string());
    }
    fn wants_raw(&self) -> bool {
        true
    }
}

fn run(data: &[u8]) -> String {
    let settings = Settings::default();
    let mut stages = Stages {
        reorder: Reorder::new(settings.window, settings.dedup_horizon),
        tracker: Tracker::new(&settings),
        detectors: Detectors::new(&settings),
        agents: AgentCache::default(),
        enriched: Vec::new(),
        skips: Vec::new(),
    };
    for (i, part) in data.splitn(4, |&b| b == 0).enumerate() {
        let name: Arc<str> = Arc::from(format!("fuzz-{i}.json"));
        let (mut reader, gzip) = input::sniff(Cursor::new(part.to_vec()));
        decode::decode(&name, &mut reader, gzip, &mut stages);
    }
    let mut released = Vec::new();
    stages.reorder.finish(&mut |ev| released.push(ev));
    for ev in released {
        stages.process(ev);
    }
    for line in stages
        .enriched
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        serde_json::from_slice::<serde_json::Value>(line).expect("enriched line is JSON");
    }
    let mut findings = stages.detectors.finish();
    finding::sort(&mut findings);
    let mut out = String::new();
    for f in &findings {
        out.push_str(&serde_json::to_string(f).expect("finding serialises"));
        out.push('\n');
    }
    out.push_str(&String::from_utf8_lossy(&stages.enriched));
    out.push_str(&stages.skips.join("\n"));
    out
}

fuzz_target!(|data: &[u8]| {
    let a = run(data);
    if data.len().is_multiple_of(8) {
        assert_eq!(a, run(data), "the pipeline is not deterministic");
    }
});
