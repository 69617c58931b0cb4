//! Which files a folder walk indexes, decided in this order for each entry below a given path:
//!
//! 1. hidden entries (`.git`, `.cache`, dotfiles) are passed over silently, as before;
//! 2. folders of dependencies, caches and build outputs are skipped and counted: `node_modules`,
//!    `__pycache__`, `site-packages`, and any folder holding a `CACHEDIR.TAG` (Rust's `target/`,
//!    many caches) — give such a folder itself to index it;
//! 3. `--exclude PATTERN` (gitignore syntax, relative to each given path: `*.log`, `drafts/`,
//!    `/build`) skips what it matches;
//! 4. `.leannignore` files (gitignore syntax, `!pattern` re-includes) in the walked folders, the
//!    deepest first, as git does;
//! 5. with `--include PATTERN`s, a file must match one of them (folders are always entered).
//!
//! Gitignore parsing and matching: the `ignore` crate (ripgrep's), so the syntax is git's own.
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use std::path::Path;

/// The per-folder ignore file.
pub const IGNORE_FILE: &str = ".leannignore";

/// Folders skipped unless given themselves.
pub const DEFAULT_EXCLUDED_DIRS: [&str; 3] = ["node_modules", "__pycache__", "site-packages"];

/// Why an entry is not indexed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Index it (or enter the folder).
    Keep,
    /// Skip it without counting (hidden).
    Hidden,
    /// Skip and count, for this reason.
    Skip(&'static str),
}

/// Check `--include`/`--exclude` patterns before any work: an error names the bad one.
pub fn check_patterns(patterns: &[String]) -> Result<(), String> {
    matcher(Path::new("."), patterns).map(|_| ())
}

fn matcher(root: &Path, patterns: &[String]) -> Result<Option<Gitignore>, String> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GitignoreBuilder::new(root);
    for p in patterns {
        b.add_line(None, p)
            .map_err(|e| format!("pattern {p:?}: {e}"))?;
    }
    b.build().map(Some).map_err(|e| e.to_string())
}

/// The rules in force while walking one given path.
pub struct Rules {
    exclude: Option<Gitignore>,
    include: Option<Gitignore>,
    /// `.leannignore` matchers of the folders entered, outermost first.
    stack: Vec<Gitignore>,
}

impl Rules {
    /// Rules for the walk of `root` (a folder, or the folder of a given file).
    pub fn new(root: &Path, include: &[String], exclude: &[String]) -> Self {
        // Patterns were checked by `check_patterns`; a failure here keeps the walk going unfiltered.
        Rules {
            exclude: matcher(root, exclude).ok().flatten(),
            include: matcher(root, include).ok().flatten(),
            stack: Vec::new(),
        }
    }

    /// Enter folder `dir`: its `.leannignore`, if any, applies below it. Returns whether one was
    /// pushed (give it back to [`Rules::leave`]).
    pub fn enter(&mut self, dir: &Path) -> bool {
        let f = dir.join(IGNORE_FILE);
        if !f.is_file() {
            return false;
        }
        let mut b = GitignoreBuilder::new(dir);
        if let Some(e) = b.add(&f) {
            log::warn!("{}: {e} (the lines that parse are used)", f.display());
        }
        match b.build() {
            Ok(g) => {
                self.stack.push(g);
                true
            }
            Err(_) => false,
        }
    }

    /// Leave a folder entered with [`Rules::enter`].
    pub fn leave(&mut self, pushed: bool) {
        if pushed {
            self.stack.pop();
        }
    }

    /// The verdict on `p`, an entry below a given path.
    pub fn judge(&self, p: &Path, is_dir: bool) -> Verdict {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        if name.starts_with('.') {
            return Verdict::Hidden;
        }
        if is_dir && (DEFAULT_EXCLUDED_DIRS.contains(&&*name) || p.join("CACHEDIR.TAG").is_file()) {
            return Verdict::Skip(
                "dependency, cache or build folder (give the folder itself to index it)",
            );
        }
        if self
            .exclude
            .as_ref()
            .is_some_and(|m| m.matched(p, is_dir).is_ignore())
        {
            return Verdict::Skip("excluded by --exclude");
        }
        for m in self.stack.iter().rev() {
            match m.matched(p, is_dir) {
                Match::Ignore(_) => return Verdict::Skip("excluded by .leannignore"),
                Match::Whitelist(_) => break,
                Match::None => {}
            }
        }
        if !is_dir
            && self
                .include
                .as_ref()
                .is_some_and(|m| !m.matched_path_or_any_parents(p, false).is_ignore())
        {
            return Verdict::Skip("not matched by --include");
        }
        Verdict::Keep
    }
}
