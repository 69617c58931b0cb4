//! Changes to an open engine's index: add, remove, sync — each under the write lock, keeping
//! `INDEX.vectors` in step, then swapping in the new snapshot.
use super::{Engine, Hooks};
use crate::error::{Error, Result};
use crate::index::{Change, ChangeReport};
use crate::ingest::{collect, IngestOptions, IngestSummary};
use crate::passages::PassageRecord;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

impl Engine {
    /// Add or replace passages (an existing JSONL id, or a passage of the same source file, is
    /// replaced).
    pub fn add(&self, recs: Vec<PassageRecord>, hooks: &Hooks) -> Result<ChangeReport> {
        if recs.is_empty() {
            return Err(Error::NoPassages("no passages to add".into()));
        }
        self.change(Change::Add(recs), hooks)
    }

    /// Add or replace JSONL-shaped documents (a long text is split into `ID`, `ID#2`, …).
    pub fn add_documents(
        &self,
        docs: &[super::DocumentIn],
        ingest: &IngestOptions,
        hooks: &Hooks,
    ) -> Result<ChangeReport> {
        self.writable()?;
        let recs = super::documents_to_records(docs, ingest)?;
        self.add(recs, hooks)
    }

    /// Add files and folders, read as `build` reads them.
    pub fn add_paths(
        &self,
        paths: &[PathBuf],
        ingest: &IngestOptions,
        hooks: &Hooks,
    ) -> Result<(ChangeReport, IngestSummary)> {
        self.writable()?;
        let (recs, sum) = collect(paths, &ingest.clone().for_board(&self.board));
        hooks.ingested(&sum, recs.len());
        if recs.is_empty() {
            return Err(Error::NoPassages(format!("no passages found in {paths:?}")));
        }
        Ok((self.change(Change::Add(recs), hooks)?, sum))
    }

    /// Remove passages by JSONL id (a long record's parts `ID#2`… go with it).
    pub fn remove_ids(&self, ids: &[String], hooks: &Hooks) -> Result<ChangeReport> {
        if ids.is_empty() {
            return Err(Error::InvalidParam("no ids to remove".into()));
        }
        self.change(Change::RemoveIds(ids.to_vec()), hooks)
    }

    /// Remove every passage of these source files or folders (as given when indexed).
    pub fn remove_sources(&self, sources: &[String], hooks: &Hooks) -> Result<ChangeReport> {
        if sources.is_empty() {
            return Err(Error::InvalidParam("no sources to remove".into()));
        }
        self.change(Change::RemoveSources(sources.to_vec()), hooks)
    }

    /// Make the index hold exactly the passages of `paths`: new files added, changed ones
    /// re-chunked, vanished ones removed; unchanged passages cost no encoder work. Refuses a path
    /// it cannot read, and a result with no passages unless `allow_empty`.
    pub fn sync(
        &self,
        paths: &[PathBuf],
        ingest: &IngestOptions,
        allow_empty: bool,
        hooks: &Hooks,
    ) -> Result<(ChangeReport, IngestSummary)> {
        self.writable()?;
        if paths.is_empty() {
            return Err(Error::SyncRefused(
                "sync was given no paths; it makes the index exactly these paths".into(),
            ));
        }
        // A mistyped path would make the index "reflect" nothing there: refuse instead of emptying it.
        for p in paths {
            if let Err(e) = std::fs::metadata(p) {
                return Err(Error::SyncRefused(format!(
                    "{}: {e}; sync makes the index exactly these paths, so it refuses a path it \
                     cannot read",
                    p.display()
                )));
            }
        }
        let (recs, sum) = collect(paths, &ingest.clone().for_board(&self.board));
        hooks.ingested(&sum, recs.len());
        if recs.is_empty() && !allow_empty {
            return Err(Error::SyncRefused(format!(
                "no passages found in {paths:?}; sync would empty the index (allow it with \
                 --allow-empty / allow_empty=True)"
            )));
        }
        let keep = sum.unreadable.clone();
        if !keep.is_empty() {
            hooks.note(&format!(
                "{} path(s) could not be read this time; their passages stay in the index (e.g. {})",
                keep.len(),
                keep[0]
            ));
        }
        let c = Change::Sync {
            passages: recs,
            keep,
        };
        Ok((self.change(c, hooks)?, sum))
    }

    /// Apply a change to the file (under the write lock: one writer in this process, the lock
    /// file against others), keep the kept vectors in step, then swap in the new snapshot.
    pub(super) fn change(&self, c: Change, hooks: &Hooks) -> Result<ChangeReport> {
        self.writable()?;
        let _one = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let never = AtomicBool::new(false);
        let cancel = hooks.cancel.unwrap_or(&never);
        let progress = |ph, done, total| hooks.progress(ph, done, total);
        // The lock spans the vectors too: another writer never sees the index and its vectors
        // out of step.
        let lock = crate::index::WriteLock::acquire(&self.path)?;
        let r = crate::index::change_locked(&lock, &self.path, &self.enc, c, &progress, cancel)?;
        follow_vectors(&self.path, &r.order, self.dim());
        drop(lock);
        self.reload()?;
        Ok(r)
    }
}

/// Keep the vectors `keep_vectors` left beside the index (`bench`'s exact baseline) in step with a
/// change (`order[i]`: old position of passage `i`, `u32::MAX` for a new one): reordered when the
/// change only moved or dropped passages, deleted when it added any (their vectors are not kept) —
/// a stale file of the right length would be taken as the baseline. Vectors that did not match the
/// index before are left alone (`bench` refuses a file of the wrong length).
pub fn follow_vectors(index: &Path, order: &[u32], dim: usize) {
    let vp = super::vectors_path(index);
    let Ok(bytes) = std::fs::read(&vp) else {
        return;
    };
    let row = (dim * 4).max(1);
    let before = bytes.len() / row;
    if bytes.len() % row != 0 || order.iter().any(|&o| o != u32::MAX && o as usize >= before) {
        log::warn!("{} does not match the index: left as is", vp.display());
        return;
    }
    if order.contains(&u32::MAX) {
        match std::fs::remove_file(&vp) {
            Ok(()) => log::info!(
                "removed {} (the index gained passages it has no vectors for)",
                vp.display()
            ),
            Err(e) => log::warn!("could not remove stale {}: {e}", vp.display()),
        }
        return;
    }
    let mut out = Vec::with_capacity(order.len() * row);
    for &o in order {
        out.extend_from_slice(&bytes[o as usize * row..(o as usize + 1) * row]);
    }
    if let Err(e) = crate::format::write_file_atomic(&vp, &out) {
        log::warn!("could not rewrite {}: {e}", vp.display());
    }
}
