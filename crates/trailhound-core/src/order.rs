//! Order: a bounded event-time reorder window with `eventID` de-duplication (SPEC §1).
//!
//! Events are held until the newest event time seen is `window` past them, then released in
//! (eventTime, eventID) order — so any permutation of the input within the window gives the same
//! output. An event older than what was already released is *late*: it is still processed (never
//! dropped), released at once, and counted. Duplicates (an `eventID` seen within the de-duplication
//! horizon, default one hour of event time behind the window) are dropped and counted. Memory is
//! bounded by the events within one window plus 16 bytes per remembered id (capped).
use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::DefaultHasher;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};

use crate::event::Event;
use crate::time::EventTime;

/// Counters of the order stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OrderStats {
    /// Events dropped because their `eventID` was already seen.
    pub duplicates: u64,
    /// Events that arrived after later events had been released (processed anyway).
    pub late: u64,
    /// The most events held at once.
    pub max_held: usize,
}

/// A held event, boxed: the heap moves 8 bytes per sift instead of the whole event.
struct Held(Box<Event>);

impl Held {
    fn key(&self) -> (EventTime, &str, &str, &str, &str) {
        let e = &self.0;
        (
            e.time,
            &e.event_id,
            &e.event_source,
            &e.event_name,
            &e.source_ip,
        )
    }
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Held {}
impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The most `eventID`s remembered for de-duplication (16 bytes each, plus the set's overhead).
pub const MAX_IDS: usize = 20_000_000;

/// The reorder window.
pub struct Reorder {
    window: i64,
    horizon: i64,
    heap: BinaryHeap<Reverse<Held>>,
    newest: Option<EventTime>,
    released: Option<EventTime>,
    seen: HashSet<u128>,
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
            heap: BinaryHeap::new(),
            newest: None,
            released: None,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            stats: OrderStats::default(),
        }
    }

    /// Takes one event; calls `out` with every event that leaves the window, in order.
    pub fn push(&mut self, event: Event, out: &mut impl FnMut(Event)) {
        if !event.event_id.is_empty() {
            let id = id_key(&event.event_id);
            if !self.seen.insert(id) {
                self.stats.duplicates += 1;
                return;
            }
            self.seen_order.push_back((event.time, id));
        }
        if self.released.is_some_and(|r| event.time < r) {
            self.stats.late += 1;
        }
        self.newest = Some(self.newest.map_or(event.time, |n| n.max(event.time)));
        self.heap.push(Reverse(Held(Box::new(event))));
        self.stats.max_held = self.stats.max_held.max(self.heap.len());
        if let Some(newest) = self.newest {
            self.release(EventTime(newest.0.saturating_sub(self.window)), out);
        }
    }

    /// Releases everything still held (end of input).
    pub fn finish(&mut self, out: &mut impl FnMut(Event)) {
        self.release(EventTime(i64::MAX), out);
    }

    /// Counters so far.
    pub fn stats(&self) -> OrderStats {
        self.stats
    }

    fn release(&mut self, upto: EventTime, out: &mut impl FnMut(Event)) {
        while self.heap.peek().is_some_and(|Reverse(h)| h.0.time <= upto) {
            if let Some(Reverse(Held(event))) = self.heap.pop() {
                self.released = Some(self.released.map_or(event.time, |r| r.max(event.time)));
                out(*event);
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

/// A lossless key for UUID event ids, a 128-bit hash for anything else.
fn id_key(id: &str) -> u128 {
    if id.len() == 36 {
        let hex = id.bytes().filter(|&b| b != b'-');
        let mut v: u128 = 0;
        let mut n = 0;
        for b in hex {
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return hashed(id),
            };
            v = (v << 4) | u128::from(d);
            n += 1;
        }
        if n == 32 {
            return v;
        }
    }
    hashed(id)
}

fn hashed(id: &str) -> u128 {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    // The top bit marks hashed keys so they never collide with a UUID's exact value space... nearly.
    (u128::from(half(1)) << 64 | u128::from(half(2))) | (1u128 << 127)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Detail, Identity, IdentityType};
    use crate::time::MINUTE;

    fn ev(id: &str, minute: i64) -> Event {
        Event {
            time: EventTime(minute * MINUTE),
            event_id: id.into(),
            event_source: "sts.amazonaws.com".into(),
            event_name: "GetCallerIdentity".into(),
            region: "us-east-1".into(),
            source_ip: "203.0.113.5".into(),
            user_agent: "".into(),
            recipient_account: "123456789012".into(),
            read_only: Some(true),
            error_code: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            identity: Identity {
                kind: IdentityType::IamUser,
                arn: None,
                account_id: None,
                access_key_id: None,
                invoked_by: None,
                delivery: None,
                issuer_arn: None,
                source_identity: None,
            },
            detail: Detail::None,
            raw: None,
        }
    }

    fn run(events: Vec<Event>, window: i64) -> (Vec<String>, OrderStats) {
        let mut r = Reorder::new(window, window);
        let mut out = Vec::new();
        for e in events {
            r.push(e, &mut |e| out.push(e.event_id.to_string()));
        }
        r.finish(&mut |e| out.push(e.event_id.to_string()));
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
        assert_ne!(id_key("not-a-uuid"), id_key("not-a-uuie"));
    }
}
