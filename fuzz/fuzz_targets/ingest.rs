//! Arbitrary bytes as documents: the same bytes as a JSONL, an HTML, a Markdown, a man-page and a gzip file,
//! collected into passages; and HTML stripping on its own.
#![no_main]
use leann_edge::ingest::{collect, html_to_text, IngestOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = html_to_text(&String::from_utf8_lossy(data));
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.jsonl", "b.html", "c.md", "d.1", "e.txt.gz"] {
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let opts = IngestOptions {
        max_tokens: 32,
        overlap_tokens: 8,
        ..IngestOptions::default()
    };
    let (recs, _) = collect(&[dir.path().to_path_buf()], &opts);
    for r in &recs {
        assert!(!r.text.trim().is_empty(), "empty passage {r:?}");
    }
});
