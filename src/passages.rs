//! Passage store: text by id in O(1) through a compact offset table; ids and sources front-coded.
//!
//! * text: per passage `varint(title_len) | title | body`.
//! * offsets: per block of [`TEXT_BLOCK`] passages, two u64 (text byte base, bit position of the
//!   block's packed lengths) followed by a bit stream of `5-bit width | lengths`; a lookup reads the
//!   block entry and sums at most 63 lengths.
//! * ids (format 3): blocks of [`ID_BLOCK`] records, one u64 offset each; a block starts with a
//!   64-bit mask whose bit `i` marks record `i` as the *successor* of record `i - 1` (its id is the
//!   previous id with the trailing number + 1, see [`successor_id`], and neither has a source): such
//!   a record stores nothing else. Every other record is the external id front-coded against the
//!   previous one in its block, then an optional source (path index, byte range, line).
//!   Formats 1 and 2 used blocks of [`ID_BLOCK_V1`] records without the mask.
use crate::bits::{get_varint, put_varint, width, BitReader, BitWriter};
use crate::error::{Error, Result};
use crate::flash::{read_vec, FlashSource};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Passages per offset-table block.
pub const TEXT_BLOCK: usize = 64;
/// Records per id block (format 3).
pub const ID_BLOCK: usize = 64;
/// Records per id block in formats 1 and 2.
pub const ID_BLOCK_V1: usize = 16;

/// `prev` with its trailing decimal number incremented, keeping its width (`doc9` → `doc10`,
/// `p:007` → `p:008`); `None` when `prev` does not end in a digit or the number would overflow.
pub fn successor_id(prev: &str) -> Option<String> {
    let digits = prev
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 18 {
        return None;
    }
    let (head, num) = prev.split_at(prev.len() - digits);
    let v: u64 = num.parse().ok()?;
    Some(alloc::format!("{head}{:0digits$}", v + 1))
}

/// Where a passage came from.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Source {
    /// File path.
    pub path: String,
    /// First byte in the file.
    pub byte_start: u64,
    /// One past the last byte.
    pub byte_end: u64,
    /// 1-based line of the first byte.
    pub line: u64,
}

/// A passage as given to the builder.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PassageRecord {
    /// External id (JSONL `id`), if any.
    pub id: Option<String>,
    /// Title (may be empty).
    pub title: String,
    /// Body text.
    pub text: String,
    /// Source location, if it came from a file.
    pub source: Option<Source>,
    /// Metadata fields (file `mtime`, a JSONL record's `"metadata"`), sorted by name.
    pub metadata: crate::metadata::Metadata,
}

impl PassageRecord {
    /// A passage with text only.
    pub fn plain(text: &str) -> Self {
        PassageRecord {
            text: text.to_string(),
            ..Default::default()
        }
    }
    /// The string given to the encoder: `title\n\nbody`, or the body alone.
    pub fn embed_input(&self) -> String {
        embed_input(&self.title, &self.text)
    }
}

/// The encoder input for a title and body.
pub fn embed_input(title: &str, text: &str) -> String {
    if title.is_empty() {
        text.to_string()
    } else {
        alloc::format!("{title}\n\n{text}")
    }
}

/// 128-bit key of an encoder input (title + body, [`embed_input`]): two FNV-1a passes with
/// different bases. The same text always gets the same key, so a passage whose vector or PQ code is
/// already known need not be embedded again; a collision would only give one passage another's
/// vector (odds ~1e-26 at a million passages).
pub fn content_key(input: &str) -> u128 {
    let fnv = |mut h: u64| {
        for &x in input.as_bytes() {
            h ^= x as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let a = fnv(0xcbf2_9ce4_8422_2325);
    let b = fnv(0x6c62_272e_07bb_0142 ^ input.len() as u64);
    ((a as u128) << 64) | b as u128
}

/// The record id of a passage id: a long JSONL record split at ingest becomes `ID`, `ID#2`, …;
/// any other id is its own record.
pub fn record_id(id: &str) -> &str {
    match id.rsplit_once('#') {
        Some((base, k))
            if !base.is_empty() && !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => id,
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Encoded passage sections.
#[derive(Debug, Default)]
pub struct EncodedPassages {
    /// Text section.
    pub text: Vec<u8>,
    /// Offset table section.
    pub offsets: Vec<u8>,
    /// Id/source section.
    pub ids: Vec<u8>,
    /// Source paths (stored in meta).
    pub sources: Vec<String>,
}

/// Encode passages in the given order.
pub fn encode(recs: &[PassageRecord]) -> EncodedPassages {
    let mut out = EncodedPassages::default();
    // text + lengths
    let mut lens = Vec::with_capacity(recs.len());
    for r in recs {
        let start = out.text.len();
        put_varint(&mut out.text, r.title.len() as u64);
        out.text.extend_from_slice(r.title.as_bytes());
        out.text.extend_from_slice(r.text.as_bytes());
        lens.push((out.text.len() - start) as u64);
    }
    let nblocks = recs.len().div_ceil(TEXT_BLOCK);
    let mut bw = BitWriter::new();
    let mut table = Vec::with_capacity(nblocks * 16);
    let mut base = 0u64;
    for b in 0..nblocks {
        let l = &lens[b * TEXT_BLOCK..((b + 1) * TEXT_BLOCK).min(lens.len())];
        table.extend_from_slice(&base.to_le_bytes());
        table.extend_from_slice(&bw.bit_len().to_le_bytes());
        let w = width(l.iter().copied().max().unwrap_or(0));
        bw.put(w as u64, 6);
        for &x in l {
            bw.put(x, w);
        }
        base += l.iter().sum::<u64>();
    }
    out.offsets = table;
    out.offsets.extend_from_slice(&bw.into_bytes());
    // ids
    let mut path_idx: Vec<(String, u64)> = Vec::new();
    let mut blocks = Vec::new();
    let mut body = Vec::new();
    for chunk in recs.chunks(ID_BLOCK) {
        blocks.push(body.len() as u64);
        let mut mask = 0u64;
        for (i, w) in chunk.windows(2).enumerate() {
            let succ = w[0].source.is_none()
                && w[1].source.is_none()
                && w[1].id.is_some()
                && w[0]
                    .id
                    .as_deref()
                    .and_then(successor_id)
                    .is_some_and(|s| Some(s.as_str()) == w[1].id.as_deref());
            if succ {
                mask |= 1 << (i + 1);
            }
        }
        body.extend_from_slice(&mask.to_le_bytes());
        let mut prev: &str = "";
        for (i, r) in chunk.iter().enumerate() {
            let id = r.id.as_deref().unwrap_or("");
            if mask & (1 << i) != 0 {
                prev = id;
                continue;
            }
            let shared = prev
                .bytes()
                .zip(id.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            // keep the cut on a char boundary
            let mut shared = shared;
            while !id.is_char_boundary(shared) {
                shared -= 1;
            }
            put_varint(&mut body, shared as u64);
            put_varint(&mut body, (id.len() - shared) as u64);
            body.extend_from_slice(&id.as_bytes()[shared..]);
            prev = id;
            match &r.source {
                None => put_varint(&mut body, 0),
                Some(s) => {
                    let idx = match path_idx.iter().find(|p| p.0 == s.path) {
                        Some(p) => p.1,
                        None => {
                            path_idx.push((s.path.clone(), path_idx.len() as u64));
                            path_idx.len() as u64 - 1
                        }
                    };
                    put_varint(&mut body, idx + 1);
                    put_varint(&mut body, s.byte_start);
                    put_varint(&mut body, s.byte_end.saturating_sub(s.byte_start));
                    put_varint(&mut body, s.line);
                }
            }
        }
    }
    out.ids = Vec::with_capacity(blocks.len() * 8 + body.len());
    for o in &blocks {
        out.ids.extend_from_slice(&o.to_le_bytes());
    }
    out.ids.extend_from_slice(&body);
    out.sources = path_idx.into_iter().map(|p| p.0).collect();
    out
}

/// A stored passage.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Passage {
    /// External id (empty if none was given).
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub text: String,
    /// Source.
    pub source: Option<Source>,
}

/// Reads passages through a flash source.
#[derive(Clone, Debug)]
pub struct PassageReader {
    /// Passage count.
    pub n: u64,
    text_off: u64,
    text_len: u64,
    offs_off: u64,
    offs_len: u64,
    ids_off: u64,
    ids_len: u64,
    /// Records per id block; [`ID_BLOCK`] (with successor masks) from format 3 on.
    id_block: u64,
}

fn bad(section: &'static str, d: &str) -> Error {
    Error::corrupt(section, d)
}

impl PassageReader {
    /// Create from section positions `(offset, len)` of a file of format `version`.
    pub fn new(
        n: u64,
        text: (u64, u64),
        offsets: (u64, u64),
        ids: (u64, u64),
        version: u16,
    ) -> Result<Self> {
        let id_block = if version >= 3 { ID_BLOCK } else { ID_BLOCK_V1 } as u64;
        let nblocks = n.div_ceil(TEXT_BLOCK as u64);
        if offsets.1 < nblocks * 16 {
            return Err(bad(
                "passage_offsets",
                "offset table shorter than the passage count needs",
            ));
        }
        if ids.1 < n.div_ceil(id_block) * 8 {
            return Err(bad(
                "passage_ids",
                "id table shorter than the passage count needs",
            ));
        }
        Ok(PassageReader {
            n,
            text_off: text.0,
            text_len: text.1,
            offs_off: offsets.0,
            offs_len: offsets.1,
            ids_off: ids.0,
            ids_len: ids.1,
            id_block,
        })
    }

    /// Byte range of passage `i` inside the text section.
    pub fn range<S: FlashSource + ?Sized>(&self, src: &S, i: u64) -> Result<(u64, u64)> {
        if i >= self.n {
            return Err(Error::InvalidParam(alloc::format!(
                "passage {i} out of range ({} passages)",
                self.n
            )));
        }
        let nblocks = self.n.div_ceil(TEXT_BLOCK as u64);
        let b = i / TEXT_BLOCK as u64;
        let e = read_vec(src, self.offs_off + b * 16, 16)?;
        let base = u64::from_le_bytes(e[..8].try_into().unwrap_or([0; 8]));
        let bitpos = u64::from_le_bytes(e[8..].try_into().unwrap_or([0; 8]));
        let stream_off = nblocks * 16;
        let stream_len = self.offs_len - stream_off;
        let k = (i % TEXT_BLOCK as u64) as usize;
        // At most 6 + 64*57 bits for one block.
        let start_byte = bitpos / 8;
        if start_byte >= stream_len {
            return Err(bad("passage_offsets", "bit position past the end"));
        }
        let take = (stream_len - start_byte).min(6 + 64 * 8 + 8) as usize;
        let buf = read_vec(src, self.offs_off + stream_off + start_byte, take)?;
        let mut r = BitReader::new(&buf, bitpos % 8);
        let w = r
            .get(6)
            .ok_or_else(|| bad("passage_offsets", "truncated"))? as u32;
        if w > 57 {
            return Err(bad("passage_offsets", "length width out of range"));
        }
        let mut start = base;
        for _ in 0..k {
            start = start
                .checked_add(
                    r.get(w)
                        .ok_or_else(|| bad("passage_offsets", "truncated"))?,
                )
                .ok_or_else(|| bad("passage_offsets", "overflow"))?;
        }
        let len = r
            .get(w)
            .ok_or_else(|| bad("passage_offsets", "truncated"))?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| bad("passage_offsets", "overflow"))?;
        if end > self.text_len {
            return Err(bad(
                "passage_text",
                "passage range past the end of the text",
            ));
        }
        Ok((start, end))
    }

    /// Position `(offset, len)` of the text section in the file: every record (varint title
    /// length, title, body) back to back in passage order.
    pub fn text_section(&self) -> (u64, u64) {
        (self.text_off, self.text_len)
    }

    /// Where each record starts inside the text section, plus the end of the last one (`n + 1`
    /// values, non-decreasing): the whole offset table decoded in one pass.
    pub fn record_starts<S: FlashSource + ?Sized>(&self, src: &S) -> Result<Vec<u64>> {
        let nblocks = self.n.div_ceil(TEXT_BLOCK as u64);
        let table = read_vec(src, self.offs_off, (nblocks * 16) as usize)?;
        let stream = read_vec(
            src,
            self.offs_off + nblocks * 16,
            (self.offs_len - nblocks * 16) as usize,
        )?;
        let trunc = || bad("passage_offsets", "truncated");
        let mut out = Vec::with_capacity(self.n as usize + 1);
        for b in 0..nblocks as usize {
            let e = &table[b * 16..b * 16 + 16];
            let mut at = u64::from_le_bytes(e[..8].try_into().unwrap_or([0; 8]));
            let bitpos = u64::from_le_bytes(e[8..].try_into().unwrap_or([0; 8]));
            let byte = bitpos / 8;
            if byte >= stream.len() as u64 || out.last().is_some_and(|&l| l != at) {
                return Err(bad(
                    "passage_offsets",
                    "block base or bit position out of order",
                ));
            }
            let mut r = BitReader::new(&stream[byte as usize..], bitpos % 8);
            let w = r.get(6).ok_or_else(trunc)? as u32;
            if w > 57 {
                return Err(bad("passage_offsets", "length width out of range"));
            }
            let count = (self.n - b as u64 * TEXT_BLOCK as u64).min(TEXT_BLOCK as u64);
            if b == 0 {
                out.push(at);
            }
            for _ in 0..count {
                at = at
                    .checked_add(r.get(w).ok_or_else(trunc)?)
                    .filter(|&e| e <= self.text_len)
                    .ok_or_else(|| bad("passage_text", "passage range past the end of the text"))?;
                out.push(at);
            }
        }
        if self.n == 0 {
            out.push(0);
        }
        Ok(out)
    }

    /// Title and body of passage `i`.
    pub fn text<S: FlashSource + ?Sized>(&self, src: &S, i: u64) -> Result<(String, String)> {
        let (s, e) = self.range(src, i)?;
        let raw = read_vec(src, self.text_off + s, (e - s) as usize)?;
        let mut p = 0;
        let tl = get_varint(&raw, &mut p)
            .ok_or_else(|| bad("passage_text", "truncated title length"))?
            as usize;
        // `tl` comes from the file: compare without adding (a length near u64::MAX must not wrap).
        if tl > raw.len() - p {
            return Err(bad("passage_text", "title longer than the record"));
        }
        let title = String::from_utf8_lossy(&raw[p..p + tl]).into_owned();
        let body = String::from_utf8_lossy(&raw[p + tl..]).into_owned();
        Ok((title, body))
    }

    /// Id and source of passage `i` (source paths resolved from `paths`).
    pub fn id_source<S: FlashSource + ?Sized>(
        &self,
        src: &S,
        i: u64,
        paths: &[String],
    ) -> Result<(String, Option<Source>)> {
        if i >= self.n {
            return Err(Error::InvalidParam(alloc::format!(
                "passage {i} out of range"
            )));
        }
        let ib = self.id_block;
        let nb = self.n.div_ceil(ib);
        let b = i / ib;
        let e = read_vec(src, self.ids_off + b * 8, 8)?;
        let start = u64::from_le_bytes(e[..].try_into().unwrap_or([0; 8]));
        let end = if b + 1 < nb {
            u64::from_le_bytes(
                read_vec(src, self.ids_off + (b + 1) * 8, 8)?[..]
                    .try_into()
                    .unwrap_or([0; 8]),
            )
        } else {
            self.ids_len - nb * 8
        };
        if start > end || end > self.ids_len - nb * 8 {
            return Err(bad("passage_ids", "block offsets out of order"));
        }
        let buf = read_vec(src, self.ids_off + nb * 8 + start, (end - start) as usize)?;
        let mut p = 0;
        let t = || bad("passage_ids", "truncated record");
        let mask = if ib == ID_BLOCK as u64 {
            if buf.len() < 8 {
                return Err(t());
            }
            p = 8;
            u64::from_le_bytes(buf[..8].try_into().unwrap_or([0; 8]))
        } else {
            0
        };
        if mask & 1 != 0 {
            return Err(bad(
                "passage_ids",
                "first record of a block marked successor",
            ));
        }
        let mut id: Vec<u8> = Vec::new();
        let mut last = None;
        for r in 0..=(i % ib) {
            if mask & (1 << r) != 0 {
                let prev = core::str::from_utf8(&id)
                    .map_err(|_| bad("passage_ids", "successor of a non-UTF-8 id"))?;
                let next = successor_id(prev)
                    .ok_or_else(|| bad("passage_ids", "successor of an id without a number"))?;
                id = next.into_bytes();
                last = None;
                continue;
            }
            let shared = get_varint(&buf, &mut p).ok_or_else(t)? as usize;
            let slen = get_varint(&buf, &mut p).ok_or_else(t)? as usize;
            if shared > id.len() || slen > buf.len() - p.min(buf.len()) {
                return Err(bad("passage_ids", "bad front coding"));
            }
            id.truncate(shared);
            id.extend_from_slice(&buf[p..p + slen]);
            p += slen;
            let pi = get_varint(&buf, &mut p).ok_or_else(t)?;
            let src_rec = if pi == 0 {
                None
            } else {
                let path = paths
                    .get(pi as usize - 1)
                    .cloned()
                    .ok_or_else(|| bad("passage_ids", "source index out of range"))?;
                let byte_start = get_varint(&buf, &mut p).ok_or_else(t)?;
                let len = get_varint(&buf, &mut p).ok_or_else(t)?;
                let line = get_varint(&buf, &mut p).ok_or_else(t)?;
                Some(Source {
                    path,
                    byte_start,
                    byte_end: byte_start.saturating_add(len),
                    line,
                })
            };
            last = src_rec;
        }
        Ok((String::from_utf8_lossy(&id).into_owned(), last))
    }
}

#[cfg(test)]
mod helper_tests {
    #[test]
    fn prefix_cuts_at_a_character_boundary_and_record_id_strips_part_numbers() {
        assert_eq!(super::prefix("héllo", 2), "h");
        assert_eq!(super::prefix("héllo", 3), "hé");
        assert_eq!(super::prefix("abc", 10), "abc");
        assert_eq!(super::record_id("doc#3"), "doc");
        assert_eq!(super::record_id("doc#x"), "doc#x");
        assert_eq!(super::record_id("#3"), "#3");
        assert_eq!(super::record_id("plain"), "plain");
    }
}
