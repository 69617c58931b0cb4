//! Ingest: files and folders of text, Markdown, reStructuredText, HTML, man pages, PDF and DOCX,
//! chunked into passages of
//! about `max_tokens` tokens at paragraph and sentence boundaries, with overlap; or JSONL files of
//! ready passages (`{"id","title","text","metadata"}`, kept as is). File passages carry the file's
//! modification time as metadata field `mtime`. Bad input never aborts: binary files, empty
//! or unreadable files, symlink loops and files over the size cap are skipped and counted; invalid
//! UTF-8 is decoded lossily with a warning.
use crate::passages::PassageRecord;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

mod chunk;
mod documents;
#[cfg(feature = "documents")]
#[doc(hidden)]
pub use documents::samples as document_samples;
#[cfg(feature = "documents")]
pub use documents::{isolate_pdf_in, pdf_helper_main, MAX_PDF_PAGES, PDF_HELPER_ARG};
mod file;
mod html;
mod jsonl;
mod roff;
mod rules;
mod walk;

pub use file::MTIME;
pub use html::html_to_text;
use jsonl::read_jsonl;
pub use jsonl::{valid_field_name, RESERVED_FIELDS};
pub use rules::{check_patterns, DEFAULT_EXCLUDED_DIRS, IGNORE_FILE};

/// Default target tokens per file passage. Chosen by measurement (docs/benchmarks.md, "chunk
/// size"): 128, 192 and 256 found the same answers on a folder corpus within noise; 192 had the
/// lowest median latency, a 22% lower p95 than 256 for 2% more index bytes.
pub const DEFAULT_CHUNK_TOKENS: usize = 192;

/// Ingest options.
#[derive(Clone, Debug)]
pub struct IngestOptions {
    /// Target tokens per passage (approximate count, see [`approx_tokens`]).
    pub max_tokens: usize,
    /// Tokens carried over from the end of one passage into the next.
    pub overlap_tokens: usize,
    /// Files larger than this are skipped.
    pub max_file_bytes: u64,
    /// Follow symlinks inside the given folders to files or folders outside them (off: such links
    /// are skipped and counted, so a link to `/etc/passwd` is never indexed by accident).
    pub follow_symlinks: bool,
    /// Only files matching one of these gitignore-style patterns (none: every file).
    pub include: Vec<String>,
    /// Skip what matches these gitignore-style patterns (relative to each given path).
    pub exclude: Vec<String>,
    /// Data memory the PDF reader (a child process) may use; a PDF that needs more is skipped and
    /// counted. `None`: the board's ([`IngestOptions::for_board`]), else 1 GiB.
    pub pdf_memory_bytes: Option<u64>,
}

impl IngestOptions {
    /// Fill what is left to the board: the PDF reader's memory ([`crate::boards::Board::pdf_memory_bytes`]).
    pub fn for_board(mut self, b: &crate::boards::Board) -> Self {
        self.pdf_memory_bytes.get_or_insert(b.pdf_memory_bytes());
        self
    }
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_tokens: DEFAULT_CHUNK_TOKENS,
            overlap_tokens: 32,
            max_file_bytes: 16 << 20,
            follow_symlinks: false,
            include: Vec::new(),
            exclude: Vec::new(),
            pdf_memory_bytes: None,
        }
    }
}

/// What ingest did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IngestSummary {
    /// Files read.
    pub files: u64,
    /// Passages made.
    pub passages: u64,
    /// Input bytes read (text files and JSONL).
    pub bytes: u64,
    /// Skipped files/lines by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Files decoded lossily (invalid UTF-8).
    pub lossy_utf8: u64,
    /// Up to 20 examples `path: reason`.
    pub examples: Vec<String>,
    /// Paths that exist but could not be read this time (permissions, I/O errors), as sources are
    /// written: `sync` keeps the passages it has of them instead of removing them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

impl IngestSummary {
    fn skip(&mut self, path: &Path, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        if self.examples.len() < 20 {
            self.examples.push(format!("{}: {reason}", path.display()));
        }
        log::info!("skipped {}: {reason}", path.display());
    }
    /// Count a path that exists but could not be read (kept by `sync`).
    fn skip_unreadable(&mut self, path: &Path, reason: &str) {
        self.unreadable.push(path.display().to_string());
        self.skip(path, reason);
    }
    /// Total skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Approximate MiniLM word-piece count: words plus punctuation runs, ×1.25 for sub-words.
pub fn approx_tokens(s: &str) -> usize {
    let mut n = 0usize;
    for w in s.split_whitespace() {
        n += 1 + w
            .chars()
            .filter(|c| c.is_ascii_punctuation())
            .count()
            .min(4);
    }
    n + n / 4
}

/// Collect passages from files and folders.
pub fn collect(paths: &[PathBuf], opts: &IngestOptions) -> (Vec<PassageRecord>, IngestSummary) {
    let mut w = walk::Walker::new(opts, paths);
    for p in paths {
        w.walk_root(p);
    }
    w.sum.passages = w.out.len() as u64;
    (w.out, w.sum)
}

/// Passages from JSONL text (one `{"id","title","text"}` record per line) that did not come from a
/// file, e.g. documents posted to the service; `origin` names it in skip reasons.
pub fn jsonl_records(
    text: &str,
    origin: &str,
    opts: &IngestOptions,
) -> (Vec<PassageRecord>, IngestSummary) {
    let mut out = Vec::new();
    let mut sum = IngestSummary::default();
    read_jsonl(
        text,
        Path::new(origin),
        opts,
        &mut out,
        &mut sum,
        &mut HashMap::new(),
    );
    sum.passages = out.len() as u64;
    (out, sum)
}

/// A file's stem, the title of passages whose file names none.
pub(super) fn file_title(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod hostile_input_tests {
    use super::chunk::WORD_BYTES_PER_TOKEN;
    use super::*;

    #[test]
    fn one_huge_word_and_long_records_become_passages_of_bounded_size() {
        let dir = tempfile::tempdir().unwrap();
        let opts = IngestOptions::default();
        let limit = opts.max_tokens * WORD_BYTES_PER_TOKEN + 64;
        // A 2 MB file of one "word".
        let word = dir.path().join("word.txt");
        std::fs::write(&word, "x".repeat(2 << 20)).unwrap();
        let (recs, _) = collect(&[word], &opts);
        assert!(recs.len() > 100, "{} passages", recs.len());
        assert!(recs.iter().all(|r| r.text.len() <= limit));
        // A JSONL record of 40,000 words: split, the first keeping the id.
        let jsonl = dir.path().join("c.jsonl");
        let long = "lorem ipsum dolor sit amet ".repeat(8000);
        let short = "{\"id\":\"s\",\"text\":\"short\"}";
        std::fs::write(
            &jsonl,
            format!("{{\"id\":\"L\",\"text\":\"{long}\"}}\n{short}\n"),
        )
        .unwrap();
        let (recs, sum) = collect(&[jsonl], &opts);
        assert_eq!(recs[0].id.as_deref(), Some("L"));
        assert_eq!(recs[1].id.as_deref(), Some("L#2"));
        assert_eq!(recs.last().unwrap().id.as_deref(), Some("s"));
        assert!(recs
            .iter()
            .all(|r| approx_tokens(&r.text) <= 2 * opts.max_tokens));
        assert_eq!(sum.skipped_total(), 0, "{sum:?}");
    }

    #[test]
    fn a_file_over_the_cap_is_skipped_naming_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big.jsonl");
        std::fs::write(&f, "{\"id\":\"a\",\"text\":\"x\"}\n".repeat(100)).unwrap();
        let opts = IngestOptions {
            max_file_bytes: 1000,
            ..IngestOptions::default()
        };
        let (recs, sum) = collect(&[f], &opts);
        assert!(recs.is_empty());
        assert!(
            sum.skipped.keys().any(|k| k.contains("--max-file-mib")),
            "{sum:?}"
        );
    }

    /// Ingest time is linear in the input: `cargo test --release --lib ingest_time -- --ignored
    /// --nocapture` prints the time of a 50 MB one-line file (398 s before line counting was made
    /// incremental). Not a timed assertion: a measurement.
    #[test]
    #[ignore]
    fn ingest_time_of_a_50_mb_one_line_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("one-line.txt");
        std::fs::write(&f, "lorem ipsum dolor sit amet ".repeat(2_000_000)).unwrap();
        let opts = IngestOptions {
            max_file_bytes: 64 << 20,
            ..IngestOptions::default()
        };
        let t = std::time::Instant::now();
        let (recs, _) = collect(&[f], &opts);
        eprintln!(
            "50 MB one-line file: {} passages in {:.2} s",
            recs.len(),
            t.elapsed().as_secs_f64()
        );
    }

    #[test]
    fn line_numbers_follow_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.md");
        let paras: Vec<String> = (0..400)
            .map(|i| format!("Paragraph {i} says {}.", "word ".repeat(60)))
            .collect();
        std::fs::write(&f, paras.join("\n\n")).unwrap();
        let (recs, _) = collect(&[f], &IngestOptions::default());
        assert!(recs.len() > 20);
        for r in &recs {
            let s = r.source.as_ref().unwrap();
            // Paragraph i starts on line 2i + 1.
            let i: u64 = r.text.split_whitespace().nth(1).unwrap().parse().unwrap();
            assert_eq!(s.line, 2 * i + 1, "{}", &r.text[..30]);
        }
    }
}

#[cfg(test)]
mod real_folder_tests {
    use super::*;

    #[test]
    fn html_passages_name_lines_of_the_file_and_entities_are_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.html");
        let mut html = String::from("<html><head><title>Guide &#8212; one</title></head><body>\n");
        for i in 0..200 {
            html.push_str(&format!(
                "<p>\n  Para{i} says &ldquo;{}&rdquo;.\n</p>\n",
                "word ".repeat(40)
            ));
        }
        std::fs::write(&f, &html).unwrap();
        let (recs, _) = collect(&[f], &IngestOptions::default());
        assert!(recs.len() > 10);
        assert_eq!(recs[0].title, "Guide — one");
        let lines: Vec<&str> = html.lines().collect();
        for r in &recs {
            assert!(!r.text.contains("&ldquo;") && r.text.contains('“'));
            let s = r.source.as_ref().unwrap();
            let first = r.text.split_whitespace().next().unwrap();
            assert!(
                lines[s.line as usize - 1].contains(first.trim_start_matches('“')),
                "line {} of the file does not hold {first:?}",
                s.line
            );
            assert!(html[s.byte_start as usize..].starts_with(first));
        }
    }

    #[test]
    fn passages_starting_mid_line_after_entities_point_at_or_before_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("one-line.html");
        let html = format!(
            "<html><body>\n<p>{}</p>\n</body></html>\n",
            "&lt;ééé&gt; word. ".repeat(3000)
        );
        std::fs::write(&f, &html).unwrap();
        let (recs, _) = collect(&[f], &IngestOptions::default());
        assert!(recs.len() > 5);
        for r in &recs {
            let s = r.source.as_ref().unwrap();
            let (a, b) = (s.byte_start as usize, s.byte_end as usize);
            assert!(html.is_char_boundary(a) && html.is_char_boundary(b) && a <= b);
            assert_eq!(s.line, 2, "every passage is on the paragraph's line");
        }
    }

    #[test]
    fn titles_come_from_headings_of_prose_never_from_code() {
        let dir = tempfile::tempdir().unwrap();
        let w = |n: &str, t: &str| std::fs::write(dir.path().join(n), t).unwrap();
        w(
            "io.c",
            "#include <stdint.h>\n\nint main(void) { return 0; }\n",
        );
        w("run.py", "#!/usr/bin/env python3\n# set up\nprint(1)\n");
        w(
            "guide.md",
            "#hashtag line\n\n## Getting started ##\n\nText.\n",
        );
        w(
            "ls.1",
            ".TH LS 1\n.SH NAME\nls \\- list directory contents\n.SH DESCRIPTION\nList files.\n",
        );
        let (recs, _) = collect(&[dir.path().to_path_buf()], &IngestOptions::default());
        let title = |name: &str| {
            recs.iter()
                .find(|r| r.source.as_ref().unwrap().path.ends_with(name))
                .map(|r| r.title.clone())
                .unwrap()
        };
        assert_eq!(title("io.c"), "io");
        assert_eq!(title("run.py"), "run");
        assert_eq!(title("guide.md"), "Getting started");
        assert_eq!(title("ls.1"), "ls - list directory contents");
    }
}

#[cfg(test)]
mod folder_rules_tests {
    use super::*;
    use std::io::Write;

    fn sources(recs: &[PassageRecord], root: &Path) -> Vec<String> {
        let mut v: Vec<String> = recs
            .iter()
            .filter_map(|r| r.source.as_ref())
            .map(|s| {
                Path::new(&s.path)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        v.dedup();
        v
    }

    #[test]
    fn include_exclude_leannignore_default_excludes_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let w = |n: &str, t: &[u8]| {
            let f = root.join(n);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        };
        w("a.md", b"# A\n\nalpha text\n");
        w("notes.log", b"log line\n");
        w("drafts/d.md", b"draft text\n");
        w("keep/k.md", b"kept text\n");
        w("keep/secret.md", b"secret text\n");
        w("keep/.leannignore", b"secret.md\n*.txt\n!important.txt\n");
        w("keep/x.txt", b"ignored text\n");
        w("keep/important.txt", b"re-included text\n");
        w("node_modules/pkg/readme.md", b"dependency text\n");
        w(
            "target/CACHEDIR.TAG",
            b"Signature: 8a477f597d28d172789f06886806bc55\n",
        );
        w("target/out.md", b"build output text\n");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b".TH LS 1\n.SH NAME\nls \\- list directory contents\n")
            .unwrap();
        w("man/ls.1.gz", &gz.finish().unwrap());
        w("bad.txt.gz", b"\x1f\x8b not really gzip");
        let opts = IngestOptions {
            exclude: vec!["*.log".into(), "drafts/".into()],
            ..IngestOptions::default()
        };
        let (recs, sum) = collect(&[root.to_path_buf()], &opts);
        assert_eq!(
            sources(&recs, root),
            ["a.md", "keep/important.txt", "keep/k.md", "man/ls.1.gz"],
            "{sum:?}"
        );
        let ls = recs.iter().find(|r| r.title.starts_with("ls")).unwrap();
        assert_eq!(ls.title, "ls - list directory contents");
        for (why, n) in [
            ("excluded by --exclude", 2),
            ("excluded by .leannignore", 2),
            (
                "dependency, cache or build folder (give the folder itself to index it)",
                2,
            ),
            ("not valid gzip", 1),
        ] {
            assert_eq!(sum.skipped.get(why), Some(&n), "{why}: {sum:?}");
        }
        // --include keeps only matching files; a folder given itself is indexed whole.
        let opts = IngestOptions {
            include: vec!["*.md".into()],
            ..IngestOptions::default()
        };
        let (recs, _) = collect(&[root.to_path_buf()], &opts);
        assert_eq!(sources(&recs, root), ["a.md", "drafts/d.md", "keep/k.md"]);
        let opts = IngestOptions {
            include: vec!["keep/".into()],
            ..IngestOptions::default()
        };
        let (recs, _) = collect(&[root.to_path_buf()], &opts);
        assert_eq!(
            sources(&recs, root),
            ["keep/important.txt", "keep/k.md"],
            "a folder pattern"
        );
        let (recs, _) = collect(&[root.join("target")], &IngestOptions::default());
        assert_eq!(
            sources(&recs, root),
            ["target/CACHEDIR.TAG", "target/out.md"]
        );
        assert!(check_patterns(&["ok/**".into()]).is_ok());
        assert!(
            check_patterns(&["[z-a]".into()]).is_err() && check_patterns(&["{a,b".into()]).is_err()
        );
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Inputs the fuzzer found (fuzz/run.sh), as the ingest target feeds them: the same bytes as a
    /// JSONL, an HTML, a Markdown, a man-page and a gzip file.
    fn collect_as_every_kind(data: &[u8]) -> Vec<PassageRecord> {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jsonl", "b.html", "c.md", "d.1", "e.txt.gz"] {
            std::fs::write(dir.path().join(name), data).unwrap();
        }
        let opts = IngestOptions {
            max_tokens: 32,
            overlap_tokens: 8,
            ..IngestOptions::default()
        };
        collect(&[dir.path().to_path_buf()], &opts).0
    }

    #[test]
    fn no_passage_is_empty() {
        let data = include_bytes!("../../tests/fixtures/fuzz/ingest-empty-passage.bin");
        for r in collect_as_every_kind(data) {
            assert!(!r.text.trim().is_empty(), "empty passage {r:?}");
        }
    }
}
