//! `leann-edge demo`: index the bundled example corpus and answer a few questions.
use super::build::Job;
use super::common::{open_index, Global};
use anyhow::{anyhow, Result};
use leann_edge::index::listing::text_bytes;
use leann_edge::index::BuildParams;
use leann_edge::ingest::IngestOptions;
use std::path::{Path, PathBuf};

const QUESTIONS: [&str; 4] = [
    "How much memory does the Raspberry Pi Zero 2 W have?",
    "What is product quantization?",
    "how do I keep my sourdough starter alive",
    "Which planet has the most moons?",
];

/// Run `demo`.
pub fn run(g: &Global) -> Result<()> {
    let b = g.board()?;
    let corpus = find_demo_corpus()?;
    let out = std::env::temp_dir().join(format!("leann-edge-demo-{}.leann", std::process::id()));
    eprintln!("indexing the example corpus in {} ...", corpus.display());
    let job = Job {
        paths: &[corpus],
        output: &out,
        params: BuildParams {
            embed_batch: b.encoder_batch,
            ..BuildParams::default()
        },
        ingest: IngestOptions::default(),
        keep_vectors: false,
        quiet: false,
    };
    job.run(g, &b)?;
    let res = answer(g, &b, &out);
    let _ = std::fs::remove_file(&out);
    res
}

fn answer(g: &Global, b: &leann_edge::boards::Board, out: &Path) -> Result<()> {
    let idx = open_index(out)?;
    let br = idx.breakdown();
    println!(
        "index: {} passages, {} bytes on disk, of which {} passage text; overhead {:.1} B/passage",
        br.passages,
        br.total,
        text_bytes(&br),
        br.overhead as f64 / br.passages.max(1) as f64
    );
    let enc = g.encoder(b)?;
    let p = b.search_params();
    let mut se = idx.searcher(&enc, p.cache_capacity)?;
    for q in QUESTIONS {
        let r = se.search_text(q, &p)?;
        println!("\nQ: {q}");
        for (i, h) in r.hits.iter().enumerate() {
            let ps = idx.passage(h.id)?;
            let file = |s: &leann_edge::passages::Source| {
                let name = Path::new(&s.path)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned());
                format!("{}:{}", name.unwrap_or_default(), s.line)
            };
            let src = ps.source.as_ref().map(file).unwrap_or_default();
            let text: String = ps.text.chars().take(140).collect();
            println!(
                "  {}. [{:.3}] {src}  {}",
                i + 1,
                h.score,
                super::common::printable(&text.replace('\n', " "))
            );
        }
        println!(
            "  ({} ms, {} passages recomputed)",
            r.stats.micros / 1000,
            r.stats.recomputed
        );
    }
    Ok(())
}

fn find_demo_corpus() -> Result<PathBuf> {
    let rel = PathBuf::from("examples/corpus");
    if rel.is_dir() {
        return Ok(rel);
    }
    if let Ok(exe) = std::env::current_exe() {
        for a in exe.ancestors().skip(1) {
            let c = a.join("examples/corpus");
            if c.is_dir() {
                return Ok(c);
            }
        }
    }
    Err(anyhow!(
        "the example corpus (examples/corpus) was not found; run the demo from the repository root"
    ))
}
