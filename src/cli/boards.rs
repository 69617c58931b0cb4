//! `leann-edge boards`: the board profiles and which one this machine is.
use anyhow::Result;

/// Run `boards`.
pub fn run() -> Result<()> {
    let here = leann_edge::boards::detect()
        .map(|b| b.name)
        .unwrap_or_default();
    for b in leann_edge::boards::all()? {
        println!(
            "{}{:<18} {:<32} threads {:>2}  batch {:>2}  cache {:>5}  ef {:>3}  RAM {} MB  — {}",
            if b.name == here { "* " } else { "  " },
            b.name,
            b.target,
            b.threads,
            b.encoder_batch,
            b.neighbor_cache,
            b.search.ef,
            b.ram_budget_mb,
            b.description
        );
    }
    Ok(())
}
