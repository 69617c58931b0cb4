//! `leann-edge bench-encoder`: passages/s for batch × length, and model load time.
use super::common::Global;
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::embed::Embedder;

/// Encoder speed: passages/s for batch × length, and model load time.
#[derive(Args, Clone, Debug)]
pub struct BenchEncoderArgs {
    /// Batch sizes (texts per call).
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    pub batch: Vec<usize>,
    /// Text lengths in tokens.
    #[arg(long, value_delimiter = ',', default_value = "16,64,128,256")]
    pub tokens: Vec<usize>,
    /// Repetitions per point (median reported).
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
}

/// Run `bench-encoder`.
pub fn run(g: &Global, a: &BenchEncoderArgs) -> Result<()> {
    if a.reps == 0
        || a.batch.iter().any(|&b| b == 0 || b > 1024)
        || a.tokens.iter().any(|&t| t == 0 || t > 512)
    {
        bail!("--reps must be at least 1, --batch values 1-1024 and --tokens values 1-512");
    }
    let b = g.board()?;
    let t = std::time::Instant::now();
    let enc = g.encoder(&b)?;
    println!(
        "model load {:.0} ms, threads {}, compute {}",
        t.elapsed().as_secs_f64() * 1000.0,
        g.threads(&b),
        enc.config().compute.name()
    );
    println!("matmul kernels: {}", enc.matmul_kernels().join(", "));
    println!(
        "{:>6} {:>7} {:>12} {:>12} {:>10}",
        "batch", "tokens", "ms/call", "ms/passage", "passages/s"
    );
    for &tk in &a.tokens {
        // "word " is one word-piece; [CLS] and [SEP] make two more.
        let text = "word ".repeat(tk.saturating_sub(2).max(1));
        for &bs in &a.batch {
            let texts: Vec<&str> = vec![text.as_str(); bs];
            enc.embed(&texts)?; // warm-up
            let mut times = Vec::with_capacity(a.reps);
            for _ in 0..a.reps {
                let t = std::time::Instant::now();
                enc.embed(&texts)?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            let med = times[times.len() / 2];
            println!(
                "{bs:>6} {tk:>7} {med:>12.2} {:>12.2} {:>10.1}",
                med / bs as f64,
                1000.0 * bs as f64 / med
            );
        }
    }
    println!("peak RSS {:.0} MB", super::bench::eval::peak_rss_mb());
    Ok(())
}
