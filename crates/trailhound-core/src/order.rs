//! Order: a bounded event-time reorder window with `eventID` de-duplication (SPEC §1).
//!
//! Events are held until the newest event time seen is `window` past them, then released in
//! (eventTime, eventID) order — so any permutation of the input within the window gives the same
//! output. An event older than what was already released is *late*: it is still processed (never
//! dropped), released at once, and counted. Duplicates (an `eventID` seen within the de-duplication
//! horizon, default one hour of event time behind the window) are dropped and counted. Memory is
//! bounded by the events within one window plus 16 bytes per remembered id (capped).
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::hash::Hasher;

use crate::event::Event;
use crate::time::EventTime;

/// Counters of the order stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OrderStats {
    /// Events dropped because their `eventID` was already seen.
    pub duplicates: u64,
    /// Events that arrived after later events had been released (processed anyway).
    pub late: u64,
    /// The most events held at once.
    pub max_held: usize,
}

/// A held event with its `eventID` as [`crate::event::id_key`] gives it (a UUID's value, which orders as its
/// text does). Only a tie falls back to comparing text.
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    id: u128,
    event: Box<Event>,
}

impl Held {
    fn key(&self) -> (u128, &str, &str, &str, &str) {
        let e = &self.event;
        (
            self.id,
            e.event_id(),
            e.event_source(),
            e.event_name(),
            &e.source_ip,
        )
    }
}

/// The most emptied buckets kept, and the largest kept (in events): enough for the seconds of a
/// busy window without holding on to the memory of a burst.
const MAX_SPARE: usize = 64;
const MAX_SPARE_CAPACITY: usize = 4096;

/// The most `eventID`s remembered for de-duplication (16 bytes each, plus the set's overhead).
pub const MAX_IDS: usize = 20_000_000;

/// The reorder window.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Reorder {
    window: i64,
    horizon: i64,
    /// Held events by event time: each bucket is sorted when it is released. CloudTrail's times
    /// are whole seconds, so a window holds at most a few hundred buckets, and one event costs
    /// one small-tree lookup instead of a heap sift in and out.
    held: BTreeMap<EventTime, Vec<Held>>,
    held_len: usize,
    newest: Option<EventTime>,
    released: Option<EventTime>,
    #[serde(skip)]
    seen: HashSet<u128, IdHash>,
    /// Emptied buckets, kept for the next seconds: a bucket grows to its second's events, so a new
    /// one per second cost several reallocations.
    #[serde(skip)]
    spare: Vec<Vec<Held>>,
    seen_order: VecDeque<(EventTime, u128)>,
    stats: OrderStats,
}

impl Reorder {
    /// A window of `window` milliseconds of event time; `eventID`s are remembered for `horizon`
    /// milliseconds behind what was released (at most [`MAX_IDS`] of them).
    pub fn new(window: i64, horizon: i64) -> Self {
        Reorder {
            window,
            horizon: horizon.max(window),
            held: BTreeMap::new(),
            held_len: 0,
            newest: None,
            released: None,
            seen: HashSet::with_hasher(IdHash::default()),
            spare: Vec::new(),
            seen_order: VecDeque::new(),
            stats: OrderStats::default(),
        }
    }

    /// After loading a saved window: rebuilds the id set from the remembered ids.
    pub fn after_load(&mut self) {
        self.seen = HashSet::with_capacity_and_hasher(self.seen_order.len(), IdHash::default());
        self.seen.extend(self.seen_order.iter().map(|(_, id)| *id));
    }

    /// Takes one event; calls `out` with every event that leaves the window, in order.
    pub fn push(&mut self, event: Box<Event>, out: &mut impl FnMut(Box<Event>)) {
        // Read from the numbers beside the text: the event was decoded on another core.
        let id = if !event.texts.has_event_id() {
            0
        } else {
            let id = event.texts.id_key();
            if !self.seen.insert(id) {
                self.stats.duplicates += 1;
                return;
            }
            self.seen_order.push_back((event.time, id));
            id
        };
        if self.released.is_some_and(|r| event.time < r) {
            self.stats.late += 1;
        }
        self.newest = Some(self.newest.map_or(event.time, |n| n.max(event.time)));
        self.held
            .entry(event.time)
            .or_insert_with(|| self.spare.pop().unwrap_or_default())
            .push(Held { id, event });
        self.held_len += 1;
        self.stats.max_held = self.stats.max_held.max(self.held_len);
        if let Some(newest) = self.newest {
            self.release(EventTime(newest.0.saturating_sub(self.window)), out);
        }
    }

    /// Releases everything still held (end of input).
    pub fn finish(&mut self, out: &mut impl FnMut(Box<Event>)) {
        self.release(EventTime(i64::MAX), out);
    }

    /// The held events, to adjust after loading (in no particular order).
    pub fn held_mut(&mut self) -> impl Iterator<Item = &mut Event> {
        self.held
            .values_mut()
            .flat_map(|b| b.iter_mut().map(|h| &mut *h.event))
    }

    /// Events held now.
    pub fn held(&self) -> usize {
        self.held_len
    }

    /// The newest event time seen (the stream's event-time watermark).
    pub fn newest(&self) -> Option<EventTime> {
        self.newest
    }

    /// Counters so far.
    pub fn stats(&self) -> OrderStats {
        self.stats
    }

    fn release(&mut self, upto: EventTime, out: &mut impl FnMut(Box<Event>)) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() > upto {
                break;
            }
            let time = *entry.key();
            let mut bucket = entry.remove();
            // By id first, without reading the events (a tie, rare, compares their text).
            bucket.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.key().cmp(&b.key())));
            self.held_len -= bucket.len();
            self.released = Some(self.released.map_or(time, |r| r.max(time)));
            // Their loads started together, so that their cache misses overlap.
            for held in &bucket {
                held.event.warm();
            }
            for held in bucket.drain(..) {
                out(held.event);
            }
            if self.spare.len() < MAX_SPARE && bucket.capacity() <= MAX_SPARE_CAPACITY {
                self.spare.push(bucket);
            }
        }
        // Forget ids older than the horizon behind what was released (or the oldest, past the cap).
        let Some(released) = self.released else {
            return;
        };
        let horizon = EventTime(released.0.saturating_sub(self.horizon));
        while self.seen_order.front().is_some_and(|(t, _)| *t < horizon)
            || self.seen_order.len() > MAX_IDS
        {
            if let Some((_, id)) = self.seen_order.pop_front() {
                self.seen.remove(&id);
            }
        }
    }
}

/// Hashing for [`crate::event::id_key`]s, which are already uniformly distributed (a random UUID's bits, or a
/// 128-bit hash): the halves mixed with a per-process random seed, instead of SipHash over 16 bytes
/// for every event. The seed keeps crafted ids from colliding on purpose; it changes nothing but
/// the set's layout (only membership is asked), so results do not depend on it.
#[derive(Clone)]
struct IdHash(u64);

impl Default for IdHash {
    fn default() -> Self {
        use std::hash::BuildHasher;
        IdHash(std::collections::hash_map::RandomState::new().hash_one(0u8))
    }
}

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.0)
    }
}

struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{id_key, Detail, Identity, IdentityType, TextParts, Texts};
    use crate::time::MINUTE;

    fn ev(id: &str, minute: i64) -> Event {
        Event {
            time: EventTime(minute * MINUTE),
            texts: Texts::new(TextParts {
                event_id: id,
                event_source: "sts.amazonaws.com",
                event_name: "GetCallerIdentity",
                ..TextParts::default()
            }),
            region: "us-east-1".into(),
            source_ip: "203.0.113.5".into(),
            recipient_account: "123456789012".into(),
            read_only: Some(true),
            error_code: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            presigned: false,
            identity: Identity {
                kind: IdentityType::IamUser,
                account_id: None,
                access_key_id: None,
                invoked_by: None,
                delivery: None,
                source_identity: None,
            },
            detail: Detail::None,
            raw: None,
            sigma: None,
        }
    }

    fn run(events: Vec<Event>, window: i64) -> (Vec<String>, OrderStats) {
        let mut r = Reorder::new(window, window);
        let mut out = Vec::new();
        for e in events {
            r.push(Box::new(e), &mut |e| out.push(e.event_id().to_string()));
        }
        r.finish(&mut |e| out.push(e.event_id().to_string()));
        (out, r.stats())
    }

    #[test]
    fn permutations_within_the_window_give_one_order() {
        let a = vec![ev("c", 3), ev("a", 1), ev("b", 2), ev("d", 14)];
        let b = vec![ev("d", 14), ev("b", 2), ev("c", 3), ev("a", 1)];
        let (x, _) = run(a, 15 * MINUTE);
        let (y, sy) = run(b, 15 * MINUTE);
        assert_eq!(x, ["a", "b", "c", "d"]);
        assert_eq!(x, y);
        assert_eq!(sy.late, 0);
    }

    #[test]
    fn duplicates_dropped_late_kept_and_counted() {
        let (out, stats) = run(
            vec![ev("a", 5), ev("b", 30), ev("a", 5), ev("c", 1)],
            15 * MINUTE,
        );
        assert_eq!(out, ["a", "c", "b"]);
        assert_eq!(stats.duplicates, 1);
        assert_eq!(stats.late, 1);
    }

    #[test]
    fn uuid_keys_are_exact() {
        assert_eq!(
            id_key("bf68f8c0-590b-4740-ac89-aad0ed5dfe4f"),
            0xbf68f8c0590b4740ac89aad0ed5dfe4f
        );
        assert_eq!(
            id_key("BF68F8C0-590B-4740-AC89-AAD0ED5DFE4F"),
            0xbf68f8c0590b4740ac89aad0ed5dfe4f
        );
        assert_ne!(id_key("not-a-uuid"), id_key("not-a-uuie"));
        // The same digits with the hyphens elsewhere are another id (not a duplicate).
        assert_ne!(
            id_key("bf68f8c0590b-4740-ac89-aad0ed5dfe4f-"),
            id_key("bf68f8c0-590b-4740-ac89-aad0ed5dfe4f")
        );
        assert_ne!(
            id_key("bf68f8c0-590b-4740-ac89-aad0ed5dfe4g"),
            id_key("bf68f8c0-590b-4740-ac89-aad0ed5dfe40")
        );
    }
}
