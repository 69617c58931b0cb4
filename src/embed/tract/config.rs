//! [`EncoderConfig`]: what the caller chooses for the encoder, plus the environment knobs
//! ([`crate::env`]), read once.
use super::model_files::Checksum;
use super::planner::MAX_BATCH_TOKENS;

/// Encoder settings, fixed when the encoder is opened.
#[derive(Clone, Debug)]
pub struct EncoderConfig {
    /// Threads (1 = the caller's thread only). With more, a lone text's weight matmuls run as
    /// column bands on `threads - 1` helper threads and batches run side by side.
    pub threads: usize,
    /// Max tokens per text (longer texts are truncated); default: the model's.
    pub max_tokens: Option<usize>,
    /// When the model file's sha256 is checked (default: once per path, size and mtime).
    pub checksum: Checksum,
    /// Padded tokens one encoder run may hold (see [`super::planner`]); default 256 or
    /// `LEANN_EDGE_TRACT_RUN_TOKENS`.
    pub run_tokens: usize,
    /// Time every node of every run and print per-op totals (`LEANN_EDGE_TRACT_PROFILE`).
    pub profile: bool,
    /// Print the optimised plan when it is built (`LEANN_EDGE_TRACT_DUMP`).
    pub dump_plan: bool,
}

impl Default for EncoderConfig {
    /// One thread, the model's token limit, checksum once; knobs from the environment.
    fn default() -> Self {
        let k = crate::env::knobs();
        EncoderConfig {
            threads: 1,
            max_tokens: None,
            checksum: Checksum::Once,
            run_tokens: k.tract_run_tokens.unwrap_or(MAX_BATCH_TOKENS),
            profile: k.tract_profile,
            dump_plan: k.tract_dump,
        }
    }
}

impl EncoderConfig {
    /// The default settings on `threads` threads (at least 1).
    pub fn with_threads(threads: usize) -> Self {
        EncoderConfig {
            threads: threads.max(1),
            ..Default::default()
        }
    }
}
