//! Custom tract ops that replace slow paths of tract 0.23 in the optimised plan, each with the
//! pass that puts it there. The passes run in [`PASSES`] order on every optimised plan (the whole
//! model's and each band plan of a split matmul).
//!
//! - [`natural::Natural`] (pass `natural_strides`): element-wise nodes get inputs with natural
//!   strides; at batch 1 tract otherwise took a per-element slow path.
//! - [`broadcast_add::BroadcastAdd`] (pass `broadcast_add`): broadcasting f32 adds (the attention
//!   mask) run as contiguous row adds.
//!
//! [`int8`] holds the two ops of int8 compute, which the ONNX pass `int8_matmul` puts in the
//! graph before tract loads it (not an optimised-plan pass).
use tract_onnx::tract_core::internal::*;

/// `Op` (named `$name`) and `EvalOp` for an op evaluated by its inherent
/// `fn run(&self, &EvalContext, TVec<TValue>) -> TractResult<TVec<TValue>>`, in a plan and out of
/// one alike (tract's constant folding evaluates ops out of plan).
macro_rules! evaluated_by_run {
    ($ty:ty, $name:literal) => {
        impl Op for $ty {
            fn name(&self) -> StaticName {
                $name.into()
            }
            op_as_typed_op!();
        }

        impl EvalOp for $ty {
            fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
                self.run(ctx, inputs)
            }
            fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
                Ok(Some(self.run(&EvalContext::out_of_plan(), inputs)?))
            }
        }
    };
}
pub(crate) use evaluated_by_run;

pub(crate) mod broadcast_add;
pub(crate) mod int8;
pub(crate) mod natural;

/// A pass over an optimised model: returns the number of nodes it changed.
pub(crate) type OptimisedPass = fn(&mut TypedModel) -> usize;

/// The passes over an optimised plan, in the order they run.
pub(crate) const PASSES: &[(&str, OptimisedPass)] = &[
    ("natural_strides", natural::wrap),
    ("broadcast_add", broadcast_add::replace_adds),
];

/// Run every pass on `m`; returns the model and each pass's count, in order.
pub(crate) fn patch_optimised(mut m: TypedModel) -> (TypedModel, Vec<(&'static str, usize)>) {
    let counts = PASSES
        .iter()
        .map(|(name, pass)| (*name, pass(&mut m)))
        .collect();
    (m, counts)
}

/// True when `t`'s elements lie in C order in its storage (strides may differ from the natural
/// ones only on size-1 axes).
pub(crate) fn contiguous(t: &Tensor) -> bool {
    let nat = Tensor::natural_strides(t.shape());
    t.len() == t.shape().iter().product::<usize>()
        && t.shape()
            .iter()
            .zip(t.strides().iter().zip(nat.iter()))
            .all(|(&d, (s, n))| d == 1 || s == n)
}
