//! Pass `fold_dequant`: int8 weight dequantisation (`Cast` → `Mul(scale)`) folded into f32
//! initialisers once at load; the big word-embedding table stays int8 and is gathered first,
//! then dequantised row by row.
use super::rebuild_nodes;
use pb::tensor_proto::DataType;
use std::collections::{HashMap, HashSet};
use tract_onnx::pb;

/// Tables larger than this many int8 values that only a `Gather` reads stay int8.
const BIG_TABLE: usize = 4_000_000;

/// One `Cast(int8 q) → Mul(scale)` pair.
struct Fold {
    cast: usize,
    mul: usize,
    q: String,
    scale: String,
    /// The `Mul`'s output: the dequantised weight.
    weight: String,
}

/// Run the pass; returns the number of dequantisations rewritten.
pub(crate) fn run(g: &mut pb::GraphProto) -> Result<usize, String> {
    let init: HashMap<String, usize> = g
        .initializer
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();
    let folds = find(g, &init);
    let mut remove = vec![false; g.node.len()];
    let mut new_inits = Vec::new();
    let mut replace = HashMap::new();
    let mut count = 0;
    for f in &folds {
        let q = &g.initializer[init[&f.q]];
        let s = &g.initializer[init[&f.scale]];
        let qd: Vec<i8> = q.raw_data.iter().map(|&b| b as i8).collect();
        let sd = floats(s);
        if qd.is_empty() || sd.is_empty() {
            continue;
        }
        remove[f.cast] = true;
        remove[f.mul] = true;
        count += 1;
        if let Some(gi) = embedding_gather(g, f, qd.len(), q, s) {
            remove[gi] = true;
            replace.insert(gi, gather_then_dequant(&g.node[gi], f));
            continue;
        }
        let w = dequantise(&qd, &dims(q), &sd, &dims(s))
            .map_err(|e| format!("scale {}: {e}", f.scale))?;
        new_inits.push(pb::TensorProto {
            name: f.weight.clone(),
            dims: q.dims.clone(),
            data_type: DataType::Float as i32,
            raw_data: w.iter().flat_map(|x| x.to_le_bytes()).collect(),
            ..Default::default()
        });
    }
    rebuild_nodes(g, &remove, replace);
    // Drop int8 initialisers no node reads any more.
    let used: HashSet<&String> = g.node.iter().flat_map(|n| n.input.iter()).collect();
    let keep: Vec<bool> = g
        .initializer
        .iter()
        .map(|t| used.contains(&t.name) || t.data_type != DataType::Int8 as i32)
        .collect();
    let mut k = keep.iter();
    g.initializer.retain(|_| *k.next().unwrap_or(&true));
    g.initializer.extend(new_inits);
    Ok(count)
}

/// Every `Cast(int8 initialiser)` whose single consumer is `Mul(cast, initialiser)`.
fn find(g: &pb::GraphProto, init: &HashMap<String, usize>) -> Vec<Fold> {
    let is_i8 = |name: &str| {
        init.get(name)
            .is_some_and(|&i| g.initializer[i].data_type == DataType::Int8 as i32)
    };
    let mut out = Vec::new();
    for (ci, n) in g.node.iter().enumerate() {
        if n.op_type != "Cast" || n.input.len() != 1 || !is_i8(&n.input[0]) {
            continue;
        }
        let cast_out = &n.output[0];
        let consumers: Vec<usize> = users(g, cast_out);
        let [mi] = consumers[..] else { continue };
        let m = &g.node[mi];
        if m.op_type != "Mul" || m.input.len() != 2 {
            continue;
        }
        let scale = if m.input[0] == *cast_out {
            &m.input[1]
        } else {
            &m.input[0]
        };
        if !init.contains_key(scale.as_str()) {
            continue;
        }
        out.push(Fold {
            cast: ci,
            mul: mi,
            q: n.input[0].clone(),
            scale: scale.clone(),
            weight: m.output[0].clone(),
        });
    }
    out
}

/// Nodes reading `name`.
fn users(g: &pb::GraphProto, name: &str) -> Vec<usize> {
    g.node
        .iter()
        .enumerate()
        .filter(|(_, m)| m.input.iter().any(|i| i == name))
        .map(|(i, _)| i)
        .collect()
}

fn dims(t: &pb::TensorProto) -> Vec<usize> {
    t.dims.iter().map(|&d| d.max(0) as usize).collect()
}

fn floats(t: &pb::TensorProto) -> Vec<f32> {
    if t.raw_data.is_empty() {
        return t.float_data.clone();
    }
    t.raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The `Gather` node, when the weight is a big 2-D table read only by a `Gather` on axis 0 with one
/// scale per row.
fn embedding_gather(
    g: &pb::GraphProto,
    f: &Fold,
    values: usize,
    q: &pb::TensorProto,
    s: &pb::TensorProto,
) -> Option<usize> {
    let (qd, sd) = (dims(q), dims(s));
    let readers = users(g, &f.weight);
    let [gi] = readers[..] else { return None };
    let gather = &g.node[gi];
    (values > BIG_TABLE
        && gather.op_type == "Gather"
        && gather.input[0] == f.weight
        && qd.len() == 2
        && sd == [qd[0], 1])
    .then_some(gi)
}

/// `Gather(q, ids) → Cast(f32) → Mul(Gather(scale, ids))` in place of `Gather(weight, ids)`.
fn gather_then_dequant(gather: &pb::NodeProto, f: &Fold) -> Vec<pb::NodeProto> {
    let ids = gather.input[1].clone();
    let out = gather.output[0].clone();
    let int_attr = |name: &str, i: i64| pb::AttributeProto {
        name: name.into(),
        i,
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        ..Default::default()
    };
    let node = |op: &str, input: Vec<String>, output: String, attrs| pb::NodeProto {
        input,
        name: format!("leann_{output}"),
        output: vec![output],
        op_type: op.into(),
        attribute: attrs,
        ..Default::default()
    };
    vec![
        node(
            "Gather",
            vec![f.q.clone(), ids.clone()],
            format!("{out}_q"),
            vec![int_attr("axis", 0)],
        ),
        node(
            "Cast",
            vec![format!("{out}_q")],
            format!("{out}_f"),
            vec![int_attr("to", DataType::Float as i64)],
        ),
        node(
            "Gather",
            vec![f.scale.clone(), ids],
            format!("{out}_s"),
            vec![int_attr("axis", 0)],
        ),
        node(
            "Mul",
            vec![format!("{out}_f"), format!("{out}_s")],
            out,
            vec![],
        ),
    ]
}

/// `q × s` with `s` broadcast to `q`'s shape (same rank with 1s, or a scalar).
fn dequantise(q: &[i8], qdims: &[usize], s: &[f32], sdims: &[usize]) -> Result<Vec<f32>, String> {
    let rank = qdims.len();
    if s.len() == 1 {
        return Ok(q.iter().map(|&v| v as f32 * s[0]).collect());
    }
    let sfull: Vec<usize> = if sdims.len() == rank {
        sdims.to_vec()
    } else {
        vec![1; rank]
    };
    let fits = sfull.iter().zip(qdims).all(|(&a, &b)| a == 1 || a == b);
    if !fits || sfull.iter().product::<usize>() != s.len() {
        return Err(format!("shape {sdims:?} does not broadcast to {qdims:?}"));
    }
    let strides = |d: &[usize]| {
        let mut st = vec![1usize; d.len()];
        for i in (0..d.len().saturating_sub(1)).rev() {
            st[i] = st[i + 1] * d[i + 1];
        }
        st
    };
    let (qst, sst) = (strides(qdims), strides(&sfull));
    Ok(q.iter()
        .enumerate()
        .map(|(idx, &v)| {
            let si: usize = (0..rank)
                .filter(|&d| sfull[d] != 1)
                .map(|d| (idx / qst[d]) % qdims[d] * sst[d])
                .sum();
            v as f32 * s[si]
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::dequantise;

    #[test]
    fn dequantise_broadcasts_per_row_per_column_and_scalar() {
        let q = [1i8, 2, 3, -1, -2, -3];
        assert_eq!(
            dequantise(&q, &[2, 3], &[10.0, 100.0], &[2, 1]).unwrap(),
            vec![10.0, 20.0, 30.0, -100.0, -200.0, -300.0]
        );
        assert_eq!(
            dequantise(&q, &[2, 3], &[1.0, 2.0, 3.0], &[1, 3]).unwrap(),
            vec![1.0, 4.0, 9.0, -1.0, -4.0, -9.0]
        );
        assert_eq!(
            dequantise(&q, &[2, 3], &[0.5], &[]).unwrap(),
            vec![0.5, 1.0, 1.5, -0.5, -1.0, -1.5]
        );
        assert!(dequantise(&q, &[2, 3], &[1.0, 2.0], &[1, 2]).is_err());
    }
}
