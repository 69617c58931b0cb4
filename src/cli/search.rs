//! `leann-edge search`: one query against an index.
use super::common::{open_index, printable, Global, SearchOpts};
use anyhow::Result;
use clap::Args;
use leann_edge::passages::Passage;
use leann_edge::search::{Hit, SearchStats};
use serde_json::json;
use std::path::PathBuf;

/// Search an index.
#[derive(Args, Clone, Debug)]
pub struct SearchArgs {
    /// Index file.
    pub index: PathBuf,
    /// What to look for.
    pub query: String,
    #[command(flatten)]
    pub s: SearchOpts,
    /// One JSON document.
    #[arg(long)]
    pub json: bool,
    /// Show what the query cost.
    #[arg(long)]
    pub stats: bool,
    /// One hit per document (source file, or JSONL record), its best passage: overlapping chunks
    /// of one file do not fill the results.
    #[arg(long)]
    pub group_by_doc: bool,
    /// Drop hits scoring below this cosine similarity (e.g. 0.4), so a question with no good
    /// answer gets none instead of the least bad passages.
    #[arg(long)]
    pub min_score: Option<f32>,
}

/// Run `search`.
pub fn run(g: &Global, a: &SearchArgs) -> Result<()> {
    let b = g.board()?;
    let mut p = a.s.params(&b)?;
    leann_edge::search::check_query(&a.query)?;
    if let Some(m) = a.min_score {
        if !(-1.0..=1.0).contains(&m) {
            anyhow::bail!("--min-score {m} is out of range: cosine similarities lie in [-1, 1]");
        }
    }
    let k = p.k;
    if a.group_by_doc {
        // More candidates, so that k documents remain after grouping (within the recompute
        // count at the defaults: 4 × 3 = 12 < 20).
        p.k = (k * 4).min(leann_edge::search::MAX_K);
    }
    let idx = open_index(&a.index)?;
    let enc = g.encoder(&b)?;
    let mut se = idx.searcher(&enc, p.cache_capacity)?;
    let mut r = se.search_text(&a.query, &p)?;
    let best = r.hits.first().map(|h| h.score);
    if let Some(m) = a.min_score {
        r.hits.retain(|h| h.score >= m);
    }
    let mut hits: Vec<(&Hit, Passage)> = r
        .hits
        .iter()
        .map(|h| idx.passage(h.id).map(|ps| (h, ps)))
        .collect::<Result<_, _>>()?;
    if a.group_by_doc {
        let mut seen = std::collections::HashSet::new();
        hits.retain(|(_, ps)| seen.insert(doc_of(ps)));
        hits.truncate(k);
    }
    if a.json {
        print_json(&a.query, &hits, &r.stats)
    } else {
        print_text(&hits);
        if let (true, Some(b), Some(m)) = (hits.is_empty(), best, a.min_score) {
            println!("nothing relevant: the best passage scored {b:.3}, below --min-score {m}");
        }
        if a.stats {
            print_stats(&r.stats);
        }
        Ok(())
    }
}

/// The document a passage belongs to: its source file, else its JSONL record id (`ID#k` → `ID`).
fn doc_of(ps: &Passage) -> String {
    match &ps.source {
        Some(s) => s.path.clone(),
        None => leann_edge::passages::record_id(&ps.id).to_string(),
    }
}

/// `path:line` of a file passage, else its id.
pub fn source_of(ps: &Passage) -> Option<String> {
    ps.source.as_ref().map(|s| format!("{}:{}", s.path, s.line))
}

fn print_json(query: &str, hits: &[(&Hit, Passage)], stats: &SearchStats) -> Result<()> {
    let hs: Vec<_> = hits
        .iter()
        .enumerate()
        .map(|(i, (h, ps))| {
            json!({"rank": i + 1, "id": ps.id, "node": h.id, "score": h.score,
                   "title": ps.title, "source": source_of(ps), "text": ps.text})
        })
        .collect();
    let doc = json!({"query": query, "hits": hs, "stats": stats});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

/// Characters of passage text shown per hit.
const SNIPPET_CHARS: usize = 400;

fn print_text(hits: &[(&Hit, Passage)]) {
    for (i, (h, ps)) in hits.iter().enumerate() {
        let src = source_of(ps).unwrap_or_else(|| ps.id.clone());
        let title = if ps.title.is_empty() {
            String::new()
        } else {
            format!("  — {}", ps.title)
        };
        println!(
            "{}. [{:.3}] {}",
            i + 1,
            h.score,
            printable(&format!("{src}{title}"))
        );
        let text: String = ps.text.chars().take(SNIPPET_CHARS).collect();
        let text = printable(&text);
        let more = if ps.text.chars().count() > SNIPPET_CHARS {
            " …"
        } else {
            ""
        };
        println!("   {}{more}\n", text.replace('\n', "\n   "));
    }
    if hits.is_empty() {
        println!("no results");
    }
}

fn print_stats(st: &SearchStats) {
    println!(
        "stats: {} ms total ({} ms encoder), {} passages recomputed in {} encoder calls, \
         {} PQ distances, {} hops, neighbour cache {} hits / {} misses, {} bytes read",
        st.micros / 1000,
        st.embed_micros / 1000,
        st.recomputed,
        st.embed_calls,
        st.pq_distances,
        st.hops,
        st.cache_hits,
        st.cache_misses,
        st.bytes_read
    );
}
