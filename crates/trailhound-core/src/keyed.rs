//! `Keyed<K, V>`: the one way trailhound keeps per-key state — expiring after a TTL of inactivity in
//! event time, capped in size, with every eviction counted (STYLE: bounded state).
//!
//! Expiry is exact on access (an entry idle longer than the TTL reads as absent), so results never
//! depend on when a sweep happened; sweeps only give memory back. Sweeps and cap evictions are
//! predicates over the map, never its iteration order, so they are deterministic.
use std::borrow::Borrow;
use std::hash::Hash;

use hashbrown::hash_map::{Entry as Slot, EntryRef};
use hashbrown::HashMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::EventTime;

struct Entry<V> {
    value: V,
    touched: EventTime,
}

impl<V> Entry<V> {
    fn new(value: V, touched: EventTime) -> Entry<V> {
        Entry { value, touched }
    }
}

/// An entry that is present at `now`: touched when live, replaced with `make`'s value when idle
/// past `ttl` (counted in `expired`). True when it was replaced.
fn renew<V>(
    entry: &mut Entry<V>,
    now: EventTime,
    ttl: i64,
    expired: &mut u64,
    make: impl FnOnce() -> V,
) -> bool {
    if now.since(entry.touched) <= ttl {
        entry.touched = entry.touched.max(now);
        return false;
    }
    *expired += 1;
    *entry = Entry::new(make(), now);
    true
}

/// Counts of entries removed, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evictions {
    /// Idle longer than the TTL.
    pub expired: u64,
    /// Removed because the map was full (oldest first).
    pub capped: u64,
}

/// Per-key state with event-time TTL and a size cap.
pub struct Keyed<K, V> {
    /// foldhash rather than SipHash: keys are looked up several times per event. Its per-process
    /// seed keeps crafted keys from colliding on purpose; only membership is asked of the map, so
    /// results do not depend on the seed.
    map: HashMap<K, Entry<V>, foldhash::fast::RandomState>,
    ttl: i64,
    cap: usize,
    last_sweep: EventTime,
    evictions: Evictions,
}

impl<K: Hash + Eq, V> Keyed<K, V> {
    /// An empty map whose entries expire `ttl` milliseconds after their last touch; at most `cap` entries.
    pub fn new(ttl: i64, cap: usize) -> Self {
        Keyed {
            map: HashMap::default(),
            ttl,
            cap: cap.max(1),
            last_sweep: EventTime(i64::MIN),
            evictions: Evictions::default(),
        }
    }

    /// The live value for `key` at `now`, without touching it.
    pub fn get<Q>(&mut self, key: &Q, now: EventTime) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // One lookup, whether the entry is live or expired (then removed).
        match self.map.entry_ref(key) {
            EntryRef::Vacant(_) => None,
            EntryRef::Occupied(o) if now.since(o.get().touched) > self.ttl => {
                o.remove();
                self.evictions.expired += 1;
                None
            }
            EntryRef::Occupied(o) => Some(&mut o.into_mut().value),
        }
    }

    /// Reads without expiring (for detectors holding `&self`): `None` when absent or idle past the TTL.
    pub fn peek<Q>(&self, key: &Q, now: EventTime) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .get(key)
            .filter(|e| now.since(e.touched) <= self.ttl)
            .map(|e| &e.value)
    }

    /// The value for `key`, inserted with `make` if absent or expired; touched at `now`. The `bool`
    /// is true when it was (re)created.
    pub fn upsert(&mut self, key: K, now: EventTime, make: impl FnOnce() -> V) -> (&mut V, bool) {
        if self.map.len() >= self.cap {
            return self.upsert_full(key, now, make);
        }
        // One lookup: a live entry is touched, an expired one replaced, a new one inserted.
        let (ttl, expired) = (self.ttl, &mut self.evictions.expired);
        match self.map.entry(key) {
            Slot::Occupied(o) => {
                let entry = o.into_mut();
                let fresh = renew(entry, now, ttl, expired, make);
                (&mut entry.value, fresh)
            }
            Slot::Vacant(v) => (&mut v.insert(Entry::new(make(), now)).value, true),
        }
    }

    /// [`Self::upsert`] by a borrowed key, made owned only when it is inserted (a hot path's
    /// key that is usually present then costs no allocation).
    pub fn upsert_ref<Q>(
        &mut self,
        key: &Q,
        now: EventTime,
        make: impl FnOnce() -> V,
    ) -> (&mut V, bool)
    where
        K: Borrow<Q> + for<'q> From<&'q Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.map.len() >= self.cap {
            return self.upsert_full(K::from(key), now, make);
        }
        let (ttl, expired) = (self.ttl, &mut self.evictions.expired);
        match self.map.entry_ref(key) {
            EntryRef::Occupied(o) => {
                let entry = o.into_mut();
                let fresh = renew(entry, now, ttl, expired, make);
                (&mut entry.value, fresh)
            }
            EntryRef::Vacant(v) => {
                let entry = v.insert_with_key(K::from(key), Entry::new(make(), now));
                (&mut entry.value, true)
            }
        }
    }

    /// [`Self::upsert`] into a full map: an absent or expired key first makes room.
    fn upsert_full(&mut self, key: K, now: EventTime, make: impl FnOnce() -> V) -> (&mut V, bool) {
        let live = self.get(&key, now).is_some();
        if !live {
            self.make_room(now);
        }
        let entry = self.map.entry(key).or_insert_with(|| Entry {
            value: make(),
            touched: now,
        });
        entry.touched = entry.touched.max(now);
        (&mut entry.value, !live)
    }

    /// Marks `key` as active at `now` (no-op when absent).
    pub fn touch<Q>(&mut self, key: &Q, now: EventTime)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some(e) = self.map.get_mut(key) {
            e.touched = e.touched.max(now);
        }
    }

    /// Removes `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key).map(|e| e.value)
    }

    /// Gives memory back: drops every entry idle past the TTL. Cheap to call per event (it runs a
    /// sweep at most every quarter TTL of event time).
    pub fn maintain(&mut self, now: EventTime) {
        if now.since(self.last_sweep) < self.ttl / 4 {
            return;
        }
        self.last_sweep = now;
        let (ttl, before) = (self.ttl, self.map.len());
        self.map.retain(|_, e| now.since(e.touched) <= ttl);
        self.evictions.expired += (before - self.map.len()) as u64;
    }

    /// Live and not-yet-swept entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes this map holds: its table (capacity × entry size, plus control bytes) and what
    /// `heap` says each key and value owns on the heap.
    pub fn bytes(&self, heap: impl Fn(&K, &V) -> usize) -> usize {
        let table = self.map.capacity() * (std::mem::size_of::<(K, Entry<V>)>() + 1);
        table
            + self
                .map
                .iter()
                .map(|(k, e)| heap(k, &e.value))
                .sum::<usize>()
    }

    /// Evictions so far.
    pub fn evictions(&self) -> Evictions {
        self.evictions
    }

    /// Iterates over live entries (order unspecified: callers must sort before output).
    pub fn iter(&self, now: EventTime) -> impl Iterator<Item = (&K, &V)> {
        let ttl = self.ttl;
        self.map
            .iter()
            .filter(move |(_, e)| now.since(e.touched) <= ttl)
            .map(|(k, e)| (k, &e.value))
    }

    /// Before an insert into a full map: sweep, and if still full drop the oldest tenth.
    fn make_room(&mut self, now: EventTime) {
        if self.map.len() < self.cap {
            return;
        }
        self.last_sweep = EventTime(i64::MIN);
        self.maintain(now);
        if self.map.len() < self.cap {
            return;
        }
        let mut times: Vec<EventTime> = self.map.values().map(|e| e.touched).collect();
        let nth = times.len() / 10;
        let cutoff = *times.select_nth_unstable(nth).1;
        let before = self.map.len();
        self.map.retain(|_, e| e.touched > cutoff);
        self.evictions.capped += (before - self.map.len()) as u64;
    }
}

/// How a map is written to the state: its limits, its sweep clock, and its entries in key order
/// (so the same state always gives the same bytes).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored<K, V> {
    ttl: i64,
    cap: usize,
    last_sweep: EventTime,
    evictions: Evictions,
    entries: Vec<(K, EventTime, V)>,
}

impl<K: Serialize + Ord, V: Serialize> Serialize for Keyed<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&K, EventTime, &V)> = self
            .map
            .iter()
            .map(|(k, e)| (k, e.touched, &e.value))
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        Stored {
            ttl: self.ttl,
            cap: self.cap,
            last_sweep: self.last_sweep,
            evictions: self.evictions,
            entries,
        }
        .serialize(s)
    }
}

impl<'de, K, V> Deserialize<'de> for Keyed<K, V>
where
    K: Deserialize<'de> + Hash + Eq,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Stored<K, V> = Stored::deserialize(d)?;
        let mut map = HashMap::with_capacity_and_hasher(s.entries.len(), Default::default());
        map.extend(
            s.entries
                .into_iter()
                .map(|(k, touched, value)| (k, Entry { value, touched })),
        );
        Ok(Keyed {
            map,
            ttl: s.ttl,
            cap: s.cap.max(1),
            last_sweep: s.last_sweep,
            evictions: s.evictions,
        })
    }
}

impl<K: Clone + Hash + Eq, V: Clone> Clone for Keyed<K, V> {
    fn clone(&self) -> Self {
        Keyed {
            map: self
                .map
                .iter()
                .map(|(k, e)| {
                    (
                        k.clone(),
                        Entry {
                            value: e.value.clone(),
                            touched: e.touched,
                        },
                    )
                })
                .collect(),
            ..*self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::HOUR;
    use compact_str::CompactString;

    #[test]
    fn expires_exactly_on_access() {
        let mut k: Keyed<&str, u32> = Keyed::new(6 * HOUR, 10);
        k.upsert("i-1", EventTime(0), || 1);
        assert!(k.get("i-1", EventTime(6 * HOUR)).is_some());
        k.touch("i-1", EventTime(HOUR));
        assert!(k.get("i-1", EventTime(7 * HOUR)).is_some());
        assert!(k.get("i-1", EventTime(7 * HOUR + 1)).is_none());
        assert_eq!(k.evictions().expired, 1);
        let (_, fresh) = k.upsert("i-1", EventTime(8 * HOUR), || 2);
        assert!(fresh);
    }

    #[test]
    fn upsert_replaces_an_expired_entry_and_counts_it() {
        let mut k: Keyed<&str, u32> = Keyed::new(HOUR, 10);
        let (v, fresh) = k.upsert("k", EventTime(0), || 1);
        assert_eq!((*v, fresh), (1, true));
        let (v, fresh) = k.upsert("k", EventTime(HOUR), || 2);
        assert_eq!((*v, fresh), (1, false), "live at exactly the TTL: kept");
        let (v, fresh) = k.upsert("k", EventTime(2 * HOUR + 1), || 3);
        assert_eq!((*v, fresh), (3, true), "idle past the TTL: made again");
        assert_eq!(k.evictions().expired, 1);
        assert_eq!(k.len(), 1);
        // Touched at its last upsert: still live an hour later, not a moment more.
        assert!(k.peek("k", EventTime(3 * HOUR + 1)).is_some());
        assert!(k.get("k", EventTime(3 * HOUR + 2)).is_none());
        assert_eq!((k.len(), k.evictions().expired), (0, 2));
    }

    #[test]
    fn upsert_by_reference_is_upsert() {
        let mut k: Keyed<CompactString, u32> = Keyed::new(HOUR, 3);
        let arn = "arn:aws:iam::111122223333:role/a-role-name-past-24-bytes";
        let (v, fresh) = k.upsert_ref(arn, EventTime(0), || 1);
        assert_eq!((*v, fresh), (1, true));
        let (v, fresh) = k.upsert_ref(arn, EventTime(HOUR), || 2);
        assert_eq!((*v, fresh), (1, false), "live at exactly the TTL: kept");
        let (v, fresh) = k.upsert_ref(arn, EventTime(2 * HOUR + 1), || 3);
        assert_eq!((*v, fresh), (3, true), "idle past the TTL: made again");
        assert_eq!((k.len(), k.evictions().expired), (1, 1));
        assert_eq!(
            k.iter(EventTime(2 * HOUR + 1)).next(),
            Some((&CompactString::from(arn), &3))
        );
        // Full: the oldest make room, as with `upsert`.
        for (i, key) in ["b", "c", "d"].into_iter().enumerate() {
            k.upsert_ref(key, EventTime(2 * HOUR + 2 + i as i64), || 9);
        }
        assert!(k.len() <= 3 && k.evictions().capped >= 1);
        assert!(
            k.peek("d", EventTime(2 * HOUR + 4)).is_some(),
            "the newest survive"
        );
        assert!(
            k.peek(arn, EventTime(2 * HOUR + 4)).is_none(),
            "the oldest go first"
        );
    }

    #[test]
    fn cap_evicts_oldest_and_counts() {
        let mut k: Keyed<u32, ()> = Keyed::new(100 * HOUR, 20);
        for i in 0..25 {
            k.upsert(i, EventTime(i64::from(i)), || ());
        }
        assert!(k.len() <= 20);
        assert!(k.evictions().capped >= 5);
        assert!(k.peek(&24, EventTime(24)).is_some(), "the newest survive");
        assert!(k.peek(&0, EventTime(24)).is_none(), "the oldest go first");
    }

    #[test]
    fn sweep_gives_memory_back() {
        let mut k: Keyed<u32, ()> = Keyed::new(HOUR, 100);
        for i in 0..10 {
            k.upsert(i, EventTime(0), || ());
        }
        k.maintain(EventTime(2 * HOUR));
        assert!(k.is_empty());
        assert_eq!(k.evictions().expired, 10);
    }
}
