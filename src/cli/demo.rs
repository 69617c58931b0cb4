//! `leann-edge demo`: index the bundled example corpus and answer a few questions.
use super::common::{open_index, Global};
use anyhow::{Context, Result};
use leann_edge::engine::build::{BuildOptions, Inputs};
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
    let o = BuildOptions {
        params: BuildParams {
            embed_batch: b.encoder_batch,
            ..BuildParams::default()
        },
        keep_vectors: false,
    };
    let inputs = Inputs::Paths(vec![corpus], IngestOptions::default());
    super::build::build_with_output(g, inputs, &out, &o, false)?;
    answer(g, &out)
}

fn answer(g: &Global, out: &Path) -> Result<()> {
    let idx = open_index(out)?;
    let br = idx.breakdown();
    println!(
        "index: {} passages, {} bytes on disk, of which {} passage text; overhead {:.1} B/passage \
         (what the index adds to the text it holds: no embeddings are stored)",
        br.passages,
        br.total,
        text_bytes(&br),
        br.overhead as f64 / br.passages.max(1) as f64
    );
    drop(idx);
    let engine = g.engine(out, |_| {})?;
    for q in QUESTIONS {
        let r = engine.search(&leann_edge::SearchRequest::new(q))?;
        println!("\nQ: {q}");
        for h in &r.hits {
            let src = h.source.as_deref().unwrap_or(&h.id);
            let name = Path::new(src)
                .file_name()
                .map_or_else(|| src.to_string(), |f| f.to_string_lossy().into_owned());
            let text: String = h.text.chars().take(140).collect();
            println!(
                "  {}. [{:.3}] {name}  {}",
                h.rank,
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
    println!(
        "\nNext: index your own files with `leann-edge build ~/docs -o docs.leann`, then \
         `leann-edge search docs.leann \"your question\"` or `leann-edge serve docs.leann`."
    );
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
