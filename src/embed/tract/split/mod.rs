//! One text on several cores: the weight matmuls split by output columns across a crew of
//! spinning helper threads.
//!
//! tract runs a lone short text on one core: its matmul pool (rayon) wakes sleeping workers for
//! every matmul and waits on a latch, and at 16 tokens those round trips cost more than the
//! split saves (measured: see docs/benchmarks.md, encoder runs F-J). onnxruntime splits each
//! matmul across cores with spinning threads, which is why it ran 1×16 tokens ~1.6× faster on 2
//! threads.
//!
//! Here, before optimisation, every `x · W (+ b) (→ element-wise tail)` region of the model —
//! an `EinSum` with a constant weight whose last axis is the output's last axis, followed by the
//! element-wise ops that only read it and per-column or scalar constants (the bias, the GELU) —
//! is replaced by one [`SplitOp`] holding `parts` small plans, each for one band of the output
//! columns (its slice of `W`, `b`, …; the weights are split, not copied). At run time:
//! - inside a [`Session`](super::crew::Session) (a lone text: the caller's thread owns the crew), band 0 runs on the
//!   calling thread and band `i` on helper `i`, which spin between bands while the session lasts,
//!   so no wake-up is paid per matmul; the bands are then copied side by side;
//! - otherwise (texts already running side by side, one per thread), the bands run one after the
//!   other on the calling thread.
mod region;

use super::crew::Crew;
use super::ops::patch_optimised;
use region::{bands, const_of, region_at, Region};
use std::sync::{Arc, Mutex};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::matmul::pack::OptMatMulPack;

/// A weight matmul region split into column bands (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct SplitOp {
    /// Packs the input once for every band (see [`share_input_pack`]).
    pre: Option<Arc<TypedRunnableModel>>,
    parts: Vec<Arc<TypedRunnableModel>>,
    widths: Vec<usize>,
    /// The bands' outputs (this many columns each) are summed, not placed side by side.
    sum_width: Option<usize>,
    /// Rank of the output; its leading `rank - 1` axes are the input's leading ones.
    rank: usize,
    crew: Arc<Crew>,
}

impl PartialEq for SplitOp {
    fn eq(&self, other: &Self) -> bool {
        self.parts.len() == other.parts.len()
            && self
                .parts
                .iter()
                .zip(&other.parts)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}
impl Eq for SplitOp {}

impl Op for SplitOp {
    fn name(&self) -> StaticName {
        "SplitMatMul".into()
    }
    fn info(&self) -> TractResult<Vec<String>> {
        let kernels: std::collections::BTreeSet<String> = self
            .parts
            .iter()
            .flat_map(|p| super::profile::kernels_of(p.model()))
            .collect();
        let kernels: Vec<String> = kernels.into_iter().collect();
        Ok(vec![format!(
            "column bands {:?}{} with [{}]",
            self.widths,
            if self.sum_width.is_some() {
                ", summed"
            } else {
                ""
            },
            kernels.join(", ")
        )])
    }
    op_as_typed_op!();
}

impl SplitOp {
    fn width(&self) -> usize {
        self.sum_width.unwrap_or_else(|| self.widths.iter().sum())
    }

    fn run(&self, x: TValue) -> TractResult<TVec<TValue>> {
        // Band inputs: the packed input and the input (for its shape), or the input alone.
        let ins: TVec<TValue> = match &self.pre {
            Some(pre) => tvec![pre.run(tvec![x.clone()])?.remove(0), x],
            None => tvec![x],
        };
        let n = self.parts.len();
        let mut outs: Vec<Option<TractResult<Tensor>>> = (0..n).map(|_| None).collect();
        if n > 1 && self.crew.helpers() + 1 >= n && self.crew.in_session() {
            let slots: Vec<Arc<Mutex<Option<TractResult<Tensor>>>>> =
                (1..n).map(|_| Arc::new(Mutex::new(None))).collect();
            for (i, slot) in slots.iter().enumerate() {
                let plan = self.parts[i + 1].clone();
                let x = ins.clone();
                let slot = slot.clone();
                self.crew.post(
                    i,
                    Box::new(move || {
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            plan.run(x).map(|mut o| o.remove(0).into_tensor())
                        }))
                        .unwrap_or_else(|_| Err(format_err!("encoder helper panicked")));
                        if let Ok(mut s) = slot.lock() {
                            *s = Some(r);
                        }
                    }),
                );
            }
            // Band 0 here, on this thread only (a matmul pool installed by the caller would fight
            // the helpers for the cores).
            let mine = tract_linalg::multithread::multithread_tract_scope(
                tract_linalg::multithread::Executor::SingleThread,
                || self.parts[0].run(ins.clone()),
            );
            for i in 0..n - 1 {
                self.crew.wait(i);
            }
            outs[0] = Some(mine.map(|mut o| o.remove(0).into_tensor()));
            for (i, slot) in slots.iter().enumerate() {
                outs[i + 1] = slot.lock().ok().and_then(|mut s| s.take());
            }
        } else {
            for (i, p) in self.parts.iter().enumerate() {
                outs[i] = Some(p.run(ins.clone()).map(|mut o| o.remove(0).into_tensor()));
            }
        }
        let mut outs = outs
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(format_err!("encoder band lost"))))
            .collect::<TractResult<Vec<Tensor>>>()?;
        if self.sum_width.is_some() {
            let mut out = outs.remove(0);
            {
                let mut ov = out.try_as_plain_ram_mut()?;
                let o = ov.as_slice_mut::<f32>()?;
                for t in &outs {
                    let tv = t.try_as_plain_ram()?;
                    let s = tv.as_slice::<f32>()?;
                    ensure!(
                        s.len() == o.len(),
                        "band of {} values, expected {}",
                        s.len(),
                        o.len()
                    );
                    for (a, b) in o.iter_mut().zip(s) {
                        *a += b;
                    }
                }
            }
            return Ok(tvec!(out.into_tvalue()));
        }
        let total = self.width();
        let mut shape: TVec<usize> = outs[0].shape().into();
        let last = shape.len() - 1;
        shape[last] = total;
        let mut out = Tensor::zero::<f32>(&shape)?;
        {
            let mut ov = out.try_as_plain_ram_mut()?;
            let o = ov.as_slice_mut::<f32>()?;
            let rows = o.len() / total.max(1);
            let mut off = 0;
            for (t, &w) in outs.iter().zip(&self.widths) {
                let tv = t.try_as_plain_ram()?;
                let s = tv.as_slice::<f32>()?;
                ensure!(
                    s.len() == rows * w,
                    "band of {} values, expected {}",
                    s.len(),
                    rows * w
                );
                for r in 0..rows {
                    o[r * total + off..r * total + off + w].copy_from_slice(&s[r * w..(r + 1) * w]);
                }
                off += w;
            }
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl EvalOp for SplitOp {
    fn eval(&self, _ctx: &EvalContext, mut inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.run(inputs.remove(0))
    }
    fn eval_out_of_plan(&self, mut inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        self.run(inputs.remove(0)).map(Some)
    }
}

impl TypedOp for SplitOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let x = inputs[0];
        ensure!(
            x.rank() >= self.rank,
            "input of rank {} for a rank {} output",
            x.rank(),
            self.rank
        );
        let mut shape: TVec<TDim> = x.shape.iter().take(self.rank - 1).cloned().collect();
        shape.push(self.width().to_dim());
        Ok(tvec!(f32::fact(shape)))
    }
    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        Ok(tvec!())
    }
    fn as_op(&self) -> &dyn Op {
        self
    }
    fn as_op_mut(&mut self) -> &mut dyn Op {
        self
    }
}

/// The optimised model for columns `lo..hi` of region `r`, reading `x` (fact `xf`).
fn band_model(
    m: &TypedModel,
    r: &Region,
    x: OutletId,
    xf: &TypedFact,
    (lo, hi): (usize, usize),
) -> TractResult<TypedModel> {
    let mut sub = TypedModel {
        symbols: m.symbols.clone(),
        ..TypedModel::default()
    };
    let src = sub.add_source("x", xf.clone())?;
    let mut map: HashMap<OutletId, OutletId> = HashMap::new();
    map.insert(x, src);
    for &id in &r.nodes {
        let n = m.node(id);
        let mut ins = tvec!();
        for (k, i) in n.inputs.iter().enumerate() {
            if let Some(o) = map.get(i) {
                ins.push(*o);
                continue;
            }
            let c = const_of(m, *i).with_context(|| format!("input {k} of {}", n.name))?;
            let last = c.rank() - 1;
            let c = if r.sum_width.is_some() && Some(&id) == r.nodes.last() {
                c.slice(0, lo, hi)?
            } else if c.shape()[last] == r.width {
                c.slice(last, lo, hi)?
            } else {
                (*c).clone()
            };
            ins.push(sub.add_const(format!("{}.{k}", n.name), c)?);
        }
        let o = sub.wire_node(&n.name, n.op.clone(), &ins)?;
        map.insert(OutletId::new(id, 0), o[0]);
    }
    let out = map[&OutletId::new(*r.nodes.last().unwrap(), 0)];
    sub.select_output_outlets(&[out])?;
    sub.into_optimized()
}

/// The node packing the band's input for its first matmul, reached from the source through axis
/// changes only (`x → reshape → pack`).
fn input_pack(m: &TypedModel) -> Option<OutletId> {
    let src = *m.input_outlets().ok()?.first()?;
    let mut found = None;
    for n in m.nodes() {
        if !n.op_is::<OptMatMulPack>() || n.inputs.len() != 1 {
            continue;
        }
        let mut o = n.inputs[0];
        while o != src {
            let p = m.node(o.node);
            if !p.op_is::<AxisOp>() || p.inputs.len() != 1 {
                break;
            }
            o = p.inputs[0];
        }
        if o == src {
            if found.is_some() {
                return None;
            }
            found = Some(OutletId::new(n.id, 0));
        }
    }
    found
}

/// When every band starts by packing its input the same way, cut that prefix out: one plan packs
/// `x` once and every band reads the packed value (packing is ~6% of a run; each band packing
/// its own copy cost that again per band when the bands run one after the other). Returns the
/// prefix plan, if any, and the band plans.
#[allow(clippy::type_complexity)]
fn share_input_pack(
    bands: Vec<TypedModel>,
) -> TractResult<(
    Option<Arc<TypedRunnableModel>>,
    Vec<Arc<TypedRunnableModel>>,
)> {
    let whole = |bands: Vec<TypedModel>| -> TractResult<_> {
        let plans = bands
            .into_iter()
            .map(|b| patch_optimised(b).0.into_runnable())
            .collect::<TractResult<Vec<_>>>()?;
        Ok((None, plans))
    };
    let packs: Vec<Option<OutletId>> = bands.iter().map(input_pack).collect();
    let Some(Some(p0)) = packs.first().cloned() else {
        return whole(bands);
    };
    let same = bands.iter().zip(&packs).all(|(b, p)| {
        p.is_some_and(|p| {
            b.node(p.node).op.as_op() == bands[0].node(p0.node).op.as_op()
                && b.outlet_fact(p).ok() == bands[0].outlet_fact(p0).ok()
        })
    });
    if !same {
        return whole(bands);
    }
    let pre = bands[0]
        .clone()
        .with_output_outlets(&[p0])?
        .into_compact()?;
    let packed_fact = bands[0].outlet_fact(p0)?.clone();
    let mut cut = Vec::with_capacity(bands.len());
    for (mut b, p) in bands.into_iter().zip(packs) {
        let p = p.unwrap_or(p0);
        let new_src = b.add_source("packed", packed_fact.clone())?;
        for succ in b.node(p.node).outputs[p.slot].successors.clone() {
            b.add_edge(new_src, succ)?;
        }
        // The unpacked input stays an input (unread by the ops: the plan takes the batch and
        // sequence sizes from its shape).
        let old_src = b.input_outlets()?[0];
        b.set_input_outlets(&[new_src, old_src])?;
        let b = b.into_compact()?;
        let x = b.input_outlets()?[1];
        ensure!(
            b.node(x.node).outputs[0].successors.is_empty(),
            "band still reads its unpacked input after the cut"
        );
        cut.push(patch_optimised(b).0.into_runnable()?);
    }
    Ok((Some(pre.into_runnable()?), cut))
}

/// Replace every constant-weight matmul region of `m` by a [`SplitOp`] of `parts` column bands
/// using `crew`. Returns the model and the number of regions split.
pub(crate) fn split_matmuls(
    mut m: TypedModel,
    parts: usize,
    crew: &Arc<Crew>,
) -> TractResult<(TypedModel, usize)> {
    if parts < 2 {
        return Ok((m, 0));
    }
    let mut regions: Vec<Region> = Vec::new();
    let mut claimed = std::collections::HashSet::new();
    for id in 0..m.nodes.len() {
        if claimed.contains(&id) {
            continue;
        }
        if let Some(r) = region_at(&m, id) {
            if r.nodes.iter().all(|n| !claimed.contains(n)) {
                claimed.extend(r.nodes.iter().copied());
                regions.push(r);
            }
        }
    }
    let mut done = 0;
    let mut shared = 0;
    for r in &regions {
        let seed = m.node(r.nodes[0]);
        let x = seed.inputs[0];
        let xf = m.outlet_fact(x)?.clone();
        let b = bands(r.width, parts);
        if b.len() < 2 {
            continue;
        }
        let models = b
            .iter()
            .map(|&band| band_model(&m, r, x, &xf, band))
            .collect::<TractResult<Vec<_>>>()?;
        let (pre, plans) = share_input_pack(models)?;
        shared += pre.is_some() as usize;
        let op = SplitOp {
            pre,
            parts: plans,
            widths: b.iter().map(|(lo, hi)| hi - lo).collect(),
            sum_width: r.sum_width,
            rank: r.rank,
            crew: crew.clone(),
        };
        let name = format!("{}.split", seed.name);
        let mut patch = TypedModelPatch::default();
        let tap = patch.tap_model(&m, x)?;
        let out = patch.wire_node(name, op, &[tap])?;
        patch.shunt_outside(&m, OutletId::new(*r.nodes.last().unwrap(), 0), out[0])?;
        patch.apply(&mut m)?;
        done += 1;
    }
    m.compact()?;
    log::debug!("{done} matmul regions split, {shared} with their input packed once");
    Ok((m, done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::einsum::EinSum;
    use tract_onnx::tract_core::ops::math;

    fn rand_tensor(shape: &[usize], seed: &mut u64) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| {
                *seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect();
        Tensor::from_shape(shape, &v).unwrap()
    }

    /// x (batch × seq × 8) → x·W1 (8 × 48) + b1 → tanh → ·W2 (48 × 8): an FFN-shaped chain, and a
    /// separate x·W3 (8 × 40) + b3 read by the output too (a plain column split).
    fn model(seed: &mut u64) -> TypedModel {
        let mut m = TypedModel::default();
        let b = m.sym("b");
        let s = m.sym("s");
        let x = m
            .add_source("x", f32::fact([b.to_dim(), s.to_dim(), 8.to_dim()]))
            .unwrap();
        let mm = |m: &mut TypedModel, name: &str, x: OutletId, w: Tensor| {
            let w = m.add_const(format!("{name}.w"), w).unwrap();
            let op = EinSum::new("amk,kn->amn".parse().unwrap(), f32::datum_type());
            m.wire_node(name, op, &[x, w]).unwrap()[0]
        };
        let h = mm(&mut m, "up", x, rand_tensor(&[8, 48], seed));
        let b1 = m.add_const("b1", rand_tensor(&[1, 1, 48], seed)).unwrap();
        let h = m.wire_node("up.bias", math::add(), &[h, b1]).unwrap()[0];
        let h = m.wire_node("act", math::tanh(), &[h]).unwrap()[0];
        let y = mm(&mut m, "down", h, rand_tensor(&[48, 8], seed));
        let z = mm(&mut m, "side", x, rand_tensor(&[8, 40], seed));
        let b3 = m.add_const("b3", rand_tensor(&[1, 1, 40], seed)).unwrap();
        let z = m.wire_node("side.bias", math::add(), &[z, b3]).unwrap()[0];
        m.select_output_outlets(&[y, z]).unwrap();
        m
    }

    fn close(a: &Tensor, b: &Tensor) {
        assert_eq!(a.shape(), b.shape());
        let (av, bv) = (a.try_as_plain_ram().unwrap(), b.try_as_plain_ram().unwrap());
        let (a, b) = (av.as_slice::<f32>().unwrap(), bv.as_slice::<f32>().unwrap());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5, "{x} vs {y}");
        }
    }

    #[test]
    fn split_model_matches_the_whole_one_with_and_without_the_crew() {
        for parts in [2, 3] {
            let mut seed = parts as u64;
            let m = model(&mut seed);
            let whole = m.clone().into_optimized().unwrap().into_runnable().unwrap();
            let crew = Crew::new(parts - 1).unwrap();
            let (sm, n) = split_matmuls(m, parts, &crew).unwrap();
            assert_eq!(n, 2, "the FFN chain and the side matmul");
            assert_eq!(
                sm.nodes().iter().filter(|n| n.op_is::<SplitOp>()).count(),
                2
            );
            let sums = sm
                .nodes()
                .iter()
                .filter_map(|n| n.op_as::<SplitOp>())
                .filter(|o| o.sum_width == Some(8))
                .count();
            assert_eq!(sums, 1, "the down projection is summed over bands");
            assert!(
                sm.nodes()
                    .iter()
                    .filter_map(|n| n.op_as::<SplitOp>())
                    .all(|o| o.pre.is_some()),
                "each split op packs its input once for all bands"
            );
            let split = sm.into_optimized().unwrap().into_runnable().unwrap();
            for (b, s) in [(1, 1), (1, 5), (3, 4)] {
                let x: TValue = rand_tensor(&[b, s, 8], &mut seed).into();
                let want = whole.run(tvec![x.clone()]).unwrap();
                let before = crew.jobs_done();
                let alone = split.run(tvec![x.clone()]).unwrap();
                assert_eq!(crew.jobs_done(), before, "no session: bands run here");
                let with_crew = {
                    let _s = crew.session().expect("crew free");
                    split.run(tvec![x.clone()]).unwrap()
                };
                // Two split ops, parts - 1 helper bands each.
                assert_eq!(crew.jobs_done(), before + 2 * (parts - 1));
                for k in 0..2 {
                    close(&want[k], &alone[k]);
                    close(&want[k], &with_crew[k]);
                }
            }
            // One owner at a time: a second session is refused while the first is open.
            let s1 = crew.session();
            assert!(s1.is_some() && crew.session().is_none());
        }
    }

    #[test]
    fn bands_cover_the_width_in_order() {
        for (w, p) in [(384, 2), (1536, 2), (384, 4), (384, 3), (100, 3), (5, 8)] {
            let b = bands(w, p);
            assert_eq!(b.first().map(|x| x.0), Some(0), "{w} {p}");
            assert_eq!(b.last().map(|x| x.1), Some(w), "{w} {p}");
            assert!(b.windows(2).all(|x| x[0].1 == x[1].0 && x[0].0 < x[0].1));
            assert!(b.len() <= p);
        }
        assert_eq!(bands(384, 2), vec![(0, 192), (192, 384)]);
    }
}
