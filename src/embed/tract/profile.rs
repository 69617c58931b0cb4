//! Per-node profiling of an encoder run (debug aid, `LEANN_EDGE_TRACT_PROFILE=1`), and the names
//! of the matmul kernels a plan uses.
use std::collections::{BTreeSet, HashMap};
use tract_onnx::prelude::*;

/// Debug aid (`LEANN_EDGE_TRACT_PROFILE`): run the plan timing each node; prints the time per op kind
/// and the ten slowest nodes to stderr.
pub(super) fn profile_run(
    plan: &Arc<TypedRunnableModel>,
    inputs: TVec<TValue>,
) -> TractResult<TVec<TValue>> {
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

/// The matmul kernels tract chose for `m` (e.g. `avx512vnni_mmm_i32_16x16`), read from its nodes'
/// descriptions (`… with [kernel, kernel]`), split bands' included.
pub(super) fn kernels_of(m: &TypedModel) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in m.nodes() {
        for line in n.op.info().unwrap_or_default() {
            let Some((_, rest)) = line.split_once(" with [") else {
                continue;
            };
            let list = rest.split(']').next().unwrap_or_default();
            out.extend(
                list.split(", ")
                    .filter(|k| !k.is_empty())
                    .map(str::to_string),
            );
        }
    }
    out
}
