//! Every environment knob of the crate, read once per process and documented here.
//!
//! | variable | effect |
//! |---|---|
//! | `LEANN_EDGE_MODEL` | encoder model folder when no `--model` is given ([`crate::embed::tract::default_model_dir`]) |
//! | `LEANN_EDGE_BOARD` | board profile name instead of detecting the machine ([`crate::boards::detect`]) |
//! | `LEANN_EDGE_SCALAR` | `1`: use the scalar reference kernels, never SIMD ([`crate::kernels::active`]) |
//! | `LEANN_EDGE_TRACT_RUN_TOKENS` | padded tokens one encoder run may hold (default 256; profiling, boards with other cache sizes) |
//! | `LEANN_EDGE_TRACT_PROFILE` | `1`: time every node of every encoder run and print per-op totals to stderr (debug aid) |
//! | `LEANN_EDGE_TRACT_DUMP` | `1`: print the optimised encoder plan, one line per node, when it is built (debug aid) |
//!
//! Also read: `XDG_CACHE_HOME` (else `$HOME/.cache`), where the encoder remembers model files whose
//! checksum it has verified; `XDG_DATA_HOME` (else `$HOME/.local/share`), where the default model
//! is looked for ([`crate::embed::tract::model_places`]). Tests also read `LEANN_EDGE_EMULATED` (CI sets it under qemu to embed only short inputs); the
//! library never does.
use std::path::PathBuf;
use std::sync::OnceLock;

/// The knobs as read at first use.
#[derive(Clone, Debug, Default)]
pub struct Knobs {
    /// `LEANN_EDGE_MODEL`.
    pub model: Option<PathBuf>,
    /// `LEANN_EDGE_BOARD`.
    pub board: Option<String>,
    /// `LEANN_EDGE_SCALAR` set and not `0`.
    pub scalar: bool,
    /// `LEANN_EDGE_TRACT_RUN_TOKENS`, when it parses as a positive number.
    pub tract_run_tokens: Option<usize>,
    /// `LEANN_EDGE_TRACT_PROFILE` set and not `0`.
    pub tract_profile: bool,
    /// `LEANN_EDGE_TRACT_DUMP` set and not `0`.
    pub tract_dump: bool,
    /// The user's cache folder for leann-edge: `$XDG_CACHE_HOME/leann-edge`, else
    /// `$HOME/.cache/leann-edge`.
    pub cache_dir: Option<PathBuf>,
    /// The user's data folder for leann-edge: `$XDG_DATA_HOME/leann-edge`, else
    /// `$HOME/.local/share/leann-edge`.
    pub data_dir: Option<PathBuf>,
}

fn flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

impl Knobs {
    /// Read the environment now (use [`knobs`] for the process-wide copy).
    pub fn from_env() -> Self {
        Knobs {
            model: std::env::var_os("LEANN_EDGE_MODEL")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            board: std::env::var("LEANN_EDGE_BOARD")
                .ok()
                .filter(|v| !v.is_empty()),
            scalar: flag("LEANN_EDGE_SCALAR"),
            tract_run_tokens: std::env::var("LEANN_EDGE_TRACT_RUN_TOKENS")
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|&n: &usize| n > 0),
            tract_profile: flag("LEANN_EDGE_TRACT_PROFILE"),
            tract_dump: flag("LEANN_EDGE_TRACT_DUMP"),
            cache_dir: std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .map(|d| d.join("leann-edge")),
            data_dir: std::env::var_os("XDG_DATA_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
                .map(|d| d.join("leann-edge")),
        }
    }
}

/// The process-wide knobs, read from the environment on first call.
pub fn knobs() -> &'static Knobs {
    static K: OnceLock<Knobs> = OnceLock::new();
    K.get_or_init(Knobs::from_env)
}
