//! The recompute cache of a long-running process (`serve`, a library [`Searcher`](super::Searcher)):
//! exact embeddings of recently recomputed passages, kept in RAM as f16 and never written to
//! disk, so a repeated or related question skips the encoder for passages it already embedded.
//!
//! Bounded by a byte budget (the board profile's `recompute_cache_mb`); when full, CLOCK
//! (second-chance) eviction drops a vector not used since the hand last passed. Keyed by a 128-bit
//! hash of the passage's encoder input and tied to one encoder fingerprint: it survives the
//! renumbering an add/remove/sync causes and can never serve a vector for text that changed.
//! Shared between threads behind one mutex (held only to copy a vector in or out).
use super::recompute::RecomputeMemo;
use std::collections::HashMap;
use std::sync::Mutex;

/// Counters of a [`RecomputeCache`] (cumulative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecomputeCacheStats {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that went to the encoder.
    pub misses: u64,
    /// Vectors held now.
    pub entries: usize,
    /// Most vectors it can hold.
    pub capacity: usize,
    /// Bytes its vectors take (f16).
    pub bytes: usize,
}

/// Exact embeddings of recently recomputed passages (see the module docs).
pub struct RecomputeCache {
    dim: usize,
    capacity: usize,
    fingerprint: String,
    inner: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    map: HashMap<u128, usize>,
    keys: Vec<u128>,
    used: Vec<bool>,
    vecs: Vec<half::f16>,
    hand: usize,
    hits: u64,
    misses: u64,
}

impl RecomputeCache {
    /// A cache of at most `budget_bytes` of `dim`-dimensional f16 vectors from the encoder with
    /// `fingerprint`; `None` when the budget holds no vector (a budget of 0 turns it off).
    pub fn new(budget_bytes: usize, dim: usize, fingerprint: &str) -> Option<Self> {
        let capacity = budget_bytes / (2 * dim.max(1) + ENTRY_OVERHEAD);
        (capacity > 0 && dim > 0).then(|| RecomputeCache {
            dim,
            capacity,
            fingerprint: fingerprint.to_string(),
            inner: Mutex::new(Slots::default()),
        })
    }

    /// Whether vectors from the encoder with `fingerprint` belong here.
    pub fn serves(&self, fingerprint: &str, dim: usize) -> bool {
        self.fingerprint == fingerprint && self.dim == dim
    }

    /// Copy the vector of `key` into `out` (`dim` floats) and mark it used; false on a miss.
    pub fn get(&self, key: u128, out: &mut [f32]) -> bool {
        let mut s = self.lock();
        let Some(&slot) = s.map.get(&key) else {
            s.misses += 1;
            return false;
        };
        s.hits += 1;
        s.used[slot] = true;
        let src = &s.vecs[slot * self.dim..(slot + 1) * self.dim];
        for (o, v) in out.iter_mut().zip(src) {
            *o = v.to_f32();
        }
        true
    }

    /// Keep `v` (`dim` floats) under `key`, evicting the first vector the clock finds unused.
    pub fn insert(&self, key: u128, v: &[f32]) {
        if v.len() != self.dim {
            return;
        }
        let dim = self.dim;
        let mut s = self.lock();
        if s.map.contains_key(&key) {
            return;
        }
        let slot = if s.keys.len() < self.capacity {
            s.keys.push(key);
            s.used.push(false);
            if s.vecs.capacity() == 0 {
                // Exactly the budget, once: growing by doubling could take twice as much.
                s.vecs.reserve_exact(self.capacity * dim);
            }
            let len = s.keys.len() * dim;
            s.vecs.resize(len, half::f16::ZERO);
            s.keys.len() - 1
        } else {
            let slot = s.victim();
            let old = s.keys[slot];
            s.map.remove(&old);
            s.keys[slot] = key;
            slot
        };
        s.map.insert(key, slot);
        s.used[slot] = false;
        for (d, x) in s.vecs[slot * dim..(slot + 1) * dim].iter_mut().zip(v) {
            *d = half::f16::from_f32(*x);
        }
    }

    /// Counters and size.
    pub fn stats(&self) -> RecomputeCacheStats {
        let s = self.lock();
        RecomputeCacheStats {
            hits: s.hits,
            misses: s.misses,
            entries: s.keys.len(),
            capacity: self.capacity,
            bytes: s.vecs.len() * 2,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic while holding the lock leaves only counters or one vector half-copied: a
        // vector is written before its key is mapped, so carry on with the data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl core::fmt::Debug for RecomputeCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The counters, not the vectors.
        f.debug_struct("RecomputeCache")
            .field("dim", &self.dim)
            .field("stats", &self.stats())
            .finish()
    }
}

impl RecomputeMemo for RecomputeCache {
    fn get(&self, key: u128, out: &mut [f32]) -> bool {
        RecomputeCache::get(self, key, out)
    }
    fn insert(&self, key: u128, v: &[f32]) {
        RecomputeCache::insert(self, key, v)
    }
}

/// Bytes a slot costs besides its vector (key, map entry, clock bit), for the budget.
const ENTRY_OVERHEAD: usize = 64;

impl Slots {
    /// The clock's next slot not used since it last passed (clearing the bits it passes).
    fn victim(&mut self) -> usize {
        loop {
            let h = self.hand;
            self.hand = (self.hand + 1) % self.keys.len();
            if !std::mem::replace(&mut self.used[h], false) {
                return h;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_the_budget_bound_it() {
        let dim = 4;
        let c = RecomputeCache::new(3 * (2 * dim + ENTRY_OVERHEAD), dim, "m").unwrap();
        let mut out = [0f32; 4];
        assert!(!c.get(1, &mut out));
        for k in 1..=3u128 {
            c.insert(k, &[k as f32, 0.5, -0.25, 1.0]);
        }
        assert!(c.get(2, &mut out));
        assert_eq!(out, [2.0, 0.5, -0.25, 1.0]);
        // Full: 2 was used since, so the clock evicts 1 (then 3) first.
        c.insert(4, &[4.0; 4]);
        assert!(!c.get(1, &mut out), "the unused vector was evicted");
        assert!(c.get(2, &mut out) && c.get(4, &mut out));
        let s = c.stats();
        assert_eq!((s.entries, s.capacity, s.bytes), (3, 3, 3 * dim * 2));
        assert_eq!((s.hits, s.misses), (3, 2));
    }

    #[test]
    fn zero_budget_is_off_and_a_wrong_length_is_ignored() {
        assert!(RecomputeCache::new(0, 384, "m").is_none());
        let c = RecomputeCache::new(1 << 20, 4, "m").unwrap();
        c.insert(7, &[1.0; 3]);
        assert!(!c.get(7, &mut [0.0; 4]));
        assert!(c.serves("m", 4) && !c.serves("other", 4) && !c.serves("m", 8));
    }
}
