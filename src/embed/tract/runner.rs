//! Running the plan: texts → token runs ([`plan_groups`]) → padded tensors → the plan → mean-pooled,
//! L2-normalised vectors. With several threads, runs of a batch go side by side on the crew's
//! threads; a lone run opens a crew session so its split matmuls use every core.
use super::planner::plan_groups;
use super::TractEmbedder;
use crate::embed::EmbedError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use tract_onnx::prelude::*;

/// Pooled vectors of one run, or why it failed.
type RunResult = Result<Vec<f32>, EmbedError>;

/// Texts one run takes at most.
const MAX_RUN_TEXTS: usize = 32;

/// Bytes of text tokenised per token the model reads: a word-piece takes a few bytes, and a word of
/// more than 100 characters is one `[UNK]`, so the first `max_tokens × 64` bytes hold every token
/// the truncation keeps for any real text. Without the cap a 10 MB passage was tokenised whole on
/// every recompute (5 s, 700 MB) only for all but its first 256 tokens to be dropped.
const TEXT_BYTES_PER_TOKEN: usize = 64;

fn rt(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Runtime(e.to_string())
}

impl TractEmbedder {
    /// [`crate::Embedder::embed`]: every text's vector, in order.
    pub(super) fn embed_texts(
        &self,
        texts: &[&str],
        role_prefix: &str,
    ) -> Result<Vec<f32>, EmbedError> {
        let d = self.dim;
        let mut out = vec![0f32; texts.len() * d];
        if texts.is_empty() {
            return Ok(out);
        }
        let max = self.max_tokens.saturating_mul(TEXT_BYTES_PER_TOKEN);
        let capped: Vec<String> = texts
            .iter()
            .map(|t| format!("{role_prefix}{}", crate::passages::prefix(t, max)))
            .collect();
        let enc = self
            .tokenizer
            .encode_batch(capped, true)
            .map_err(|e| rt(format!("tokenizer: {e}")))?;
        // Runs by length, so short texts are not padded to the longest of the whole call.
        let mut order: Vec<usize> = (0..enc.len()).collect();
        order.sort_by_key(|&i| enc[i].get_ids().len());
        // With several threads and several texts, runs go side by side, one thread each: data
        // parallelism scales across cores far better than splitting each matmul.
        let threads = self.config.threads.max(1);
        let parallel = threads > 1 && order.len() > 1;
        let max_take = if parallel {
            order.len().div_ceil(threads).min(MAX_RUN_TEXTS)
        } else {
            MAX_RUN_TEXTS
        };
        let lens: Vec<usize> = order
            .iter()
            .map(|&i| enc[i].get_ids().len().max(1))
            .collect();
        let groups: Vec<&[usize]> = plan_groups(&lens, max_take, self.config.run_tokens)
            .into_iter()
            .map(|(a, b)| &order[a..b])
            .collect();
        let run_group = |g: &[usize], lone: bool| -> RunResult {
            let batch: Vec<&tokenizers::Encoding> = g.iter().map(|&j| &enc[j]).collect();
            let mut buf = vec![0f32; g.len() * d];
            self.run_batch(&batch, &mut buf, lone)?;
            Ok(buf)
        };
        let results: Vec<RunResult> = if parallel && groups.len() > 1 {
            self.side_by_side(&groups, &run_group)?
        } else {
            groups.iter().map(|g| run_group(g, true)).collect()
        };
        for (g, r) in groups.iter().zip(results) {
            let buf = r?;
            for (k, &j) in g.iter().enumerate() {
                out[j * d..(j + 1) * d].copy_from_slice(&buf[k * d..(k + 1) * d]);
            }
        }
        Ok(out)
    }

    /// Run `groups` on up to `threads` threads, each taking the next group: on the crew's threads
    /// when it is free (see `Crew::run_all`), else on scoped threads.
    fn side_by_side(
        &self,
        groups: &[&[usize]],
        run_group: &(dyn Fn(&[usize], bool) -> RunResult + Sync),
    ) -> Result<Vec<RunResult>, EmbedError> {
        let next = AtomicUsize::new(0);
        let slots: Vec<Mutex<Option<RunResult>>> =
            groups.iter().map(|_| Mutex::new(None)).collect();
        let worker = |_: usize| loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= groups.len() {
                break;
            }
            let r = run_group(groups[k], false);
            if let Ok(mut s) = slots[k].lock() {
                *s = Some(r);
            }
        };
        let workers = self.config.threads.max(1).min(groups.len());
        let held = self.crew.as_ref().and_then(|c| c.hold().map(|h| (c, h)));
        match held {
            Some((crew, _hold)) if crew.helpers() + 1 >= workers => crew
                .run_all(workers, &worker)
                .map_err(EmbedError::Runtime)?,
            _ => std::thread::scope(|sc| {
                let hs: Vec<_> = (1..workers).map(|i| sc.spawn(move || worker(i))).collect();
                worker(0);
                hs.into_iter()
                    .try_for_each(|h| h.join().map_err(|_| rt("encoder worker panicked")))
            })?,
        }
        Ok(slots
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| Err(rt("lost a batch")))
            })
            .collect())
    }

    /// Run one padded batch into `out` (`enc.len() × dim`); `lone`: no other run is going on, so
    /// it may use every thread (a crew session), otherwise this thread only.
    fn run_batch(
        &self,
        enc: &[&tokenizers::Encoding],
        out: &mut [f32],
        lone: bool,
    ) -> Result<(), EmbedError> {
        let b = enc.len();
        let s = enc
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(1)
            .max(1);
        let inputs = self.inputs(enc, s)?;
        let _session = if lone {
            self.crew.as_ref().and_then(|c| c.session())
        } else {
            None
        };
        let res = if self.config.profile {
            super::profile::profile_run(&self.plan, inputs)
        } else {
            self.plan.run(inputs)
        }
        .map_err(rt)?;
        let hidden = res[0].to_plain_array_view::<f32>().map_err(rt)?;
        let hs = hidden
            .as_slice()
            .ok_or_else(|| rt("non-contiguous output"))?;
        let d = self.dim;
        if hs.len() != b * s * d {
            return Err(rt(format!(
                "output has {} values, expected {}",
                hs.len(),
                b * s * d
            )));
        }
        for (r, e) in enc.iter().enumerate() {
            let rows = &hs[r * s * d..(r * s + e.get_ids().len()) * d];
            mean_pool(rows, &mut out[r * d..(r + 1) * d]);
        }
        Ok(())
    }

    /// `input_ids`, `attention_mask` (and zero `token_type_ids`) of `enc` padded to `s` tokens.
    fn inputs(&self, enc: &[&tokenizers::Encoding], s: usize) -> Result<TVec<TValue>, EmbedError> {
        let b = enc.len();
        let mut ids = vec![0i64; b * s];
        let mut mask = vec![0i64; b * s];
        for (r, e) in enc.iter().enumerate() {
            for (j, &t) in e.get_ids().iter().enumerate() {
                ids[r * s + j] = t as i64;
                mask[r * s + j] = 1;
            }
        }
        let ids_t = Tensor::from_shape(&[b, s], &ids).map_err(rt)?;
        let mask_t = Tensor::from_shape(&[b, s], &mask).map_err(rt)?;
        let mut inputs: TVec<TValue> = tvec![ids_t.into(), mask_t.into()];
        if self.has_token_types {
            inputs.push(Tensor::zero::<i64>(&[b, s]).map_err(rt)?.into());
        }
        Ok(inputs)
    }
}

/// Mean of the token rows (`tokens × dim`, at least one row counted), L2-normalised, into `out`.
fn mean_pool(rows: &[f32], out: &mut [f32]) {
    let d = out.len();
    out.fill(0.0);
    for row in rows.chunks_exact(d) {
        for (o, v) in out.iter_mut().zip(row) {
            *o += v;
        }
    }
    let len = (rows.len() / d.max(1)).max(1) as f32;
    for o in out.iter_mut() {
        *o /= len;
    }
    crate::kernels::normalize(out);
}
