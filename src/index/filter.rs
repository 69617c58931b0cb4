//! Which passages a search may return: `--filter FIELD OP VALUE` clauses (AND) over the metadata
//! an index holds for every passage, and `--grep PATTERN` over its text. Evaluated before ranking
//! into an allow set; the ranking then only PQ-scores, recomputes and returns passages in it
//! ([`super::answer`]), so k results come back whenever k passages pass.
//!
//! Fields: `source` (the file path as given to build/add/sync), `type` (its extension, lower case),
//! `title`, `id` (JSONL id). Operators: `=`, `!=` (a value with `*` or `?` is a glob: `*` within a
//! path segment, `**` across them), and `<`, `<=`, `>`, `>=` compared as numbers when both sides
//! are numbers, else as text. Not stored yet (clear error): JSONL `metadata` objects and file
//! modification times.
use super::Index;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use regex::Regex;

/// A filter field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Source file path.
    Source,
    /// File extension, lower case.
    Type,
    /// Passage title.
    Title,
    /// JSONL id.
    Id,
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
            other => {
                return Err(bad(format!(
                    "unknown filter field {other:?}: fields are source, type, title, id (JSONL \
                     metadata and modification times are not stored in the index yet)"
                )))
            }
        };
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
    Error::InvalidParam(m)
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

    /// One flag per passage of `idx`: whether it passes.
    pub fn allowed<S: FlashSource>(&self, idx: &Index<S>) -> Result<Vec<bool>> {
        let needs_text =
            self.grep.is_some() || self.clauses.iter().any(|c| c.field == Field::Title);
        let mut out = Vec::with_capacity(idx.len());
        for v in 0..idx.len() as u32 {
            let (id, source) = idx.passage_id(v)?;
            let (title, text) = if needs_text {
                idx.passage_reader().text(idx.source(), v as u64)?
            } else {
                Default::default()
            };
            let path = source.as_ref().map_or("", |s| s.path.as_str());
            let ext = path.rsplit_once('.').map_or(String::new(), |(b, e)| {
                if e.contains('/') || b.ends_with('/') {
                    String::new()
                } else {
                    e.to_ascii_lowercase()
                }
            });
            let pass = self.clauses.iter().all(|c| {
                c.matches(match c.field {
                    Field::Source => path,
                    Field::Type => &ext,
                    Field::Title => &title,
                    Field::Id => &id,
                })
            }) && self
                .grep
                .as_ref()
                .is_none_or(|g| g.is_match(&title) || g.is_match(&text));
            out.push(pass);
        }
        Ok(out)
    }
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
        assert!(Clause::parse("lang=en")
            .unwrap_err()
            .to_string()
            .contains("unknown filter field"));
        assert!(Clause::parse("source").is_err() && Clause::parse("=x").is_err());
        assert!(Filter::parse(&[], Some("(unclosed")).is_err());
    }
}
