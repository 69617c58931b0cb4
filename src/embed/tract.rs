//! The default encoder: all-MiniLM-L6-v2 (int8 weights, ONNX) run by tract.
//!
//! Loading:
//! 1. the model file is checked (size + sha256 against the manifest for known models); a missing,
//!    wrong or corrupt file is an [`EmbedError::Model`] naming the file and the fix (`models/fetch.sh`);
//! 2. the ONNX graph is rewritten before tract sees it: every `Cast(int8) → Mul(scale)` weight
//!    dequantisation is folded into an f32 constant once (tract would otherwise redo it on every call,
//!    because it refuses const-folds that grow memory past 4 MiB), except the 30522×384 word-embedding
//!    table, which stays int8 and is gathered first, then dequantised row by row (saves ~35 MB RSS);
//!    the softmax NaN guards (`Where(IsNaN(x), 0, x)`, one per layer) are dropped (they never fire);
//! 3. after optimisation, element-wise nodes get inputs with natural strides ([`natural::Natural`]:
//!    at batch 1 tract otherwise took a per-element slow path) and broadcasting f32 adds (the
//!    attention mask) run as contiguous row adds ([`natural::BroadcastAdd`]);
//! 4. with several threads, every constant-weight matmul region (x·W + b and the element-wise ops
//!    after it; the FFN's up/GELU/down chain as one) is split into column bands, one per thread
//!    ([`split`]): a lone text runs its bands side by side on spinning helper threads (tract's
//!    rayon pool costs a wake-up per matmul and did not pay below ~48 tokens); texts that already
//!    run side by side, one per thread, run the bands one after the other;
//! 5. by default one optimised plan with symbolic (batch, length); optionally ([`TractOptions::symbolic`]
//!    false) one plan per (batch, length) bucket, built on first use and cached (shapes fixed,
//!    no symbolic overhead); lengths are bucketed to multiples of 16 tokens and batches to powers of
//!    two, at most `max_plans` plans are kept (LRU); padded rows/tokens are masked out of the pooling.
use super::{EmbedError, Embedder};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::DimLike;

/// A model the manifest knows.
#[derive(Clone, Copy, Debug)]
pub struct KnownModel {
    /// Name (folder under `models/`).
    pub name: &'static str,
    /// Size of model.onnx.
    pub size: u64,
    /// sha256 of model.onnx.
    pub sha256: &'static str,
    /// Output dimension.
    pub dim: usize,
    /// Max tokens.
    pub max_tokens: usize,
}

/// Models from `models/manifest.toml` (kept in step by a test).
pub const KNOWN: &[KnownModel] = &[KnownModel {
    name: "all-minilm-l6-v2-int8",
    size: 22_928_619,
    sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    dim: 384,
    max_tokens: 256,
}];

/// Default model folder: `$LEANN_EDGE_MODEL`, else `models/all-minilm-l6-v2-int8` next to the
/// current directory or the executable's repository.
pub fn default_model_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("LEANN_EDGE_MODEL") {
        return PathBuf::from(p);
    }
    let rel = Path::new("models").join(KNOWN[0].name);
    if rel.join("model.onnx").exists() {
        return rel;
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1) {
            let c = anc.join("models").join(KNOWN[0].name);
            if c.join("model.onnx").exists() {
                return c;
            }
        }
    }
    rel
}

/// Encoder options.
#[derive(Clone, Debug)]
pub struct TractOptions {
    /// Threads for matrix products (1 = caller's thread only).
    pub threads: usize,
    /// Max tokens per text (longer texts are truncated).
    pub max_tokens: Option<usize>,
    /// Plans kept in the cache (least recently used dropped first).
    pub max_plans: usize,
    /// Skip the sha256 check (size is still checked). For slow boards after a verified fetch.
    pub skip_checksum: bool,
    /// One optimised plan with symbolic shapes (default: ~135 MB peak RSS, no plan-build stalls) instead
    /// of one plan per (batch, length) bucket (each plan holds its own packed weights, ~45 MB, and
    /// since the batch-1 stride fix in [`natural`] they are no faster: 1×16 and 1×32 tokens measured
    /// the same). `LEANN_EDGE_TRACT_PLANS=buckets` selects the latter.
    pub symbolic: bool,
}

impl Default for TractOptions {
    fn default() -> Self {
        TractOptions {
            threads: 1,
            max_tokens: None,
            max_plans: 8,
            skip_checksum: false,
            symbolic: std::env::var("LEANN_EDGE_TRACT_PLANS").map_or(true, |v| v != "buckets"),
        }
    }
}

type Plan = Arc<TypedRunnableModel>;
/// Pooled vectors of one batch, or why it failed.
type BatchResult = Result<Vec<f32>, EmbedError>;
type PlanCache = (u64, HashMap<(usize, usize), (Plan, u64)>);

/// The tract-backed MiniLM embedder.
pub struct TractEmbedder {
    tokenizer: tokenizers::Tokenizer,
    /// The typed model plans are built from (emptied once the symbolic plan is built).
    model: TypedModel,
    sym_b: Symbol,
    sym_s: Symbol,
    plans: Mutex<PlanCache>,
    has_token_types: bool,
    dim: usize,
    max_tokens: usize,
    fingerprint: String,
    opts: TractOptions,
    /// `LEANN_EDGE_TRACT_PROFILE` was set at load: time every node of every run (debug aid).
    profile: bool,
    #[allow(dead_code)]
    executor: Option<tract_linalg::multithread::Executor>,
    /// Helper threads for the column-split matmuls of a lone text ([`split`]); `None` on 1 thread.
    crew: Option<Arc<split::Crew>>,
}

fn model_err(path: &Path, problem: impl Into<String>) -> EmbedError {
    EmbedError::Model {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Rewrite int8 weight dequantisation (`Cast` → `Mul(scale)`) into f32 initialisers, keeping the
/// word-embedding table int8 behind a `Gather` → `Cast` → `Mul(Gather(scale))` chain.
fn fold_dequant(g: &mut pb::GraphProto) -> Result<usize, String> {
    use pb::tensor_proto::DataType;
    let init_idx: HashMap<String, usize> = g
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let is_i8 = |name: &str| {
        init_idx
            .get(name)
            .is_some_and(|&i| g.initializer[i].data_type == DataType::Int8 as i32)
    };
    // Find Cast(int8 initializer) whose single consumer is Mul(cast_out, f32 initializer).
    let mut folds: Vec<(usize, usize)> = Vec::new(); // (cast node, mul node)
    for (ci, n) in g.node.iter().enumerate() {
        if n.op_type != "Cast" || n.input.len() != 1 || !is_i8(&n.input[0]) {
            continue;
        }
        let out = &n.output[0];
        let consumers: Vec<usize> = g
            .node
            .iter()
            .enumerate()
            .filter(|(_, m)| m.input.iter().any(|i| i == out))
            .map(|(i, _)| i)
            .collect();
        if consumers.len() != 1 {
            continue;
        }
        let mi = consumers[0];
        let m = &g.node[mi];
        if m.op_type != "Mul" || m.input.len() != 2 {
            continue;
        }
        let scale = if m.input[0] == *out {
            &m.input[1]
        } else {
            &m.input[0]
        };
        if !init_idx.contains_key(scale.as_str()) {
            continue;
        }
        folds.push((ci, mi));
    }
    let mut remove = vec![false; g.node.len()];
    let mut new_inits: Vec<pb::TensorProto> = Vec::new();
    let mut new_nodes: Vec<(usize, Vec<pb::NodeProto>)> = Vec::new();
    for &(ci, mi) in &folds {
        let qname = g.node[ci].input[0].clone();
        let cast_out = g.node[ci].output[0].clone();
        let mul = g.node[mi].clone();
        let sname = if mul.input[0] == cast_out {
            mul.input[1].clone()
        } else {
            mul.input[0].clone()
        };
        let wname = mul.output[0].clone();
        let q = &g.initializer[init_idx[&qname]];
        let s = &g.initializer[init_idx[&sname]];
        let qd: Vec<i8> = q.raw_data.iter().map(|&b| b as i8).collect();
        let sd: Vec<f32> = if !s.raw_data.is_empty() {
            s.raw_data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        } else {
            s.float_data.clone()
        };
        if qd.is_empty() || sd.is_empty() {
            continue;
        }
        let qdims: Vec<usize> = q.dims.iter().map(|&d| d as usize).collect();
        let sdims: Vec<usize> = s.dims.iter().map(|&d| d as usize).collect();
        // Is this weight only used by a Gather on axis 0 (an embedding table)?
        let users: Vec<usize> = g
            .node
            .iter()
            .enumerate()
            .filter(|(_, n)| n.input.contains(&wname))
            .map(|(i, _)| i)
            .collect();
        let big_table = qd.len() > 4_000_000
            && users.len() == 1
            && g.node[users[0]].op_type == "Gather"
            && g.node[users[0]].input[0] == wname
            && qdims.len() == 2
            && sdims == [qdims[0], 1];
        if big_table {
            let gi = users[0];
            let gather = g.node[gi].clone();
            let ids = gather.input[1].clone();
            let out = gather.output[0].clone();
            let mk = |op: &str,
                      inputs: Vec<String>,
                      output: String,
                      attrs: Vec<pb::AttributeProto>| pb::NodeProto {
                input: inputs,
                output: vec![output.clone()],
                name: format!("leann_{output}"),
                op_type: op.into(),
                attribute: attrs,
                ..Default::default()
            };
            let axis0 = pb::AttributeProto {
                name: "axis".into(),
                i: 0,
                r#type: pb::attribute_proto::AttributeType::Int as i32,
                ..Default::default()
            };
            let to_f = pb::AttributeProto {
                name: "to".into(),
                i: DataType::Float as i64,
                r#type: pb::attribute_proto::AttributeType::Int as i32,
                ..Default::default()
            };
            let nodes = vec![
                mk(
                    "Gather",
                    vec![qname.clone(), ids.clone()],
                    format!("{out}_q"),
                    vec![axis0.clone()],
                ),
                mk(
                    "Cast",
                    vec![format!("{out}_q")],
                    format!("{out}_f"),
                    vec![to_f],
                ),
                mk(
                    "Gather",
                    vec![sname.clone(), ids],
                    format!("{out}_s"),
                    vec![axis0],
                ),
                mk(
                    "Mul",
                    vec![format!("{out}_f"), format!("{out}_s")],
                    out,
                    vec![],
                ),
            ];
            remove[ci] = true;
            remove[mi] = true;
            remove[gi] = true;
            new_nodes.push((gi, nodes));
            continue;
        }
        // broadcast q (2-D or any) by s (same rank with 1s, or scalar)
        let rank = qdims.len();
        let mut w = vec![0f32; qd.len()];
        let sfull: Vec<usize> = if sdims.len() == rank {
            sdims.clone()
        } else {
            vec![1; rank]
        };
        if sd.len() != 1 && sfull.iter().product::<usize>() != sd.len() {
            return Err(format!(
                "scale {sname} shape {sdims:?} does not broadcast to {qdims:?}"
            ));
        }
        let mut strides = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * qdims[i + 1];
        }
        let mut sstr = vec![1usize; rank];
        for i in (0..rank.saturating_sub(1)).rev() {
            sstr[i] = sstr[i + 1] * sfull[i + 1];
        }
        for (idx, (wv, &qv)) in w.iter_mut().zip(&qd).enumerate() {
            let mut si = 0;
            if sd.len() > 1 {
                for d in 0..rank {
                    let c = (idx / strides[d]) % qdims[d];
                    if sfull[d] != 1 {
                        si += c * sstr[d];
                    }
                }
            }
            *wv = qv as f32 * sd[si];
        }
        let raw: Vec<u8> = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        new_inits.push(pb::TensorProto {
            name: wname,
            dims: q.dims.clone(),
            data_type: DataType::Float as i32,
            raw_data: raw,
            ..Default::default()
        });
        remove[ci] = true;
        remove[mi] = true;
    }
    let count = folds.len();
    let old = std::mem::take(&mut g.node);
    let mut repl: HashMap<usize, Vec<pb::NodeProto>> = new_nodes.into_iter().collect();
    for (i, n) in old.into_iter().enumerate() {
        if let Some(ns) = repl.remove(&i) {
            g.node.extend(ns);
        } else if !remove[i] {
            g.node.push(n);
        }
    }
    // Drop int8 initialisers no node reads any more.
    let used: std::collections::HashSet<String> = g
        .node
        .iter()
        .flat_map(|n| n.input.iter().cloned())
        .collect();
    g.initializer
        .retain(|t| used.contains(&t.name) || t.data_type != DataType::Int8 as i32);
    g.initializer.extend(new_inits);
    Ok(count)
}

/// Remove `Where(IsNaN(x), v, x)` guards after the attention softmax (the exported graph has one
/// per layer): a softmax row is NaN only when every key of it is masked, and every row the encoder
/// runs has at least its `[CLS]` token unmasked (padding rows copy a real text), so the guard never
/// fires; it cost ~7% of a 256-token run (two passes over batch × 12 × len² scores per layer).
fn drop_nan_guards(g: &mut pb::GraphProto) -> usize {
    let producer: HashMap<String, usize> = g
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.clone(), i)))
        .collect();
    let mut renames: HashMap<String, String> = HashMap::new();
    let mut remove = vec![false; g.node.len()];
    for (wi, w) in g.node.iter().enumerate() {
        if w.op_type != "Where" || w.input.len() != 3 {
            continue;
        }
        let Some(&ci) = producer.get(&w.input[0]) else {
            continue;
        };
        let c = &g.node[ci];
        if c.op_type != "IsNaN" || c.input.len() != 1 || c.input[0] != w.input[2] {
            continue;
        }
        let x = c.input[0].clone();
        let used_elsewhere = g
            .node
            .iter()
            .enumerate()
            .any(|(i, n)| i != wi && n.input.contains(&c.output[0]));
        if !used_elsewhere {
            remove[ci] = true;
        }
        remove[wi] = true;
        renames.insert(w.output[0].clone(), x);
    }
    if renames.is_empty() || g.output.iter().any(|o| renames.contains_key(&o.name)) {
        return 0;
    }
    let old = std::mem::take(&mut g.node);
    for (i, mut n) in old.into_iter().enumerate() {
        if remove[i] {
            continue;
        }
        for inp in n.input.iter_mut() {
            if let Some(x) = renames.get(inp) {
                *inp = x.clone();
            }
        }
        g.node.push(n);
    }
    renames.len()
}

impl TractEmbedder {
    /// Load the model in `dir` (`model.onnx` + `tokenizer.json`).
    pub fn open(dir: &Path, opts: TractOptions) -> Result<Self, EmbedError> {
        let onnx_path = dir.join("model.onnx");
        let tok_path = dir.join("tokenizer.json");
        let meta = std::fs::metadata(&onnx_path)
            .map_err(|e| model_err(&onnx_path, format!("cannot read it ({e})")))?;
        let known = KNOWN
            .iter()
            .find(|k| dir.file_name().is_some_and(|f| f == k.name))
            .or_else(|| KNOWN.iter().find(|k| k.size == meta.len()));
        let fingerprint = match known {
            Some(k) => {
                if meta.len() != k.size {
                    return Err(model_err(
                        &onnx_path,
                        format!(
                            "is {} bytes, expected {} (incomplete or wrong file)",
                            meta.len(),
                            k.size
                        ),
                    ));
                }
                if !opts.skip_checksum {
                    let sum = sha256_file(&onnx_path)
                        .map_err(|e| model_err(&onnx_path, format!("cannot read it ({e})")))?;
                    if sum != k.sha256 {
                        return Err(model_err(&onnx_path, format!("sha256 {sum} does not match the manifest ({}) — corrupt or a different model", k.sha256)));
                    }
                }
                format!("{}:sha256:{}", k.name, &k.sha256[..16])
            }
            None => {
                let sum = sha256_file(&onnx_path)
                    .map_err(|e| model_err(&onnx_path, format!("cannot read it ({e})")))?;
                log::warn!(
                    "{} is not in models/manifest.toml; using it unverified",
                    onnx_path.display()
                );
                format!("custom:sha256:{}", &sum[..16])
            }
        };
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| model_err(&tok_path, format!("cannot load tokenizer ({e})")))?;
        let max_tokens = opts
            .max_tokens
            .or(known.map(|k| k.max_tokens))
            .unwrap_or(256);
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| model_err(&tok_path, format!("bad truncation setting ({e})")))?;
        let onnx = tract_onnx::onnx();
        let mut proto = onnx
            .proto_model_for_path(&onnx_path)
            .map_err(|e| model_err(&onnx_path, format!("not a valid ONNX model ({e})")))?;
        if let Some(g) = proto.graph.as_mut() {
            let n = fold_dequant(g).map_err(|e| model_err(&onnx_path, e))?;
            log::debug!("folded {n} int8 weight dequantisations");
            let n = drop_nan_guards(g);
            log::debug!("dropped {n} softmax NaN guards");
        }
        let inf = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| model_err(&onnx_path, format!("tract cannot load it ({e})")))?;
        drop(proto);
        let names: Vec<String> = inf
            .input_outlets()
            .map_err(|e| EmbedError::Runtime(e.to_string()))?
            .iter()
            .map(|o| inf.node(o.node).name.clone())
            .collect();
        if !names.iter().any(|n| n == "input_ids") || !names.iter().any(|n| n == "attention_mask") {
            return Err(model_err(&onnx_path, format!("inputs {names:?}: expected input_ids and attention_mask (a BERT-style encoder)")));
        }
        let has_token_types = names.iter().any(|n| n == "token_type_ids");
        let mut inf = inf;
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
            inf.symbols
                .add_assertion(a)
                .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        }
        for i in 0..names.len() {
            inf.set_input_fact(
                i,
                i64::fact(&[TDim::from(b.clone()), TDim::from(s.clone())]).into(),
            )
            .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        }
        // Reorder inputs by name so run() can feed ids, mask, types in a fixed order.
        let model = inf
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(|e| model_err(&onnx_path, format!("tract cannot type the model ({e:?})")))?;
        let out_fact = model
            .output_fact(0)
            .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let dim = out_fact
            .shape
            .last()
            .and_then(|d| d.to_usize().ok())
            .ok_or_else(|| model_err(&onnx_path, "output has no fixed hidden size"))?;
        // A lone text's weight matmuls run as column bands on `threads` cores ([`split`]).
        // `LEANN_EDGE_TRACT_SPLIT=0` turns it off (A/B measurements).
        let (model, crew) = if opts.threads > 1
            && std::env::var("LEANN_EDGE_TRACT_SPLIT").map_or(true, |v| v != "0")
        {
            let crew = split::Crew::new(opts.threads - 1)
                .map_err(|e| EmbedError::Runtime(format!("cannot start encoder threads: {e}")))?;
            let (m, n) = split::split_matmuls(model, opts.threads, &crew)
                .map_err(|e| model_err(&onnx_path, format!("splitting its matmuls: {e:?}")))?;
            log::debug!(
                "split {n} weight matmuls into {} column bands",
                opts.threads
            );
            (m, Some(crew))
        } else {
            (model, None)
        };
        let executor = if opts.threads > 1 {
            Some(tract_linalg::multithread::Executor::multithread(
                opts.threads,
            ))
        } else {
            None
        };
        let input_order = names;
        let mut e = TractEmbedder {
            tokenizer,
            model,
            sym_b: b,
            sym_s: s,
            plans: Mutex::new((0, HashMap::new())),
            has_token_types,
            dim,
            max_tokens,
            fingerprint,
            opts,
            executor,
            crew,
            profile: std::env::var_os("LEANN_EDGE_TRACT_PROFILE").is_some(),
        };
        e.reorder_check(&input_order)?;
        if e.opts.symbolic {
            // Build the one plan now (no stall on the first query), then drop the typed model: the
            // plan holds its own packed copies of the weights, so keeping the unpacked f32 ones
            // would only double the weight memory (~44 MB).
            e.plan(0, 0)?;
            e.model = TypedModel::default();
        }
        Ok(e)
    }

    fn reorder_check(&mut self, names: &[String]) -> Result<(), EmbedError> {
        // The model's inputs must be (input_ids, attention_mask[, token_type_ids]) in this order.
        let want: Vec<&str> = if self.has_token_types {
            vec!["input_ids", "attention_mask", "token_type_ids"]
        } else {
            vec!["input_ids", "attention_mask"]
        };
        if names.iter().map(|s| s.as_str()).collect::<Vec<_>>() != want {
            return Err(EmbedError::Runtime(format!(
                "model inputs are {names:?}; expected {want:?}"
            )));
        }
        Ok(())
    }

    /// Max tokens per text.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Plans built so far.
    pub fn plans_cached(&self) -> usize {
        self.plans.lock().map(|p| p.1.len()).unwrap_or(0)
    }

    fn plan(&self, b: usize, s: usize) -> Result<Plan, EmbedError> {
        let mut g = self
            .plans
            .lock()
            .map_err(|_| EmbedError::Runtime("plan cache poisoned".into()))?;
        g.0 += 1;
        let tick = g.0;
        if let Some((p, t)) = g.1.get_mut(&(b, s)) {
            *t = tick;
            return Ok(p.clone());
        }
        let mut subs = HashMap::new();
        subs.insert(self.sym_b.clone(), TDim::from(b as i64));
        subs.insert(self.sym_s.clone(), TDim::from(s as i64));
        let model = if self.opts.symbolic {
            Ok(self.model.clone())
        } else {
            self.model.set_symbols(&subs)
        };
        let plan = model
            .and_then(|m| m.into_optimized())
            .inspect(|m| {
                // Debug aid for profiling: which ops the optimiser left (one line per node).
                if std::env::var_os("LEANN_EDGE_TRACT_DUMP").is_some() {
                    for n in m.nodes() {
                        eprintln!(
                            "{} | {} | {:?} | {:?}",
                            n.name,
                            n.op.name(),
                            n.outputs[0].fact,
                            n.op.info()
                        );
                    }
                }
            })
            .map(patch_elementwise)
            .and_then(|m| m.into_runnable())
            .map_err(|e| {
                EmbedError::Runtime(format!("building a plan for batch {b} × {s} tokens: {e}"))
            })?;
        if g.1.len() >= self.opts.max_plans.max(1) {
            if let Some(old) = g.1.iter().min_by_key(|(_, v)| v.1).map(|(k, _)| *k) {
                g.1.remove(&old);
            }
        }
        g.1.insert((b, s), (plan.clone(), tick));
        Ok(plan)
    }

    /// Run one padded batch; `lone`: no other run is going on, so it may use every thread (the
    /// crew, the matmul pool), otherwise this thread only.
    fn run_batch(
        &self,
        enc: &[tokenizers::Encoding],
        out: &mut [f32],
        lone: bool,
    ) -> Result<(), EmbedError> {
        let n = enc.len();
        let longest = enc
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(1)
            .max(1);
        let s = if self.opts.symbolic {
            longest
        } else {
            longest.div_ceil(16) * 16
        };
        // The symbolic plan takes any batch size: pad rows only for the fixed-shape bucket plans
        // (a run of 5 padded to 8 cost 60% more for nothing).
        let b = if self.opts.symbolic {
            n
        } else {
            n.next_power_of_two()
        };
        let mut ids = vec![0i64; b * s];
        let mut mask = vec![0i64; b * s];
        for r in 0..b {
            let e = &enc[r.min(n - 1)];
            for (j, &t) in e.get_ids().iter().enumerate() {
                ids[r * s + j] = t as i64;
                mask[r * s + j] = 1;
            }
        }
        let plan = if self.opts.symbolic {
            self.plan(0, 0)?
        } else {
            self.plan(b, s)?
        };
        let ids_t =
            Tensor::from_shape(&[b, s], &ids).map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let mask_t =
            Tensor::from_shape(&[b, s], &mask).map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let mut inputs: TVec<TValue> = tvec![ids_t.into(), mask_t.into()];
        if self.has_token_types {
            inputs.push(
                Tensor::zero::<i64>(&[b, s])
                    .map_err(|e| EmbedError::Runtime(e.to_string()))?
                    .into(),
            );
        }
        let run = || {
            if self.profile {
                return profile_run(&plan, inputs);
            }
            plan.run(inputs)
        };
        // A lone run has every core: its weight matmuls run as column bands on the crew (without
        // it, from POOL_MIN_TOKENS on, on tract's matmul pool). With the crew, adding the pool for
        // the attention products was slower at every length (2-core x86, 1×16..256 tokens).
        let _session = if lone {
            self.crew.as_ref().and_then(|c| c.session())
        } else {
            None
        };
        let pool = lone && b * s >= POOL_MIN_TOKENS && self.crew.is_none();
        let res = match &self.executor {
            Some(ex) if pool => tract_linalg::multithread::multithread_tract_scope(ex.clone(), run),
            _ => run(),
        }
        .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let hidden = res[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| EmbedError::Runtime(e.to_string()))?;
        let hs = hidden
            .as_slice()
            .ok_or_else(|| EmbedError::Runtime("non-contiguous output".into()))?;
        let d = self.dim;
        if hs.len() != b * s * d {
            return Err(EmbedError::Runtime(format!(
                "output has {} values, expected {}",
                hs.len(),
                b * s * d
            )));
        }
        for r in 0..n {
            let row = &mut out[r * d..(r + 1) * d];
            row.fill(0.0);
            let len = enc[r].get_ids().len().max(1);
            for j in 0..enc[r].get_ids().len() {
                for (o, v) in row
                    .iter_mut()
                    .zip(&hs[(r * s + j) * d..(r * s + j + 1) * d])
                {
                    *o += v;
                }
            }
            for o in row.iter_mut() {
                *o /= len as f32;
            }
            crate::kernels::normalize(row);
        }
        Ok(())
    }
}

mod natural {
    //! See [`Natural`].
    use tract_onnx::tract_core::internal::*;

    /// Wraps tract's fast element-wise ops so their inputs always carry natural (C-order) strides.
    ///
    /// tract 0.23's `OptBinByScalar`, `OptBinUnicast` and `OptBinChain` take their vectorised path only
    /// when every input's strides equal `Tensor::natural_strides` of its shape, and otherwise fall back
    /// to a generic per-element loop (a function call per element). A size-1 axis can carry any stride,
    /// and at batch 1 the matmul outputs come out as e.g. `[1, 128, 1536]` with strides
    /// `[1536, 1536, 1]` — contiguous, but not "natural" — so with one text every GELU, residual add
    /// and layer norm took the slow loop: 1×128 tokens spent 24 ms of 60 in element-wise ops. Such a
    /// tensor's bytes are already in order, so fixing it is rewriting its strides (no copy unless the
    /// value is shared).
    #[derive(Debug, Clone)]
    pub(super) struct Natural(Box<dyn TypedOp>);

    impl PartialEq for Natural {
        fn eq(&self, other: &Self) -> bool {
            self.0.as_op() == other.0.as_op()
        }
    }
    impl Eq for Natural {}

    /// `v` with natural strides: as is when they already are, restrided when only size-1 axes differ.
    fn natural(v: TValue) -> TValue {
        let nat = Tensor::natural_strides(v.shape());
        if v.strides() == &*nat || !contiguous(&v) {
            return v;
        }
        let mut t = v.into_tensor();
        let shape: TVec<usize> = t.shape().into();
        // SAFETY: the strides of every axis longer than 1 already equal the natural ones and the
        // storage holds exactly the shape's element count; a size-1 axis's stride is never used to
        // address an element, so the same bytes read the same under the natural strides.
        unsafe { t.set_geometry_unchecked(&shape, &nat) };
        t.into_tvalue()
    }

    impl Op for Natural {
        fn name(&self) -> StaticName {
            self.0.name()
        }
        fn info(&self) -> TractResult<Vec<String>> {
            self.0.info()
        }
        op_as_typed_op!();
    }

    impl EvalOp for Natural {
        fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
            self.0.eval(ctx, inputs.into_iter().map(natural).collect())
        }
        fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
            self.0
                .eval_out_of_plan(inputs.into_iter().map(natural).collect())
        }
        fn state(&self, ctx: &EvalContext) -> TractResult<Option<Box<dyn OpState>>> {
            self.0.state(ctx)
        }
    }

    impl TypedOp for Natural {
        fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
            self.0.output_facts(inputs)
        }
        fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
            self.0.cost(inputs)
        }
        fn as_op(&self) -> &dyn Op {
            self
        }
        fn as_op_mut(&mut self) -> &mut dyn Op {
            self
        }
    }

    /// True when `t`'s elements lie in C order in its storage (strides may differ from the natural
    /// ones only on size-1 axes).
    fn contiguous(t: &Tensor) -> bool {
        let nat = Tensor::natural_strides(t.shape());
        t.len() == t.shape().iter().product::<usize>()
            && t.shape()
                .iter()
                .zip(t.strides().iter().zip(nat.iter()))
                .all(|(&d, (s, n))| d == 1 || s == n)
    }

    /// f32 `a + b` where `b` has `a`'s rank and, on every axis, `a`'s length or 1: the
    /// attention-mask bias (batch × 1 × 1 × len) added to the scores (batch × 12 × len × len) in
    /// every layer, and the position embeddings added to the token embeddings. tract 0.23 has no
    /// vectorised kernel for a broadcast that is not a leading or trailing block, and runs it
    /// element by element through a function pointer: 17% of a 256-token run. Here it is one
    /// contiguous row add per row of `a`. Shapes it was not built for at run time go to the
    /// wrapped op.
    #[derive(Debug, Clone)]
    pub(super) struct BroadcastAdd {
        inner: Box<dyn TypedOp>,
        /// Input with the full (output) shape.
        full: usize,
    }

    impl PartialEq for BroadcastAdd {
        fn eq(&self, other: &Self) -> bool {
            self.full == other.full && self.inner.as_op() == other.inner.as_op()
        }
    }
    impl Eq for BroadcastAdd {}

    impl Op for BroadcastAdd {
        fn name(&self) -> StaticName {
            "BroadcastAdd".into()
        }
        op_as_typed_op!();
    }

    impl BroadcastAdd {
        fn fits(&self, inputs: &[TValue]) -> bool {
            let (a, b) = (&inputs[self.full], &inputs[1 - self.full]);
            a.datum_type() == f32::datum_type()
                && b.datum_type() == f32::datum_type()
                && a.rank() == b.rank()
                && a.shape()
                    .iter()
                    .zip(b.shape())
                    .all(|(x, y)| x == y || *y == 1)
                && contiguous(a)
                && contiguous(b)
        }
    }

    /// `a += b` broadcast (see [`BroadcastAdd`]); both in C order, `b`'s axes `a`'s or 1.
    pub(super) fn broadcast_add(a: &mut [f32], ash: &[usize], b: &[f32], bsh: &[usize]) {
        // The trailing axes on which the shapes agree make one contiguous row in both.
        let mut split = ash.len();
        while split > 0 && ash[split - 1] == bsh[split - 1] {
            split -= 1;
        }
        let row: usize = ash[split..].iter().product();
        if row == 0 {
            return;
        }
        let bstr = Tensor::natural_strides(bsh);
        for (k, arow) in a.chunks_exact_mut(row).enumerate() {
            let mut rem = k;
            let mut off = 0usize;
            for ax in (0..split).rev() {
                let i = rem % ash[ax];
                rem /= ash[ax];
                if bsh[ax] != 1 {
                    off += i * bstr[ax] as usize;
                }
            }
            for (x, y) in arow.iter_mut().zip(&b[off..off + row]) {
                *x += *y;
            }
        }
    }

    impl EvalOp for BroadcastAdd {
        fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
            if !self.fits(&inputs) {
                return self.inner.eval(ctx, inputs);
            }
            let (x, y) = args_2!(inputs);
            let (a, b) = if self.full == 0 { (x, y) } else { (y, x) };
            let mut a = a.into_tensor();
            let ash: TVec<usize> = a.shape().into();
            {
                let mut av = a.try_as_plain_ram_mut()?;
                let bv = b.try_as_plain_ram()?;
                broadcast_add(
                    av.as_slice_mut::<f32>()?,
                    &ash,
                    bv.as_slice::<f32>()?,
                    b.shape(),
                );
            }
            Ok(tvec!(a.into_tvalue()))
        }
        fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
            Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
        }
    }

    impl TypedOp for BroadcastAdd {
        fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
            self.inner.output_facts(inputs)
        }
        fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
            self.inner.cost(inputs)
        }
        fn as_op(&self) -> &dyn Op {
            self
        }
        fn as_op_mut(&mut self) -> &mut dyn Op {
            self
        }
    }

    /// After optimisation: wrap every fast element-wise node in [`Natural`] and turn f32 `Add`s
    /// that broadcast into [`BroadcastAdd`].
    pub(super) fn patch_elementwise(mut m: TypedModel) -> TypedModel {
        use tract_onnx::tract_core::ops::binary::{
            OptBinByScalar, OptBinChain, OptBinUnicast, TypedBinOp,
        };
        use tract_onnx::tract_core::ops::math::Add;
        for id in 0..m.nodes.len() {
            let n = &m.nodes[id];
            if n.op_is::<OptBinByScalar>() || n.op_is::<OptBinUnicast>() || n.op_is::<OptBinChain>()
            {
                let op = n.op.clone();
                m.nodes[id].op = Box::new(Natural(op));
                continue;
            }
            let Some(bin) = n.op_as::<TypedBinOp>() else {
                continue;
            };
            if !bin.0.is::<Add>() || n.inputs.len() != 2 {
                continue;
            }
            let Ok(facts) = m.node_input_facts(id) else {
                continue;
            };
            let (s0, s1) = (facts[0].shape.clone(), facts[1].shape.clone());
            let (t0, t1) = (facts[0].datum_type, facts[1].datum_type);
            drop(facts);
            if t0 != f32::datum_type() || t1 != f32::datum_type() || s0.rank() != s1.rank() {
                continue;
            }
            let full = if s0.iter().zip(s1.iter()).all(|(x, y)| x == y || y.is_one()) {
                0
            } else if s0.iter().zip(s1.iter()).all(|(x, y)| x == y || x.is_one()) {
                1
            } else {
                continue;
            };
            let op = BroadcastAdd {
                inner: m.nodes[id].op.clone(),
                full,
            };
            m.nodes[id].op = Box::new(op);
        }
        m
    }
}
use natural::patch_elementwise;
mod split;

/// Debug aid (`LEANN_EDGE_TRACT_PROFILE`): run the plan timing each node; prints the time per op kind
/// and the ten slowest nodes to stderr.
fn profile_run(plan: &Plan, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
    let mut state = TypedSimpleState::new(plan)?;
    let mut by_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut by_node: Vec<(f64, String)> = Vec::new();
    let out = state.run_plan_with_eval(inputs, |ctx, st, node, input| {
        let t = std::time::Instant::now();
        let r = tract_onnx::tract_core::plan::eval(ctx, st, node, input);
        let us = t.elapsed().as_secs_f64() * 1e6;
        let e = by_op.entry(node.op().name().to_string()).or_default();
        e.0 += us;
        e.1 += 1;
        by_node.push((us, format!("{} {}", node.name, node.op().name())));
        r
    })?;
    let total: f64 = by_op.values().map(|v| v.0).sum();
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    eprintln!("profile: {total:.0} µs");
    for (k, (us, n)) in ops.iter().take(20) {
        eprintln!("  {:>8.0} µs {:>5.1}% {n:>4}× {k}", us, 100.0 * us / total);
    }
    by_node.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, n) in by_node.iter().take(10) {
        eprintln!("  node {us:>8.0} µs {n}");
    }
    Ok(out)
}

/// Padded tokens (batch × longest) one encoder run may hold. Small runs keep a run's activations in
/// cache (the FFN's 1536-wide intermediate is 6 KB a token: 1.5 MB at 256 tokens, inside a 2 MB
/// L2). `benches/encoder_vs_ort.sh` on the 2-core x86, 32×128: runs of 512 → 256 tokens went from
/// 21.8 to 27.2 passages/s on 1 thread and 45.1 to 52.0 on 2 (128: 22.2 / 42.5; 384: 22.3 / 42.9);
/// 32×64 56.3 → 59.0 and 103.4 → 112.4. `LEANN_EDGE_TRACT_RUN_TOKENS=N` overrides it (profiling,
/// boards with other cache sizes).
const MAX_BATCH_TOKENS: usize = 256;
/// Padded tokens from which a lone run uses tract's matmul thread pool (several threads), when the
/// matmuls are not split for the crew (`LEANN_EDGE_TRACT_SPLIT=0`). Measured
/// on the 2-core x86 after the batch-1 stride fix (4 alternating runs, ms per text, pool / none):
/// 32 tokens 8.6-12.1 / 10.7-11.2, 48: 11.4-14.3 / 14.6-15.7, 64: 14.5-18.8 / 18.9-20.2,
/// 128: 30.1-41.3 / 38.1-38.9; 16 tokens 7.6-9.0 / 6.9-8.3.
const POOL_MIN_TOKENS: usize = 48;
/// Bound on batch × longest² for one run: the attention scores are 12 × batch × len² floats
/// (2 × 256² → 6.3 MB a tensor).
const MAX_BATCH_ATTENTION: usize = 2 * 256 * 256;

/// Split texts sorted by token count (`lens`, ascending) into consecutive runs that minimise the
/// estimated encoder time: each run costs a fixed per-call overhead plus its padded tokens (a run
/// is padded to its longest text), with attention growing with length. At most `max_take` texts
/// and `max_tokens` padded tokens a run, and batch × longest² ≤ `MAX_BATCH_ATTENTION` (a single
/// longer text still gets its own run).
/// The constants are relative costs measured with tract on x86 (1 thread: ~5.6 ms a call,
/// ~0.45 ms a token, attention ~0.25 µs a token per token of length); only their ratios matter.
pub fn plan_groups(lens: &[usize], max_take: usize, max_tokens: usize) -> Vec<(usize, usize)> {
    const CALL: f64 = 5600.0;
    const TOKEN: f64 = 450.0;
    const ATTN: f64 = 0.25;
    let n = lens.len();
    let max_take = max_take.max(1);
    let mut best = vec![f64::INFINITY; n + 1];
    let mut from = vec![0usize; n + 1];
    best[0] = 0.0;
    for j in 1..=n {
        let s = lens[j - 1] as f64;
        for i in (j.saturating_sub(max_take)..j).rev() {
            let b = j - i;
            if b > 1
                && (b * lens[j - 1] > max_tokens
                    || b * lens[j - 1] * lens[j - 1] > MAX_BATCH_ATTENTION)
            {
                break;
            }
            let c = best[i] + CALL + b as f64 * s * (TOKEN + ATTN * s);
            if c < best[j] {
                best[j] = c;
                from[j] = i;
            }
        }
    }
    let mut out = Vec::new();
    let mut j = n;
    while j > 0 {
        out.push((from[j], j));
        j = from[j];
    }
    out.reverse();
    out
}

impl Embedder for TractEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        let mut out = vec![0f32; texts.len() * self.dim];
        if texts.is_empty() {
            return Ok(out);
        }
        let enc = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Runtime(format!("tokenizer: {e}")))?;
        // Bucket by length so short texts are not padded to the longest of the whole call.
        let mut order: Vec<usize> = (0..enc.len()).collect();
        order.sort_by_key(|&i| enc[i].get_ids().len());
        // With several threads and several texts, batches run side by side, one thread each: data
        // parallelism scales across cores far better than splitting each matmul (tract's pool).
        let threads = self.opts.threads.max(1);
        let parallel = threads > 1 && order.len() > 1;
        let max_take = if parallel {
            order.len().div_ceil(threads).min(32)
        } else {
            32
        };
        let lens: Vec<usize> = order
            .iter()
            .map(|&i| enc[i].get_ids().len().max(1))
            .collect();
        let run_tokens = std::env::var("LEANN_EDGE_TRACT_RUN_TOKENS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MAX_BATCH_TOKENS);
        let groups: Vec<&[usize]> = plan_groups(&lens, max_take, run_tokens)
            .into_iter()
            .map(|(a, b)| &order[a..b])
            .collect();
        let d = self.dim;
        let run_group = |g: &[usize], lone: bool| -> Result<Vec<f32>, EmbedError> {
            let batch: Vec<tokenizers::Encoding> = g.iter().map(|&j| enc[j].clone()).collect();
            let mut buf = vec![0f32; g.len() * d];
            self.run_batch(&batch, &mut buf, lone)?;
            Ok(buf)
        };
        let results: Vec<BatchResult> = if parallel && groups.len() > 1 {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let slots: Vec<Mutex<Option<BatchResult>>> =
                (0..groups.len()).map(|_| Mutex::new(None)).collect();
            let worker = |_: usize| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k >= groups.len() {
                    break;
                }
                let r = run_group(groups[k], false);
                if let Ok(mut s) = slots[k].lock() {
                    *s = Some(r);
                }
            };
            let workers = threads.min(groups.len());
            // On the crew's threads when it is free (see `Crew::run_all`), else on scoped threads.
            let held = self.crew.as_ref().and_then(|c| c.hold().map(|h| (c, h)));
            match held {
                Some((crew, _hold)) if crew.helpers() + 1 >= workers => crew
                    .run_all(workers, &worker)
                    .map_err(EmbedError::Runtime)?,
                _ => std::thread::scope(|sc| {
                    let hs: Vec<_> = (1..workers).map(|i| sc.spawn(move || worker(i))).collect();
                    worker(0);
                    hs.into_iter().try_for_each(|h| {
                        h.join()
                            .map_err(|_| EmbedError::Runtime("encoder worker panicked".into()))
                    })
                })?,
            }
            slots
                .into_iter()
                .map(|r| {
                    r.into_inner()
                        .ok()
                        .flatten()
                        .unwrap_or_else(|| Err(EmbedError::Runtime("lost a batch".into())))
                })
                .collect()
        } else {
            // tract's matmul pool does not pay on short runs (see POOL_MIN_TOKENS).
            groups.iter().map(|g| run_group(g, true)).collect()
        };
        for (g, r) in groups.iter().zip(results) {
            let buf = r?;
            for (k, &j) in g.iter().enumerate() {
                out[j * d..(j + 1) * d].copy_from_slice(&buf[k * d..(k + 1) * d]);
            }
        }
        Ok(out)
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
    fn preferred_batch(&self) -> usize {
        32
    }
}

#[cfg(test)]
mod tests {
    use super::natural::broadcast_add;
    use proptest::prelude::*;

    /// `a + b` with numpy broadcasting, index by index.
    fn naive(a: &[f32], ash: &[usize], b: &[f32], bsh: &[usize]) -> Vec<f32> {
        let rank = ash.len();
        let mut out = a.to_vec();
        for (k, o) in out.iter_mut().enumerate() {
            let mut rem = k;
            let mut idx = vec![0; rank];
            for ax in (0..rank).rev() {
                idx[ax] = rem % ash[ax];
                rem /= ash[ax];
            }
            let mut off = 0;
            for ax in 0..rank {
                off = off * bsh[ax] + if bsh[ax] == 1 { 0 } else { idx[ax] };
            }
            *o += b[off];
        }
        out
    }

    proptest! {
        #[test]
        fn broadcast_add_matches_index_by_index(
            ash in prop::collection::vec(1usize..5, 1..5),
            ones in prop::collection::vec(any::<bool>(), 5),
        ) {
            let bsh: Vec<usize> = ash.iter().zip(&ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
            let a: Vec<f32> = (0..ash.iter().product::<usize>()).map(|i| i as f32 * 0.5).collect();
            let b: Vec<f32> = (0..bsh.iter().product::<usize>()).map(|i| 1000.0 + i as f32).collect();
            let mut got = a.clone();
            broadcast_add(&mut got, &ash, &b, &bsh);
            prop_assert_eq!(got, naive(&a, &ash, &b, &bsh));
        }
    }
}
