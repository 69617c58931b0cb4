//! Bounded cache of decoded neighbour lists.
//!
//! Two-way set-associative with one LRU bit per set. All slots are allocated once at creation
//! (`capacity` × [`Slot`] bytes) and each list lives in a fixed-capacity `heapless::Vec`, so the cache
//! never grows past its bound whatever the queries do.
use crate::graph::MAX_DEGREE;
use alloc::vec::Vec;

/// One cached list.
#[derive(Clone, Debug)]
pub struct Slot {
    node: u32,
    list: heapless::Vec<u32, MAX_DEGREE>,
}

const EMPTY: u32 = u32::MAX;

/// Counters of a cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    /// Lookups served from the cache.
    pub hits: u64,
    /// Lookups that had to read flash.
    pub misses: u64,
}

/// The neighbour-list cache.
#[derive(Debug)]
pub struct NeighborCache {
    slots: Vec<Slot>,
    lru: Vec<u8>,
    stats: CacheStats,
}

impl NeighborCache {
    /// A cache of `capacity` lists (rounded up to even; 0 disables caching).
    pub fn new(capacity: usize) -> Self {
        let cap = capacity.div_ceil(2) * 2;
        let slots = (0..cap)
            .map(|_| Slot {
                node: EMPTY,
                list: heapless::Vec::new(),
            })
            .collect();
        NeighborCache {
            slots,
            lru: alloc::vec![0; cap / 2],
            stats: CacheStats::default(),
        }
    }
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
    /// Lists currently held.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.node != EMPTY).count()
    }
    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes the cache occupies (fixed at creation).
    pub fn memory_bytes(&self) -> usize {
        self.slots.len() * core::mem::size_of::<Slot>()
            + self.lru.len()
            + core::mem::size_of::<Self>()
    }
    /// Counters.
    pub fn stats(&self) -> CacheStats {
        self.stats
    }
    fn set(&self, node: u32) -> usize {
        (node.wrapping_mul(0x9E37_79B9) >> 7) as usize % self.lru.len()
    }
    /// Look a node up; counts a hit or a miss.
    pub fn get(&mut self, node: u32) -> Option<&[u32]> {
        if self.slots.is_empty() {
            self.stats.misses += 1;
            return None;
        }
        let s = self.set(node);
        for way in 0..2 {
            if self.slots[2 * s + way].node == node {
                self.stats.hits += 1;
                self.lru[s] = way as u8;
                return Some(&self.slots[2 * s + way].list);
            }
        }
        self.stats.misses += 1;
        None
    }
    /// Insert a list (longer lists than [`MAX_DEGREE`] are not cached).
    pub fn insert(&mut self, node: u32, list: &[u32]) {
        if self.slots.is_empty() || list.len() > MAX_DEGREE {
            return;
        }
        let s = self.set(node);
        let way = if self.slots[2 * s].node == EMPTY {
            0
        } else if self.slots[2 * s + 1].node == EMPTY {
            1
        } else {
            1 - self.lru[s] as usize
        };
        let slot = &mut self.slots[2 * s + way];
        slot.node = node;
        slot.list.clear();
        // Cannot fail: length checked above.
        let _ = slot.list.extend_from_slice(list);
        self.lru[s] = way as u8;
    }
}
