//! The pipeline: the only place stages are wired together.
//!
//! `input` → `decode` (may run in parallel per file; events come back in input order) → `order`
//! (reorder window, de-dup) → `track` (learn, judge) → `detect` → findings. The [`Engine`] is a
//! plain struct with `&mut self` methods: threads, progress bars and files are the caller's.
use std::io::BufRead;
use std::sync::Arc;

use crate::address::AddressBook;
use crate::config::Settings;
use crate::decode::{self, Sink, Skip};
use crate::detect::Detectors;
use crate::event::Event;
use crate::finding::{self, Finding};
use crate::order::Reorder;
use crate::ranges::Ranges;
use crate::summary::Summary;
use crate::track::Tracker;

/// Everything after decoding, fed one event at a time.
pub struct Engine {
    settings: Settings,
    book: AddressBook,
    reorder: Reorder,
    tracker: Tracker,
    detectors: Detectors,
    summary: Summary,
    on_skip: Box<dyn FnMut(&Skip) + Send>,
}

impl Engine {
    /// An engine with `settings` and the cloud `ranges`; `on_skip` is told about every skip (to print it).
    pub fn new(settings: Settings, ranges: Ranges, on_skip: Box<dyn FnMut(&Skip) + Send>) -> Self {
        Engine {
            book: AddressBook::new(ranges, &settings.trusted),
            reorder: Reorder::new(settings.window, settings.dedup_horizon),
            tracker: Tracker::new(&settings),
            detectors: Detectors::new(&settings),
            summary: Summary::default(),
            settings,
            on_skip,
        }
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

    /// Counts an input decoded elsewhere (parallel path) before its events are pushed.
    pub fn count_file(&mut self) {
        self.summary.files_read += 1;
    }

    /// Ends the run: flushes the window and returns the findings in output order, and the summary.
    pub fn finish(mut self) -> (Vec<Finding>, Summary) {
        let Engine {
            reorder,
            tracker,
            detectors,
            book,
            ..
        } = &mut self;
        reorder.finish(&mut |ev| {
            let obs = tracker.observe(&ev, book);
            detectors.on_event(&ev, obs.as_ref(), tracker, book);
        });
        let order = self.reorder.stats();
        let track = self.tracker.stats();
        let mut findings = self.detectors.finish();
        let before = findings.len();
        findings.retain(|f| !suppressed(f, &self.settings));
        finding::sort(&mut findings);
        let mut summary = self.summary;
        summary.suppressed = (before - findings.len()) as u64;
        summary.duplicates = order.duplicates;
        summary.late_events = order.late;
        summary.instances_tracked = track.instances as u64;
        summary.instances_mid_stream = track.mid_stream;
        summary.instances_expired = track.instance_evictions.expired;
        summary.instances_evicted = track.instance_evictions.capped;
        summary.findings(&findings);
        (findings, summary)
    }
}

impl Sink for Engine {
    fn event(&mut self, event: Event) {
        self.summary.events_read += 1;
        let Engine {
            reorder,
            tracker,
            detectors,
            book,
            ..
        } = self;
        reorder.push(event, &mut |ev| {
            let obs = tracker.observe(&ev, book);
            detectors.on_event(&ev, obs.as_ref(), tracker, book);
        });
    }

    fn skip(&mut self, skip: Skip) {
        self.summary.skip(&skip);
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
