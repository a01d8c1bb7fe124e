//! [`AgentCache`]: [`UserAgent::parse`] memoised per distinct agent, bounded. Parsing is pure, so
//! the cache changes nothing but the cost.
use std::collections::HashMap;
use std::sync::Arc;

use super::UserAgent;

/// Distinct agents remembered by an [`AgentCache`] before it starts over.
const CACHE_CAP: usize = 8192;

/// An agent in the front table, and what it parses to.
type Recent = (Arc<str>, UserAgent);

/// Slots of an [`AgentCache`]'s front (a power of two).
const RECENT: usize = 256;

/// [`UserAgent::parse`], memoised per distinct agent (bounded: starts over when full). Parsing is
/// pure, so this changes nothing but the cost: the same few agents repeat millions of times.
///
/// In front of the map, a direct-mapped table finds an agent by its length and a few of its
/// bytes, then compares it whole: most events cost that instead of hashing a 100–300-byte string.
/// Agents that share a slot only miss it (then the map answers), so crafted ones cannot slow it.
pub struct AgentCache {
    recent: Box<[Option<Recent>]>,
    map: HashMap<Arc<str>, UserAgent, foldhash::fast::RandomState>,
}

impl Default for AgentCache {
    fn default() -> Self {
        AgentCache {
            recent: vec![None; RECENT].into(),
            map: HashMap::default(),
        }
    }
}

impl AgentCache {
    /// The parsed agent.
    pub fn parse(&mut self, ua: &str) -> UserAgent {
        let slot = &mut self.recent[recent_slot(ua)];
        if let Some((k, p)) = slot {
            if **k == *ua {
                return *p;
            }
        }
        if let Some((k, p)) = self.map.get_key_value(ua) {
            *slot = Some((k.clone(), *p));
            return *p;
        }
        if self.map.len() >= CACHE_CAP {
            self.map.clear();
        }
        let p = UserAgent::parse(ua);
        let k: Arc<str> = ua.into();
        self.map.insert(k.clone(), p);
        *slot = Some((k, p));
        p
    }
}

/// An agent's slot in [`AgentCache::recent`]: from its length and its first and last 8 bytes.
fn recent_slot(ua: &str) -> usize {
    let b = ua.as_bytes();
    let word = |at: usize| {
        let mut w = [0u8; 8];
        let part = b.get(at..).unwrap_or_default();
        let n = part.len().min(8);
        w[..n].copy_from_slice(&part[..n]);
        u64::from_le_bytes(w)
    };
    let mixed = word(0) ^ word(b.len().saturating_sub(8)).rotate_left(23) ^ b.len() as u64;
    (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % RECENT
}
