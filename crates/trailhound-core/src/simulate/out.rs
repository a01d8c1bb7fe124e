//! Delivery: events are rendered once, grouped per account, region and 5-minute window, sometimes
//! delivered up to 15 minutes late or twice, shuffled inside their file, and handed to the sink.
//!
//! Memory is bounded by the delivery horizon: only the current window and the three after it (late
//! events) are held. Delivery decisions use their own random stream, so the events themselves (and their
//! ids) are the same whatever the output format.
use std::collections::BTreeMap;
use std::io;

use super::record::Rec;
use super::rng::Rng;
use super::s3::Sink;
use super::truth::{Label, Truth};

/// Width of a delivery window (CloudTrail delivers about every five minutes).
pub(crate) const WINDOW: i64 = 300;
/// Largest delivery delay, in windows (15 minutes).
const MAX_LATE: i64 = 3;

/// Records of one account and region in one delivery window.
#[derive(Default)]
struct Bucket {
    text: String,
    ends: Vec<(u32, i64)>,
}

/// Counters reported at the end.
#[derive(Default, Clone, Debug)]
pub struct Stats {
    /// Distinct events generated.
    pub events: u64,
    /// Records written (events plus duplicates).
    pub records: u64,
    /// Events delivered in a later window than their own.
    pub late: u64,
    /// Exact duplicates written.
    pub duplicates: u64,
    /// Events labelled malicious.
    pub malicious: u64,
    /// Log files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// The delivery stage.
pub(crate) struct Out {
    sink: Box<dyn Sink>,
    rng: Rng,
    accounts: Vec<String>,
    regions: Vec<&'static str>,
    windows: BTreeMap<i64, Vec<Bucket>>,
    /// Emptied windows kept for reuse (their buffers keep their capacity).
    spare: Vec<Vec<Bucket>>,
    buf: String,
    late_p: f64,
    dup_p: f64,
    next_hour: i64,
    /// Counters.
    pub stats: Stats,
    /// Ground truth being collected.
    pub truth: Truth,
}

impl Out {
    /// A delivery stage for the given account ids and region names.
    pub(crate) fn new(
        sink: Box<dyn Sink>,
        seed: u64,
        accounts: Vec<String>,
        regions: Vec<&'static str>,
        start: i64,
        truth: Truth,
    ) -> Out {
        Out {
            sink,
            rng: Rng::new(seed ^ 0x5eed_de11_7e4e_0001),
            accounts,
            regions,
            windows: BTreeMap::new(),
            spare: vec![],
            buf: String::with_capacity(8192),
            late_p: 0.03,
            dup_p: 0.0003,
            next_hour: start - start.rem_euclid(3600) + 3600,
            stats: Stats::default(),
            truth,
        }
    }

    fn slot(&mut self, window: i64, dest: usize) -> &mut Bucket {
        let n = self.accounts.len() * self.regions.len();
        let spare = &mut self.spare;
        let w = self.windows.entry(window).or_insert_with(|| {
            spare
                .pop()
                .unwrap_or_else(|| (0..n).map(|_| Bucket::default()).collect())
        });
        &mut w[dest]
    }

    /// Delivers one event of account `acct` (index) in region `region` (index); `label` marks it malicious.
    pub(crate) fn emit(
        &mut self,
        rec: &Rec<'_>,
        acct: usize,
        region: usize,
        label: Option<&Label<'_>>,
    ) {
        let dest = acct * self.regions.len() + region;
        let own = rec.time.div_euclid(WINDOW) * WINDOW;
        let late = self.rng.chance(self.late_p);
        let window = if late {
            own + WINDOW * self.rng.range(1, MAX_LATE)
        } else {
            own
        };
        let dup = self.rng.chance(self.dup_p);
        let dup_window = own + WINDOW * self.rng.range(0, MAX_LATE);
        self.stats.events += 1;
        self.stats.late += u64::from(late);
        self.stats.records += 1;
        // Rendered straight into its file's buffer (no intermediate copy).
        let b = self.slot(window, dest);
        let from = b.text.len();
        rec.write(&mut b.text);
        b.ends.push((b.text.len() as u32, rec.time));
        if dup {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            buf.push_str(&self.slot(window, dest).text[from..]);
            self.stats.duplicates += 1;
            self.stats.records += 1;
            let d = self.slot(dup_window, dest);
            d.text.push_str(&buf);
            d.ends.push((d.text.len() as u32, rec.time));
            self.buf = buf;
        }
        if let Some(l) = label {
            self.stats.malicious += 1;
            self.truth.record(rec, l, &self.accounts[acct]);
        }
    }

    /// Writes every window that can no longer receive events (those ending at or before `now`).
    pub(crate) fn advance(&mut self, now: i64) -> io::Result<()> {
        while let Some((&start, _)) = self.windows.first_key_value() {
            if start + WINDOW > now {
                break;
            }
            while self.next_hour <= start {
                self.sink.hour(self.next_hour)?;
                self.next_hour += 3600;
            }
            if let Some(buckets) = self.windows.remove(&start) {
                self.flush(start + WINDOW, buckets)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, stamp: i64, mut buckets: Vec<Bucket>) -> io::Result<()> {
        let result = self.flush_buckets(stamp, &buckets);
        for b in buckets.iter_mut() {
            b.text.clear();
            b.ends.clear();
        }
        self.spare.push(buckets);
        result
    }

    fn flush_buckets(&mut self, stamp: i64, buckets: &[Bucket]) -> io::Result<()> {
        let nreg = self.regions.len();
        for (dest, b) in buckets.iter().enumerate() {
            if b.ends.is_empty() {
                continue;
            }
            let mut records: Vec<(&str, i64)> = Vec::with_capacity(b.ends.len());
            let mut start = 0usize;
            for (end, t) in &b.ends {
                records.push((&b.text[start..*end as usize], *t));
                start = *end as usize;
            }
            // Roughly chronological, locally shuffled, like real files.
            for i in 0..records.len() {
                if self.rng.chance(0.3) {
                    let j = (i + 1 + self.rng.index(5)).min(records.len() - 1);
                    records.swap(i, j);
                }
            }
            let n_files =
                1 + records.len() / 800 + usize::from(records.len() > 1 && self.rng.chance(0.3));
            let mut files: Vec<Vec<&str>> = vec![vec![]; n_files];
            let mut span = vec![(i64::MAX, i64::MIN); n_files];
            for (r, t) in &records {
                let f = self.rng.index(n_files);
                files[f].push(r);
                span[f] = (span[f].0.min(*t), span[f].1.max(*t));
            }
            let (account, region) = (&self.accounts[dest / nreg], self.regions[dest % nreg]);
            for (f, recs) in files.iter().enumerate() {
                if recs.is_empty() {
                    continue;
                }
                let unique = self.rng.alnum::<16>();
                self.sink.log_file(
                    account,
                    region,
                    stamp,
                    unique.as_str(),
                    recs,
                    span[f].0,
                    span[f].1,
                )?;
            }
        }
        Ok(())
    }

    /// Writes everything still held and closes the sink.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        self.advance(i64::MAX)?;
        self.sink.hour(self.next_hour)?;
        self.sink.finish()?;
        self.stats.files = self.sink.files();
        self.stats.bytes = self.sink.bytes();
        Ok(())
    }
}
