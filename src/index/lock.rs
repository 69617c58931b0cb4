//! One writer at a time: an advisory lock (`flock`) on `.NAME.lock` next to the index. The kernel
//! releases it when the writer exits or is killed, so a dead writer never blocks the next one; the
//! file (never deleted, so two writers cannot end up holding two different files) holds the PID of
//! the last writer, for the error message. The leading dot keeps ingest from indexing it when the
//! index lives inside an indexed folder.
use crate::error::{Error, Result};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held write lock on an index path (released when dropped or when the process ends).
#[derive(Debug)]
pub struct WriteLock {
    _file: std::fs::File,
}

/// `.NAME.lock` in the index's folder.
pub fn lock_path(index: &Path) -> PathBuf {
    let name = index
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    index.with_file_name(format!(".{name}.lock"))
}

impl WriteLock {
    /// Take the write lock of `index`, or say who holds it.
    pub fn acquire(index: &Path) -> Result<Self> {
        let path = lock_path(index);
        let mut f = open_lock_file(&path).map_err(|e| Error::io(&path, e))?;
        if !try_lock(&f) {
            // Bounded read: the file is ours, but need not be trusted.
            let mut buf = [0u8; 32];
            let n = f.read(&mut buf).unwrap_or(0);
            let pid = std::str::from_utf8(&buf[..n])
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            return Err(Error::Locked {
                path: index.display().to_string(),
                lock: path.display().to_string(),
                pid,
            });
        }
        // The file has one name (checked at open), so shortening it touches nothing else.
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = writeln!(f, "{}", std::process::id());
        Ok(WriteLock { _file: f })
    }
}

/// Open (or create) the lock file without truncating it: a regular file with one name, never
/// through a symbolic link. A lock file hard-linked to another file is refused: writing the PID
/// into it would change that file.
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let f = o.open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the lock file is not a regular file",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if meta.nlink() > 1 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the lock file has other names (hard links); remove it and retry",
            ));
        }
    }
    Ok(f)
}

/// Take an exclusive advisory lock without waiting.
#[cfg(unix)]
fn try_lock(f: &std::fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a file descriptor this `File` owns for the whole call; no memory is shared.
    unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Without `flock` (non-Unix), the lock is not enforced.
#[cfg(not(unix))]
fn try_lock(_f: &std::fs::File) -> bool {
    true
}
