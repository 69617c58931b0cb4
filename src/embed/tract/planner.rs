//! The run planner: how the texts of one `embed` call are cut into encoder runs.
//!
//! Texts are sorted by token count and cut into consecutive runs; each run is padded to its
//! longest text, so the cut trades per-call overhead against padding (see [`plan_groups`]).

/// Padded tokens (batch × longest) one encoder run may hold. Small runs keep a run's activations in
/// cache (the FFN's 1536-wide intermediate is 6 KB a token: 1.5 MB at 256 tokens, inside a 2 MB
/// L2). `benches/encoder_vs_ort.sh` on the 2-core x86, 32×128: runs of 512 → 256 tokens went from
/// 21.8 to 27.2 passages/s on 1 thread and 45.1 to 52.0 on 2 (128: 22.2 / 42.5; 384: 22.3 / 42.9);
/// 32×64 56.3 → 59.0 and 103.4 → 112.4. [`EncoderConfig::run_tokens`](super::EncoderConfig::run_tokens) overrides it
/// (`LEANN_EDGE_TRACT_RUN_TOKENS`).
pub const MAX_BATCH_TOKENS: usize = 256;
/// Bound on batch × longest² for one run: the attention scores are 12 × batch × len² floats
/// (2 × 256² → 6.3 MB a tensor).
const MAX_BATCH_ATTENTION: usize = 2 * 256 * 256;

/// Split texts sorted by token count (`lens`, ascending) into consecutive runs that minimise the
/// estimated encoder time: each run costs a fixed per-call overhead plus its padded tokens (a run
/// is padded to its longest text), with attention growing with length. At most `max_take` texts
/// and `max_tokens` padded tokens a run, and batch × longest² ≤ `MAX_BATCH_ATTENTION` (a single
/// longer text still gets its own run).
/// The constants are relative costs measured with tract on x86 (1 thread: ~5.6 ms a call,
/// ~0.45 ms a token, attention ~0.25 µs a token per token of length); only their ratios matter.
pub fn plan_groups(lens: &[usize], max_take: usize, max_tokens: usize) -> Vec<(usize, usize)> {
    const CALL: f64 = 5600.0;
    const TOKEN: f64 = 450.0;
    const ATTN: f64 = 0.25;
    let n = lens.len();
    let max_take = max_take.max(1);
    let mut best = vec![f64::INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    best[0] = 0.0;
    for j in 1..=n {
        let s = lens[j - 1] as f64;
        for i in (j.saturating_sub(max_take)..j).rev() {
            let b = j - i;
            if b > 1
                && (b * lens[j - 1] > max_tokens
                    || b * lens[j - 1] * lens[j - 1] > MAX_BATCH_ATTENTION)
            {
                break;
            }
            let c = best[i] + CALL + b as f64 * s * (TOKEN + ATTN * s);
            if c < best[j] {
                best[j] = c;
                from[j] = i;
            }
        }
    }
    let mut out = Vec::new();
    let mut j = n;
    while j > 0 {
        out.push((from[j], j));
        j = from[j];
    }
    out.reverse();
    out
}
