//! The pipeline: the only place stages are wired together.
//!
//! `input` → `decode` (may run in parallel per file; events come back in input order) → `order`
//! (reorder window, de-dup) → `track` (learn, judge) → `enrich` (optional: every event, enriched,
//! to a writer) → `detect` → findings. The [`Engine`] is a
//! plain struct with `&mut self` methods: threads, progress bars and files are the caller's.
use std::io::{self, BufRead, Write};
use std::sync::Arc;

use crate::address::AddressBook;
use crate::config::Settings;
use crate::decode::{self, Sink, Skip};
use crate::deferred::Deferred;
use crate::detect::Detectors;
use crate::enrich::Enricher;
use crate::event::Event;
use crate::finding::{self, Finding};
use crate::order::Reorder;
use crate::ranges::Ranges;
use crate::sigma::RuleSet;
use crate::state::{self, Shape, StateError};
use crate::summary::Summary;
use crate::track::Tracker;
use crate::useragent::{AgentCache, UserAgent};

/// What decoding adds to events: their record text (`enrich`), and the Sigma rules they match.
#[derive(Clone, Debug, Default)]
pub struct RawWant {
    /// Every event keeps its record text (`enrich`).
    pub all: bool,
    /// Rules decided on each record while it is at hand.
    pub sigma: Option<Arc<RuleSet>>,
}

/// What decoding one input produced, held so that inputs decoded in parallel can be handed to the
/// engine in input order ([`Engine::feed`]).
#[derive(Debug, Default)]
pub struct Decoded {
    /// Events and skips, in the input's order.
    pub items: Vec<Result<Box<Event>, Skip>>,
    /// Which events keep their record text.
    pub raw: RawWant,
}

impl Decoded {
    /// Decodes one opened input (`raw`: every event keeps its record text, for `enrich`).
    pub fn decode(name: &Arc<str>, reader: &mut dyn BufRead, gzip: bool, raw: bool) -> Decoded {
        let want = RawWant {
            all: raw,
            sigma: None,
        };
        Decoded::decode_with(name, reader, gzip, &want)
    }

    /// Decodes one opened input, keeping the record text of the events `want` names
    /// ([`Engine::raw_want`]).
    pub fn decode_with(
        name: &Arc<str>,
        reader: &mut dyn BufRead,
        gzip: bool,
        want: &RawWant,
    ) -> Decoded {
        let mut out = Decoded::empty(want);
        decode::decode(name, reader, gzip, &mut out);
        out
    }

    /// Nothing decoded yet, keeping the record text `want` names.
    pub fn empty(want: &RawWant) -> Decoded {
        Decoded {
            items: Vec::new(),
            raw: want.clone(),
        }
    }

    /// Decodes one input held whole in memory (a file read at once, an S3 object): the fast path
    /// ([`decode::decode_whole`]), with the same results as [`Decoded::decode_with`].
    pub fn decode_whole(name: &Arc<str>, bytes: &[u8], want: &RawWant) -> Decoded {
        let mut out = Decoded::empty(want);
        decode::decode_whole(name, bytes, &mut out);
        out
    }
}

impl Sink for Decoded {
    fn event(&mut self, event: Box<Event>) {
        self.items.push(Ok(event));
    }
    fn skip(&mut self, skip: Skip) {
        self.items.push(Err(skip));
    }
    fn wants_raw(&self) -> bool {
        self.raw.all
    }

    fn sigma(&self) -> Option<&RuleSet> {
        self.raw.sigma.as_deref()
    }
}

/// Everything after decoding, fed one event at a time.
pub struct Engine {
    settings: Settings,
    reorder: Reorder,
    stages: Stages,
    summary: Summary,
    on_skip: Box<dyn FnMut(&Skip) + Send>,
}

/// The stages after the reorder window, which see each event once, in event-time order.
struct Stages {
    book: AddressBook,
    tracker: Tracker,
    /// Parsed once per event for both enrich and detect.
    agents: AgentCache,
    enrich: Option<EnrichOut>,
    detectors: Detectors,
    /// The latest event, processed when the one after it arrives (see [`Stages::take`]).
    next: Option<Box<Event>>,
}

/// The enrich stage and where its output goes; the first write error stops the output (reported
/// by [`Engine::finish_enrich`]).
struct EnrichOut {
    enricher: Enricher,
    out: Box<dyn Write + Send>,
    error: Option<io::Error>,
    written: u64,
}

impl EnrichOut {
    fn write(&mut self, ev: &Event, ua: &UserAgent, tracker: &Tracker, book: &AddressBook) {
        if self.error.is_none() {
            match self.enricher.write(&mut self.out, ev, ua, tracker, book) {
                Ok(()) => self.written += 1,
                Err(e) => self.error = Some(e),
            }
        }
    }
}

impl Stages {
    /// Takes the next event in order. It is processed one step late: the text enrich writes was
    /// copied on a decoding thread a reorder window ago and is no longer in the cache, and starting
    /// its loads now lets those misses overlap with the work on the event before it (what the
    /// other stages read was warmed when the window released the event, [`Event::warm`]).
    fn take(&mut self, ev: Box<Event>) {
        if self.enrich.is_some() {
            ev.warm_text();
        }
        if let Some(prev) = self.next.replace(ev) {
            self.process(prev);
        }
    }

    /// Processes the event [`Stages::take`] holds back (end of input).
    fn flush(&mut self) {
        if let Some(last) = self.next.take() {
            self.process(last);
        }
    }

    /// One event through track → enrich → detect.
    fn process(&mut self, ev: Box<Event>) {
        let Stages {
            book,
            tracker,
            agents,
            enrich,
            detectors,
            next: _,
        } = self;
        let obs = tracker.observe(&ev, book);
        let ua = agents.parse(ev.user_agent());
        if let Some(e) = enrich {
            e.write(&ev, &ua, tracker, book);
        }
        detectors.on_event(&ev, &ua, obs.as_ref(), tracker, book);
    }
}

impl Engine {
    /// An engine with `settings` and the cloud `ranges`; `on_skip` is told about every skip (to print it).
    pub fn new(
        settings: Settings,
        ranges: impl Into<Deferred<Ranges>>,
        on_skip: Box<dyn FnMut(&Skip) + Send>,
    ) -> Self {
        Engine {
            reorder: Reorder::new(settings.window, settings.dedup_horizon),
            stages: Stages {
                book: AddressBook::new(ranges, &settings.trusted),
                tracker: Tracker::new(&settings),
                agents: AgentCache::default(),
                enrich: None,
                detectors: Detectors::new(&settings),
                next: None,
            },
            summary: Summary::default(),
            settings,
            on_skip,
        }
    }

    /// Also writes every event, enriched, to `out` (events then carry their record text).
    pub fn with_enrich(mut self, mut enricher: Enricher, out: Box<dyn Write + Send>) -> Self {
        enricher.set_sigma(self.settings.sigma.clone());
        self.stages.enrich = Some(EnrichOut {
            enricher,
            out,
            error: None,
            written: 0,
        });
        self
    }

    /// Decodes one opened input into the engine (sequential path).
    pub fn read(&mut self, name: &Arc<str>, reader: &mut dyn BufRead, gzip: bool) {
        self.summary.files_read += 1;
        decode::decode(name, reader, gzip, self);
    }

    /// Counts an input that was not opened (digest by name, unreadable), as a file-level skip.
    pub fn skipped_input(&mut self, skip: Skip) {
        Sink::skip(self, skip);
    }

    /// Takes one input decoded elsewhere (the parallel path), in input order.
    pub fn feed(&mut self, decoded: Decoded) {
        self.summary.files_read += 1;
        for item in decoded.items {
            match item {
                Ok(ev) => self.event(ev),
                Err(skip) => self.skip(skip),
            }
        }
    }

    /// What was learned so far about the instances `Settings::explain` names.
    pub fn explanations(&self) -> Vec<crate::track::Explanation> {
        self.stages.tracker.explanations()
    }

    /// Which events decoded for this engine must keep their record text ([`Decoded::decode_with`]).
    pub fn raw_want(&self) -> RawWant {
        RawWant {
            all: self.stages.enrich.is_some(),
            sigma: self.settings.sigma.clone(),
        }
    }

    /// The newest event time read so far (the stream's watermark), if any.
    pub fn watermark(&self) -> Option<crate::time::EventTime> {
        self.reorder.newest()
    }

    /// Events read but not processed yet: those in the reorder window, and the one the stages
    /// hold back.
    pub fn held_events(&self) -> u64 {
        self.reorder.held() as u64 + u64::from(self.stages.next.is_some())
    }

    /// Bytes of tracked state now (see [`crate::track::Tracker::state_bytes`]).
    pub fn state_bytes(&self) -> crate::track::StateBytes {
        self.stages.tracker.state_bytes()
    }

    /// An engine that goes on from a state [`Engine::save_state`] wrote, with this run's settings
    /// (which must give the state's [`Shape`]: same window, TTL and cap; `raw` for `enrich`).
    pub fn restore(
        settings: Settings,
        ranges: impl Into<Deferred<Ranges>>,
        on_skip: Box<dyn FnMut(&Skip) + Send>,
        raw: bool,
        bytes: &[u8],
    ) -> Result<Self, StateError> {
        let loaded = state::load(bytes, &Shape::of(&settings, raw))?;
        let mut engine = Engine::new(settings, ranges, on_skip);
        let state::Loaded {
            sigma,
            mut reorder,
            mut next,
            mut tracker,
            mut detectors,
        } = loaded;
        reorder.after_load();
        // Held events name the Sigma rules they matched by index: renumber them for this run's
        // rules (a rule no longer loaded is dropped; one added applies from the next event on).
        let now: Vec<&str> = engine
            .settings
            .sigma
            .as_ref()
            .map(|r| r.rules().iter().map(|r| r.info.id.as_str()).collect())
            .unwrap_or_default();
        if sigma.iter().map(String::as_str).ne(now.iter().copied()) {
            let renumber = |ev: &mut Event| {
                if let Some(hits) = ev.sigma.take() {
                    let kept: Vec<u16> = hits
                        .iter()
                        .filter_map(|&i| sigma.get(usize::from(i)))
                        .filter_map(|id| now.iter().position(|n| n == id))
                        .filter_map(|i| u16::try_from(i).ok())
                        .collect();
                    ev.sigma = (!kept.is_empty()).then(|| kept.into_boxed_slice());
                }
            };
            reorder.held_mut().for_each(renumber);
            next.iter_mut().for_each(|e| renumber(e));
        }
        tracker.configure(&engine.settings);
        detectors.configure(&engine.settings);
        engine.reorder = reorder;
        engine.stages.next = next;
        engine.stages.tracker = tracker;
        engine.stages.detectors = detectors;
        Ok(engine)
    }

    /// The engine's state, to go on from in a later run ([`Engine::restore`]): everything that
    /// changes findings, nothing of the run's configuration. Call it after [`Engine::checkpoint`],
    /// not per event: it writes the whole state.
    pub fn save_state(&self) -> Result<Vec<u8>, String> {
        let shape = Shape::of(&self.settings, self.wants_raw());
        state::save(
            &shape,
            &state::Saved {
                sigma: self
                    .settings
                    .sigma
                    .as_ref()
                    .map(|r| r.rules().iter().map(|r| r.info.id.as_str()).collect())
                    .unwrap_or_default(),
                reorder: &self.reorder,
                next: &self.stages.next,
                tracker: &self.stages.tracker,
                detectors: &self.stages.detectors,
            },
        )
    }

    /// The findings so far of a stream that goes on, and the run's summary, without ending it:
    /// events still in the reorder window stay there (they are processed after the next input),
    /// and role chains still waiting for their judgement are left out (see
    /// [`crate::detect::SETTLE`]). What [`Engine::finish`] would report of the same stream later
    /// is a superset, finding by finding (same `id`, more evidence).
    pub fn checkpoint(&mut self) -> (Vec<Finding>, Summary) {
        if let Some(e) = &mut self.stages.enrich {
            if e.error.is_none() {
                e.error = e.out.flush().err();
            }
        }
        let (findings, detected) = self.stages.detectors.preview();
        self.report(findings, detected)
    }

    /// Processes every event held in the reorder window now, without ending the stream. For a
    /// continuous source that has gone quiet: the caller (`watch`'s idle timer, which owns the
    /// clock) decides that no earlier event is coming. An event older than these that does come
    /// later is *late*: processed all the same, and counted.
    pub fn release_window(&mut self) {
        let Engine {
            reorder, stages, ..
        } = self;
        reorder.finish(&mut |ev| stages.take(ev));
        stages.flush();
    }

    /// Ends the run: flushes the window and returns the findings in output order, and the summary.
    pub fn finish(self) -> (Vec<Finding>, Summary) {
        let (findings, summary, _) = self.finish_explained();
        (findings, summary)
    }

    /// [`Engine::finish`], with what was learned about the instances `Settings::explain` names.
    pub fn finish_explained(mut self) -> (Vec<Finding>, Summary, Vec<crate::track::Explanation>) {
        let Engine {
            reorder, stages, ..
        } = &mut self;
        reorder.finish(&mut |ev| stages.take(ev));
        stages.flush();
        if let Some(e) = &mut self.stages.enrich {
            if e.error.is_none() {
                e.error = e.out.flush().err();
            }
        }
        let explanations = self.stages.tracker.explanations();
        let (findings, detected) = self.stages.detectors.take_findings();
        let (findings, summary) = self.report(findings, detected);
        (findings, summary, explanations)
    }

    /// The findings in output order (suppressions applied, evidence enriched), and the summary.
    fn report(
        &mut self,
        mut findings: Vec<Finding>,
        detected: crate::detect::DetectStats,
    ) -> (Vec<Finding>, Summary) {
        if let Some(e) = &mut self.stages.enrich {
            self.summary.enriched = Some(e.written);
            self.summary.unknown_actions = Some(e.enricher.unknown_actions());
            if let Some(err) = &e.error {
                self.summary.enrich_error = Some(err.to_string());
            }
        }
        let order = self.reorder.stats();
        let track = self.stages.tracker.stats();
        let before = findings.len();
        findings.retain(|f| !suppressed(f, &self.settings));
        let catalog = crate::catalog::Catalog::shared();
        for f in &mut findings {
            f.evidence_enrichment = crate::enrich::action_facts(&catalog, &f.actions);
        }
        finding::sort(&mut findings);
        let mut summary = self.summary.clone();
        summary.suppressed = (before - findings.len()) as u64;
        summary.duplicates = order.duplicates;
        summary.late_events = order.late;
        summary.instances_tracked = track.instances as u64;
        summary.instances_mid_stream = track.mid_stream;
        summary.instances_expired = track.instance_evictions.expired;
        summary.instances_evicted = track.instance_evictions.capped;
        for (what, n) in [
            ("presigned_url_requests", track.presigned_elsewhere),
            ("elastic_ip_handovers", track.handovers),
            (
                "recurring_chain_occurrences",
                detected.recurring_chain_occurrences,
            ),
        ] {
            if n > 0 {
                summary.accepted.insert(what, n);
            }
        }
        for f in &findings {
            summary.finding(f.finding_type, f.severity.as_str());
        }
        if let Some(rules) = &self.settings.sigma {
            summary.sigma = Some(crate::summary::SigmaCounts {
                rules: rules.rules().len() as u64,
            });
        }
        (findings, summary)
    }
}

impl Sink for Engine {
    fn event(&mut self, event: Box<Event>) {
        self.summary.events_read += 1;
        let Engine {
            reorder, stages, ..
        } = self;
        reorder.push(event, &mut |ev| stages.take(ev));
    }

    fn wants_raw(&self) -> bool {
        self.stages.enrich.is_some()
    }

    fn sigma(&self) -> Option<&RuleSet> {
        self.settings.sigma.as_deref()
    }

    fn skip(&mut self, skip: Skip) {
        self.summary
            .skip(skip.reason.key(), skip.reason.is_file_level());
        (self.on_skip)(&skip);
    }
}

/// True when a configured suppression matches every field it sets.
fn suppressed(f: &Finding, settings: &Settings) -> bool {
    settings.suppress.iter().any(|s| {
        s.finding_type
            .as_deref()
            .is_none_or(|t| t == f.finding_type)
            && s.account.as_deref().is_none_or(|a| a == f.account_id)
            && s.instance_id
                .as_deref()
                .is_none_or(|i| f.instance_id.as_deref() == Some(i))
            && s.principal
                .as_deref()
                .is_none_or(|p| f.role_arn.as_deref() == Some(p) || f.principal_arn.starts_with(p))
            && s.source_cidr.is_none_or(|c| {
                f.source_ip
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| c.contains(&ip))
            })
    })
}
