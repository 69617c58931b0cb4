//! PDF text, page by page (`pdf-extract` over `lopdf`). Those crates can panic on malformed files,
//! and hostile ones can overflow the stack, exhaust memory or spin in them (page trees whose
//! `/Parent` links loop, inflation bombs), which no guard inside the process stops. So where the
//! process can run a helper — the CLI and `serve` name their own binary with
//! [`super::isolate_pdf_in`] — each PDF is read by a child process under memory and CPU limits and
//! a wall-clock timeout ([`super::isolate`]); a child that dies makes the file a counted skip. In
//! process (library callers that did not opt in, or when the helper cannot start) panics are caught
//! and pages whose `/Parent` chain loops are refused.
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use super::MAX_PDF_PAGES as MAX_PAGES;

/// `/Parent` links followed before a page tree counts as looping.
const MAX_TREE_DEPTH: usize = 256;

/// Inflated bytes of a page's content streams past which the page is not read (a page of dense
/// text is tens of KB; 8 MiB is about half a million drawing operators, which the reader would
/// otherwise decode into memory all at once).
pub(crate) const MAX_PAGE_CONTENT: u64 = 8 << 20;

/// Text kept from one page; the rest of the page is not read (a real page holds a few KB).
pub(crate) const MAX_PAGE_TEXT: usize = 1 << 20;

/// A PDF's pages: the text of each (`None`: that page could not be read) and whether there were
/// more than [`MAX_PAGES`].
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Pages {
    pub pages: Vec<Option<String>>,
    pub more: bool,
}

/// Serialises in-process reading: the panic hook is swapped while it runs.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Read the pages in this process; panics are caught (their messages kept off the terminal).
pub(crate) fn read_pages(bytes: &[u8]) -> Result<Pages, &'static str> {
    let _one = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = catch_unwind(|| pages_of(bytes));
    std::panic::set_hook(hook);
    r.unwrap_or(Err(UNREADABLE))
}

/// The skip reason of a PDF that cannot be read at all.
pub(crate) const UNREADABLE: &str = "unreadable PDF";
/// The skip reason of an encrypted PDF.
pub(crate) const ENCRYPTED: &str = "encrypted PDF (needs a password)";

fn pages_of(bytes: &[u8]) -> Result<Pages, &'static str> {
    let mut doc = lopdf::Document::load_mem(bytes).map_err(|_| UNREADABLE)?;
    // Many PDFs are encrypted with an empty user password (copy/print restrictions only).
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err(ENCRYPTED);
    }
    let ids: Vec<lopdf::ObjectId> = doc.page_iter().take(MAX_PAGES + 1).collect();
    let mut out = Pages {
        more: ids.len() > MAX_PAGES,
        ..Pages::default()
    };
    for (i, &id) in ids.iter().take(MAX_PAGES).enumerate() {
        if parent_loops(&doc, id) {
            out.pages.push(None);
            continue;
        }
        if content_bytes(&doc, id, MAX_PAGE_CONTENT) > MAX_PAGE_CONTENT {
            out.pages.push(None);
            continue;
        }
        let mut text = BoundedText::default();
        let page = catch_unwind(AssertUnwindSafe(|| {
            let w: &mut dyn std::io::Write = &mut text;
            let mut dev = pdf_extract::PlainTextOutput::new(w);
            pdf_extract::output_doc_page(&doc, &mut dev, i as u32 + 1)
        }));
        // A page stopped at the text bound keeps what it had.
        let read = matches!(page, Ok(Ok(()))) || text.full;
        out.pages
            .push(read.then(|| String::from_utf8_lossy(&text.bytes).into_owned()));
    }
    Ok(out)
}

/// Counts the bytes written to it (kept when the copy into it fails part-way).
struct Counted(u64);

impl std::io::Write for Counted {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Page text up to [`MAX_PAGE_TEXT`] bytes; a write past it fails, which stops the reader.
#[derive(Default)]
struct BoundedText {
    bytes: Vec<u8>,
    full: bool,
}

impl std::io::Write for BoundedText {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + b.len() > MAX_PAGE_TEXT {
            self.full = true;
            return Err(std::io::Error::other("page text bound reached"));
        }
        self.bytes.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How much a stream under filters this reader does not measure (LZW, chains) may hold per stored
/// byte: such a page counts as its stored size times this.
const UNMEASURED_RATIO: u64 = 64;

/// Inflated size of page `id`'s content streams, counted without keeping them and stopping past
/// `limit`: unfiltered and Flate streams exactly (a stream that breaks part-way counts what it
/// gave), others as [`UNMEASURED_RATIO`] times their stored size.
fn content_bytes(doc: &lopdf::Document, id: lopdf::ObjectId, limit: u64) -> u64 {
    use std::io::Read;
    let mut total = 0u64;
    for sid in doc.get_page_contents(id) {
        let Ok(stream) = doc.get_object(sid).and_then(|o| o.as_stream()) else {
            continue;
        };
        let filters = stream.filters().unwrap_or_default();
        let stored = stream.content.len() as u64;
        total += match filters.as_slice() {
            [] => stored,
            [b"FlateDecode"] => {
                let z = flate2::read::ZlibDecoder::new(&stream.content[..]);
                let mut n = Counted(0);
                let _ = std::io::copy(&mut z.take(limit + 1), &mut n);
                n.0
            }
            _ => stored.saturating_mul(UNMEASURED_RATIO),
        };
        if total > limit {
            break;
        }
    }
    total
}

/// Whether the `/Parent` chain above page `id` loops or runs deeper than [`MAX_TREE_DEPTH`]
/// (`pdf-extract` follows it recursively for inherited attributes: a loop overflows the stack).
fn parent_loops(doc: &lopdf::Document, mut id: lopdf::ObjectId) -> bool {
    let mut seen = std::collections::HashSet::new();
    loop {
        if !seen.insert(id) || seen.len() > MAX_TREE_DEPTH {
            return true;
        }
        let parent = doc
            .get_dictionary(id)
            .ok()
            .and_then(|d| d.get(b"Parent").ok())
            .and_then(|p| p.as_reference().ok());
        match parent {
            Some(p) => id = p,
            None => return false,
        }
    }
}
