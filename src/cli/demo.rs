//! `leann-edge demo`: index the bundled example corpus and answer a few questions.
use super::build::Job;
use super::common::{open_index, Global};
use anyhow::{Context, Result};
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
    g.model_dir()?; // a missing model is said before anything is written
    let work = std::env::temp_dir().join(format!("leann-edge-demo-{}", std::process::id()));
    let res = demo_in(g, &b, &work);
    let _ = std::fs::remove_dir_all(&work);
    res
}

fn demo_in(g: &Global, b: &leann_edge::boards::Board, work: &Path) -> Result<()> {
    let corpus = write_demo_corpus(work)?;
    let out = work.join("demo.leann");
    eprintln!(
        "indexing the example corpus ({} small documents) ...",
        CORPUS.len()
    );
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
    job.run(g, b)?;
    answer(g, b, &out)
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
    let enc = g.encoder_for(b, &idx)?;
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

/// The example corpus, compiled in, so that `demo` works from any folder (`examples/corpus` in
/// the repository; its `firmware.bin` shows a skipped binary file and is left out here).
const CORPUS: [(&str, &str); 6] = [
    (
        "espresso.md",
        include_str!("../../examples/corpus/espresso.md"),
    ),
    (
        "planets.html",
        include_str!("../../examples/corpus/planets.html"),
    ),
    ("pq.md", include_str!("../../examples/corpus/pq.md")),
    (
        "python-faq.rst",
        include_str!("../../examples/corpus/python-faq.rst"),
    ),
    (
        "raspberry-pi.md",
        include_str!("../../examples/corpus/raspberry-pi.md"),
    ),
    (
        "sourdough.txt",
        include_str!("../../examples/corpus/sourdough.txt"),
    ),
];

/// Write the example corpus into `dir/corpus`.
fn write_demo_corpus(dir: &Path) -> Result<PathBuf> {
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).with_context(|| format!("{}", corpus.display()))?;
    for (name, text) in CORPUS {
        let f = corpus.join(name);
        std::fs::write(&f, text).with_context(|| format!("{}", f.display()))?;
    }
    Ok(corpus)
}
