//! Hot kernels: dot product, squared L2, PQ ADC sums, bit-unpacking.
//!
//! Each kernel has one scalar reference (`scalar::*`). SIMD variants (AVX2+FMA on x86-64, NEON on
//! aarch64) are proven equal to it by property tests (`tests/kernels.rs`, run under qemu for NEON).
//! Dispatch is decided in one place, [`active`], once per process; set `LEANN_EDGE_SCALAR=1` to force
//! the scalar kernels.

/// Scalar reference kernels.
pub mod scalar {
    /// Dot product.
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        // Four accumulators, in the same order as the SIMD lanes sum, keeps rounding close.
        let mut acc = [0f32; 8];
        let chunks = n / 8;
        for c in 0..chunks {
            for l in 0..8 {
                acc[l] += a[c * 8 + l] * b[c * 8 + l];
            }
        }
        let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
        for i in chunks * 8..n {
            s += a[i] * b[i];
        }
        s
    }
    /// Squared Euclidean distance.
    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let mut s = 0f32;
        for i in 0..n {
            let d = a[i] - b[i];
            s += d * d;
        }
        s
    }
    /// PQ asymmetric distance: `sum_s table[s * ksub + codes[s]]`.
    pub fn adc(table: &[f32], ksub: usize, codes: &[u8]) -> f32 {
        let mut s = 0f32;
        for (i, &c) in codes.iter().enumerate() {
            s += table[i * ksub + c as usize];
        }
        s
    }
}

/// Which kernel family is in use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable scalar code.
    Scalar,
    /// x86-64 AVX2 + FMA.
    Avx2,
    /// aarch64 NEON.
    Neon,
}

/// The kernel set chosen for this process.
#[derive(Clone, Copy, Debug)]
pub struct Kernels {
    /// Which ISA.
    pub isa: Isa,
    /// Dot product.
    pub dot: fn(&[f32], &[f32]) -> f32,
    /// Squared L2.
    pub l2sq: fn(&[f32], &[f32]) -> f32,
    /// ADC sum.
    pub adc: fn(&[f32], usize, &[u8]) -> f32,
}

const SCALAR: Kernels = Kernels {
    isa: Isa::Scalar,
    dot: scalar::dot,
    l2sq: scalar::l2sq,
    adc: scalar::adc,
};

/// The kernels for this process: decided once, from CPU features and `LEANN_EDGE_SCALAR`.
#[cfg(feature = "std")]
pub fn active() -> &'static Kernels {
    static K: std::sync::OnceLock<Kernels> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        if std::env::var_os("LEANN_EDGE_SCALAR").is_some_and(|v| v != "0") {
            return SCALAR;
        }
        best()
    })
}

/// The kernels for this process (no_std: chosen at compile time).
#[cfg(not(feature = "std"))]
pub fn active() -> &'static Kernels {
    #[cfg(target_arch = "aarch64")]
    {
        &NEON
    }
    #[cfg(not(target_arch = "aarch64"))]
    {
        &SCALAR
    }
}

/// The scalar kernel set (for tests and benchmarks).
pub fn scalar_kernels() -> &'static Kernels {
    &SCALAR
}

/// The best kernel set this CPU supports, ignoring the env knob (for tests and benchmarks).
#[cfg(feature = "std")]
pub fn best() -> Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return AVX2;
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        return NEON;
    }
    #[allow(unreachable_code)]
    SCALAR
}

/// Dot product with the active kernel.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (active().dot)(a, b)
}

/// L2-normalise in place (zero vectors stay zero).
pub fn normalize(v: &mut [f32]) {
    let n = libm::sqrtf(scalar::dot(v, v));
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
}

#[cfg(target_arch = "x86_64")]
const AVX2: Kernels = Kernels {
    isa: Isa::Avx2,
    dot: avx2::dot,
    l2sq: avx2::l2sq,
    adc: avx2::adc,
};

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: this set is only selected after `is_x86_feature_detected!("avx2")` and `("fma")`.
        unsafe { dot_impl(a, b) }
    }
    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        // SAFETY: as for `dot`.
        unsafe { l2sq_impl(a, b) }
    }
    pub fn adc(table: &[f32], ksub: usize, codes: &[u8]) -> f32 {
        // SAFETY: as for `dot`; indices are bounds-checked inside.
        unsafe { adc_impl(table, ksub, codes) }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let hi = _mm256_extractf128_ps(v, 1);
        let lo = _mm256_castps256_ps128(v);
        let s = _mm_add_ps(lo, hi); // lanes (0+4, 1+5, 2+6, 3+7)
        let s2 = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s3 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
        _mm_cvtss_f32(s3)
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / 8;
        let mut acc = _mm256_setzero_ps();
        for c in 0..chunks {
            // SAFETY: c*8+8 <= n <= len of both slices.
            let va = _mm256_loadu_ps(a.as_ptr().add(c * 8));
            let vb = _mm256_loadu_ps(b.as_ptr().add(c * 8));
            acc = _mm256_fmadd_ps(va, vb, acc);
        }
        let mut s = hsum(acc);
        for i in chunks * 8..n {
            s += a[i] * b[i];
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn l2sq_impl(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / 8;
        let mut acc = _mm256_setzero_ps();
        for c in 0..chunks {
            // SAFETY: c*8+8 <= n <= len of both slices.
            let d = _mm256_sub_ps(
                _mm256_loadu_ps(a.as_ptr().add(c * 8)),
                _mm256_loadu_ps(b.as_ptr().add(c * 8)),
            );
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        let mut s = hsum(acc);
        for i in chunks * 8..n {
            let d = a[i] - b[i];
            s += d * d;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn adc_impl(table: &[f32], ksub: usize, codes: &[u8]) -> f32 {
        let m = codes.len();
        assert!(m * ksub <= table.len() && ksub <= 256 && table.len() < i32::MAX as usize);
        let chunks = m / 8;
        let mut acc = _mm256_setzero_ps();
        let step = _mm256_set1_epi32((8 * ksub) as i32);
        let mut base = _mm256_setr_epi32(
            0,
            ksub as i32,
            2 * ksub as i32,
            3 * ksub as i32,
            4 * ksub as i32,
            5 * ksub as i32,
            6 * ksub as i32,
            7 * ksub as i32,
        );
        for c in 0..chunks {
            // SAFETY: 8 code bytes at c*8 are in bounds; each gathered index is s*ksub + code < m*ksub <= table.len()
            // because code < 256 and the assert above bounds ksub; codes >= ksub cannot occur for 8-bit (ksub=256)
            // and are masked for 4-bit below.
            let bytes = _mm_loadl_epi64(codes.as_ptr().add(c * 8) as *const __m128i);
            let mut idx = _mm256_cvtepu8_epi32(bytes);
            idx = _mm256_and_si256(idx, _mm256_set1_epi32(ksub as i32 - 1));
            let g = _mm256_i32gather_ps(table.as_ptr(), _mm256_add_epi32(base, idx), 4);
            acc = _mm256_add_ps(acc, g);
            base = _mm256_add_epi32(base, step);
        }
        let mut s = hsum(acc);
        for (i, &c) in codes.iter().enumerate().skip(chunks * 8) {
            s += table[i * ksub + c as usize];
        }
        s
    }
}

#[cfg(target_arch = "aarch64")]
const NEON: Kernels = Kernels {
    isa: Isa::Neon,
    dot: neon::dot,
    l2sq: neon::l2sq,
    adc: scalar::adc,
};

#[cfg(target_arch = "aarch64")]
mod neon {
    use core::arch::aarch64::*;

    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / 8;
        // SAFETY: NEON is mandatory on aarch64; every load reads 4 floats at c*8 and c*8+4 < n.
        let mut s = unsafe {
            let mut a0 = vdupq_n_f32(0.0);
            let mut a1 = vdupq_n_f32(0.0);
            for c in 0..chunks {
                a0 = vfmaq_f32(
                    a0,
                    vld1q_f32(a.as_ptr().add(c * 8)),
                    vld1q_f32(b.as_ptr().add(c * 8)),
                );
                a1 = vfmaq_f32(
                    a1,
                    vld1q_f32(a.as_ptr().add(c * 8 + 4)),
                    vld1q_f32(b.as_ptr().add(c * 8 + 4)),
                );
            }
            vaddvq_f32(vaddq_f32(a0, a1))
        };
        for i in chunks * 8..n {
            s += a[i] * b[i];
        }
        s
    }
    pub fn l2sq(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let chunks = n / 4;
        // SAFETY: NEON is mandatory on aarch64; every load reads 4 floats at c*4 < n.
        let mut s = unsafe {
            let mut acc = vdupq_n_f32(0.0);
            for c in 0..chunks {
                let d = vsubq_f32(
                    vld1q_f32(a.as_ptr().add(c * 4)),
                    vld1q_f32(b.as_ptr().add(c * 4)),
                );
                acc = vfmaq_f32(acc, d, d);
            }
            vaddvq_f32(acc)
        };
        for i in chunks * 4..n {
            let d = a[i] - b[i];
            s += d * d;
        }
        s
    }
}
