//! Custom op [`BroadcastAdd`] and its pass `broadcast_add`.
use super::contiguous;
use tract_onnx::tract_core::internal::*;

/// f32 `a + b` where `b` has `a`'s rank and, on every axis, `a`'s length or 1: the
/// attention-mask bias (batch × 1 × 1 × len) added to the scores (batch × 12 × len × len) in
/// every layer, and the position embeddings added to the token embeddings. tract 0.23 has no
/// vectorised kernel for a broadcast that is not a leading or trailing block, and runs it
/// element by element through a function pointer: 17% of a 256-token run. Here it is one
/// contiguous row add per row of `a`. Shapes it was not built for at run time go to the
/// wrapped op.
#[derive(Debug, Clone)]
pub(crate) struct BroadcastAdd {
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

super::evaluated_by_run!(BroadcastAdd, "BroadcastAdd");

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
pub(crate) fn broadcast_add(a: &mut [f32], ash: &[usize], b: &[f32], bsh: &[usize]) {
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

impl BroadcastAdd {
    fn run(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
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

/// Pass `broadcast_add` (after optimisation): every f32 `Add` whose second (or first) input is
/// broadcast on some axes becomes a [`BroadcastAdd`]. Returns the number of nodes replaced.
pub(crate) fn replace_adds(m: &mut TypedModel) -> usize {
    use tract_onnx::tract_core::ops::binary::TypedBinOp;
    use tract_onnx::tract_core::ops::math::Add;
    let mut count = 0;
    for id in 0..m.nodes.len() {
        let n = &m.nodes[id];
        let Some(bin) = n.op_as::<TypedBinOp>() else {
            continue;
        };
        if !bin.0.is::<Add>() || n.inputs.len() != 2 {
            continue;
        }
        let Some(full) = full_input(m, id) else {
            continue;
        };
        let op = BroadcastAdd {
            inner: m.nodes[id].op.clone(),
            full,
        };
        m.nodes[id].op = Box::new(op);
        count += 1;
    }
    count
}

/// Which input of the f32 add `id` has the output's shape while the other is 1 where they differ.
fn full_input(m: &TypedModel, id: usize) -> Option<usize> {
    let facts = m.node_input_facts(id).ok()?;
    let (s0, s1) = (&facts[0].shape, &facts[1].shape);
    if facts[0].datum_type != f32::datum_type()
        || facts[1].datum_type != f32::datum_type()
        || s0.rank() != s1.rank()
    {
        return None;
    }
    if s0.iter().zip(s1.iter()).all(|(x, y)| x == y || y.is_one()) {
        Some(0)
    } else if s0.iter().zip(s1.iter()).all(|(x, y)| x == y || x.is_one()) {
        Some(1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::broadcast_add;
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
