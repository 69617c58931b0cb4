//! Pass `int8_matmul` (int8 compute only): every `MatMul(x, Cast(int8 W) × scale)` with a 2-D
//! int8 weight and one scale per output column (or one for all) computes in int8:
//!
//! ```text
//! xq, s = LeannQuantizeRows(x)         per row (token) of x: s = max|x| / 127, xq = round(x / s)
//! acc   = MatMulInteger(xq, W)         int8 × int8 → i32, no zero points
//! y     = LeannDequantRows(acc, s, scale)     acc × s × scale
//! ```
//!
//! Per-token scales (not ONNX's per-tensor `DynamicQuantizeLinear`) keep a text's embedding
//! independent of the other texts and the padding in its batch: the vector recomputed for one
//! passage at query time is the one the index was built from. tract runs `MatMulInteger` with its
//! i8×i8→i32 kernels (AVX-512 VNNI / AVX-VNNI / AVX2 on x86, SDOT or SMLAL on aarch64); the two
//! `Leann*` ops are ours ([`crate::embed::tract::ops::int8`]).
//! Run before [`super::fold_dequant`], which then folds only the weights left (none of the
//! default model's matmul weights; the word-embedding table stays as it does).
use super::super::ops::int8::{DEQUANT, QUANTIZE};
use super::rebuild_nodes;
use pb::tensor_proto::DataType;
use std::collections::HashMap;
use tract_onnx::pb;

/// One matmul to rewrite: the `Cast`, `Mul` and `MatMul` nodes and the names it reads.
struct Site {
    cast: usize,
    mul: usize,
    matmul: usize,
    x: String,
    q: String,
    scale: String,
    out: String,
}

/// Run the pass; returns the number of matmuls rewritten.
pub(crate) fn run(g: &mut pb::GraphProto) -> Result<usize, String> {
    let sites = find(g);
    if sites.is_empty() {
        return Ok(0);
    }
    let mut remove = vec![false; g.node.len()];
    let mut replace = HashMap::new();
    for (i, s) in sites.iter().enumerate() {
        remove[s.cast] = true;
        remove[s.mul] = true;
        replace.insert(s.matmul, chain(s, i));
    }
    rebuild_nodes(g, &remove, replace);
    Ok(sites.len())
}

/// Every `MatMul(x, Mul(Cast(int8 initialiser [K, N]), f32 initialiser [1, N] | [N] | []))` whose
/// `Cast` and `Mul` feed only it.
fn find(g: &pb::GraphProto) -> Vec<Site> {
    let init: HashMap<&str, &pb::TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let producer: HashMap<&str, usize> = g
        .node
        .iter()
        .enumerate()
        .flat_map(|(i, n)| n.output.iter().map(move |o| (o.as_str(), i)))
        .collect();
    let readers = |name: &str| {
        g.node
            .iter()
            .filter(|n| n.input.iter().any(|i| i == name))
            .count()
    };
    let mut out = Vec::new();
    for (mi, mm) in g.node.iter().enumerate() {
        if mm.op_type != "MatMul" || mm.input.len() != 2 {
            continue;
        }
        let Some(&ui) = producer.get(mm.input[1].as_str()) else {
            continue;
        };
        let mul = &g.node[ui];
        if mul.op_type != "Mul" || mul.input.len() != 2 || readers(&mul.output[0]) != 1 {
            continue;
        }
        let site = (0..2).find_map(|side| {
            let ci = *producer.get(mul.input[side].as_str())?;
            let cast = &g.node[ci];
            let q = init.get(cast.input.first()?.as_str())?;
            let scale = init.get(mul.input[1 - side].as_str())?;
            let n = *q.dims.get(1)?;
            let to_f32 = cast
                .attribute
                .iter()
                .any(|a| a.name == "to" && a.i == DataType::Float as i64);
            let ok = cast.op_type == "Cast"
                && to_f32
                && q.data_type == DataType::Int8 as i32
                && q.dims.len() == 2
                && q.raw_data.len() as i64 == q.dims[0] * n
                && scale.data_type == DataType::Float as i32
                && per_column(&scale.dims, n)
                && readers(&cast.output[0]) == 1;
            ok.then(|| Site {
                cast: ci,
                mul: ui,
                matmul: mi,
                x: mm.input[0].clone(),
                q: q.name.clone(),
                scale: scale.name.clone(),
                out: mm.output[0].clone(),
            })
        });
        out.extend(site);
    }
    out
}

/// Whether a scale of shape `dims` is one per column of an `[K, n]` weight, or one for all.
fn per_column(dims: &[i64], n: i64) -> bool {
    matches!(dims, [] | [1] | [1, 1]) || dims == [n] || dims == [1, n]
}

/// The nodes that replace the site's `MatMul` (its output keeps its name).
fn chain(s: &Site, i: usize) -> Vec<pb::NodeProto> {
    let p = |what: &str| format!("leann_int8_{i}_{what}");
    let mut quantize = node(QUANTIZE, &[&s.x], &p("xq"));
    quantize.output.push(p("s"));
    vec![
        quantize,
        node("MatMulInteger", &[&p("xq"), &s.q], &p("acc")),
        node(DEQUANT, &[&p("acc"), &p("s"), &s.scale], &s.out),
    ]
}

fn node(op: &str, input: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        input: input.iter().map(|s| s.to_string()).collect(),
        name: format!("{output}_node"),
        output: vec![output.into()],
        op_type: op.into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::per_column;

    #[test]
    fn scales_per_column_or_one_for_all_qualify_per_row_does_not() {
        assert!(per_column(&[1, 384], 384));
        assert!(per_column(&[384], 384));
        assert!(per_column(&[], 384));
        assert!(!per_column(&[384, 1], 384));
        assert!(!per_column(&[2, 384], 384));
    }
}
