//! What the targets share: exercise an opened index the way search does.
use leann_edge::embed::{EmbedError, Embedder};
use leann_edge::flash::FlashSource;
use leann_edge::index::Index;
use leann_edge::search::{Mode, SearchParams};

/// An embedder that claims whatever model the index names and returns one fixed unit vector.
pub struct Echo {
    pub dim: usize,
    pub fingerprint: String,
}

impl Embedder for Echo {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        let x = 1.0 / (self.dim as f32).sqrt();
        Ok(vec![x; texts.len() * self.dim])
    }
    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

/// Verify, read passages, metadata and neighbours, filter, and search (both modes) — errors are
/// fine, panics not.
pub fn exercise<S: FlashSource>(idx: &Index<S>) {
    let _ = idx.verify();
    let _ = idx.breakdown();
    let mut out = Vec::new();
    for v in 0..idx.len().min(40) as u32 {
        let _ = idx.passage(v);
        let _ = idx.passage_metadata(v);
        let _ = idx.neighbors(v, &mut out);
    }
    let clauses = ["lang=en".to_string(), "year>=2003".to_string()];
    if let Ok(f) = leann_edge::index::filter::Filter::parse(&clauses, None) {
        let _ = f.allowed(idx);
    }
    let dim = idx.meta().dim as usize;
    if dim == 0 || dim > 4096 {
        return;
    }
    let e = Echo {
        dim,
        fingerprint: idx.meta().encoder.clone(),
    };
    let q = vec![1.0 / (dim as f32).sqrt(); dim];
    for mode in [Mode::PqFirst, Mode::TwoLevel] {
        let p = SearchParams {
            k: 3,
            ef: 16,
            mode,
            ..SearchParams::default()
        };
        if let Ok(mut s) = idx.searcher(&e, 64) {
            let _ = s.search_vector(&q, &p);
            let _ = s.search_text("fuzz", &p);
        }
    }
}
