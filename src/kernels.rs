//! Hot kernels: dot product, squared L2, PQ ADC sums (unpacked and packed 4-bit codes), and the
//! prefix sum that turns a decoded neighbour list's gaps into ids.
//!
//! Each kernel has one scalar reference (`scalar::*`). SIMD variants (AVX2+FMA on x86-64, NEON on
//! aarch64) are proven equal to it by property tests (`tests/kernels.rs`, run under qemu for NEON):
//! exactly for the integer prefix sum, within float rounding for the sums (the lanes add in another
//! order). NEON has no gather instruction, so its ADC kernels load table entries lane by lane and add
//! four sub-spaces per vector operation.
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
    /// PQ asymmetric distance over `m` packed 4-bit codes (sub-space `2i` in the low nibble of byte
    /// `i`, `2i + 1` in the high nibble; `ksub = 16`).
    pub fn adc4(table: &[f32], packed: &[u8], m: usize) -> f32 {
        let mut s = 0f32;
        for i in 0..m {
            let c = (packed[i / 2] >> (4 * (i % 2))) & 0x0f;
            s += table[i * 16 + c as usize];
        }
        s
    }
    /// In-place running sum: `d[j] = base + d[0] + ... + d[j]` (wrapping).
    pub fn prefix_sum(base: u32, d: &mut [u32]) {
        let mut acc = base;
        for x in d.iter_mut() {
            acc = acc.wrapping_add(*x);
            *x = acc;
        }
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
    /// ADC sum over one-byte-per-sub-space codes.
    pub adc: fn(&[f32], usize, &[u8]) -> f32,
    /// ADC sum over packed 4-bit codes: `(table, packed, m)`.
    pub adc4: fn(&[f32], &[u8], usize) -> f32,
    /// Running sum for neighbour-list decoding: `(base, deltas)`.
    pub prefix_sum: fn(u32, &mut [u32]),
}

const SCALAR: Kernels = Kernels {
    isa: Isa::Scalar,
    dot: scalar::dot,
    l2sq: scalar::l2sq,
    adc: scalar::adc,
    adc4: scalar::adc4,
    prefix_sum: scalar::prefix_sum,
};

/// The kernels for this process: decided once, from CPU features and `LEANN_EDGE_SCALAR`.
#[cfg(feature = "std")]
pub fn active() -> &'static Kernels {
    static K: std::sync::OnceLock<Kernels> = std::sync::OnceLock::new();
    K.get_or_init(|| {
        if crate::env::knobs().scalar {
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
    adc4: avx2::adc4,
    prefix_sum: avx2::prefix_sum,
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
    pub fn adc4(table: &[f32], packed: &[u8], m: usize) -> f32 {
        assert!(m * 16 <= table.len() && packed.len() * 2 >= m);
        // SAFETY: as for `dot`; the assert bounds every table index and packed byte read inside.
        unsafe { adc4_impl(table, packed, m) }
    }
    pub fn prefix_sum(base: u32, d: &mut [u32]) {
        // SAFETY: as for `dot`; loads and stores stay within `d`.
        unsafe { prefix_sum_impl(base, d) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn adc4_impl(table: &[f32], packed: &[u8], m: usize) -> f32 {
        let chunks = m / 8;
        let mut acc = _mm256_setzero_ps();
        let step = _mm256_set1_epi32(128);
        let mut base = _mm256_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112);
        let shifts = _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4);
        let low = _mm256_set1_epi32(0x0f);
        for c in 0..chunks {
            // SAFETY: 8 sub-spaces = 4 packed bytes at c*4, and (c+1)*8 <= m <= 2 * packed.len().
            let w = core::ptr::read_unaligned(packed.as_ptr().add(c * 4) as *const u32);
            let b = _mm_cvtsi32_si128(w as i32);
            let dup = _mm_unpacklo_epi8(b, b); // b0 b0 b1 b1 b2 b2 b3 b3
            let idx = _mm256_and_si256(_mm256_srlv_epi32(_mm256_cvtepu8_epi32(dup), shifts), low);
            // SAFETY: each index is s*16 + code with s < m and code < 16, so < m*16 <= table.len().
            let g = _mm256_i32gather_ps(table.as_ptr(), _mm256_add_epi32(base, idx), 4);
            acc = _mm256_add_ps(acc, g);
            base = _mm256_add_epi32(base, step);
        }
        let mut s = hsum(acc);
        for i in chunks * 8..m {
            let c = (packed[i / 2] >> (4 * (i % 2))) & 0x0f;
            s += table[i * 16 + c as usize];
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn prefix_sum_impl(base: u32, d: &mut [u32]) {
        let chunks = d.len() / 8;
        let mut carry = _mm256_set1_epi32(base as i32);
        let last = _mm256_set1_epi32(7);
        let third = _mm256_set1_epi32(3);
        for c in 0..chunks {
            let p = d.as_mut_ptr().add(c * 8) as *mut __m256i;
            // SAFETY: 8 u32 at c*8, (c+1)*8 <= d.len().
            let mut x = _mm256_loadu_si256(p);
            x = _mm256_add_epi32(x, _mm256_slli_si256(x, 4));
            x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
            // Carry the low 128-bit half's total into the high half.
            let lo_total = _mm256_permutevar8x32_epi32(x, third);
            x = _mm256_add_epi32(
                x,
                _mm256_blend_epi32(_mm256_setzero_si256(), lo_total, 0xF0),
            );
            x = _mm256_add_epi32(x, carry);
            _mm256_storeu_si256(p, x);
            carry = _mm256_permutevar8x32_epi32(x, last);
        }
        let mut acc = if chunks > 0 { d[chunks * 8 - 1] } else { base };
        for x in d[chunks * 8..].iter_mut() {
            acc = acc.wrapping_add(*x);
            *x = acc;
        }
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
    adc: neon::adc,
    adc4: neon::adc4,
    prefix_sum: neon::prefix_sum,
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

    pub fn adc(table: &[f32], ksub: usize, codes: &[u8]) -> f32 {
        let m = codes.len();
        assert!(m * ksub <= table.len() && ksub <= 256);
        let chunks = m / 4;
        let mut acc = [0f32; 4];
        // SAFETY: NEON is mandatory on aarch64; the 4-float load reads a stack array.
        let mut v = unsafe { vdupq_n_f32(0.0) };
        for c in 0..chunks {
            for (l, a) in acc.iter_mut().enumerate() {
                let s = c * 4 + l;
                // Codes >= ksub only arise from corrupt 8-bit data with ksub < 256: mask like AVX2.
                *a = table[s * ksub + (codes[s] as usize & (ksub - 1))];
            }
            // SAFETY: as above.
            v = unsafe { vaddq_f32(v, vld1q_f32(acc.as_ptr())) };
        }
        // SAFETY: as above.
        let mut s = unsafe { vaddvq_f32(v) };
        for (i, &c) in codes.iter().enumerate().skip(chunks * 4) {
            s += table[i * ksub + c as usize];
        }
        s
    }

    pub fn adc4(table: &[f32], packed: &[u8], m: usize) -> f32 {
        assert!(m * 16 <= table.len() && packed.len() * 2 >= m);
        let chunks = m / 16;
        let mut codes = [0u8; 16];
        let mut lanes = [0f32; 4];
        // SAFETY: NEON is mandatory on aarch64; every load below reads 8 packed bytes at c*8 with
        // (c+1)*16 <= m <= 2 * packed.len(), or a stack array; stores write the 16-byte stack array.
        unsafe {
            let mut v = vdupq_n_f32(0.0);
            let mask = vdup_n_u8(0x0f);
            for c in 0..chunks {
                let b = vld1_u8(packed.as_ptr().add(c * 8));
                let z = vzip_u8(vand_u8(b, mask), vshr_n_u8::<4>(b));
                vst1q_u8(codes.as_mut_ptr(), vcombine_u8(z.0, z.1));
                for q in 0..4 {
                    for (l, lane) in lanes.iter_mut().enumerate() {
                        let s = c * 16 + q * 4 + l;
                        // s < m and the code < 16, so the index is < m * 16 <= table.len().
                        *lane = *table.get_unchecked(s * 16 + codes[q * 4 + l] as usize);
                    }
                    v = vaddq_f32(v, vld1q_f32(lanes.as_ptr()));
                }
            }
            let mut s = vaddvq_f32(v);
            for i in chunks * 16..m {
                let c = (packed[i / 2] >> (4 * (i % 2))) & 0x0f;
                s += table[i * 16 + c as usize];
            }
            s
        }
    }

    pub fn prefix_sum(base: u32, d: &mut [u32]) {
        let chunks = d.len() / 4;
        // SAFETY: NEON is mandatory on aarch64; each load/store touches 4 u32 at c*4 < d.len().
        unsafe {
            let zero = vdupq_n_u32(0);
            let mut carry = vdupq_n_u32(base);
            for c in 0..chunks {
                let p = d.as_mut_ptr().add(c * 4);
                let mut x = vld1q_u32(p);
                x = vaddq_u32(x, vextq_u32::<3>(zero, x)); // + [0, x0, x1, x2]
                x = vaddq_u32(x, vextq_u32::<2>(zero, x)); // + [0, 0, y0, y1]
                x = vaddq_u32(x, carry);
                vst1q_u32(p, x);
                carry = vdupq_laneq_u32::<3>(x);
            }
        }
        let mut acc = if chunks > 0 { d[chunks * 4 - 1] } else { base };
        for x in d[chunks * 4..].iter_mut() {
            acc = acc.wrapping_add(*x);
            *x = acc;
        }
    }
}
