//! Delivery: events are rendered once, straight into the body of the log file they will be delivered in
//! (per account, region and 5-minute window, one or more files), sometimes up to 15 minutes late or
//! twice, out of order inside their file, and handed to the sink when their window closes.
//!
//! Memory is bounded by the delivery horizon: only the current window and the three after it (late
//! events) are held, and emptied buffers are reused. Delivery decisions use their own random stream, so
//! the events themselves (and their ids) are the same whatever the output format.
use std::collections::BTreeMap;
use std::io;

use super::record::Rec;
use super::rng::Rng;
use super::s3::Sink;
use super::truth::{Benign, Label, Truth};

/// Width of a delivery window (CloudTrail delivers about every five minutes).
pub(crate) const WINDOW: i64 = 300;
/// Largest delivery delay, in windows (15 minutes).
const MAX_LATE: i64 = 3;
/// A file is closed and another started past this many bytes (a few hundred records).
const FILE_BYTES: usize = 1 << 20;

/// The body of one log file: records joined by the sink's separator.
struct FileBuf {
    body: String,
    count: u32,
    oldest: i64,
    newest: i64,
    /// A record held back to be written after the next one (local disorder, as in real files).
    held: String,
}

impl FileBuf {
    fn new() -> FileBuf {
        FileBuf {
            body: String::new(),
            count: 0,
            oldest: i64::MAX,
            newest: i64::MIN,
            held: String::new(),
        }
    }

    fn clear(&mut self) {
        self.body.clear();
        self.held.clear();
        (self.count, self.oldest, self.newest) = (0, i64::MAX, i64::MIN);
    }

    fn append(&mut self, sep: char, record: &str, time: i64) {
        if self.count > 0 {
            self.body.push(sep);
        }
        self.body.push_str(record);
        self.note(time);
    }

    fn note(&mut self, time: i64) {
        self.count += 1;
        self.oldest = self.oldest.min(time);
        self.newest = self.newest.max(time);
    }
}

/// The files of one account and region in one window.
#[derive(Default)]
struct Dest {
    files: Vec<FileBuf>,
    /// How many files this window spreads over (CloudTrail delivers from several hosts).
    spread: usize,
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
    sep: char,
    rng: Rng,
    accounts: Vec<String>,
    regions: Vec<&'static str>,
    windows: BTreeMap<i64, Vec<Dest>>,
    /// Emptied windows kept for reuse (their buffers keep their capacity).
    spare: Vec<Vec<Dest>>,
    buf: String,
    late_p: f64,
    dup_p: f64,
    next_hour: i64,
    /// Counters.
    pub stats: Stats,
    /// Ground truth being collected.
    pub truth: Truth,
    /// Event ids of the events emitted since `capture` was started (benign episodes), if capturing.
    captured: Option<Vec<String>>,
    /// The id of the last event emitted.
    pub last_id: String,
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
            sep: sink.separator(),
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
            captured: None,
            last_id: String::new(),
        }
    }

    /// Starts collecting the ids of the events emitted from now on (for a benign episode).
    pub(crate) fn capture(&mut self) {
        self.captured.get_or_insert_with(Vec::new).clear();
    }

    /// Stops collecting and returns the ids collected since [`Out::capture`].
    pub(crate) fn take_capture(&mut self) -> Vec<String> {
        self.captured.take().unwrap_or_default()
    }

    /// Writes one benign look-alike line (`benign.jsonl`); at most 32 event ids are kept.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn benign(
        &mut self,
        behaviour: &str,
        mut event_ids: Vec<String>,
        instance: Option<&str>,
        credential: &str,
        source_ip: &str,
        user_agent: Option<&str>,
        t: i64,
    ) {
        if event_ids.is_empty() {
            return;
        }
        event_ids.truncate(32);
        let b = Benign {
            behaviour: behaviour.to_string(),
            event_ids,
            instance_id: instance.map(str::to_string),
            credential: credential.to_string(),
            source_ip: source_ip.to_string(),
            user_agent: user_agent.map(str::to_string),
            event_time: super::clock::iso_string(t),
        };
        self.truth.benign(&b);
    }

    /// The file an event of `dest` delivered in `window` goes into.
    fn file(&mut self, window: i64, dest: usize) -> &mut FileBuf {
        let n = self.accounts.len() * self.regions.len();
        let spare = &mut self.spare;
        let w = self.windows.entry(window).or_insert_with(|| {
            spare
                .pop()
                .unwrap_or_else(|| (0..n).map(|_| Dest::default()).collect())
        });
        let d = &mut w[dest];
        if d.spread == 0 {
            d.spread = 1 + usize::from(self.rng.chance(0.3));
        }
        let mut open = [0usize; 4];
        let mut n = 0;
        for (k, f) in d.files.iter().enumerate() {
            if f.body.len() < FILE_BYTES && n < d.spread {
                open[n] = k;
                n += 1;
            }
        }
        while n < d.spread {
            d.files.push(FileBuf::new());
            open[n] = d.files.len() - 1;
            n += 1;
        }
        let k = open[self.rng.index(n)];
        &mut d.files[k]
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
        let hold = self.rng.chance(0.2);
        self.stats.events += 1;
        self.stats.late += u64::from(late);
        self.stats.records += 1;
        let sep = self.sep;
        let f = self.file(window, dest);
        if hold && f.held.is_empty() {
            rec.write(&mut f.held);
            f.oldest = f.oldest.min(rec.time);
            f.newest = f.newest.max(rec.time);
        } else {
            // Rendered straight into the file body (no intermediate copy).
            if f.count > 0 {
                f.body.push(sep);
            }
            rec.write(&mut f.body);
            f.note(rec.time);
            if !f.held.is_empty() {
                f.body.push(sep);
                f.body.push_str(&f.held);
                f.count += 1;
                f.held.clear();
            }
        }
        if dup {
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            rec.write(&mut buf);
            self.stats.duplicates += 1;
            self.stats.records += 1;
            let dup_window = own + WINDOW * self.rng.range(0, MAX_LATE);
            self.file(dup_window, dest).append(sep, &buf, rec.time);
            self.buf = buf;
        }
        self.last_id.clear();
        self.last_id.push_str(rec.event_id);
        if let Some(c) = self.captured.as_mut() {
            c.push(rec.event_id.to_string());
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
            if let Some(dests) = self.windows.remove(&start) {
                self.flush(start + WINDOW, dests)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, stamp: i64, mut dests: Vec<Dest>) -> io::Result<()> {
        let nreg = self.regions.len();
        let mut result = Ok(());
        for (i, d) in dests.iter_mut().enumerate() {
            for f in d.files.iter_mut() {
                if !f.held.is_empty() {
                    if f.count > 0 {
                        f.body.push(self.sep);
                    }
                    f.body.push_str(&f.held);
                    f.count += 1;
                    f.held.clear();
                }
                if f.count > 0 && result.is_ok() {
                    let unique = self.rng.alnum::<16>();
                    result = self.sink.log_file(
                        &self.accounts[i / nreg],
                        self.regions[i % nreg],
                        stamp,
                        unique.as_str(),
                        &f.body,
                        f.oldest,
                        f.newest,
                    );
                }
                f.clear();
            }
            d.files.retain(|f| f.body.capacity() > 0);
            d.files.truncate(2);
            d.spread = 0;
        }
        self.spare.push(dests);
        result
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
