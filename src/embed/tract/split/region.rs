//! Finding the regions to split: a constant-weight f32 matmul whose weight's last axis is the
//! output's last axis, the element-wise ops that only read it, and (the FFN) a second matmul that
//! contracts the split axis; and the column bands of a region.
use std::sync::Arc;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;

/// A region to split: nodes in id order, the last one its output.
pub(super) struct Region {
    pub(super) nodes: Vec<usize>,
    /// Columns of the first matmul's output (the split axis).
    pub(super) width: usize,
    pub(super) rank: usize,
    /// The region ends in a second constant-weight matmul that contracts the split axis (the FFN's
    /// down projection): each band multiplies its columns by its rows of that weight and the
    /// bands' outputs (this many columns) are summed instead of placed side by side.
    pub(super) sum_width: Option<usize>,
}

/// Einsum axes as strings, e.g. `amk,kn->amn` → (["amk", "kn"], "amn").
fn axes_strings(e: &EinSum) -> Option<(Vec<String>, String)> {
    let s = e.axes.to_string();
    let (ins, out) = s.split_once("->")?;
    Some((
        ins.split(',').map(str::to_string).collect(),
        out.to_string(),
    ))
}

pub(super) fn const_of(m: &TypedModel, o: OutletId) -> Option<Arc<Tensor>> {
    m.outlet_fact(o).ok().and_then(|f| f.konst.clone())
}

/// The region seeded at einsum node `id`, if it is a constant-weight f32 matmul whose weight's last
/// axis is the output's last axis.
pub(super) fn region_at(m: &TypedModel, id: usize) -> Option<Region> {
    let n = m.node(id);
    let e = n.op_as::<EinSum>()?;
    if e.q_params.is_some() || e.operating_dt != f32::datum_type() || n.inputs.len() != 2 {
        return None;
    }
    if const_of(m, n.inputs[0]).is_some() {
        return None;
    }
    let w = const_of(m, n.inputs[1])?;
    let (ins, out) = axes_strings(e)?;
    let (x_axes, w_axes) = (ins.first()?, ins.get(1)?);
    let oc = out.chars().last()?;
    // The split axis: the weight's last, the output's last, absent from the input.
    if w_axes.chars().last()? != oc || x_axes.contains(oc) {
        return None;
    }
    // Leading output axes are the input's leading ones, in order (the SplitOp's shape rule).
    let rank = out.chars().count();
    if !x_axes.starts_with(&out[..out.len() - oc.len_utf8()]) {
        return None;
    }
    let width = *w.shape().last()?;
    let fact = m.outlet_fact(n.id.into()).ok()?;
    if fact.datum_type != f32::datum_type() || fact.rank() != rank {
        return None;
    }
    let shape = fact.shape.clone();
    let mut nodes = vec![id];
    // Grow through element-wise successors that read only the region and per-column or scalar
    // constants, with the region's shape.
    loop {
        let mut added = false;
        let succs: Vec<usize> = nodes
            .iter()
            .flat_map(|&r| m.node(r).outputs[0].successors.iter().map(|s| s.node))
            .collect();
        for s in succs {
            if nodes.contains(&s) {
                continue;
            }
            let sn = m.node(s);
            if !(sn.op_is::<TypedBinOp>() || sn.op_is::<ElementWiseOp>()) || sn.outputs.len() != 1 {
                continue;
            }
            let Ok(sf) = m.outlet_fact(s.into()) else {
                continue;
            };
            if sf.shape != shape || sf.datum_type != f32::datum_type() {
                continue;
            }
            let ok = sn.inputs.iter().all(|i| {
                if nodes.contains(&i.node) && i.slot == 0 {
                    return true;
                }
                match const_of(m, *i) {
                    Some(c) => {
                        c.rank() == rank
                            && c.shape()[..rank - 1].iter().all(|&d| d == 1)
                            && (c.shape()[rank - 1] == 1 || c.shape()[rank - 1] == width)
                    }
                    None => false,
                }
            });
            if ok {
                nodes.push(s);
                added = true;
            }
        }
        if !added {
            break;
        }
    }
    nodes.sort_unstable();
    // Exactly one node may be read from outside: the region's output. Otherwise keep the matmul
    // alone.
    let outputs = m.output_outlets().ok()?;
    let leaks = |r: usize| {
        m.node(r).outputs[0]
            .successors
            .iter()
            .any(|s| !nodes.contains(&s.node))
            || outputs.iter().any(|o| o.node == r)
    };
    let leaking: Vec<usize> = nodes.iter().copied().filter(|&r| leaks(r)).collect();
    if leaking.len() != 1 || leaking[0] != *nodes.last()? {
        nodes = vec![id];
    }
    let mut sum_width = None;
    if nodes.len() > 1 {
        let last = *nodes.last()?;
        let succ = &m.node(last).outputs[0].successors;
        if succ.len() == 1 && succ[0].slot == 0 && !outputs.iter().any(|o| o.node == last) {
            if let Some(w2) = contracting_matmul(m, succ[0].node, rank, width) {
                nodes.push(succ[0].node);
                sum_width = Some(w2);
            }
        }
    }
    Some(Region {
        nodes,
        width,
        rank,
        sum_width,
    })
}

/// Node `id` is an f32 matmul of its input 0 (rank `rank`, last axis `width`) by a constant
/// `width × N` weight, contracting that axis, with an output of the same rank: returns N.
fn contracting_matmul(m: &TypedModel, id: usize, rank: usize, width: usize) -> Option<usize> {
    let n = m.node(id);
    let e = n.op_as::<EinSum>()?;
    if e.q_params.is_some() || e.operating_dt != f32::datum_type() || n.inputs.len() != 2 {
        return None;
    }
    let w = const_of(m, n.inputs[1])?;
    if w.rank() != 2 || w.shape()[0] != width {
        return None;
    }
    let (ins, out) = axes_strings(e)?;
    let (x_axes, w_axes) = (ins.first()?, ins.get(1)?);
    let k = x_axes.chars().last()?;
    let wc: Vec<char> = w_axes.chars().collect();
    let oc = out.chars().last()?;
    let prefix: String = x_axes.chars().take(rank - 1).collect();
    (wc.len() == 2
        && wc[0] == k
        && wc[1] == oc
        && !out.contains(k)
        && out.chars().count() == rank
        && out.starts_with(&prefix))
    .then_some(w.shape()[1])
}

/// Column bands of `width` for `parts` workers, each a multiple of 16 columns where possible.
pub(super) fn bands(width: usize, parts: usize) -> Vec<(usize, usize)> {
    let unit = if width % (16 * parts) == 0 { 16 } else { 1 };
    let units = width / unit;
    let mut v = Vec::new();
    let mut lo = 0;
    for p in 0..parts {
        let hi = if p + 1 == parts {
            width
        } else {
            (units * (p + 1) / parts) * unit
        };
        if hi > lo {
            v.push((lo, hi));
        }
        lo = hi;
    }
    v
}
