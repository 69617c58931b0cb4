//! `leann-edge verify`: every section checksum and the model (sha256 recomputed).
use super::common::Global;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Check every section checksum and the model files.
#[derive(Args, Clone, Debug)]
pub struct VerifyArgs {
    /// Index file.
    pub index: PathBuf,
}

/// Run `verify`.
pub fn run(g: &Global, a: &VerifyArgs) -> Result<()> {
    let engine = g.engine(&a.index, |_| {})?;
    let r = engine.verify()?;
    println!(
        "{}: OK ({} sections, checksums match, encoder {} present and verified)",
        a.index.display(),
        r.sections,
        r.encoder
    );
    Ok(())
}
