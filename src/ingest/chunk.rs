//! Cutting text into passages of about `max_tokens` tokens at paragraph, then sentence, then word
//! boundaries, with overlap.
use super::{approx_tokens, IngestOptions};
use crate::passages::{PassageRecord, Source};

/// Split `text` into units (paragraphs, or sentences of over-long paragraphs) with byte ranges.
fn units(text: &str, max_tokens: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut last_end = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    let push_para = |s: usize, e: usize, out: &mut Vec<(usize, usize)>| {
        if text[s..e].trim().is_empty() {
            return;
        }
        if unit_tokens(&text[s..e]) <= max_tokens {
            out.push((s, e));
            return;
        }
        // sentences
        let mut ss = s;
        let seg = &text[s..e];
        for (k, c) in seg.char_indices() {
            let at = s + k + c.len_utf8();
            if matches!(c, '.' | '!' | '?' | '。')
                && text[at..e].starts_with(|x: char| x.is_whitespace())
            {
                out.push((ss, at));
                ss = at;
            }
        }
        if ss < e {
            out.push((ss, e));
        }
    };
    while i < bytes.len() {
        // paragraph break = a blank line
        if bytes[i] == b'\n' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == b'\r') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'\n' {
                if let Some(s) = start.take() {
                    push_para(s, i, &mut out);
                }
                i = j + 1;
                continue;
            }
        }
        if start.is_none() && !bytes[i].is_ascii_whitespace() {
            start = Some(i);
        }
        last_end = i + 1;
        i += 1;
    }
    if let Some(s) = start {
        push_para(s, last_end.min(text.len()), &mut out);
    }
    // Words of a still over-long unit: hard split on whitespace.
    let mut fin = Vec::new();
    for (s, e) in out {
        if unit_tokens(&text[s..e]) <= max_tokens {
            fin.push((s, e));
            continue;
        }
        let mut cs = s;
        let mut acc = 0;
        let max_word = max_tokens.saturating_mul(WORD_BYTES_PER_TOKEN).max(64);
        for (k, w) in text[s..e]
            .split_inclusive(char::is_whitespace)
            .flat_map(|w| pieces(w, max_word))
            .scan(s, |pos, w| {
                let st = *pos;
                *pos += w.len();
                Some((st, w))
            })
        {
            let t = unit_tokens(w);
            if acc + t > max_tokens && k > cs {
                fin.push((cs, k));
                cs = k;
                acc = 0;
            }
            acc += t;
        }
        if cs < e {
            fin.push((cs, e));
        }
    }
    fin
}

/// Bytes per token a "word" may take before it is cut: a file of one 50 MB word would otherwise be
/// one passage, read whole on every recompute.
pub(super) const WORD_BYTES_PER_TOKEN: usize = 16;

/// Tokens a unit counts for when passages are cut: [`approx_tokens`], or its bytes over
/// [`WORD_BYTES_PER_TOKEN`] when that is more (long words, URLs, base64), so no passage grows past
/// about `max_tokens × 16` bytes.
pub(super) fn unit_tokens(s: &str) -> usize {
    approx_tokens(s).max(s.len() / WORD_BYTES_PER_TOKEN)
}

/// `w` in pieces of at most `max` bytes, cut at character boundaries.
fn pieces(w: &str, max: usize) -> impl Iterator<Item = &str> {
    let mut rest = w;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        rest = tail;
        Some(head)
    })
}

pub(super) fn chunk_into(
    text: &str,
    title: &str,
    path: &str,
    opts: &IngestOptions,
    out: &mut Vec<PassageRecord>,
    _plain: bool,
) {
    let max = opts.max_tokens.max(16);
    // A unit of only whitespace (the tail after a sentence's full stop) would become an empty
    // passage when a chunk starts on it (found by fuzzing).
    let mut us = units(text, max);
    us.retain(|&(s, e)| !text[s..e].trim().is_empty());
    let mut i = 0;
    // Line numbers counted incrementally (passage starts only move forward): counting from the
    // start of the text for every passage made ingest quadratic in the file size.
    let (mut line_at, mut line) = (0usize, 1u64);
    while i < us.len() {
        let mut j = i;
        let mut tok = 0;
        while j < us.len() {
            let t = unit_tokens(&text[us[j].0..us[j].1]);
            if j > i && tok + t > max {
                break;
            }
            tok += t;
            j += 1;
        }
        let (s, e) = (us[i].0, us[j - 1].1);
        line += text.as_bytes()[line_at..s]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        line_at = s;
        out.push(PassageRecord {
            id: None,
            title: title.to_string(),
            text: text[s..e].trim().to_string(),
            source: Some(Source {
                path: path.to_string(),
                byte_start: s as u64,
                byte_end: e as u64,
                line,
            }),
            metadata: Vec::new(),
        });
        if j >= us.len() {
            break;
        }
        // overlap: step back over trailing units worth <= overlap tokens (always advance by one)
        let mut back = j;
        let mut ov = 0;
        while back > i + 1 {
            let t = unit_tokens(&text[us[back - 1].0..us[back - 1].1]);
            if ov + t > opts.overlap_tokens {
                break;
            }
            ov += t;
            back -= 1;
        }
        i = back;
    }
}
