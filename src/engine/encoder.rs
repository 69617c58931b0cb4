//! Which encoder an index is searched, changed and built with: found by the model discovery every
//! caller shares, computing in the arithmetic the index records.
use super::EngineOptions;
use crate::boards::Board;
use crate::embed::tract::{
    default_model_dir, known_model_dir, Compute, EncoderConfig, TractEmbedder, KNOWN,
};
use crate::embed::EmbedError;
use crate::error::{Error, Result};
use crate::format::Meta;
use std::path::PathBuf;

/// Encoder arithmetic of a new index when none is given, on a CPU with integer dot-product
/// instructions (arm64; x86 with AVX-512 VNNI or AVX-VNNI). int8: on docs-faq its nDCG@10 stayed
/// within 0.6% of f32 while queries took a third less time and builds ran 1.5× faster
/// (docs/benchmarks.md, "int8 compute"). Indexes record theirs; older ones are f32. A model
/// without int8 weights falls back to f32. See [`new_index_compute`].
pub const NEW_INDEX_COMPUTE: Compute = Compute::Int8;

/// The arithmetic a new index gets by default on this CPU: [`NEW_INDEX_COMPUTE`] where the CPU
/// multiplies int8 with dot-product instructions, f32 on an x86 CPU without VNNI. Measured on an
/// AVX2-only AMD EPYC (2 cores): tract's AVX2 int8 kernel took 1.5 s for one 64-token passage,
/// f32 24 ms (`leann-edge bench-encoder --batch 1 --tokens 64`, with and without `--compute f32`).
pub fn new_index_compute() -> Compute {
    if cfg!(target_arch = "x86_64") && !x86_has_vnni() {
        Compute::F32
    } else {
        NEW_INDEX_COMPUTE
    }
}

/// Whether this x86 CPU has AVX-512 VNNI or AVX-VNNI (Linux: /proc/cpuinfo; elsewhere assumed).
fn x86_has_vnni() -> bool {
    match std::fs::read_to_string("/proc/cpuinfo") {
        Ok(info) => info
            .lines()
            .find(|l| l.starts_with("flags"))
            .is_some_and(|l| {
                l.split_whitespace()
                    .any(|f| f == "avx512_vnni" || f == "avx_vnni")
            }),
        Err(_) => true,
    }
}

/// The model folder: `model` (a folder, or the name of a model of the manifest, looked for where
/// the default one is), else the first place holding the default model.
pub fn model_dir(model: Option<&std::path::Path>) -> Result<PathBuf> {
    Ok(match model {
        Some(m) if !m.exists() => match KNOWN.iter().find(|k| m.as_os_str() == k.name) {
            Some(k) => known_model_dir(k.name)?,
            None => m.to_path_buf(),
        },
        Some(m) => m.to_path_buf(),
        None => default_model_dir()?,
    })
}

/// The board profile: `opts.board`, else `$LEANN_EDGE_BOARD`, else detected.
pub fn board(opts: &EngineOptions) -> Result<Board> {
    match &opts.board {
        Some(b) => crate::boards::get(b),
        None => crate::boards::detect(),
    }
}

/// Encoder threads: `opts.threads`, else the board's.
pub fn threads(opts: &EngineOptions, b: &Board) -> usize {
    opts.threads.unwrap_or(b.threads).max(1)
}

/// The encoder for a new index: `opts.compute`, else [`new_index_compute`]; a model without int8
/// weights computes in f32 unless int8 was asked for.
pub fn for_new_index(opts: &EngineOptions, b: &Board) -> Result<TractEmbedder> {
    let dir = model_dir(opts.model.as_deref())?;
    let config = EncoderConfig {
        compute: opts.compute.unwrap_or_else(new_index_compute),
        ..EncoderConfig::with_threads(threads(opts, b))
    };
    match TractEmbedder::open(&dir, config.clone()) {
        Err(e @ EmbedError::NoInt8Weights { .. }) if opts.compute.is_none() => {
            log::info!("{e}: computing in f32");
            let f32 = EncoderConfig {
                compute: Compute::F32,
                ..config
            };
            Ok(TractEmbedder::open(&dir, f32)?)
        }
        r => Ok(r?),
    }
}

/// The encoder an existing index is searched and changed with: the compute its fingerprint records
/// (`opts.compute`, when given, must be that one), `config`'s other settings.
pub fn for_index(
    opts: &EngineOptions,
    b: &Board,
    meta: &Meta,
    config: EncoderConfig,
) -> Result<TractEmbedder> {
    let built = Compute::of_fingerprint(&meta.encoder);
    if let Some(asked) = opts.compute {
        if asked != built {
            return Err(Error::ComputeMismatch {
                index: built.name(),
                given: asked.name(),
            });
        }
    }
    let dir = model_dir(opts.model.as_deref())?;
    let config = EncoderConfig {
        threads: threads(opts, b),
        compute: built,
        ..config
    };
    Ok(TractEmbedder::open(&dir, config)?)
}
