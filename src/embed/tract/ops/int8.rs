//! The two ends of an int8 matmul ([`crate::embed::tract::Compute::Int8`]), as custom ops the
//! `int8_matmul` rewrite names in the ONNX graph (domain-less op types `LeannQuantizeRows` and
//! `LeannDequantRows`, registered with tract's ONNX loader by [`register`]):
//!
//! - [`QuantizeRows`]: `x` (f32, last axis K) → `xq` (i8, same shape) and `s` (f32, last axis 1):
//!   per row `s = max(max|x|, ε) / 127`, `xq = round_half_even(x / s)`;
//! - [`DequantRows`]: `acc` (i32, last axis N), `s`, `scale` (f32: N values or 1) → f32
//!   `acc × s × scale`.
//!
//! Written as plain loops over rows so the compiler vectorises them: the same steps as ONNX
//! `Abs → ReduceMax → Div → Round → Cast` and `Cast → Mul → Mul` took tract 0.23 about as long as
//! the int8 matmuls saved (element by element rounding and casting).
use super::contiguous;
use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_hir::internal::{
    check_input_arity, check_output_arity, expand, Expansion, InferenceOp, InferenceResult, Solver,
    TensorProxy,
};

/// Op type of the quantising node in the rewritten ONNX graph.
pub(crate) const QUANTIZE: &str = "LeannQuantizeRows";
/// Op type of the dequantising node in the rewritten ONNX graph.
pub(crate) const DEQUANT: &str = "LeannDequantRows";

/// Smallest row maximum: a row of zeros quantises to zeros, not NaN.
const EPS: f32 = 1e-12;

/// Make tract's ONNX loader know the two op types.
pub(crate) fn register(onnx: &mut tract_onnx::Onnx) {
    onnx.op_register.insert(QUANTIZE, build_quantize);
    onnx.op_register.insert(DEQUANT, build_dequant);
}

type Built = TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

fn build_quantize(_: &ParsingContext, _: &pb::NodeProto) -> Built {
    Ok((expand(OnnxQuantize), vec![]))
}

fn build_dequant(_: &ParsingContext, _: &pb::NodeProto) -> Built {
    Ok((expand(OnnxDequant), vec![]))
}

/// `1.5·2²³`: adding it to a float of magnitude < 2²² leaves the float rounded to an integer by
/// the FPU's default mode (ties to even), held in the low mantissa bits.
const MAGIC: f32 = 12_582_912.0;

/// `round_half_even(v)` as an i8, for `v` in [-127, 127]: integer arithmetic on the bits of
/// `v + MAGIC`, so the loop vectorises in plain SSE2/NEON (no per-element rounding call).
#[inline(always)]
fn round_to_i8(v: f32) -> i8 {
    ((v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32) as i8
}

/// Largest |x| of a row (NaN when the row holds a NaN or an infinity), in 8 lanes so it
/// vectorises: `v × 0` is 0 for a finite `v` and NaN otherwise.
fn abs_max(x: &[f32]) -> f32 {
    let (mut lanes, mut poison) = ([0f32; 8], [0f32; 8]);
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for ((l, p), v) in lanes.iter_mut().zip(&mut poison).zip(c) {
            let a = v.abs();
            *l = if a > *l { a } else { *l };
            *p += v * 0.0;
        }
    }
    let tail = chunks.remainder();
    let bad = poison.iter().chain(tail).any(|p| p * 0.0 != 0.0);
    if bad {
        return f32::NAN;
    }
    lanes
        .into_iter()
        .chain(tail.iter().map(|v| v.abs()))
        .fold(0f32, f32::max)
}

/// Quantise one row; returns its scale (NaN, and zeros, for a row holding a NaN or infinity:
/// what f32 arithmetic would make of it).
pub(crate) fn quantize_row(x: &[f32], q: &mut [i8]) -> f32 {
    let amax = abs_max(x);
    if !amax.is_finite() {
        q.fill(0);
        return f32::NAN;
    }
    let amax = amax.max(EPS);
    let inv = 127.0 / amax;
    for (o, v) in q.iter_mut().zip(x) {
        *o = round_to_i8((v * inv).clamp(-127.0, 127.0));
    }
    amax / 127.0
}

/// Dequantise one row: `out[j] = acc[j] × s × scale[j]` (`scale` of length 1: the same for all).
pub(crate) fn dequant_row(acc: &[i32], s: f32, scale: &[f32], out: &mut [f32]) {
    if let [c] = scale {
        let k = s * c;
        for (o, a) in out.iter_mut().zip(acc) {
            *o = *a as f32 * k;
        }
    } else {
        for ((o, a), c) in out.iter_mut().zip(acc).zip(scale) {
            *o = *a as f32 * (s * c);
        }
    }
}

/// `t` as a tensor of `T` laid out in C order (copied element by element through its strides
/// when it is not).
fn plain<T: Datum + Copy>(t: TValue) -> TractResult<Tensor> {
    let t = t.into_tensor();
    ensure!(
        t.datum_type() == T::datum_type(),
        "int8 op: {:?} input, expected {:?}",
        t.datum_type(),
        T::datum_type()
    );
    if contiguous(&t) {
        return Ok(t);
    }
    let view = t.to_plain_array_view::<T>()?;
    Ok(view.as_standard_layout().into_owned().into_tensor())
}

/// Per-row symmetric int8 quantisation (see the module).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct QuantizeRows;

super::evaluated_by_run!(QuantizeRows, "QuantizeRows");

impl QuantizeRows {
    fn run(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = plain::<f32>(args_1!(inputs))?;
        let shape: TVec<usize> = x.shape().into();
        let k = *shape.last().context("QuantizeRows needs rank ≥ 1")?;
        let mut sshape = shape.clone();
        if let Some(last) = sshape.last_mut() {
            *last = 1;
        }
        let mut q = Tensor::zero::<i8>(&shape)?;
        let mut s = Tensor::zero::<f32>(&sshape)?;
        {
            let xv = x.try_as_plain_ram()?;
            let xs = xv.as_slice::<f32>()?;
            let mut qv = q.try_as_plain_ram_mut()?;
            let mut sv = s.try_as_plain_ram_mut()?;
            let rows = xs.chunks_exact(k.max(1));
            let qrows = qv.as_slice_mut::<i8>()?.chunks_exact_mut(k.max(1));
            for ((xr, qr), sr) in rows.zip(qrows).zip(sv.as_slice_mut::<f32>()?) {
                *sr = quantize_row(xr, qr);
            }
        }
        Ok(tvec!(q.into_tvalue(), s.into_tvalue()))
    }
}

impl TypedOp for QuantizeRows {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = &inputs[0].shape;
        let mut sshape: TVec<TDim> = shape.iter().cloned().collect();
        if let Some(last) = sshape.last_mut() {
            *last = 1.into();
        }
        Ok(tvec!(i8::fact(shape.iter()), f32::fact(sshape)))
    }
    as_op!();
}

/// `acc × s × scale` back to f32 (see the module).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DequantRows;

super::evaluated_by_run!(DequantRows, "DequantRows");

impl DequantRows {
    fn run(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (acc, s, scale) = args_3!(inputs);
        let (acc, s, scale) = (plain::<i32>(acc)?, plain::<f32>(s)?, plain::<f32>(scale)?);
        let shape: TVec<usize> = acc.shape().into();
        let n = (*shape.last().context("DequantRows needs rank ≥ 1")?).max(1);
        let mut out = Tensor::zero::<f32>(&shape)?;
        {
            let av = acc.try_as_plain_ram()?;
            let sv = s.try_as_plain_ram()?;
            let cv = scale.try_as_plain_ram()?;
            let c = cv.as_slice::<f32>()?;
            let rows = av.as_slice::<i32>()?.chunks_exact(n);
            let srows = sv.as_slice::<f32>()?;
            ensure!(
                (c.len() == n || c.len() == 1) && srows.len() * n == acc.len(),
                "DequantRows: shapes {:?} {:?} {:?} do not fit",
                acc.shape(),
                s.shape(),
                scale.shape()
            );
            let mut ov = out.try_as_plain_ram_mut()?;
            let orows = ov.as_slice_mut::<f32>()?.chunks_exact_mut(n);
            for ((ar, or), sr) in rows.zip(orows).zip(srows) {
                dequant_row(ar, *sr, c, or);
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for DequantRows {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(inputs[0].shape.iter())))
    }
    as_op!();
}

/// [`QuantizeRows`] as the ONNX loader sees it.
#[derive(Debug, Clone)]
struct OnnxQuantize;

impl Expansion for OnnxQuantize {
    fn name(&self) -> StaticName {
        QUANTIZE.into()
    }
    fn nboutputs(&self) -> TractResult<usize> {
        Ok(2)
    }
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 2)?;
        s.equals(&inputs[0].datum_type, f32::datum_type())?;
        s.equals(&outputs[0].datum_type, i8::datum_type())?;
        s.equals(&outputs[1].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].shape, &outputs[0].shape)?;
        s.equals(&inputs[0].rank, &outputs[1].rank)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let mut sshape = shape.clone();
            if let Some(last) = sshape.last_mut() {
                *last = 1.into();
            }
            s.equals(&outputs[1].shape, sshape)
        })
    }
    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, QuantizeRows, inputs)
    }
}

/// [`DequantRows`] as the ONNX loader sees it.
#[derive(Debug, Clone)]
struct OnnxDequant;

impl Expansion for OnnxDequant {
    fn name(&self) -> StaticName {
        DEQUANT.into()
    }
    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, i32::datum_type())?;
        s.equals(&outputs[0].datum_type, f32::datum_type())?;
        s.equals(&inputs[0].shape, &outputs[0].shape)
    }
    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, DequantRows, inputs)
    }
}

#[cfg(test)]
mod tests {
    use super::{dequant_row, quantize_row, round_to_i8};
    use proptest::prelude::*;

    #[test]
    fn rounding_is_half_to_even_like_onnx_round() {
        for v in [
            -2.5f32, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, -126.5, 3.2, -3.7, 127.0, -127.0,
        ] {
            assert_eq!(round_to_i8(v) as f32, v.round_ties_even(), "{v}");
        }
    }

    proptest! {
        #[test]
        fn a_row_comes_back_within_half_a_step(
            x in prop::collection::vec(-50f32..50.0, 1..64),
        ) {
            let mut q = vec![0i8; x.len()];
            let s = quantize_row(&x, &mut q);
            let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
            prop_assert!(q.iter().all(|&v| v != i8::MIN));
            for (&v, &qv) in x.iter().zip(&q) {
                prop_assert!((v - qv as f32 * s).abs() <= s * 0.5 + amax * 1e-6, "{v} {qv} {s}");
            }
        }
    }

    #[test]
    fn zeros_quantise_to_zeros_and_dequant_scales_per_column() {
        let mut q = [1i8; 4];
        let s = quantize_row(&[0.0; 4], &mut q);
        assert_eq!(q, [0; 4]);
        assert!(s.is_finite());
        let s = quantize_row(&[1.0, f32::NAN, 2.0], &mut q[..3]);
        assert!(s.is_nan(), "a NaN input must not become a number");
        assert!(quantize_row(&[1.0, f32::INFINITY], &mut q[..2]).is_nan());
        let mut out = [0f32; 3];
        dequant_row(&[10, -20, 30], 0.5, &[1.0, 2.0, 4.0], &mut out);
        assert_eq!(out, [5.0, -20.0, 60.0]);
        dequant_row(&[10, -20, 30], 0.5, &[2.0], &mut out);
        assert_eq!(out, [10.0, -20.0, 30.0]);
    }
}
