//! Custom op [`Natural`] and its pass `natural_strides`.
use super::contiguous;
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
pub(crate) struct Natural(Box<dyn TypedOp>);

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

/// Pass `natural_strides` (after optimisation): wrap every fast element-wise node in [`Natural`].
/// Returns the number of nodes wrapped.
pub(crate) fn wrap(m: &mut TypedModel) -> usize {
    use tract_onnx::tract_core::ops::binary::{OptBinByScalar, OptBinChain, OptBinUnicast};
    let mut count = 0;
    for id in 0..m.nodes.len() {
        let n = &m.nodes[id];
        if n.op_is::<OptBinByScalar>() || n.op_is::<OptBinUnicast>() || n.op_is::<OptBinChain>() {
            let op = n.op.clone();
            m.nodes[id].op = Box::new(Natural(op));
            count += 1;
        }
    }
    count
}
