//! An ordered parallel map: `threads` threads decode items while the calling thread consumes the
//! results strictly in item order. This is how inputs reach the engine: decoding (inflate, parse)
//! is most of the work; the engine, which must see events in one order, runs on the caller's
//! thread. The caller is one of the `threads`: `threads - 1` workers are spawned, and whenever the
//! next result is not ready the caller decodes an item itself instead of waiting. So there is one
//! busy thread per core (the engine never fights the decoders for a core, and no core idles while
//! the engine waits). Results never depend on the thread count.
//!
//! Workers block (never spin) when they are [`AHEAD`]× `threads` items ahead of the consumer, so
//! memory is bounded by the items in flight; the consumer blocks only when every item it could
//! take is already being decoded.
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Items in flight per thread, at most.
const AHEAD: usize = 16;

struct State<D> {
    /// Next item a thread takes.
    next: usize,
    /// Items the consumer has taken.
    consumed: usize,
    /// Decoded items not yet consumed, by index.
    done: BTreeMap<usize, D>,
    /// A worker panicked: the consumer re-raises it instead of waiting forever.
    panicked: bool,
}

impl<D> State<D> {
    /// The next item to decode, if one is left within the window.
    fn take(&mut self, items: usize, window: usize) -> Option<usize> {
        (self.next < items && self.next < self.consumed + window && !self.panicked).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
}

/// Runs `decode` on every item and `consume` on each result in item order, on the calling
/// thread, which also decodes while it would wait. With one thread everything runs here, one item
/// after the other.
pub fn map<S: Sync, D: Send>(
    items: &[S],
    threads: usize,
    decode: impl Fn(&S) -> D + Sync,
    mut consume: impl FnMut(&S, D),
) {
    if threads <= 1 || items.len() <= 1 {
        for item in items {
            consume(item, decode(item));
        }
        return;
    }
    let window = AHEAD * threads;
    let state = Mutex::new(State {
        next: 0,
        consumed: 0,
        done: BTreeMap::new(),
        panicked: false,
    });
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let (ready, room) = (Condvar::new(), Condvar::new());
    // Decodes item `i` and files its result; false when `decode` panicked (the others are told).
    let run = |i: usize| -> bool {
        let result = panic::catch_unwind(AssertUnwindSafe(|| decode(&items[i])));
        let mut g = lock();
        let ok = match result {
            Ok(d) => g.done.insert(i, d).is_none(),
            Err(_) => {
                g.panicked = true;
                false
            }
        };
        drop(g);
        ready.notify_one();
        if !ok {
            room.notify_all();
        }
        ok
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(|| loop {
                let i = {
                    let mut g = lock();
                    loop {
                        if let Some(i) = g.take(items.len(), window) {
                            break i;
                        }
                        if g.next >= items.len() || g.panicked {
                            return;
                        }
                        g = wait(&room, g);
                    }
                };
                if !run(i) {
                    return;
                }
            });
        }
        for (i, item) in items.iter().enumerate() {
            let d = loop {
                let mut g = lock();
                if let Some(d) = g.done.remove(&i) {
                    g.consumed = i + 1;
                    break d;
                }
                if g.panicked {
                    drop(g);
                    room.notify_all();
                    panic!("a decoding thread panicked");
                }
                // Not ready: decode the next item here rather than wait for it.
                match g.take(items.len(), window) {
                    Some(j) => {
                        drop(g);
                        run(j);
                    }
                    None => drop(wait(&ready, g)),
                }
            };
            room.notify_all();
            if let Err(e) = panic::catch_unwind(AssertUnwindSafe(|| consume(item, d))) {
                // Release the workers before unwinding, or the scope would wait for them forever.
                lock().panicked = true;
                room.notify_all();
                panic::resume_unwind(e);
            }
        }
    });
}

/// Waits on `cv`, ignoring poisoning (a panic is reported through `State::panicked`).
fn wait<'a, D>(cv: &Condvar, g: MutexGuard<'a, State<D>>) -> MutexGuard<'a, State<D>> {
    cv.wait(g).unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_item_order_whatever_the_threads() {
        let items: Vec<u64> = (0..2000).collect();
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            // Uneven work, so workers finish out of order.
            map(
                &items,
                threads,
                |&i| {
                    let mut x = i;
                    for _ in 0..(i % 7) * 500 {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    }
                    (i, x)
                },
                |&item, (i, _)| {
                    assert_eq!(item, i);
                    seen.push(i);
                },
            );
            assert_eq!(seen, items, "{threads} threads");
        }
    }

    #[test]
    fn a_panicking_worker_is_reported_not_a_hang() {
        let items: Vec<u32> = (0..100).collect();
        let result = panic::catch_unwind(|| {
            map(
                &items,
                2,
                |&i| {
                    assert!(i != 40, "boom");
                    i
                },
                |_, _| {},
            )
        });
        assert!(result.is_err());
    }
}
