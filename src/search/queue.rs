//! The small data structures every walk shares, graph build and search alike: a scored node
//! ([`Scored`]), a bounded best-k ([`TopK`]) and a visited set ([`Visited`]).
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;

/// A node and its distance to the query; ordered by distance, then id (a total order, so heaps
/// and sorts are deterministic).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// Distance (smaller is closer).
    pub dist: f32,
    /// Node id.
    pub id: u32,
}

impl Scored {
    /// A scored node.
    #[inline]
    pub fn new(dist: f32, id: u32) -> Self {
        Scored { dist, id }
    }
}

impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    fn cmp(&self, o: &Self) -> core::cmp::Ordering {
        self.dist.total_cmp(&o.dist).then(self.id.cmp(&o.id))
    }
}

/// The `k` smallest scored nodes offered (ties by id), in a bounded max-heap.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Scored>,
}

impl TopK {
    /// Keep at most `k`.
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
        }
    }
    /// The largest kept distance, or infinity while fewer than `k` are kept: an offer at a smaller
    /// distance is kept.
    #[inline]
    pub fn bound(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::INFINITY
        } else {
            self.heap.peek().map_or(f32::INFINITY, |x| x.dist)
        }
    }
    /// Kept so far.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// Offer one node; NaN distances are ignored.
    #[inline]
    pub fn push(&mut self, dist: f32, id: u32) {
        if self.k == 0 || dist.is_nan() {
            return;
        }
        let s = Scored::new(dist, id);
        if self.heap.len() < self.k {
            self.heap.push(s);
        } else if self.heap.peek().is_some_and(|top| s < *top) {
            self.heap.pop();
            self.heap.push(s);
        }
    }
    /// The kept nodes, best first.
    pub fn into_sorted_vec(self) -> Vec<Scored> {
        self.heap.into_sorted_vec()
    }
    /// The kept `(distance, id)` pairs, best first, into `out` (cleared first).
    pub fn into_sorted(self, out: &mut Vec<(f32, u32)>) {
        out.clear();
        out.extend(
            self.heap
                .into_sorted_vec()
                .into_iter()
                .map(|s| (s.dist, s.id)),
        );
    }
}

/// A set of node ids below a fixed bound: one bit each, and a list of touched words so that
/// [`Visited::clear`] costs what was visited, not the graph size (the graph build clears it for
/// every node it inserts).
#[derive(Clone, Debug, Default)]
pub struct Visited {
    words: Vec<u64>,
    touched: Vec<u32>,
}

impl Visited {
    /// An empty set for ids `0..n`.
    pub fn new(n: usize) -> Self {
        Visited {
            words: alloc::vec![0; n.div_ceil(64)],
            touched: Vec::new(),
        }
    }
    /// Add `v`; true when it was not in the set. Ids past the capacity (`n` rounded up to a
    /// multiple of 64) are never added (false); callers check `v < n` themselves.
    #[inline]
    pub fn insert(&mut self, v: u32) -> bool {
        let (w, b) = (v as usize / 64, v % 64);
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        if *word & (1 << b) != 0 {
            return false;
        }
        if *word == 0 {
            self.touched.push(w as u32);
        }
        *word |= 1 << b;
        true
    }
    /// Whether `v` is in the set.
    #[inline]
    pub fn contains(&self, v: u32) -> bool {
        self.words
            .get(v as usize / 64)
            .is_some_and(|w| w & (1 << (v % 64)) != 0)
    }
    /// Empty the set.
    pub fn clear(&mut self) {
        for &w in &self.touched {
            self.words[w as usize] = 0;
        }
        self.touched.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_keeps_the_smallest_and_visited_clears_what_it_touched() {
        let mut t = TopK::new(3);
        for (d, id) in [
            (5.0, 1),
            (1.0, 2),
            (f32::NAN, 9),
            (3.0, 3),
            (1.0, 0),
            (4.0, 4),
        ] {
            t.push(d, id);
        }
        assert_eq!(t.bound(), 3.0);
        let ids: Vec<u32> = t.into_sorted_vec().iter().map(|s| s.id).collect();
        assert_eq!(ids, [0, 2, 3]);
        let mut v = Visited::new(192);
        assert!(v.insert(5) && !v.insert(5) && v.insert(130) && !v.insert(200));
        assert!(v.contains(130));
        v.clear();
        assert!(!v.contains(5) && !v.contains(130) && v.insert(5));
    }
}
