//! Keyword ranking without a keyword index: BM25 computed at query time by scanning the passage
//! text the index already stores (LEANN's trade: compute instead of store). Identifiers such as
//! `os.path.join`, `EADDRINUSE` or `v2.3.1` are query terms whole and split (`os`, `path`,
//! `join`), matched case-insensitively on word boundaries.
//!
//! Cost: one read of the text section, a lower-cased copy, and one SIMD substring search per query
//! term (docs-faq, 13 MB of text: see docs/benchmarks.md, "Keyword side"). A stored inverted index
//! measured 110 B a passage (38% of the text) in full, 49 B for terms in at most 1% of the
//! passages — more than the rest of the index — so the scan is the default; indexes whose text
//! exceeds [`MAX_SCAN_BYTES`] refuse keyword ranking with a clear error instead.
use super::Index;
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use memchr::memmem;

/// Largest text section the keyword scan reads per query (256 MiB).
pub const MAX_SCAN_BYTES: u64 = 256 << 20;
/// Query terms used at most (the first ones).
pub const MAX_TERMS: usize = 24;
/// A term found in more than this share of the passages (and more than [`COMMON_MIN`] of them)
/// carries no signal: dropped.
const COMMON_SHARE: f64 = 0.10;
const COMMON_MIN: usize = 20;
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Words too common to search for.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "in", "is", "it", "my", "of", "on", "or", "that", "the", "this", "to", "was", "what",
    "when", "where", "which", "who", "why", "will", "with", "you",
];

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

fn joiner(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b':' | b'/')
}

/// The query's terms, lower-cased, deduplicated, in order: each token (a run of word characters
/// joined by `.`, `-`, `:` or `/`) whole, then its parts; stopwords and 1-letter terms dropped.
pub fn query_terms(q: &str) -> Vec<String> {
    // ASCII lower case only, like the scanned text (a full Unicode lower case of the query alone
    // would miss "Élan" in the text).
    let lower = q.to_ascii_lowercase();
    let b = lower.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut push = |t: &str| {
        if t.len() >= 2 && t.len() <= 64 && !STOPWORDS.contains(&t) && !out.iter().any(|x| x == t) {
            out.push(t.to_string());
        }
    };
    let mut i = 0;
    while i < b.len() {
        if !word_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len()
            && (word_byte(b[i]) || (joiner(b[i]) && i + 1 < b.len() && word_byte(b[i + 1])))
        {
            i += 1;
        }
        let tok = &lower[start..i];
        push(tok);
        if tok.bytes().any(joiner) {
            for part in tok.split(|c: char| c.is_ascii() && joiner(c as u8)) {
                push(part);
            }
        }
    }
    out.truncate(MAX_TERMS);
    out
}

/// What a keyword ranking cost.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct KeywordStats {
    /// Query terms searched.
    pub terms: usize,
    /// Terms dropped as too common.
    pub common_terms: usize,
    /// Text bytes scanned.
    pub bytes_scanned: u64,
    /// Passages holding the rarest term found (0: no term found).
    pub rarest_df: u64,
}

/// A keyword hit: passage, BM25 score, and whether it holds a rare query term (one found in at
/// most the `rare_df` given to [`bm25`]: a name, a code, an identifier).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KeywordHit {
    /// Passage.
    pub id: u32,
    /// BM25 score.
    pub score: f32,
    /// Holds a rare query term.
    pub rare: bool,
}

/// The best `top` passages for `query` by BM25 over the stored text, best first (ties: lower id
/// first); only passages `allow` accepts count.
pub fn bm25<S: FlashSource>(
    idx: &Index<S>,
    query: &str,
    top: usize,
    rare_df: u64,
    allow: Option<&dyn Fn(u32) -> bool>,
) -> Result<(Vec<KeywordHit>, KeywordStats)> {
    let terms = query_terms(query);
    let mut st = KeywordStats {
        terms: terms.len(),
        ..Default::default()
    };
    let n = idx.len();
    if terms.is_empty() || n == 0 || top == 0 {
        return Ok((Vec::new(), st));
    }
    let reader = idx.passage_reader();
    let (off, len) = reader.text_section();
    if len > MAX_SCAN_BYTES {
        return Err(Error::NotImplemented(format!(
            "keyword ranking scans the stored text, and this index holds {} MiB of it (at most {} \
             MiB): use --mode dense",
            len >> 20,
            MAX_SCAN_BYTES >> 20
        )));
    }
    let starts = reader.record_starts(idx.reader())?;
    let mut text = read_vec(idx.reader(), off, len as usize)?;
    let bounds = record_bounds(&text, &starts);
    text.make_ascii_lowercase();
    st.bytes_scanned = len;
    let avg = len as f64 / n as f64;
    let mut score = vec![0f32; n];
    let mut rare = vec![false; n];
    let mut tf: Vec<(u32, u32)> = Vec::new();
    for t in &terms {
        let max_df = ((n as f64 * COMMON_SHARE) as usize).max(COMMON_MIN);
        if !count_term(&text, t.as_bytes(), &bounds, max_df, &mut tf) {
            st.common_terms += 1;
            continue;
        }
        if !tf.is_empty() && (st.rarest_df == 0 || (tf.len() as u64) < st.rarest_df) {
            st.rarest_df = tf.len() as u64;
        }
        if tf.len() as u64 <= rare_df {
            for &(p, _) in &tf {
                rare[p as usize] = true;
            }
        }
        let df = tf.len() as f64;
        let idf = (1.0 + (n as f64 - df + 0.5) / (df + 0.5)).ln();
        for &(p, f) in &tf {
            let dl = (starts[p as usize + 1] - starts[p as usize]) as f64;
            let f = f as f64;
            score[p as usize] +=
                (idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * dl / avg))) as f32;
        }
    }
    let mut hits: Vec<KeywordHit> = score
        .iter()
        .enumerate()
        .filter(|&(i, &s)| s > 0.0 && allow.is_none_or(|a| a(i as u32)))
        .map(|(i, &s)| KeywordHit {
            id: i as u32,
            score: s,
            rare: rare[i],
        })
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    hits.truncate(top);
    Ok((hits, st))
}

/// Where each record's title starts and ends and where the record ends, in the text section (the
/// title and body are stored back to back: their seam is a word boundary too).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bounds {
    title: usize,
    body: usize,
    end: usize,
}

fn record_bounds(text: &[u8], starts: &[u64]) -> Vec<Bounds> {
    starts
        .windows(2)
        .map(|w| {
            let (s, e) = (w[0] as usize, (w[1] as usize).min(text.len()));
            let mut p = 0;
            let tl = crate::bits::get_varint(text.get(s..e).unwrap_or(&[]), &mut p).unwrap_or(0);
            let title = (s + p).min(e);
            let body = title.saturating_add(tl as usize).min(e);
            Bounds {
                title,
                body,
                end: e,
            }
        })
        .collect()
}

/// Occurrences of `term` on word boundaries in `text`, per passage, into `tf` (passage, count);
/// `false` (and `tf` partial) once more than `max_df` passages hold it.
fn count_term(
    text: &[u8],
    term: &[u8],
    bounds: &[Bounds],
    max_df: usize,
    tf: &mut Vec<(u32, u32)>,
) -> bool {
    tf.clear();
    let mut p = 0usize;
    for at in memmem::find_iter(text, term) {
        let end = at + term.len();
        while p + 1 < bounds.len() && bounds[p].end <= at {
            p += 1;
        }
        let Some(b) = bounds.get(p) else { break };
        let before_ok = at == b.title || at == b.body || at == 0 || !word_byte(text[at - 1]);
        let after_ok = end == b.body || end >= b.end || !word_byte(text[end]);
        if at < b.title || end > b.end || !(before_ok && after_ok) {
            continue;
        }
        match tf.last_mut() {
            Some((q, c)) if *q == p as u32 => *c += 1,
            _ => {
                if tf.len() >= max_df.max(1) {
                    return false;
                }
                tf.push((p as u32, 1));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_terms_whole_and_split() {
        assert_eq!(
            query_terms("How do I use os.path.join?"),
            ["use", "os.path.join", "os", "path", "join"]
        );
        assert_eq!(query_terms("EADDRINUSE"), ["eaddrinuse"]);
        assert_eq!(
            query_terms("upgrade to v2.3.1 now"),
            ["upgrade", "v2.3.1", "v2", "now"]
        );
        assert!(query_terms("what is the").is_empty());
    }

    #[test]
    fn terms_count_on_word_boundaries_per_passage() {
        // Three records (varint title length, title, body): ("", "join the path "),
        // ("os.path.join", "a joint"), ("x", "joinjoin join").
        let text = b"\0join the path \x0cos.path.joina joint\x01xjoinjoin join";
        let starts = [0u64, 15, 35, 50];
        let b = record_bounds(text, &starts);
        assert_eq!(
            b[1],
            Bounds {
                title: 16,
                body: 28,
                end: 35
            }
        );
        let mut tf = Vec::new();
        assert!(count_term(text, b"join", &b, 10, &mut tf));
        assert_eq!(
            tf,
            [(0, 1), (1, 1), (2, 1)],
            "title/body seam is a boundary"
        );
        assert!(count_term(text, b"os.path.join", &b, 10, &mut tf));
        assert_eq!(tf, [(1, 1)]);
        assert!(!count_term(text, b"join", &b, 1, &mut tf), "over max_df");
    }
}
