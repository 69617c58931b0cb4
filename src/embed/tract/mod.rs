//! The encoder run by tract: the default all-MiniLM-L6-v2 (int8 weights, ONNX), the
//! multilingual e5-small of the manifest, or any BERT-like ONNX model with a `tokenizer.json`.
//!
//! Opening ([`TractEmbedder::open`]) walks these steps, one file each:
//! 1. [`model_files`]: the model file is checked (regular file, size, sha256 against the manifest
//!    once per path/size/mtime); a missing, wrong or corrupt file is an [`EmbedError::Model`]
//!    naming the file and the fix;
//! 2. [`rewrites`]: named passes over the ONNX graph before tract sees it (int8 dequantisation
//!    folded once, softmax NaN guards dropped);
//! 3. tract types and declutters the model with symbolic (batch, length);
//! 4. [`split`] (several threads only): every constant-weight matmul region is split into column
//!    bands that a lone text runs side by side on the [`crew`]'s helper threads;
//! 5. tract optimises it into one plan for any (batch, length), then [`ops`] passes put custom ops
//!    in place of slow paths (natural strides at batch 1, broadcast adds).
//!
//! Every pass reports how many nodes it changed ([`TractEmbedder::passes`]); a test asserts the
//! counts on the default model. Embedding ([`runner`]) tokenises, cuts the texts into runs by
//! length ([`planner`]) and pools the runs' outputs; [`profile`] is a per-node timing aid.
use super::{EmbedError, Embedder};
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

mod config;
mod crew;
mod model_files;
mod model_places;
mod ops;
mod planner;
mod profile;
mod rewrites;
mod runner;
mod split;

pub use config::{Compute, EncoderConfig};
use model_files::{model_err, ModelFiles};
pub use model_files::{Checksum, KnownModel, KNOWN, MULTILINGUAL};
pub use model_places::{
    default_model_dir, fix_hint, known_model_dir, model_places, ModelPlace, SYSTEM_DIRS,
};
pub use planner::plan_groups;

/// What one rewrite pass changed when the encoder was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassCount {
    /// The pass (`fold_dequant`, `drop_nan_guards`, `split_matmuls`, `natural_strides`,
    /// `broadcast_add`).
    pub name: &'static str,
    /// Nodes (or node groups) it rewrote.
    pub changed: usize,
}

/// The tract-backed MiniLM embedder.
pub struct TractEmbedder {
    tokenizer: tokenizers::Tokenizer,
    /// The optimised plan, symbolic in batch and length.
    plan: Arc<TypedRunnableModel>,
    has_token_types: bool,
    dim: usize,
    max_tokens: usize,
    fingerprint: String,
    /// What questions and passages are prefixed with (the known model's; none for others).
    prefixes: (&'static str, &'static str),
    config: EncoderConfig,
    /// Helper threads for the column-split matmuls and side-by-side runs; `None` on 1 thread.
    crew: Option<Arc<crew::Crew>>,
    passes: Vec<PassCount>,
}

impl TractEmbedder {
    /// Check a model folder's files as `open` does (sizes, and sha256 by `checksum`) without
    /// loading the model; returns the fingerprint an index built with it records.
    pub fn check_files(dir: &Path, checksum: Checksum) -> Result<String, EmbedError> {
        model_files::check(dir, checksum).map(|f| f.fingerprint)
    }

    /// Load the model in `dir` (`model.onnx` + `tokenizer.json`).
    pub fn open(dir: &Path, config: EncoderConfig) -> Result<Self, EmbedError> {
        let files = model_files::check(dir, config.checksum)?;
        let max_tokens = config
            .max_tokens
            .or(files.known.map(|k| k.max_tokens))
            .unwrap_or(256);
        let tokenizer = load_tokenizer(&files.tokenizer, max_tokens)?;
        let mut passes = Vec::new();
        let (model, has_token_types) = load_typed(&files, config.compute, &mut passes)?;
        let dim = hidden_size(&model, &files)?;
        let threads = config.threads.max(1);
        let crew = if threads > 1 {
            let c = crew::Crew::new(threads - 1)
                .map_err(|e| EmbedError::Runtime(format!("cannot start encoder threads: {e}")))?;
            Some(c)
        } else {
            None
        };
        let model = match &crew {
            Some(c) => {
                let (m, n) = split::split_matmuls(model, threads, c)
                    .map_err(|e| model_err(&files.onnx, format!("splitting its matmuls: {e:?}")))?;
                passes.push(PassCount {
                    name: "split_matmuls",
                    changed: n,
                });
                m
            }
            None => model,
        };
        let plan = optimise(model, &config, &mut passes)
            .map_err(|e| model_err(&files.onnx, format!("tract cannot optimise it ({e})")))?;
        Ok(TractEmbedder {
            tokenizer,
            plan,
            has_token_types,
            dim,
            max_tokens,
            fingerprint: files.fingerprint + config.compute.fingerprint_suffix(),
            prefixes: files
                .known
                .map_or(("", ""), |k| (k.query_prefix, k.passage_prefix)),
            config,
            crew,
            passes,
        })
    }

    /// Max tokens per text.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The rewrite passes run at open, in order, with what each changed.
    pub fn passes(&self) -> &[PassCount] {
        &self.passes
    }

    /// The matmul kernels tract chose (e.g. `avx512vnni_mmm_i32_16x16` for int8 compute with
    /// AVX-512 VNNI, `arm64simd_mmm_i32_8x8_dot` with SDOT), sorted.
    pub fn matmul_kernels(&self) -> Vec<String> {
        profile::kernels_of(self.plan.model()).into_iter().collect()
    }

    /// The settings it was opened with.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }
}

fn load_tokenizer(path: &Path, max_tokens: usize) -> Result<tokenizers::Tokenizer, EmbedError> {
    let mut t = tokenizers::Tokenizer::from_file(path)
        .map_err(|e| model_err(path, format!("cannot load tokenizer ({e})")))?;
    t.with_padding(None);
    t.with_truncation(Some(tokenizers::TruncationParams {
        max_length: max_tokens,
        ..Default::default()
    }))
    .map_err(|e| model_err(path, format!("bad truncation setting ({e})")))?;
    Ok(t)
}

/// Inputs the encoder feeds, in this order (`token_type_ids` only when the model has it).
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

/// Parse the ONNX file, run the [`rewrites`], and type + declutter it with symbolic (batch,
/// sequence) inputs. Returns the model and whether it takes `token_type_ids`.
fn load_typed(
    files: &ModelFiles,
    compute: Compute,
    passes: &mut Vec<PassCount>,
) -> Result<(TypedModel, bool), EmbedError> {
    let path = &files.onnx;
    let mut onnx = tract_onnx::onnx();
    if compute == Compute::Int8 {
        ops::int8::register(&mut onnx);
    }
    let mut proto = onnx
        .proto_model_for_path(path)
        .map_err(|e| model_err(path, format!("not a valid ONNX model ({e})")))?;
    let g = proto
        .graph
        .as_mut()
        .ok_or_else(|| model_err(path, "has no graph"))?;
    if compute == Compute::Int8 {
        let changed = rewrites::int8_matmul::run(g)
            .map_err(|e| model_err(path, format!("int8_matmul: {e}")))?;
        if changed == 0 {
            return Err(EmbedError::NoInt8Weights {
                path: path.display().to_string(),
            });
        }
        passes.push(PassCount {
            name: "int8_matmul",
            changed,
        });
    }
    for (name, pass) in rewrites::PASSES {
        let changed = pass(g).map_err(|e| model_err(path, format!("{name}: {e}")))?;
        log::debug!("{name}: {changed} changed");
        passes.push(PassCount { name, changed });
    }
    let mut inf = onnx
        .model_for_proto_model(&proto)
        .map_err(|e| model_err(path, format!("tract cannot load it ({e})")))?;
    drop(proto);
    let rt = |e: TractError| EmbedError::Runtime(e.to_string());
    let names: Vec<String> = inf
        .input_outlets()
        .map_err(rt)?
        .iter()
        .map(|o| inf.node(o.node).name.clone())
        .collect();
    let has_token_types = names.iter().any(|n| n == INPUTS[2]);
    let want = &INPUTS[..if has_token_types { 3 } else { 2 }];
    if names.iter().map(String::as_str).ne(want.iter().copied()) {
        let why = format!("inputs {names:?}: expected {want:?} (a BERT-style encoder)");
        return Err(model_err(path, why));
    }
    let b = inf.sym("batch");
    let s = inf.sym("sequence");
    // Upper bounds matter: tract bounds a product of symbols (batch × sequence × 1536 elements)
    // only when every factor has both bounds, and without that proof it cannot choose its
    // vectorised element-wise kernels for a symbolic plan (23% of the time went to scalar
    // per-element Add/Mul). `embed` never runs more than 32 texts per call.
    for a in [
        "batch >= 1",
        "batch <= 64",
        "sequence >= 1",
        "sequence <= 512",
    ] {
        inf.symbols.add_assertion(a).map_err(rt)?;
    }
    for i in 0..names.len() {
        let fact = i64::fact(&[TDim::from(b.clone()), TDim::from(s.clone())]);
        inf.set_input_fact(i, fact.into()).map_err(rt)?;
    }
    let model = inf
        .into_typed()
        .and_then(|m| m.into_decluttered())
        .map_err(|e| model_err(path, format!("tract cannot type the model ({e:?})")))?;
    Ok((model, has_token_types))
}

fn hidden_size(model: &TypedModel, files: &ModelFiles) -> Result<usize, EmbedError> {
    let fact = model
        .output_fact(0)
        .map_err(|e| EmbedError::Runtime(e.to_string()))?;
    fact.shape
        .last()
        .and_then(|d| d.to_usize().ok())
        .ok_or_else(|| model_err(&files.onnx, "output has no fixed hidden size"))
}

/// tract's optimiser, then the [`ops`] passes, into one runnable plan.
fn optimise(
    model: TypedModel,
    config: &EncoderConfig,
    passes: &mut Vec<PassCount>,
) -> TractResult<Arc<TypedRunnableModel>> {
    let m = model.into_optimized()?;
    if config.dump_plan {
        for n in m.nodes() {
            let fact = &n.outputs[0].fact;
            eprintln!(
                "{} | {} | {fact:?} | {:?}",
                n.name,
                n.op.name(),
                n.op.info()
            );
        }
    }
    let (m, counts) = ops::patch_optimised(m);
    for (name, changed) in counts {
        log::debug!("{name}: {changed} changed");
        passes.push(PassCount { name, changed });
    }
    m.into_runnable()
}

impl Embedder for TractEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        self.embed_texts(texts, self.prefixes.1)
    }
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        self.embed_texts(texts, self.prefixes.0)
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn preferred_batch(&self) -> usize {
        32
    }
}
