//! How documents become passages: the options `build`, `add` and `sync` share.
use anyhow::{bail, Result};
use clap::Args;
use leann_edge::ingest::IngestOptions;

/// Largest `--chunk-tokens` (the encoder reads the first 256 tokens of a passage anyway).
pub const MAX_CHUNK_TOKENS: usize = 4096;

/// Chunking and file options.
#[derive(Args, Clone, Debug)]
pub struct IngestArgs {
    /// Tokens per passage when chunking files.
    #[arg(long, default_value_t = leann_edge::ingest::DEFAULT_CHUNK_TOKENS)]
    pub chunk_tokens: usize,
    /// Overlap tokens between chunks.
    #[arg(long, default_value_t = 32)]
    pub overlap_tokens: usize,
    /// Skip files larger than this many MiB.
    #[arg(long, default_value_t = 16)]
    pub max_file_mib: u64,
    /// Follow symlinks inside the folders to files outside them (default: skipped and counted).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Only index files matching this gitignore-style pattern (repeatable: any of them), e.g.
    /// '*.md' or 'docs/**/*.html'.
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Skip files and folders matching this gitignore-style pattern (repeatable), e.g. '*.log',
    /// 'drafts/'. Also read: a `.leannignore` in any indexed folder (gitignore syntax); folders of
    /// dependencies, caches and build outputs (node_modules, __pycache__, site-packages, any
    /// folder with a CACHEDIR.TAG) are skipped unless given themselves.
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
}

impl IngestArgs {
    /// The ingest options, validated.
    pub fn options(&self) -> Result<IngestOptions> {
        if self.chunk_tokens > MAX_CHUNK_TOKENS {
            bail!(
                "--chunk-tokens {} is too large: give at most {MAX_CHUNK_TOKENS} (the encoder reads 256)",
                self.chunk_tokens
            );
        }
        if self.chunk_tokens < 8 {
            bail!(
                "--chunk-tokens {} is too small: give 8 or more (default {})",
                self.chunk_tokens,
                leann_edge::ingest::DEFAULT_CHUNK_TOKENS
            );
        }
        if self.overlap_tokens >= self.chunk_tokens {
            bail!(
                "--overlap-tokens {} must be smaller than --chunk-tokens {}",
                self.overlap_tokens,
                self.chunk_tokens
            );
        }
        for (flag, pats) in [("--include", &self.include), ("--exclude", &self.exclude)] {
            if let Err(e) = leann_edge::ingest::check_patterns(pats) {
                bail!("{flag} {e}");
            }
        }
        Ok(IngestOptions {
            max_tokens: self.chunk_tokens,
            overlap_tokens: self.overlap_tokens,
            max_file_bytes: self.max_file_mib.saturating_mul(1 << 20),
            follow_symlinks: self.follow_symlinks,
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            // The board's (the engine fills it in).
            pdf_memory_bytes: None,
        })
    }
}
