//! One writer at a time: `INDEX.lock`, created exclusively, holding the writer's PID. A lock whose
//! process is gone (killed) is taken over; the lock is removed when the writer finishes.
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A held write lock on an index path (released on drop).
#[derive(Debug)]
pub struct WriteLock {
    path: PathBuf,
}

fn lock_path(index: &Path) -> PathBuf {
    let mut s = index.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Whether process `pid` runs (Linux: `/proc/PID`; elsewhere assumed alive).
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

impl WriteLock {
    /// Take the write lock of `index`, or say who holds it.
    pub fn acquire(index: &Path) -> Result<Self> {
        let path = lock_path(index);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    let _ = f.sync_all();
                    return Ok(WriteLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path)
                        .ok()
                        .and_then(|s| s.trim().parse::<u32>().ok());
                    match holder {
                        Some(pid) if alive(pid) => {
                            return Err(Error::Locked {
                                path: index.display().to_string(),
                                pid,
                            })
                        }
                        // A dead writer's lock (or one killed before it wrote its PID).
                        _ => {
                            log::warn!("{}: removing a stale lock", path.display());
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        Err(Error::Locked {
            path: index.display().to_string(),
            pid: 0,
        })
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
