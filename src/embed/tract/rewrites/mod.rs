//! Rewrites of the ONNX graph (the protobuf, before tract loads it), as an ordered list of named
//! passes that each report how many places they changed. `tests/encoder.rs` asserts the counts on
//! the default model, so a model or tract change that stops a pass from matching fails CI instead
//! of silently losing speed.
//!
//! 1. [`fold_dequant`]: every `Cast(int8) → Mul(scale)` weight dequantisation becomes one f32
//!    constant (tract would redo it on every call: it refuses const-folds that grow memory past
//!    4 MiB), except the 30522×384 word-embedding table, which stays int8 behind
//!    `Gather → Cast → Mul(Gather(scale))` (saves ~35 MB of RSS).
//! 2. [`nan_guards`]: the softmax `Where(IsNaN(x), 0, x)` guards are dropped (they never fire).
//!
//! With int8 compute ([`super::Compute::Int8`]), [`int8_matmul`] runs first: the weight matmuls
//! quantise their input per token and multiply in int8, so `fold_dequant` is left only the
//! word-embedding table.
use tract_onnx::pb;

pub(super) mod fold_dequant;
pub(super) mod int8_matmul;
pub(super) mod nan_guards;

/// A rewrite of the ONNX graph: returns how many places it changed, or why the model is unusable.
pub(super) type ProtoPass = fn(&mut pb::GraphProto) -> Result<usize, String>;

/// The ONNX passes, in the order they run.
pub(super) const PASSES: &[(&str, ProtoPass)] = &[
    ("fold_dequant", fold_dequant::run),
    ("drop_nan_guards", nan_guards::run),
];

/// The graph's nodes without those marked in `remove`, with `replace[i]` put in place of node `i`.
pub(super) fn rebuild_nodes(
    g: &mut pb::GraphProto,
    remove: &[bool],
    mut replace: std::collections::HashMap<usize, Vec<pb::NodeProto>>,
) {
    let old = std::mem::take(&mut g.node);
    for (i, n) in old.into_iter().enumerate() {
        if let Some(ns) = replace.remove(&i) {
            g.node.extend(ns);
        } else if !remove.get(i).copied().unwrap_or(false) {
            g.node.push(n);
        }
    }
}
