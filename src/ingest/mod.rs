//! Ingest: files and folders of text, Markdown, reStructuredText and HTML, chunked into passages of
//! about `max_tokens` tokens at paragraph and sentence boundaries, with overlap; or JSONL files of
//! ready passages (`{"id","title","text","metadata"}`, kept as is). File passages carry the file's
//! modification time as metadata field `mtime`. Bad input never aborts: binary files, empty
//! or unreadable files, symlink loops and files over the size cap are skipped and counted; invalid
//! UTF-8 is decoded lossily with a warning.
use crate::metadata::MetaValue;
use crate::passages::PassageRecord;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

mod chunk;
mod html;
mod jsonl;
mod roff;

use chunk::chunk_into;
pub use html::html_to_text;
use jsonl::read_jsonl;
pub use jsonl::{valid_field_name, RESERVED_FIELDS};

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
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            max_tokens: 256,
            overlap_tokens: 32,
            max_file_bytes: 16 << 20,
            follow_symlinks: false,
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
}

impl IngestSummary {
    fn skip(&mut self, path: &Path, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        if self.examples.len() < 20 {
            self.examples.push(format!("{}: {reason}", path.display()));
        }
        log::info!("skipped {}: {reason}", path.display());
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
    let mut out = Vec::new();
    let mut sum = IngestSummary::default();
    let mut seen = HashSet::new();
    let roots: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut ids = HashMap::new();
    for p in paths {
        walk(p, opts, &mut out, &mut sum, &mut seen, 0, &roots, &mut ids);
    }
    sum.passages = out.len() as u64;
    (out, sum)
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

/// Whether `p` (inside a given folder) is a symlink leading outside every given path.
fn leaves_roots(p: &Path, roots: &[PathBuf]) -> bool {
    let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    is_link
        && std::fs::canonicalize(p).is_ok_and(|target| !roots.iter().any(|r| target.starts_with(r)))
}

#[allow(clippy::too_many_arguments)]
fn walk(
    p: &Path,
    opts: &IngestOptions,
    out: &mut Vec<PassageRecord>,
    sum: &mut IngestSummary,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
    roots: &[PathBuf],
    ids: &mut HashMap<String, usize>,
) {
    if depth > 64 {
        sum.skip(p, "nested too deep");
        return;
    }
    if depth > 0 && !opts.follow_symlinks && leaves_roots(p, roots) {
        sum.skip(
            p,
            "symlink leading outside the indexed folders (--follow-symlinks to index it)",
        );
        return;
    }
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            let lm = std::fs::symlink_metadata(p);
            sum.skip(
                p,
                if lm.is_ok_and(|m| m.file_type().is_symlink()) {
                    "broken or looping symlink"
                } else if e.kind() == std::io::ErrorKind::NotFound {
                    "not found"
                } else {
                    "unreadable"
                },
            );
            return;
        }
    };
    if meta.is_dir() {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if !seen.insert(canon) {
            sum.skip(p, "symlink loop (folder already visited)");
            return;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => {
                sum.skip(p, "unreadable folder");
                return;
            }
        };
        entries.sort();
        for e in entries {
            if e.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            walk(&e, opts, out, sum, seen, depth + 1, roots, ids);
        }
        return;
    }
    if !meta.is_file() {
        sum.skip(p, "not a regular file");
        return;
    }
    if meta.len() > opts.max_file_bytes {
        sum.skip(p, "larger than --max-file-mib (raise it to index the file)");
        return;
    }
    let bytes = match std::fs::read(p) {
        Ok(b) => b,
        Err(_) => {
            sum.skip(p, "unreadable");
            return;
        }
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        sum.skip(p, "empty");
        return;
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        sum.skip(p, "binary");
        return;
    }
    let text = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            sum.lossy_utf8 += 1;
            log::info!("{}: invalid UTF-8, decoded lossily", p.display());
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    // A byte-order mark is not text (and would hide a JSONL file's first record).
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    };
    sum.files += 1;
    sum.bytes += text.len() as u64;
    let ext = p
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let path_s = p.display().to_string();
    let first = out.len();
    match ext.as_str() {
        "jsonl" => return read_jsonl(&text, p, opts, out, sum, ids),
        "html" | "htm" | "xhtml" => {
            let t = html::html_text(&text);
            let title = t.title.clone().unwrap_or_else(|| file_title(p));
            chunk_into(&t.text, &title, &path_s, opts, out, false);
            point_into_file(&text, &t, &mut out[first..]);
        }
        _ if roff::is_man_page(&file_name(p)) && roff::looks_like_roff(&text) => {
            let (title, body) = roff::roff_to_text(&text);
            let title = title.unwrap_or_else(|| file_title(p));
            chunk_into(&body, &title, &path_s, opts, out, false);
        }
        _ => {
            // Headings only where the format has them: a `#` line of C or Python is code.
            let prose = matches!(
                ext.as_str(),
                "md" | "markdown" | "mdx" | "rst" | "txt" | "text" | ""
            );
            let title = prose
                .then(|| first_heading(&text))
                .flatten()
                .unwrap_or_else(|| file_title(p));
            chunk_into(&text, &title, &path_s, opts, out, true);
        }
    }
    if let Some(secs) = mtime_secs(&meta) {
        let md = vec![(MTIME.to_string(), MetaValue::Number(secs.to_string()))];
        for r in &mut out[first..] {
            r.metadata = md.clone();
        }
    }
}

/// Make the sources of passages cut from an HTML file's text name bytes and lines of the file.
fn point_into_file(file: &str, t: &html::HtmlText, recs: &mut [PassageRecord]) {
    let (mut at, mut line) = (0usize, 1u64);
    for s in recs.iter_mut().filter_map(|r| r.source.as_mut()) {
        let start = t.file_offset(s.byte_start as usize).min(file.len()).max(at);
        line += file.as_bytes()[at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        at = start;
        s.byte_start = start as u64;
        s.byte_end =
            (t.file_offset(s.byte_end as usize) as u64).clamp(s.byte_start, file.len() as u64);
        s.line = line;
    }
}

/// The metadata field holding a file's modification time (seconds since 1970, UTC).
pub const MTIME: &str = "mtime";

fn mtime_secs(meta: &std::fs::Metadata) -> Option<i64> {
    let t = meta.modified().ok()?;
    Some(match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn file_title(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn first_heading(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().take(40).collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        // ATX heading: 1-6 `#` and a space (`#include`, `#!/bin/sh` are not headings).
        let hashes = t.bytes().take_while(|&b| b == b'#').count();
        if (1..=6).contains(&hashes) && t[hashes..].starts_with([' ', '\t']) {
            let h = t[hashes..].trim().trim_end_matches('#').trim();
            if !h.is_empty() {
                return Some(h.to_string());
            }
        }
        // reST: a line underlined with = - ~ etc.
        if let Some(next) = lines.get(i + 1) {
            let n = next.trim();
            if !t.is_empty()
                && n.len() >= t.len().min(3)
                && n.chars().all(|c| "=-~^*#+".contains(c))
                && !n.is_empty()
            {
                return Some(t.to_string());
            }
        }
    }
    None
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
mod fuzz_regressions {
    use super::*;

    /// Inputs the fuzzer found (fuzz/run.sh), as the ingest target feeds them: the same bytes as a
    /// JSONL, an HTML and a Markdown file.
    fn collect_as_every_kind(data: &[u8]) -> Vec<PassageRecord> {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.jsonl", "b.html", "c.md"] {
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
