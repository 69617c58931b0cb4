//! The proximity graph: build (Vamana-style, parallel and deterministic), high-degree-preserving
//! pruning (LEANN Alg. 3), in-place changes (insert and remove nodes) and the compact on-disk CSR
//! codec.
#[cfg(feature = "std")]
pub mod build;
pub mod codec;
#[cfg(feature = "std")]
pub mod prune;
#[cfg(feature = "std")]
pub mod update;

/// Largest out-degree the on-disk format stores per node (7-bit field).
pub const MAX_DEGREE: usize = 127;

/// Distance between two unit vectors used throughout: `1 - dot` (half the squared L2 distance).
#[inline]
pub fn dist(a: &[f32], b: &[f32]) -> f32 {
    1.0 - crate::kernels::dot(a, b)
}
