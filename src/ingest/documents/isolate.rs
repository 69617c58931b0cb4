//! Reading a PDF in a child process: this binary (`/proc/self/exe` on Linux, else the path given
//! to [`isolate_pdf_in`]) is run as `EXE __pdf-text LEN` ([`PDF_HELPER_ARG`]); it limits itself
//! (data memory scaled to the input, CPU time, no core dump), reads the PDF from stdin and writes
//! its pages to stdout ([`helper_main`]). The parent bounds what it reads back and kills the child
//! after [`WALL`]. The first use probes the helper with an empty input; a helper that does not
//! answer as expected (another build, emulation) is not used again and PDFs are read in process.
//! Frame format: `LEPDF1`, then `E` + reason, or `P` + one byte "more pages" + per page `+` +
//! u32 LE length + text, or `-`.
use super::pdf::{read_pages, Pages, ENCRYPTED, MAX_PAGES, UNREADABLE};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The argument that makes the binary a PDF helper.
pub const PDF_HELPER_ARG: &str = "__pdf-text";

/// CPU seconds a helper may use.
const CPU_SECS: u64 = 60;
/// Wall-clock time the parent waits for a helper.
const WALL: Duration = Duration::from_secs(90);
const MAGIC: &[u8] = b"LEPDF1";

static HELPER: OnceLock<PathBuf> = OnceLock::new();
/// Whether the helper answered the probe (decided on first use).
static WORKS: OnceLock<bool> = OnceLock::new();

/// The data-memory limit of a helper reading `len` bytes, given `memory` (the board's share for
/// the reader, [`crate::boards::Board::pdf_memory_bytes`]): that, or for a large input room for
/// the PDF twice over and half of it more — never past twice the share.
fn memory_for(len: u64, memory: u64) -> u64 {
    let memory = memory.max(64 << 20);
    memory
        .max(len.saturating_mul(2).saturating_add(memory / 2))
        .min(memory.saturating_mul(2))
}

/// Read every PDF in a child process running `exe` (a binary whose `main` hands
/// [`PDF_HELPER_ARG`] to [`helper_main`], as `leann-edge` does). Without this, PDFs are read in
/// the calling process, where a hostile file can crash it.
pub fn isolate_pdf_in(exe: PathBuf) {
    let _ = HELPER.set(exe);
}

/// The pages of a PDF: through the helper when one is set and works, else in this process.
pub(super) fn pages(bytes: &[u8], cap: u64, memory: u64) -> Result<Pages, &'static str> {
    let Some(exe) = usable_helper() else {
        return read_pages(bytes);
    };
    match run(&exe, bytes, cap, memory) {
        Ok(r) => r,
        Err(Spawn) => read_pages(bytes),
    }
}

/// The helper to run, if one is set and answered the probe.
fn usable_helper() -> Option<PathBuf> {
    let given = HELPER.get()?;
    let own = Path::new("/proc/self/exe");
    let exe = if own.exists() { own } else { given.as_path() };
    let works = *WORKS.get_or_init(|| {
        let ok = matches!(run(exe, b"", 0, 64 << 20), Ok(Err(UNREADABLE)));
        if !ok {
            log::warn!("the PDF helper ({} {PDF_HELPER_ARG}) does not work here; reading PDFs in this process", exe.display());
        }
        ok
    });
    works.then(|| exe.to_path_buf())
}

/// The helper could not be started (e.g. a foreign binary under qemu-user).
struct Spawn;

fn run(
    exe: &Path,
    bytes: &[u8],
    cap: u64,
    memory: u64,
) -> Result<Result<Pages, &'static str>, Spawn> {
    let mut child = Command::new(exe)
        .arg(PDF_HELPER_ARG)
        .arg(bytes.len().to_string())
        .arg(memory_for(bytes.len() as u64, memory).to_string())
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
    // Too much output first: the reader's closed pipe is what killed such a helper.
    Ok(match status {
        _ if out.len() as u64 > limit => {
            Err("text larger than --max-file-mib (raise it to index the file)")
        }
        None => Err(TOO_LONG),
        Some(s) if timed_out(&s) => Err(TOO_LONG),
        Some(s) if !s.success() => Err("unreadable PDF (the reader failed on it)"),
        Some(_) => decode(&out).ok_or(UNREADABLE).and_then(|r| r),
    })
}

const TOO_LONG: &str = "unreadable PDF (reading it took too long)";

/// Whether a helper was stopped for its CPU time (SIGXCPU) or killed.
#[cfg(unix)]
fn timed_out(s: &std::process::ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    matches!(s.signal(), Some(libc::SIGXCPU) | Some(libc::SIGKILL))
}

#[cfg(not(unix))]
fn timed_out(_: &std::process::ExitStatus) -> bool {
    false
}

/// Run as the helper (`args`: what follows [`PDF_HELPER_ARG`]: the input's length and the data
/// memory it may use): limit this process, read a PDF from stdin, write its pages to stdout.
/// Returns the exit code.
pub fn helper_main(args: &[String]) -> i32 {
    let len: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0);
    let memory: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| memory_for(len, 1 << 30));
    limit_self(memory);
    let mut bytes = Vec::with_capacity(len.min(1 << 32) as usize);
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
fn limit_self(memory: u64) {
    let set = |what, n: u64| {
        let l = libc::rlimit {
            rlim_cur: n as libc::rlim_t,
            rlim_max: n as libc::rlim_t,
        };
        // SAFETY: setrlimit reads the struct we pass by pointer and changes only this process.
        unsafe { libc::setrlimit(what, &l) };
    };
    // Data, not address space: an allocator may reserve large address ranges up front.
    set(libc::RLIMIT_DATA, memory);
    set(libc::RLIMIT_CPU, CPU_SECS);
    set(libc::RLIMIT_CORE, 0);
}

#[cfg(not(unix))]
fn limit_self(_: u64) {}

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
        let text = rest.get(4..)?.get(..n)?;
        pages.push(Some(String::from_utf8(text.to_vec()).ok()?));
        rest = &rest[4..][n..];
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
