//! Pass `drop_nan_guards`: remove `Where(IsNaN(x), v, x)` after the attention softmax (the
//! exported graph has one per layer). A softmax row is NaN only when every key of it is masked, and
//! every row the encoder runs has at least its `[CLS]` token unmasked (padding rows copy a real
//! text), so the guard never fires; it cost ~7% of a 256-token run (two passes over batch × 12 ×
//! len² scores per layer).
use super::rebuild_nodes;
use std::collections::HashMap;
use tract_onnx::pb;

/// Run the pass; returns the number of guards removed.
pub(crate) fn run(g: &mut pb::GraphProto) -> Result<usize, String> {
    let producer: HashMap<&String, usize> = g
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o, i)))
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
        let used_elsewhere = g
            .node
            .iter()
            .enumerate()
            .any(|(i, n)| i != wi && n.input.contains(&c.output[0]));
        if !used_elsewhere {
            remove[ci] = true;
        }
        remove[wi] = true;
        renames.insert(w.output[0].clone(), c.input[0].clone());
    }
    if renames.is_empty() || g.output.iter().any(|o| renames.contains_key(&o.name)) {
        return Ok(0);
    }
    rebuild_nodes(g, &remove, HashMap::new());
    for n in g.node.iter_mut() {
        for inp in n.input.iter_mut() {
            if let Some(x) = renames.get(inp) {
                *inp = x.clone();
            }
        }
    }
    Ok(renames.len())
}
