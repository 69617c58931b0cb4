//! SIMD kernels against their scalar references. On x86-64 this checks AVX2 (when the CPU has it);
//! under qemu-aarch64 (`.ci/run`) it checks NEON. Integer kernels must match exactly, float sums
//! within rounding (the lanes add in a different order).
use leann_edge::kernels::{best, scalar, scalar_kernels, Isa};
use proptest::prelude::*;

fn close(a: f32, b: f32, n: usize) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + n as f32) * (1.0 + b.abs())
}

#[test]
fn the_best_kernels_for_this_cpu_are_simd() {
    let k = best();
    #[cfg(target_arch = "aarch64")]
    assert_eq!(k.isa, Isa::Neon);
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        assert_eq!(k.isa, Isa::Avx2);
    }
    assert_eq!(scalar_kernels().isa, Isa::Scalar);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dot_and_l2_match_scalar(pairs in proptest::collection::vec((-1.0f32..1.0, -1.0f32..1.0), 0..300)) {
        let a: Vec<f32> = pairs.iter().map(|p| p.0).collect();
        let b: Vec<f32> = pairs.iter().map(|p| p.1).collect();
        let k = best();
        prop_assert!(close((k.dot)(&a, &b), scalar::dot(&a, &b), a.len()));
        prop_assert!(close((k.l2sq)(&a, &b), scalar::l2sq(&a, &b), a.len()));
        // Slices of different lengths use the shorter one.
        let short = &b[..b.len() / 2];
        prop_assert!(close((k.dot)(&a, short), scalar::dot(&a, short), a.len()));
    }

    #[test]
    fn adc_matches_scalar(codes in proptest::collection::vec(any::<u8>(), 0..70), seed in any::<u32>(), four_bit in any::<bool>()) {
        let ksub = if four_bit { 16 } else { 256 };
        let codes: Vec<u8> = codes.iter().map(|&c| c & (ksub - 1) as u8).collect();
        let table: Vec<f32> = (0..codes.len() * ksub)
            .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 * 1e-3 - 0.5)
            .collect();
        let k = best();
        prop_assert!(close((k.adc)(&table, ksub, &codes), scalar::adc(&table, ksub, &codes), codes.len()));
    }

    #[test]
    fn packed_4bit_adc_matches_scalar_and_unpacked(packed in proptest::collection::vec(any::<u8>(), 0..40), odd in any::<bool>()) {
        let m = (packed.len() * 2).saturating_sub(odd as usize);
        let table: Vec<f32> = (0..m * 16).map(|i| (i % 37) as f32 * 0.013 - 0.2).collect();
        let k = best();
        let want = scalar::adc4(&table, &packed, m);
        prop_assert!(close((k.adc4)(&table, &packed, m), want, m));
        // The packed kernel is the unpacked one over the nibbles.
        let unpacked: Vec<u8> = (0..m).map(|i| (packed[i / 2] >> (4 * (i % 2))) & 15).collect();
        prop_assert!(close(scalar::adc(&table, 16, &unpacked), want, m));
    }

    #[test]
    fn prefix_sum_matches_scalar_exactly(d in proptest::collection::vec(any::<u32>(), 0..100), base in any::<u32>()) {
        let mut want = d.clone();
        scalar::prefix_sum(base, &mut want);
        let mut got = d.clone();
        (best().prefix_sum)(base, &mut got);
        prop_assert_eq!(got, want);
    }
}
