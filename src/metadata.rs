//! Per-passage metadata (format 5): a few `field → value` pairs per passage — a file's modification
//! time (`mtime`), the string/number fields of a JSONL record's `"metadata"` object — stored as
//! dictionary-coded columns, so an index pays for what varies and not per passage:
//!
//! ```text
//! postcard { fields: [name], values: [Text | Number], sets: [[(field, value)]], width u8, rows }
//! ```
//! `fields` and `values` are dictionaries; `sets` are the distinct metadata sets (set 0 is the empty
//! one), each a list of (field index, value index) sorted by field; `rows` is one `width`-bit set
//! index per passage, bit-packed. Every passage of one file shares one set, so a folder of 2,000
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

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    fields: Vec<String>,
    values: Vec<MetaValue>,
    sets: Vec<Vec<(u32, u32)>>,
    width: u8,
    rows: Vec<u8>,
}

/// The section's bytes for these passages' metadata, in passage order; `None` when no passage has
/// any (the section is then left out).
pub fn encode<'a>(rows: impl Iterator<Item = &'a Metadata> + Clone) -> Option<Vec<u8>> {
    if rows.clone().all(|m| m.is_empty()) {
        return None;
    }
    let mut fields: BTreeMap<&str, u32> = BTreeMap::new();
    let mut values: BTreeMap<&MetaValue, u32> = BTreeMap::new();
    for m in rows.clone() {
        for (f, v) in m {
            fields.entry(f).or_insert(0);
            values.entry(v).or_insert(0);
        }
    }
    for (i, x) in fields.values_mut().enumerate() {
        *x = i as u32;
    }
    for (i, x) in values.values_mut().enumerate() {
        *x = i as u32;
    }
    let mut set_of: BTreeMap<Vec<(u32, u32)>, u32> = BTreeMap::new();
    let mut sets = alloc::vec![Vec::new()];
    set_of.insert(Vec::new(), 0);
    let mut ids = Vec::new();
    for m in rows {
        let set: Vec<(u32, u32)> = m
            .iter()
            .map(|(f, v)| (fields[f.as_str()], values[v]))
            .collect();
        let next = sets.len() as u32;
        let id = *set_of.entry(set.clone()).or_insert_with(|| {
            sets.push(set);
            next
        });
        ids.push(id);
    }
    let w = width(sets.len() as u64 - 1);
    let mut bw = BitWriter::new();
    for id in ids {
        bw.put(id as u64, w);
    }
    let stored = Stored {
        fields: fields.keys().map(|s| String::from(*s)).collect(),
        values: values.keys().map(|v| (*v).clone()).collect(),
        sets,
        width: w as u8,
        rows: bw.into_bytes(),
    };
    postcard::to_allocvec(&stored).ok()
}

/// The decoded, validated metadata columns of an index.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaColumns {
    fields: Vec<String>,
    values: Vec<MetaValue>,
    sets: Vec<Vec<(u32, u32)>>,
    width: u32,
    rows: Vec<u8>,
    n: u64,
}

fn corrupt(why: &str) -> Error {
    Error::corrupt("passage_meta", why)
}

impl MetaColumns {
    /// Decode the section of an index of `n` passages, checking every index in it.
    pub fn from_bytes(bytes: &[u8], n: u64) -> Result<Self> {
        let s: Stored = postcard::from_bytes(bytes).map_err(|_| corrupt("not decodable"))?;
        let w = s.width as u32;
        if w > 32 || width(s.sets.len().saturating_sub(1) as u64) > w || s.sets.is_empty() {
            return Err(corrupt("set width does not fit the set count"));
        }
        let bits = n
            .checked_mul(w as u64)
            .ok_or_else(|| corrupt("too many rows"))?;
        if s.rows.len() as u64 != bits.div_ceil(8) {
            return Err(corrupt("row count is not the passage count"));
        }
        for set in &s.sets {
            let sorted = set.windows(2).all(|p| p[0].0 < p[1].0);
            let in_range = set
                .iter()
                .all(|&(f, v)| (f as usize) < s.fields.len() && (v as usize) < s.values.len());
            if !sorted || !in_range {
                return Err(corrupt("a metadata set is out of range or unsorted"));
            }
        }
        let cols = MetaColumns {
            fields: s.fields,
            values: s.values,
            sets: s.sets,
            width: w,
            rows: s.rows,
            n,
        };
        let mut r = BitReader::new(&cols.rows, 0);
        for _ in 0..n {
            match r.get(w) {
                Some(id) if (id as usize) < cols.sets.len() => {}
                _ => {
                    return Err(corrupt(
                        "a passage names a metadata set that does not exist",
                    ))
                }
            }
        }
        Ok(cols)
    }

    /// Field names, sorted.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Index of a field name.
    pub fn field(&self, name: &str) -> Option<u32> {
        self.fields
            .binary_search_by(|f| f.as_str().cmp(name))
            .ok()
            .map(|i| i as u32)
    }

    /// Distinct values stored.
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Distinct metadata sets stored.
    pub fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// Set index of passage `v` (0, the empty set, past the end).
    pub fn set_of(&self, v: u64) -> usize {
        if v >= self.n {
            return 0;
        }
        BitReader::new(&self.rows, v * self.width as u64)
            .get(self.width)
            .unwrap_or(0) as usize
    }

    /// Value of `field` in set `set`, if it has one.
    pub fn set_value(&self, set: usize, field: u32) -> Option<&MetaValue> {
        let s = self.sets.get(set)?;
        let at = s.binary_search_by_key(&field, |p| p.0).ok()?;
        self.values.get(s[at].1 as usize)
    }

    /// Metadata of passage `v`.
    pub fn get(&self, v: u64) -> Metadata {
        self.sets[self.set_of(v)]
            .iter()
            .map(|&(f, x)| {
                (
                    self.fields[f as usize].clone(),
                    self.values[x as usize].clone(),
                )
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
    }
}
