//! Reading a PDF in a child process: the binary named by [`isolate_pdf_in`] is run as
//! `EXE __pdf-text` ([`PDF_HELPER_ARG`]); it limits itself (address space, CPU time, no core
//! dump), reads the PDF from stdin and writes its pages to stdout ([`helper_main`]). The parent
//! bounds what it reads back and kills the child after [`WALL`]. Frame format: `LEPDF1`, then
//! `E` + reason, or `P` + one byte "more pages" + per page `+` + u32 LE length + text or `-`.
use super::pdf::{read_pages, Pages, ENCRYPTED, MAX_PAGES, UNREADABLE};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The argument that makes the binary a PDF helper.
pub const PDF_HELPER_ARG: &str = "__pdf-text";

/// Address space a helper may map (the PDF, its decompressed streams, the text).
const MEMORY: u64 = 1 << 30;
/// CPU seconds a helper may use.
const CPU_SECS: u64 = 60;
/// Wall-clock time the parent waits for a helper.
const WALL: Duration = Duration::from_secs(90);
const MAGIC: &[u8] = b"LEPDF1";

static HELPER: OnceLock<PathBuf> = OnceLock::new();

/// Read every PDF in a child process running `exe` (a binary whose `main` hands
/// [`PDF_HELPER_ARG`] to [`helper_main`], as `leann-edge` does). Without this, PDFs are read in
/// the calling process, where a hostile file can crash it.
pub fn isolate_pdf_in(exe: PathBuf) {
    let _ = HELPER.set(exe);
}

/// The pages of a PDF: through the helper when one is set and starts, else in this process.
pub(super) fn pages(bytes: &[u8], cap: u64) -> Result<Pages, &'static str> {
    match HELPER.get() {
        Some(exe) => match run(exe, bytes, cap) {
            Err(Spawn) => read_pages(bytes),
            Ok(r) => r,
        },
        None => read_pages(bytes),
    }
}

/// The helper could not be started (e.g. a foreign binary under qemu-user).
struct Spawn;

fn run(exe: &Path, bytes: &[u8], cap: u64) -> Result<Result<Pages, &'static str>, Spawn> {
    let mut child = Command::new(exe)
        .arg(PDF_HELPER_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|_| Spawn)?;
    let (mut stdin, stdout) = (child.stdin.take(), child.stdout.take());
    let limit = cap + 8 * MAX_PAGES as u64 + 64;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        // A helper that dies before reading all of it must not take this process down: with
        // SIGPIPE at its default (the CLI's, for `| head`), blocked here the write fails instead.
        block_sigpipe();
        if let Some(w) = stdin.as_mut() {
            let _ = w.write_all(&input);
        }
    });
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(r) = stdout {
            let _ = r.take(limit + 1).read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + WALL;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    let _ = writer.join();
    Ok(match status {
        None => Err("unreadable PDF (reading it took too long)"),
        Some(s) if !s.success() => Err("unreadable PDF (the reader failed on it)"),
        Some(_) if out.len() as u64 > limit => {
            Err("text larger than --max-file-mib (raise it to index the file)")
        }
        Some(_) => decode(&out).ok_or(UNREADABLE).and_then(|r| r),
    })
}

/// Run as the helper: limit this process, read a PDF from stdin, write its pages to stdout.
/// Returns the exit code.
pub fn helper_main() -> i32 {
    limit_self();
    let mut bytes = Vec::new();
    if std::io::stdin().read_to_end(&mut bytes).is_err() {
        return 1;
    }
    let frame = encode(&read_pages(&bytes));
    match std::io::stdout().write_all(&frame) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

#[cfg(unix)]
fn limit_self() {
    let set = |what, n: u64| {
        let l = libc::rlimit {
            rlim_cur: n as libc::rlim_t,
            rlim_max: n as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass by pointer and changes only this process.
        unsafe { libc::setrlimit(what, &l) };
    };
    set(libc::RLIMIT_AS, MEMORY);
    set(libc::RLIMIT_CPU, CPU_SECS);
    set(libc::RLIMIT_CORE, 0);
}

#[cfg(not(unix))]
fn limit_self() {}

/// Block SIGPIPE for the calling thread (a write to a closed pipe then returns `EPIPE`; the
/// signal, directed at this thread, is dropped when it exits).
#[cfg(unix)]
fn block_sigpipe() {
    // SAFETY: the set is initialised by sigemptyset before use; pthread_sigmask changes only the
    // calling thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn block_sigpipe() {}

fn encode(r: &Result<Pages, &'static str>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    match r {
        Err(why) => {
            out.push(b'E');
            out.extend_from_slice(why.as_bytes());
        }
        Ok(p) => {
            out.push(b'P');
            out.push(u8::from(p.more));
            for page in &p.pages {
                match page {
                    Some(t) => {
                        out.push(b'+');
                        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
                        out.extend_from_slice(t.as_bytes());
                    }
                    None => out.push(b'-'),
                }
            }
        }
    }
    out
}

/// Parse a helper's frame; `None` when it is malformed.
fn decode(b: &[u8]) -> Option<Result<Pages, &'static str>> {
    let b = b.strip_prefix(MAGIC)?;
    let (&kind, rest) = b.split_first()?;
    if kind == b'E' {
        // Only reasons this crate writes; anything else is "unreadable".
        let why = [ENCRYPTED, UNREADABLE]
            .into_iter()
            .find(|w| w.as_bytes() == rest)
            .unwrap_or(UNREADABLE);
        return Some(Err(why));
    }
    if kind != b'P' {
        return None;
    }
    let (&more, mut rest) = rest.split_first()?;
    let mut pages = Vec::new();
    while let Some((&tag, r)) = rest.split_first() {
        if pages.len() >= MAX_PAGES {
            return None;
        }
        rest = r;
        if tag == b'-' {
            pages.push(None);
            continue;
        }
        if tag != b'+' || rest.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes(rest[..4].try_into().ok()?) as usize;
        let text = rest.get(4..4 + n)?;
        pages.push(Some(String::from_utf8(text.to_vec()).ok()?));
        rest = &rest[4 + n..];
    }
    Some(Ok(Pages {
        pages,
        more: more == 1,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_malformed_ones_are_refused() {
        let p = Pages {
            pages: vec![Some("one".into()), None, Some(String::new())],
            more: true,
        };
        assert_eq!(
            decode(&encode(&Ok(p))),
            Some(Ok(Pages {
                pages: vec![Some("one".into()), None, Some(String::new())],
                more: true,
            }))
        );
        assert_eq!(decode(&encode(&Err(ENCRYPTED))), Some(Err(ENCRYPTED)));
        let mut bad = encode(&Ok(Pages {
            pages: vec![Some("text".into())],
            more: false,
        }));
        bad.truncate(bad.len() - 1);
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(b"nonsense"), None);
        assert_eq!(decode(b"LEPDF1Eanything"), Some(Err(UNREADABLE)));
    }
}
