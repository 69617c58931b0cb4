//! One file's text → passages, by type: JSONL records, HTML, man pages (roff), PDF and DOCX text
//! ([`super::documents`]), and text, Markdown, reST or anything else as text; every file passage carries the file's `mtime`.
use super::chunk::chunk_into;
use super::documents::Extracted;
use super::walk::Walker;
use super::{html, jsonl, roff};
use crate::metadata::MetaValue;
use crate::passages::PassageRecord;
use std::path::Path;

/// Append the passages of file `p` (its type judged by `name`, which drops a `.gz`) to `w.out`.
pub(super) fn passages_of(
    w: &mut Walker,
    p: &Path,
    name: &str,
    text: &str,
    meta: &std::fs::Metadata,
    doc: Option<&Extracted>,
) {
    let ext = Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let first = w.out.len();
    if let Some(doc) = doc {
        let title = doc.title.clone().unwrap_or_else(|| title_of_file(name));
        chunk_into(
            text,
            &title,
            &p.display().to_string(),
            w.opts,
            &mut w.out,
            false,
        );
        // `path:N`: the page (PDF) or paragraph (DOCX) the passage starts in.
        for s in w.out[first..].iter_mut().filter_map(|r| r.source.as_mut()) {
            s.line = doc.unit_at(s.byte_start as usize);
        }
    } else if ext == "jsonl" {
        // Records carry their own metadata, not the file's mtime.
        return jsonl::read_jsonl(text, p, w.opts, &mut w.out, &mut w.sum, &mut w.ids);
    } else {
        text_passages(w, p, name, text, &ext);
    }
    if let Some(secs) = mtime_secs(meta) {
        let md = vec![(MTIME.to_string(), MetaValue::Number(secs.to_string()))];
        for r in &mut w.out[first..] {
            r.metadata = md.clone();
        }
    }
}

/// The file's name less its extension (the title of a file that states none).
fn title_of_file(name: &str) -> String {
    Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The passages of a text file by its type (`ext`): HTML, a man page, or text.
fn text_passages(w: &mut Walker, p: &Path, name: &str, text: &str, ext: &str) {
    let title_of_file = || title_of_file(name);
    let path_s = p.display().to_string();
    let (opts, first) = (w.opts, w.out.len());
    let out = &mut w.out;
    match ext {
        "html" | "htm" | "xhtml" => {
            let t = html::html_text(text);
            let title = t.title.clone().unwrap_or_else(title_of_file);
            chunk_into(&t.text, &title, &path_s, opts, out, false);
            point_into_file(text, &t, &mut out[first..]);
        }
        _ if roff::is_man_page(name) && roff::looks_like_roff(text) => {
            let (title, body) = roff::roff_to_text(text);
            let title = title.unwrap_or_else(title_of_file);
            chunk_into(&body, &title, &path_s, opts, out, false);
        }
        _ => {
            // Headings only where the format has them: a `#` line of C or Python is code.
            let prose = matches!(ext, "md" | "markdown" | "mdx" | "rst" | "txt" | "text" | "");
            let title = prose
                .then(|| first_heading(text))
                .flatten()
                .unwrap_or_else(title_of_file);
            chunk_into(text, &title, &path_s, opts, out, true);
        }
    }
}

/// Make the sources of passages cut from an HTML file's text name bytes and lines of the file.
fn point_into_file(file: &str, t: &html::HtmlText, recs: &mut [PassageRecord]) {
    let (mut at, mut line) = (0usize, 1u64);
    let boundary = |mut i: usize| {
        i = i.min(file.len());
        while !file.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    for s in recs.iter_mut().filter_map(|r| r.source.as_mut()) {
        let start = boundary(t.file_offset(s.byte_start as usize)).max(at);
        line += file.as_bytes()[at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        at = start;
        s.byte_start = start as u64;
        s.byte_end = boundary(t.file_offset(s.byte_end as usize)).max(start) as u64;
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
