//! `leann-edge boards`: the board profiles and which one this machine is (a built-in one, or one
//! derived from its cores and memory).
use anyhow::Result;
use leann_edge::boards::Board;

fn line(b: &Board, here: bool) {
    println!(
        "{}{:<18} {:<32} threads {:>2}  batch {:>2}  cache {:>5}  ef {:>3}  RAM {} MB  — {}",
        if here { "* " } else { "  " },
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

/// Run `boards`.
pub fn run() -> Result<()> {
    let here = leann_edge::boards::detect()?;
    let all = leann_edge::boards::all()?;
    for b in &all {
        line(b, b.name == here.name);
    }
    if !all.iter().any(|b| b.name == here.name) {
        line(&here, true);
    }
    Ok(())
}
