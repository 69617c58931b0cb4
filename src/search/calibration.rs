//! How far a PQ distance can be from the exact one, measured when the index is built
//! (`index::calibrate`) and stored as a few quantiles (format 6, section `pq_calibration`,
//! 100 bytes). The adaptive recompute ([`super::rerank`]) reads it to bound how likely a candidate
//! not yet recomputed is to enter the top k.
//!
//! The error `exact − PQ` of one query's candidates shares a large per-query part (the query's
//! share outside the projected PQ space shifts them all alike), so what is stored is the error of
//! a candidate *minus the mean error of the candidates PQ ranked above it that were recomputed*
//! — which a search knows as it goes. Measured on docs-faq: the spread of that residual is a third
//! of the raw error's.
use crate::error::{Error, Result};
use alloc::vec::Vec;

/// The cumulative levels whose quantiles are stored: dense in the lower tail (where a candidate
/// that PQ ranked low turns out closer than its PQ distance says), coarse above.
pub const LEVELS: [f32; 25] = [
    0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
    0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1.0,
];

/// Passages an adaptive recompute adds per round (the first round at least `k`): the calibration
/// measures offsets from the best 8, 16, 24 and 32, as the rounds see them when k ≤ 8.
pub const ROUND: usize = 8;

/// Largest stored quantile magnitude (distances are `1 − cosine`, in [0, 2]).
const MAX_ABS: f32 = 2.0;

/// Bytes of the stored form.
pub const BYTES: usize = 4 * LEVELS.len();

/// Quantiles of the offset-corrected PQ error at [`LEVELS`], non-decreasing.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    q: [f32; LEVELS.len()],
}

impl Calibration {
    /// The quantiles of `errors` (sorted here); `None` when there are too few to say anything
    /// (under 64) or one is not finite.
    pub fn from_errors(errors: &mut [f32]) -> Option<Self> {
        if errors.len() < 64 || errors.iter().any(|e| !e.is_finite()) {
            return None;
        }
        errors.sort_unstable_by(f32::total_cmp);
        let last = (errors.len() - 1) as f32;
        let mut q = [0f32; LEVELS.len()];
        for (qi, &l) in q.iter_mut().zip(LEVELS.iter()) {
            *qi = errors[libm::roundf(l * last) as usize];
        }
        // What `from_bytes` accepts (unit vectors keep errors well inside): never write a
        // calibration the reader would refuse.
        q.iter()
            .all(|v| v.abs() <= MAX_ABS)
            .then_some(Calibration { q })
    }

    /// The share of candidates whose error is below `x` (linear between stored quantiles; 0 below
    /// the smallest error seen, 1 above the largest).
    pub fn cdf(&self, x: f32) -> f32 {
        let q = &self.q;
        if x.is_nan() {
            // Nothing known: count the candidate as a likely miss (never stop on NaN).
            return 1.0;
        }
        if x < q[0] {
            return 0.0;
        }
        if x >= q[q.len() - 1] {
            return 1.0;
        }
        // First stored quantile above x (q is non-decreasing and q[last] > x).
        let i = q.partition_point(|&v| v <= x);
        let (x0, x1) = (q[i - 1], q[i]);
        let (l0, l1) = (LEVELS[i - 1], LEVELS[i]);
        if x1 > x0 {
            l0 + (l1 - l0) * (x - x0) / (x1 - x0)
        } else {
            l1
        }
    }

    /// The stored quantile at `LEVELS[i]`.
    pub fn quantile(&self, i: usize) -> f32 {
        self.q[i]
    }

    /// The stored form: [`LEVELS`]`.len()` little-endian f32s.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.q.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// Read the stored form, checking its length and that the quantiles are finite, within
    /// `[-2, 2]` (distances are `1 − cosine`) and non-decreasing.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        if b.len() != BYTES {
            return Err(Error::corrupt(
                "pq_calibration",
                alloc::format!("{} bytes, expected {BYTES}", b.len()),
            ));
        }
        let mut q = [0f32; LEVELS.len()];
        for (qi, c) in q.iter_mut().zip(b.chunks_exact(4)) {
            *qi = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        let sane = q.iter().all(|v| v.is_finite() && v.abs() <= MAX_ABS)
            && q.windows(2).all(|w| w[0] <= w[1]);
        if !sane {
            return Err(Error::corrupt(
                "pq_calibration",
                "quantiles are not finite, in range and ascending",
            ));
        }
        Ok(Calibration { q })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform() -> Calibration {
        // Errors -0.5 .. 0.5 in 1001 even steps.
        let mut e: Vec<f32> = (0..=1000).map(|i| i as f32 / 1000.0 - 0.5).collect();
        Calibration::from_errors(&mut e).unwrap()
    }

    #[test]
    fn cdf_follows_the_errors() {
        let c = uniform();
        assert_eq!(c.cdf(-0.6), 0.0);
        assert_eq!(c.cdf(0.6), 1.0);
        assert!((c.cdf(0.0) - 0.5).abs() < 0.01, "{}", c.cdf(0.0));
        assert!((c.cdf(-0.49) - 0.01).abs() < 0.002, "{}", c.cdf(-0.49));
        let mut last = 0.0;
        for i in 0..=100 {
            let v = c.cdf(i as f32 / 100.0 - 0.5);
            assert!(v >= last, "cdf must not decrease");
            last = v;
        }
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        let c = uniform();
        let b = c.to_bytes();
        assert_eq!(b.len(), BYTES);
        assert_eq!(Calibration::from_bytes(&b).unwrap(), c);
        assert!(Calibration::from_bytes(&b[..BYTES - 1]).is_err());
        let mut swapped = b.clone();
        swapped[..4].copy_from_slice(&1.5f32.to_le_bytes());
        assert!(Calibration::from_bytes(&swapped).is_err(), "not ascending");
        let mut nan = b;
        nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Calibration::from_bytes(&nan).is_err());
        assert_eq!(c.cdf(f32::NAN), 1.0, "NaN never reads as safe");
    }

    #[test]
    fn too_few_or_non_finite_or_out_of_range_errors_give_none() {
        let mut wide: Vec<f32> = (0..100).map(|i| i as f32 / 10.0 - 5.0).collect();
        assert!(Calibration::from_errors(&mut wide).is_none());
        assert!(Calibration::from_errors(&mut [0.1; 10]).is_none());
        let mut e = alloc::vec![0.0f32; 100];
        e[3] = f32::INFINITY;
        assert!(Calibration::from_errors(&mut e).is_none());
    }
}
