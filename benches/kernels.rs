//! Criterion benches of the hot kernels: distance, PQ ADC, neighbour decode (scalar vs SIMD).
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use leann_edge::kernels::{best, scalar_kernels};

fn kernels(c: &mut Criterion) {
    let a: Vec<f32> = (0..384).map(|i| (i as f32 * 0.37).sin()).collect();
    let b: Vec<f32> = (0..384).map(|i| (i as f32 * 0.11).cos()).collect();
    let table: Vec<f32> = (0..32 * 16).map(|i| i as f32 * 0.001).collect();
    let codes: Vec<u8> = (0..32).map(|i| (i * 7 % 16) as u8).collect();
    let packed: Vec<u8> = codes.chunks(2).map(|p| p[0] | (p[1] << 4)).collect();
    let gaps: Vec<u32> = (0..64).map(|i| 1 + (i * 13 % 200)).collect();
    for (name, k) in [("scalar", *scalar_kernels()), ("best", best())] {
        c.bench_function(&format!("dot384/{name}"), |x| {
            x.iter(|| (k.dot)(black_box(&a), black_box(&b)))
        });
        c.bench_function(&format!("adc32x4/{name}"), |x| {
            x.iter(|| (k.adc)(black_box(&table), 16, black_box(&codes)))
        });
        c.bench_function(&format!("adc4_packed32/{name}"), |x| {
            x.iter(|| (k.adc4)(black_box(&table), black_box(&packed), 32))
        });
        c.bench_function(&format!("prefix_sum64/{name}"), |x| {
            let mut d = gaps.clone();
            x.iter(|| {
                d.copy_from_slice(&gaps);
                (k.prefix_sum)(black_box(7), black_box(&mut d));
                d[63]
            })
        });
    }
    let adj: Vec<Vec<u32>> = (0..4096u32)
        .map(|v| (0..16).map(|j| (v * 31 + j * 977) % 4096).collect())
        .collect();
    let enc = leann_edge::graph::codec::encode(&adj).unwrap();
    c.bench_function("decode_neighbours/block_of_32", |x| {
        x.iter(|| {
            let mut out = Vec::new();
            let mut r = leann_edge::bits::BitReader::new(&enc.bytes, enc.block_offsets[5]);
            leann_edge::graph::codec::decode_in_block(&mut r, 160, black_box(17), 4096, &mut out)
                .unwrap();
            out.len()
        })
    });
}

criterion_group!(benches, kernels);
criterion_main!(benches);
