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
        let mut text = String::new();
        let page = catch_unwind(AssertUnwindSafe(|| {
            let mut dev = pdf_extract::PlainTextOutput::new(&mut text);
            pdf_extract::output_doc_page(&doc, &mut dev, i as u32 + 1)
        }));
        out.pages.push(matches!(page, Ok(Ok(()))).then_some(text));
    }
    Ok(out)
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
