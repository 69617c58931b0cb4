//! The folder walk: symlink policy, loop detection, the include/exclude rules ([`super::rules`]),
//! and reading one file as text (size cap, gzip, binary check, UTF-8) before [`super::file`]
//! turns it into passages.
use super::documents::{self, DocKind, Extracted};
use super::rules::{Rules, Verdict};
use super::{IngestOptions, IngestSummary};
use crate::passages::PassageRecord;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A file read as text: the text, the name its type is judged by, and a document's units.
type FileText = (String, String, Option<Extracted>);

/// Deepest folder nesting walked.
const MAX_DEPTH: usize = 64;

/// One `collect` call's state.
pub(super) struct Walker<'a> {
    pub opts: &'a IngestOptions,
    pub out: Vec<PassageRecord>,
    pub sum: IngestSummary,
    seen: HashSet<PathBuf>,
    roots: Vec<PathBuf>,
    /// JSONL ids seen so far → their passage's index in `out`.
    pub ids: HashMap<String, usize>,
}

impl<'a> Walker<'a> {
    pub fn new(opts: &'a IngestOptions, paths: &[PathBuf]) -> Self {
        Walker {
            opts,
            out: Vec::new(),
            sum: IngestSummary::default(),
            seen: HashSet::new(),
            roots: paths
                .iter()
                .filter_map(|p| std::fs::canonicalize(p).ok())
                .collect(),
            ids: HashMap::new(),
        }
    }

    /// Walk one given path (a folder or a file, taken as given).
    pub fn walk_root(&mut self, p: &Path) {
        let base = if p.is_dir() {
            p
        } else {
            p.parent().unwrap_or(Path::new("."))
        };
        let mut rules = Rules::new(base, &self.opts.include, &self.opts.exclude);
        self.walk(p, 0, &mut rules);
    }

    fn walk(&mut self, p: &Path, depth: usize, rules: &mut Rules) {
        if depth > MAX_DEPTH {
            self.sum.skip(p, "nested too deep");
            return;
        }
        if depth > 0 && !self.opts.follow_symlinks && leaves_roots(p, &self.roots) {
            let why = "symlink leading outside the indexed folders (--follow-symlinks to index it)";
            self.sum.skip(p, why);
            return;
        }
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) => match unreadable_reason(p, &e) {
                UNREADABLE => return self.sum.skip_unreadable(p, UNREADABLE),
                why => return self.sum.skip(p, why),
            },
        };
        if depth > 0 {
            match rules.judge(p, meta.is_dir()) {
                Verdict::Keep => {}
                Verdict::Hidden => return,
                Verdict::Skip(why) => return self.sum.skip(p, why),
            }
        }
        if meta.is_dir() {
            return self.folder(p, depth, rules);
        }
        if !meta.is_file() {
            return self.sum.skip(p, "not a regular file");
        }
        let name = p
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((text, name, doc)) = self.read_text(p, &name, meta.len()) else {
            return;
        };
        self.sum.files += 1;
        self.sum.bytes += text.len() as u64;
        super::file::passages_of(self, p, &name, &text, &meta, doc.as_ref());
    }

    fn folder(&mut self, p: &Path, depth: usize, rules: &mut Rules) {
        let canon = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        if !self.seen.insert(canon) {
            return self.sum.skip(p, "symlink loop (folder already visited)");
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(p) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => return self.sum.skip_unreadable(p, "unreadable folder"),
        };
        entries.sort();
        let pushed = rules.enter(p);
        for e in entries {
            self.walk(&e, depth + 1, rules);
        }
        rules.leave(pushed);
    }

    /// The file's text, the name its type is judged by (`ls.1.gz` → `ls.1`) and, for a PDF or
    /// DOCX, where its pages or paragraphs start; or `None` after counting why it is skipped.
    fn read_text(&mut self, p: &Path, name: &str, len: u64) -> Option<FileText> {
        let cap = self.opts.max_file_bytes;
        if len > cap {
            self.sum
                .skip(p, "larger than --max-file-mib (raise it to index the file)");
            return None;
        }
        let Ok(mut bytes) = std::fs::read(p) else {
            self.sum.skip_unreadable(p, UNREADABLE);
            return None;
        };
        let mut name = name.to_string();
        if let Some(inner) = name
            .strip_suffix(".gz")
            .filter(|_| bytes.starts_with(&[0x1f, 0x8b]))
        {
            let mut plain = Vec::new();
            let dec = flate2::read::MultiGzDecoder::new(&bytes[..]).take(cap + 1);
            let mut dec = dec;
            if dec.read_to_end(&mut plain).is_err() {
                self.sum.skip(p, "not valid gzip");
                return None;
            }
            if plain.len() as u64 > cap {
                self.sum.skip(
                    p,
                    "decompressed larger than --max-file-mib (raise it to index the file)",
                );
                return None;
            }
            bytes = plain;
            name = inner.to_string();
        }
        if let Some(kind) = DocKind::of(&name, &bytes) {
            let memory = self.opts.pdf_memory_bytes.unwrap_or(1 << 30);
            return match documents::extract(kind, &bytes, cap, memory) {
                Ok(mut doc) => {
                    if doc.failed_units > 0 {
                        self.sum.skip(
                            p,
                            "some PDF pages unreadable (the rest of the file is indexed)",
                        );
                    }
                    if doc.units_left_out {
                        let why = format!(
                            "PDF pages after the first {} left out",
                            documents::MAX_PDF_PAGES
                        );
                        self.sum.skip(p, &why);
                    }
                    Some((std::mem::take(&mut doc.text), name, Some(doc)))
                }
                Err(why) => {
                    self.sum.skip(p, why);
                    None
                }
            };
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            self.sum.skip(p, "empty");
            return None;
        }
        if bytes[..bytes.len().min(8192)].contains(&0) {
            self.sum.skip(p, "binary");
            return None;
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                self.sum.lossy_utf8 += 1;
                log::info!("{}: invalid UTF-8, decoded lossily", p.display());
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        // A byte-order mark is not text (and would hide a JSONL file's first record).
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        Some((text, name, None))
    }
}

/// Why a path that exists cannot be read (permissions, I/O errors): `sync` keeps its passages.
const UNREADABLE: &str = "unreadable";

fn unreadable_reason(p: &Path, e: &std::io::Error) -> &'static str {
    if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
        "broken or looping symlink"
    } else if e.kind() == std::io::ErrorKind::NotFound {
        "not found"
    } else {
        UNREADABLE
    }
}

/// Whether `p` (inside a given folder) is a symlink leading outside every given path.
fn leaves_roots(p: &Path, roots: &[PathBuf]) -> bool {
    let is_link = std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    is_link
        && std::fs::canonicalize(p).is_ok_and(|target| !roots.iter().any(|r| target.starts_with(r)))
}
