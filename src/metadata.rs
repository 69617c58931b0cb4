//! Per-passage metadata (format 5): a few `field → value` pairs per passage — a file's modification
//! time (`mtime`), the string/number fields of a JSONL record's `"metadata"` object — stored as
//! dictionary-coded columns, so an index pays for what varies and not per passage:
//!
//! ```text
//! postcard { names, name_ends, texts, value_ends, numeric, set_ends, pairs, width u8, rows }
//! ```
//! Field names and values are dictionaries (strings with end offsets; one bit per value says
//! "number"); sets are the distinct metadata sets (set 0 is the empty one), each a run of
//! (field index, value index) pairs sorted by field; `rows` is one `width`-bit set number per
//! passage, bit-packed. Everything is flat, so decoding allocates at most about four times the
//! section's bytes. Every passage of one file shares one set, so a folder of 2,000
//! files costs 11 bits per passage plus one small set per file. [`MetaColumns::from_bytes`] checks
//! every index before anything is looked up.
use crate::bits::{width, BitReader, BitWriter};
use crate::error::{Error, Result};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// A metadata value: text, or a number kept as the decimal text it was given in (so a record reads
/// back exactly as written, and filters compare it numerically).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum MetaValue {
    /// A string.
    Text(String),
    /// A finite number, as decimal text (`2024`, `0.5`, `-3e2`).
    Number(String),
}

impl MetaValue {
    /// The value as text (a number's decimal text).
    pub fn as_str(&self) -> &str {
        match self {
            MetaValue::Text(s) | MetaValue::Number(s) => s,
        }
    }
}

/// One passage's metadata: pairs sorted by field name, no field twice.
pub type Metadata = Vec<(String, MetaValue)>;

/// Longest field name kept.
pub const MAX_FIELD_BYTES: usize = 64;
/// Longest value kept.
pub const MAX_VALUE_BYTES: usize = 1024;
/// Most fields kept per passage.
pub const MAX_FIELDS: usize = 32;

/// On disk every list is flat (strings with end offsets, pairs in one list), so decoding a
/// section allocates at most about four times its bytes, whatever it claims.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone, Debug, PartialEq)]
struct Stored {
    /// Field names, concatenated, sorted; `name_ends[i]` ends name `i`.
    names: String,
    name_ends: Vec<u32>,
    /// Values (text or decimal number text), concatenated; `value_ends[i]` ends value `i`.
    texts: String,
    value_ends: Vec<u32>,
    /// One bit per value: set = a number.
    numeric: Vec<u8>,
    /// Sets: `set_ends[s]` ends set `s` in `pairs` (counted in pairs); set 0 is the empty set.
    set_ends: Vec<u32>,
    /// (field, value) index pairs, two u32 each, sorted by field within a set.
    pairs: Vec<u32>,
    /// Bits per row.
    width: u8,
    /// One `width`-bit set number per passage.
    rows: Vec<u8>,
}

/// A row as written: sorted by field, each field once (the first kept), at most [`MAX_FIELDS`].
fn normal(m: &Metadata) -> Vec<(&str, &MetaValue)> {
    let mut v: Vec<(&str, &MetaValue)> = m.iter().map(|(f, x)| (f.as_str(), x)).collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v.dedup_by(|b, a| a.0 == b.0);
    v.truncate(MAX_FIELDS);
    v
}

/// The section's bytes for these passages' metadata, in passage order; `None` when no passage has
/// any (the section is then left out). Rows need not be sorted ([`normal`] makes them so).
pub fn encode<'a>(rows: impl Iterator<Item = &'a Metadata> + Clone) -> Option<Vec<u8>> {
    if rows.clone().all(|m| m.is_empty()) {
        return None;
    }
    let mut fields: BTreeMap<&str, u32> = BTreeMap::new();
    let mut values: BTreeMap<&MetaValue, u32> = BTreeMap::new();
    for m in rows.clone() {
        for (f, v) in normal(m) {
            fields.entry(f).or_insert(0);
            values.entry(v).or_insert(0);
        }
    }
    let mut st = Stored::default();
    for (i, (name, x)) in fields.iter_mut().enumerate() {
        *x = i as u32;
        st.names.push_str(name);
        st.name_ends.push(st.names.len() as u32);
    }
    st.numeric = alloc::vec![0u8; values.len().div_ceil(8)];
    for (i, (v, x)) in values.iter_mut().enumerate() {
        *x = i as u32;
        st.texts.push_str(v.as_str());
        st.value_ends.push(st.texts.len() as u32);
        if matches!(v, MetaValue::Number(_)) {
            st.numeric[i / 8] |= 1 << (i % 8);
        }
    }
    let mut set_of: BTreeMap<Vec<(u32, u32)>, u32> = BTreeMap::new();
    set_of.insert(Vec::new(), 0);
    st.set_ends.push(0);
    let mut ids = Vec::new();
    for m in rows {
        let set: Vec<(u32, u32)> = normal(m)
            .into_iter()
            .map(|(f, v)| (fields[f], values[v]))
            .collect();
        let next = st.set_ends.len() as u32;
        let id = *set_of.entry(set.clone()).or_insert_with(|| {
            st.pairs.extend(set.iter().flat_map(|&(f, v)| [f, v]));
            st.set_ends.push((st.pairs.len() / 2) as u32);
            next
        });
        ids.push(id);
    }
    let w = width(st.set_ends.len() as u64 - 1);
    let mut bw = BitWriter::new();
    for id in ids {
        bw.put(id as u64, w);
    }
    st.width = w as u8;
    st.rows = bw.into_bytes();
    postcard::to_allocvec(&st).ok()
}

/// The decoded, validated metadata columns of an index (kept flat, as stored).
#[derive(Clone, Debug, PartialEq)]
pub struct MetaColumns {
    st: Stored,
    n: u64,
}

fn corrupt(why: &str) -> Error {
    Error::corrupt("passage_meta", why)
}

/// Whether `ends` cut `s` into pieces: non-decreasing, on character boundaries, ending at its end.
fn valid_ends(s: &str, ends: &[u32]) -> bool {
    ends.windows(2).all(|w| w[0] <= w[1])
        && ends.iter().all(|&e| s.is_char_boundary(e as usize))
        && ends.last().map_or(s.is_empty(), |&e| e as usize == s.len())
}

/// Piece `i` of `s` cut at `ends` (validated).
fn piece<'a>(s: &'a str, ends: &[u32], i: usize) -> &'a str {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &s[start..ends[i] as usize]
}

impl MetaColumns {
    /// Decode the section of an index of `n` passages, checking every offset and index in it.
    pub fn from_bytes(bytes: &[u8], n: u64) -> Result<Self> {
        let s: Stored = postcard::from_bytes(bytes).map_err(|_| corrupt("not decodable"))?;
        let w = s.width as u32;
        let sets = s.set_ends.len();
        if sets == 0 || sets as u64 > n.saturating_add(1) || s.set_ends[0] != 0 {
            return Err(corrupt("more metadata sets than passages"));
        }
        if w > 32 || width(sets as u64 - 1) > w {
            return Err(corrupt("set width does not fit the set count"));
        }
        let bits = n
            .checked_mul(w as u64)
            .ok_or_else(|| corrupt("too many rows"))?;
        if s.rows.len() as u64 != bits.div_ceil(8) {
            return Err(corrupt("row count is not the passage count"));
        }
        let (fields, values) = (s.name_ends.len(), s.value_ends.len());
        if !valid_ends(&s.names, &s.name_ends) || !valid_ends(&s.texts, &s.value_ends) {
            return Err(corrupt("a name or value offset is out of range"));
        }
        if s.numeric.len() != values.div_ceil(8) {
            return Err(corrupt("number flags are not one per value"));
        }
        let names_sorted = (1..fields)
            .all(|i| piece(&s.names, &s.name_ends, i - 1) < piece(&s.names, &s.name_ends, i));
        if !names_sorted {
            return Err(corrupt("field names are not sorted and unique"));
        }
        if s.pairs.len() % 2 != 0
            || s.set_ends.windows(2).any(|p| p[0] > p[1])
            || s.set_ends.last().map(|&e| e as usize) != Some(s.pairs.len() / 2)
        {
            return Err(corrupt("set offsets do not cover the pairs"));
        }
        for set in 0..sets {
            let (a, b) = (
                if set == 0 {
                    0
                } else {
                    s.set_ends[set - 1] as usize
                },
                s.set_ends[set] as usize,
            );
            let p = &s.pairs[2 * a..2 * b];
            let sorted = p
                .chunks_exact(2)
                .collect::<Vec<_>>()
                .windows(2)
                .all(|x| x[0][0] < x[1][0]);
            let in_range = p
                .chunks_exact(2)
                .all(|x| (x[0] as usize) < fields && (x[1] as usize) < values);
            if b - a > MAX_FIELDS || !sorted || !in_range {
                return Err(corrupt("a metadata set is out of range or unsorted"));
            }
        }
        let mut r = BitReader::new(&s.rows, 0);
        for _ in 0..n {
            match r.get(w) {
                Some(id) if (id as usize) < sets => {}
                _ => {
                    return Err(corrupt(
                        "a passage names a metadata set that does not exist",
                    ))
                }
            }
        }
        Ok(MetaColumns { st: s, n })
    }

    /// Field names, sorted.
    pub fn fields(&self) -> Vec<&str> {
        (0..self.st.name_ends.len())
            .map(|i| piece(&self.st.names, &self.st.name_ends, i))
            .collect()
    }

    /// Index of a field name.
    pub fn field(&self, name: &str) -> Option<u32> {
        let n = self.st.name_ends.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match piece(&self.st.names, &self.st.name_ends, mid).cmp(name) {
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
                core::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }

    /// Distinct values stored.
    pub fn value_count(&self) -> usize {
        self.st.value_ends.len()
    }

    /// Distinct metadata sets stored.
    pub fn set_count(&self) -> usize {
        self.st.set_ends.len()
    }

    /// Set index of passage `v` (0, the empty set, past the end).
    pub fn set_of(&self, v: u64) -> usize {
        if v >= self.n {
            return 0;
        }
        let w = self.st.width as u32;
        BitReader::new(&self.st.rows, v * w as u64)
            .get(w)
            .unwrap_or(0) as usize
    }

    /// The (field, value) pairs of set `set`.
    fn pairs(&self, set: usize) -> &[u32] {
        if set >= self.st.set_ends.len() {
            return &[];
        }
        let a = if set == 0 {
            0
        } else {
            self.st.set_ends[set - 1] as usize
        };
        &self.st.pairs[2 * a..2 * self.st.set_ends[set] as usize]
    }

    fn value(&self, i: usize) -> MetaValue {
        let t = piece(&self.st.texts, &self.st.value_ends, i).into();
        if self.st.numeric[i / 8] & (1 << (i % 8)) != 0 {
            MetaValue::Number(t)
        } else {
            MetaValue::Text(t)
        }
    }

    /// Text of `field`'s value in set `set` (a number's decimal text), if it has one.
    pub fn set_value(&self, set: usize, field: u32) -> Option<&str> {
        self.pairs(set)
            .chunks_exact(2)
            .find(|p| p[0] == field)
            .map(|p| piece(&self.st.texts, &self.st.value_ends, p[1] as usize))
    }

    /// Metadata of passage `v`.
    pub fn get(&self, v: u64) -> Metadata {
        self.pairs(self.set_of(v))
            .chunks_exact(2)
            .map(|p| {
                let name = piece(&self.st.names, &self.st.name_ends, p[0] as usize);
                (String::from(name), self.value(p[1] as usize))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn md(pairs: &[(&str, MetaValue)]) -> Metadata {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn round_trip_and_sharing() {
        let t = |s: &str| MetaValue::Text(s.into());
        let num = |s: &str| MetaValue::Number(s.into());
        let a = md(&[("lang", t("en")), ("year", num("2024"))]);
        let b = md(&[("lang", t("de"))]);
        let rows: Vec<Metadata> = (0..1000)
            .map(|i| match i % 3 {
                0 => a.clone(),
                1 => b.clone(),
                _ => Vec::new(),
            })
            .collect();
        let bytes = encode(rows.iter()).unwrap();
        assert!(bytes.len() < 300, "{} bytes for 1000 rows", bytes.len());
        let c = MetaColumns::from_bytes(&bytes, 1000).unwrap();
        for (i, want) in rows.iter().enumerate() {
            assert_eq!(&c.get(i as u64), want);
        }
        assert_eq!(c.fields(), ["lang", "year"]);
        // Unsorted rows and repeated fields are normalised, not written as a corrupt section.
        let messy = [md(&[("z", t("1")), ("a", t("2")), ("z", t("3"))])];
        let c2 = MetaColumns::from_bytes(&encode(messy.iter()).unwrap(), 1).unwrap();
        assert_eq!(c2.get(0), md(&[("a", t("2")), ("z", t("1"))]));
        assert_eq!(c.set_count(), 3);
        assert!(encode([Vec::new(), Vec::new()].iter()).is_none());
    }

    #[test]
    fn bad_bytes_are_errors() {
        let rows = [md(&[("k", MetaValue::Text("v".into()))]), Vec::new()];
        let bytes = encode(rows.iter()).unwrap();
        assert!(MetaColumns::from_bytes(&bytes, 9).is_err(), "wrong n");
        for i in 0..bytes.len() {
            for flip in [1u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                // Never a panic; where it decodes, every lookup stays in range.
                if let Ok(c) = MetaColumns::from_bytes(&b, 2) {
                    let _ = (c.get(0), c.get(1));
                }
            }
        }
        assert!(MetaColumns::from_bytes(&[], 2).is_err());
        // A section claiming far more sets than passages is refused, not decoded into memory.
        let mut st = Stored {
            set_ends: alloc::vec![0; 100_000],
            width: 17,
            ..Stored::default()
        };
        st.rows = alloc::vec![0; 3];
        let b = postcard::to_allocvec(&st).unwrap();
        assert!(MetaColumns::from_bytes(&b, 1).is_err());
    }
}
