//! `leann-edge search`: one query against an index.
use super::common::{printable, Global, SearchOpts};
use anyhow::Result;
use clap::Args;
use leann_edge::engine::{Clauses, SearchDefaults, SearchRequest};
use leann_edge::index::AnswerHit;
use leann_edge::search::SearchStats;
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
    /// Keep hits that repeat a better hit's text. By default a hit is dropped when its passage is
    /// identical to a better hit's, or — same document — shares its start or end with one
    /// (neighbouring chunks overlap by `--overlap-tokens`).
    #[arg(long)]
    pub keep_overlaps: bool,
    /// Drop hits scoring below this cosine similarity (e.g. 0.4), so a question with no good
    /// answer gets none instead of the least bad passages.
    #[arg(long, allow_hyphen_values = true)]
    pub min_score: Option<f32>,
    /// Only passages where FIELD OP VALUE holds (repeatable: all must hold). Fields: source, type,
    /// title, id, mtime (seconds or a UTC date: `mtime>=2024-05-01`) and the JSONL `metadata`
    /// fields of the index (`lang=en`, `year>=2024`); ops = != < <= > >=; `source=docs/faq/**` is
    /// a glob.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Only passages whose title or text matches this regular expression (`(?i)` ignores case).
    #[arg(long, value_name = "PATTERN")]
    pub grep: Option<String>,
}

/// Run `search`.
pub fn run(g: &Global, a: &SearchArgs) -> Result<()> {
    let req = SearchRequest {
        min_score: a.min_score,
        group_by_doc: Some(a.group_by_doc),
        keep_overlaps: Some(a.keep_overlaps),
        filter: (!a.filters.is_empty()).then(|| Clauses::List(a.filters.clone())),
        grep: a.grep.clone(),
        ..a.s.request(&a.query)
    };
    // Everything the request says is checked before the index and encoder are loaded.
    a.s.check_flags()?;
    let b = g.board()?;
    req.resolve(&SearchDefaults::from_options(&g.engine_options(), &b)?)?;
    let engine = g.engine(&a.index, |_| {})?;
    let ans = engine.search(&req)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&ans)?);
        return Ok(());
    }
    print_text(&ans.hits);
    if let (true, Some(b), Some(m)) = (ans.hits.is_empty(), ans.best_score, a.min_score) {
        println!("nothing relevant: the best passage scored {b:.3}, below --min-score {m}");
    }
    if a.stats {
        print_stats(&ans.stats);
    }
    Ok(())
}

/// Characters of passage text shown per hit.
const SNIPPET_CHARS: usize = 400;

fn print_text(hits: &[AnswerHit]) {
    for h in hits {
        let src = h.source.clone().unwrap_or_else(|| h.id.clone());
        let title = if h.title.is_empty() {
            String::new()
        } else {
            format!("  — {}", h.title)
        };
        println!(
            "{}. [{:.3}] {}",
            h.rank,
            h.score,
            printable(&format!("{src}{title}"))
        );
        let fields: Vec<String> = h
            .metadata
            .iter()
            .filter(|(k, _)| k.as_str() != leann_edge::ingest::MTIME)
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), String::from)
                )
            })
            .collect();
        if !fields.is_empty() {
            println!("   {}", printable(&fields.join(" ")));
        }
        let text: String = h.text.chars().take(SNIPPET_CHARS).collect();
        let text = printable(&text);
        let more = if h.text.chars().count() > SNIPPET_CHARS {
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
