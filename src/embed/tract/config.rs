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
    /// How the weight matmuls compute (the index records it: see [`Compute`]).
    pub compute: Compute,
}

/// How the encoder's weight matmuls compute. Embeddings differ slightly between the two, so an
/// index records which one built it (in the encoder fingerprint) and is searched with the same.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compute {
    /// f32 arithmetic on the int8-stored weights (dequantised once at load).
    #[default]
    F32,
    /// int8 × int8 → i32 arithmetic: activations quantised per token at run time (the
    /// `int8_matmul` pass), tract's integer kernels (VNNI on x86, SDOT on aarch64).
    Int8,
}

impl Compute {
    /// What the encoder fingerprint carries after the model's for this compute (`""` for f32,
    /// so indexes built before int8 compute existed keep matching).
    pub fn fingerprint_suffix(self) -> &'static str {
        match self {
            Compute::F32 => "",
            Compute::Int8 => crate::embed::INT8_COMPUTE_SUFFIX,
        }
    }

    /// The compute an encoder fingerprint records.
    pub fn of_fingerprint(fingerprint: &str) -> Compute {
        if fingerprint.ends_with(Compute::Int8.fingerprint_suffix()) {
            Compute::Int8
        } else {
            Compute::F32
        }
    }

    /// Its name on the command line and in `info`: `f32` or `int8`.
    pub fn name(self) -> &'static str {
        match self {
            Compute::F32 => "f32",
            Compute::Int8 => "int8",
        }
    }
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
            compute: Compute::default(),
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
