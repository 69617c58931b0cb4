//! Which passages a search may return: `--filter FIELD OP VALUE` clauses (AND) over the metadata
//! an index holds for every passage, and `--grep PATTERN` over its text. Evaluated before ranking
//! into an allow set; the ranking then only PQ-scores, recomputes and returns passages in it
//! ([`super::answer`]), so k results come back whenever k passages pass.
//!
//! Fields: `source` (the file path as given to build/add/sync), `type` (its extension, lower case),
//! `title`, `id` (JSONL id), and every metadata field the index stores ([`crate::metadata`]): `mtime`
//! (a file's modification time, seconds since 1970; the filter also takes a UTC date
//! `2024-05-01` or `2024-05-01T12:00[:00]`) and the fields of JSONL records' `"metadata"` objects.
//! Operators: `=`, `!=` (a value with `*` or `?` is a glob: `*` within a path segment, `**` across
//! them), and `<`, `<=`, `>`, `>=` compared as numbers when both sides are numbers, else as text. A
//! passage without the field passes only `!=`. A field neither built in nor stored in the index is
//! an error naming the fields it has.
use super::Index;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use regex::Regex;

/// A filter field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    /// Source file path.
    Source,
    /// File extension, lower case.
    Type,
    /// Passage title.
    Title,
    /// JSONL id.
    Id,
    /// A stored metadata field (`mtime`, JSONL `metadata` keys).
    Meta(String),
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One `FIELD OP VALUE` clause.
#[derive(Clone, Debug)]
pub struct Clause {
    field: Field,
    op: Op,
    value: String,
    glob: Option<Regex>,
}

impl Clause {
    /// Parse `source=docs/faq/**`, `type!=html`, `title>=M`, ….
    pub fn parse(expr: &str) -> Result<Self> {
        let ops = [
            ("!=", Op::Ne),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ];
        let (at, len, op) = ops
            .iter()
            .filter_map(|&(s, op)| expr.find(s).map(|i| (i, s.len(), op)))
            .min_by_key(|&(i, l, _)| (i, usize::MAX - l))
            .ok_or_else(|| {
                bad(format!(
                    "filter {expr:?} has no operator: write FIELD=VALUE (or !=, <, <=, >, >=)"
                ))
            })?;
        let name = expr[..at].trim();
        let mut value = expr[at + len..].trim().to_string();
        if matches!(name, "type" | "ext") {
            value = value.trim_start_matches('.').to_ascii_lowercase();
        }
        let field = match name {
            "source" | "path" => Field::Source,
            "type" | "ext" => Field::Type,
            "title" => Field::Title,
            "id" => Field::Id,
            "" => return Err(bad(format!("filter {expr:?} names no field"))),
            other if crate::ingest::valid_field_name(other) => Field::Meta(other.to_string()),
            other => {
                return Err(bad(format!(
                    "filter field {other:?} is not a field name (letters, digits, _ . -)"
                )))
            }
        };
        if field == Field::Meta(crate::ingest::MTIME.into()) {
            if let Some(secs) = date_secs(&value) {
                value = secs.to_string();
            } else if value.parse::<f64>().is_err() && !value.contains(['*', '?']) {
                return Err(bad(format!(
                    "mtime takes seconds since 1970 or a UTC date such as 2024-05-01 or \
                     2024-05-01T12:30 (got {value:?})"
                )));
            }
        }
        let glob = match op {
            Op::Eq | Op::Ne if value.contains(['*', '?']) => Some(glob_regex(&value)?),
            _ => None,
        };
        Ok(Clause {
            field,
            op,
            value,
            glob,
        })
    }

    fn matches(&self, v: &str) -> bool {
        let ord = || match (v.parse::<f64>(), self.value.parse::<f64>()) {
            (Ok(a), Ok(b)) => a.partial_cmp(&b),
            _ => Some(v.cmp(self.value.as_str())),
        };
        let eq = || match &self.glob {
            Some(g) => g.is_match(v),
            None => v == self.value,
        };
        match self.op {
            Op::Eq => eq(),
            Op::Ne => !eq(),
            Op::Lt => ord().is_some_and(|o| o.is_lt()),
            Op::Le => ord().is_some_and(|o| o.is_le()),
            Op::Gt => ord().is_some_and(|o| o.is_gt()),
            Op::Ge => ord().is_some_and(|o| o.is_ge()),
        }
    }
}

fn bad(m: String) -> Error {
    Error::InvalidFilter(m)
}

/// A glob as an anchored regex: `**` any run, `*` any run without `/`, `?` one character but `/`.
fn glob_regex(g: &str) -> Result<Regex> {
    let mut re = String::from("^");
    let mut it = g.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '*' if it.peek() == Some(&'*') => {
                it.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| bad(format!("glob {g:?}: {e}")))
}

/// Longest `--grep` pattern accepted.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Clauses (all must hold) and an optional text pattern.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    clauses: Vec<Clause>,
    grep: Option<Regex>,
}

impl Filter {
    /// Parse `--filter` expressions and a `--grep` regex (case-sensitive; `(?i)` for not).
    pub fn parse(exprs: &[String], grep: Option<&str>) -> Result<Self> {
        let clauses = exprs
            .iter()
            .map(|e| Clause::parse(e))
            .collect::<Result<_>>()?;
        let grep = match grep {
            Some(g) if g.len() > MAX_PATTERN_BYTES => {
                return Err(bad(format!(
                    "--grep pattern longer than {MAX_PATTERN_BYTES} bytes"
                )))
            }
            Some(g) => Some(
                regex::RegexBuilder::new(g)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| bad(format!("--grep {g:?} is not a valid pattern: {e}")))?,
            ),
            None => None,
        };
        Ok(Filter { clauses, grep })
    }

    /// Whether the filter keeps every passage.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty() && self.grep.is_none()
    }

    /// One flag per passage of `idx`: whether it passes (an error for a field the index lacks).
    pub fn allowed<S: FlashSource>(&self, idx: &Index<S>) -> Result<Vec<bool>> {
        let by_set = self.metadata_sets(idx)?;
        let needs_text =
            self.grep.is_some() || self.clauses.iter().any(|c| c.field == Field::Title);
        let needs_id = self
            .clauses
            .iter()
            .any(|c| matches!(c.field, Field::Source | Field::Type | Field::Id));
        let mut out = Vec::with_capacity(idx.len());
        for v in 0..idx.len() as u32 {
            if let (Some(m), Some(ok)) = (idx.metadata(), &by_set) {
                if !ok[m.set_of(v as u64)] {
                    out.push(false);
                    continue;
                }
            }
            let (id, source) = if needs_id {
                idx.passage_id(v)?
            } else {
                Default::default()
            };
            let (title, text) = if needs_text {
                idx.passage_reader().text(idx.reader(), v as u64)?
            } else {
                Default::default()
            };
            let path = source.as_ref().map_or("", |s| s.path.as_str());
            let ext = extension(path);
            let pass = self.clauses.iter().all(|c| match c.field {
                Field::Source => c.matches(path),
                Field::Type => c.matches(&ext),
                Field::Title => c.matches(&title),
                Field::Id => c.matches(&id),
                Field::Meta(_) => true, // decided per metadata set above
            }) && self
                .grep
                .as_ref()
                .is_none_or(|g| g.is_match(&title) || g.is_match(&text));
            out.push(pass);
        }
        Ok(out)
    }

    /// For each metadata set of the index, whether it passes every metadata clause (`None` when
    /// there are no such clauses). A field the index does not store is an error naming those it has.
    fn metadata_sets<S: FlashSource>(&self, idx: &Index<S>) -> Result<Option<Vec<bool>>> {
        let meta: Vec<(&Clause, &str)> = self
            .clauses
            .iter()
            .filter_map(|c| match &c.field {
                Field::Meta(f) => Some((c, f.as_str())),
                _ => None,
            })
            .collect();
        if meta.is_empty() {
            return Ok(None);
        }
        let cols = idx.metadata();
        let mut ids = Vec::new();
        for (_, f) in &meta {
            match cols.and_then(|m| m.field(f)) {
                Some(i) => ids.push(i),
                None => {
                    let mut known: Vec<&str> = vec!["source", "type", "title", "id"];
                    known.extend(cols.map(|m| m.fields()).unwrap_or_default());
                    return Err(bad(format!(
                        "unknown filter field {f:?}: this index has {}",
                        known.join(", ")
                    )));
                }
            }
        }
        let Some(m) = cols else {
            return Ok(None); // unreachable: every clause's field was found above
        };
        Ok(Some(
            (0..m.set_count())
                .map(|set| {
                    meta.iter()
                        .zip(&ids)
                        .all(|((c, _), &f)| match m.set_value(set, f) {
                            Some(v) => c.matches(v),
                            None => c.op == Op::Ne,
                        })
                })
                .collect(),
        ))
    }
}

/// The lower-case extension of a path's file name (empty when none).
fn extension(path: &str) -> String {
    path.rsplit_once('.').map_or(String::new(), |(b, e)| {
        if e.contains('/') || b.ends_with('/') || b.is_empty() {
            String::new()
        } else {
            e.to_ascii_lowercase()
        }
    })
}

/// Seconds since 1970 of a UTC date `YYYY-MM-DD`, optionally `THH:MM` or `THH:MM:SS` (a space for
/// `T` and a trailing `Z` allowed); `None` for anything else.
pub fn date_secs(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, ""));
    let d: Vec<&str> = date.split('-').collect();
    let num = |x: &str, len: usize| -> Option<i64> {
        (x.len() == len && x.bytes().all(|b| b.is_ascii_digit())).then(|| x.parse().ok())?
    };
    let [y, mo, da] = d[..] else { return None };
    let (y, mo, da) = (num(y, 4)?, num(mo, 2)?, num(da, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || da < 1 || da > days_in_month[mo as usize - 1] {
        return None;
    }
    let t: Vec<&str> = if time.is_empty() {
        vec![]
    } else {
        time.split(':').collect()
    };
    let (h, mi, se) = match t[..] {
        [] => (0, 0, 0),
        [h, m] => (num(h, 2)?, num(m, 2)?, 0),
        [h, m, s] => (num(h, 2)?, num(m, 2)?, num(s, 2)?),
        _ => return None,
    };
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    // Days from civil (H. Hinnant): the proleptic Gregorian day count since 1970-01-01.
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + da - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_parse_and_match() {
        let c = Clause::parse("source=docs/faq/**").unwrap();
        assert!(c.matches("docs/faq/a/b.md") && !c.matches("docs/guide/x.md"));
        let c = Clause::parse("source=docs/*.md").unwrap();
        assert!(c.matches("docs/a.md") && !c.matches("docs/sub/a.md"));
        let c = Clause::parse("type != html").unwrap();
        assert!(c.matches("md") && !c.matches("html"));
        let c = Clause::parse("id>=10").unwrap();
        assert!(
            c.matches("10") && c.matches("9.5e1") && !c.matches("9"),
            "numbers compare as numbers"
        );
        let c = Clause::parse("title<b").unwrap();
        assert!(
            c.matches("apple") && !c.matches("cherry"),
            "text compares as text"
        );
        assert_eq!(
            Clause::parse("lang=en").unwrap().field,
            Field::Meta("lang".into())
        );
        assert!(Clause::parse("la ng=en").is_err());
        let c = Clause::parse("mtime>=2024-01-01").unwrap();
        assert!(c.matches("1704067200") && !c.matches("1704067199"));
        assert_eq!(date_secs("1970-01-01"), Some(0));
        assert_eq!(date_secs("2000-03-01T01:02:03Z"), Some(951_872_523));
        assert_eq!(date_secs("2024-02-29 12:00"), Some(1_709_208_000));
        assert!(date_secs("2024-13-01").is_none() && date_secs("24-01-01").is_none());
        assert!(date_secs("2023-02-29").is_none() && date_secs("2024-04-31").is_none());
        assert!(
            Clause::parse("mtime>=2024-5-1").is_err(),
            "not a date: an error, not text"
        );
        assert!(Clause::parse("mtime>=1700000000").is_ok());
        assert!(Clause::parse("source").is_err() && Clause::parse("=x").is_err());
        assert!(Filter::parse(&[], Some("(unclosed")).is_err());
    }
}
