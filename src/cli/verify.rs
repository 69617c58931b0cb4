//! `leann-edge verify`: every section checksum and the model (sha256 recomputed).
use super::common::{open_index, Global};
use anyhow::Result;
use clap::Args;
use leann_edge::embed::tract::{Checksum, EncoderConfig};
use std::path::PathBuf;

/// Check every section checksum and the model files.
#[derive(Args, Clone, Debug)]
pub struct VerifyArgs {
    /// Index file.
    pub index: PathBuf,
}

/// Run `verify`.
pub fn run(g: &Global, a: &VerifyArgs) -> Result<()> {
    let idx = open_index(&a.index)?;
    idx.verify()?;
    let b = g.board()?;
    let config = EncoderConfig {
        checksum: Checksum::Always,
        ..EncoderConfig::default()
    };
    let enc = g.encoder_for_with(&b, &idx, config)?;
    idx.check_embedder(&enc)?;
    println!(
        "{}: OK ({} sections, checksums match, encoder {} present and verified)",
        a.index.display(),
        idx.layout().sections.len(),
        idx.meta().encoder
    );
    Ok(())
}
