//! The C API of leann-edge: opaque engine handles over [`leann_edge::Engine`], the library's one
//! front door, so a C program searches and changes an index exactly as the CLI and the service do.
//!
//! Conventions (the header `include/leann_edge.h` is generated from this file by cbindgen):
//! - Every function that can fail returns `NULL` (pointers) or a non-zero code (`int32_t`) and
//!   leaves the error in thread-local storage: [`leann_last_error_code`] (a `LeannErrorCode`: the
//!   library's `ErrorCode`, exported into the header by cbindgen) and [`leann_last_error_message`] (one line saying what to do).
//! - Results: [`leann_engine_search`] returns C structs (rank, score, id, title, source, text) —
//!   what a C program reads without a JSON parser; [`leann_engine_search_json`] takes the full
//!   request (filters, mode, floor, grouping) as JSON and returns the whole answer as one JSON
//!   string. Each result is freed with its own free function.
//! - Thread safety: an engine may be used from several threads at once (searches run in
//!   parallel; changes are serialised inside), except [`leann_engine_close`], which must be the
//!   last call on it. Error state is per thread.
//! - No panic crosses the boundary: one is reported as `LEANN_ERROR_CODE_INTERNAL`.
#![allow(clippy::missing_safety_doc)] // each function's doc says what it needs, in C terms
use leann_edge::engine::{DocumentIn, Engine, Hooks, OptionsJson, SearchRequest};
use leann_edge::ingest::IngestOptions;
use leann_edge::{Error, ErrorCode};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

/// What [`leann_last_error_code`] returns after a success; an error is one of the library's
/// stable codes (`LeannErrorCode`: the same names and numbers as the HTTP `error.code` and the
/// Python `LeannError.code`).
pub const LEANN_OK: i32 = 0;

/// An open index with its encoder (opaque).
pub struct LeannEngine {
    engine: Engine,
}

/// One search hit. The strings are UTF-8, NUL-terminated and owned by the [`LeannResults`] they
/// came in; `source` is NULL for a passage that has none (a JSONL record without a file).
#[repr(C)]
pub struct LeannHit {
    /// 1-based rank.
    pub rank: u32,
    /// Score (cosine similarity in dense mode).
    pub score: f32,
    /// Passage id: the JSONL id (empty for passages of files: see `source`).
    pub id: *const c_char,
    /// Title (document title + section), maybe empty.
    pub title: *const c_char,
    /// Source file and line, or NULL.
    pub source: *const c_char,
    /// The passage text.
    pub text: *const c_char,
}

/// The hits of one search; free with [`leann_results_free`].
#[repr(C)]
pub struct LeannResults {
    /// Number of hits.
    pub len: usize,
    /// `len` hits, best first.
    pub hits: *const LeannHit,
}

/// What [`LeannResults`] points into (the public struct first: a pointer to this is a pointer to it).
#[repr(C)]
struct OwnedResults {
    public: LeannResults,
    hits: Vec<LeannHit>,
    strings: Vec<CString>,
}

thread_local! {
    static LAST: RefCell<(i32, CString)> = RefCell::new((LEANN_OK, CString::default()));
}

fn set_error(code: i32, msg: &str) {
    let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST.with(|l| *l.borrow_mut() = (code, msg));
}

fn clear_error() {
    set_error(LEANN_OK, "");
}

/// Run `f`, turning an error or a panic into the thread's last error and `fail`.
fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, Error>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => {
            clear_error();
            v
        }
        Ok(Err(e)) => {
            set_error(e.code().number(), &e.to_string());
            fail
        }
        Err(_) => {
            let msg = "internal error (a panic was caught); please report it";
            set_error(ErrorCode::Internal.number(), msg);
            fail
        }
    }
}

/// A C string argument as `&str` (an error for NULL or invalid UTF-8).
unsafe fn arg<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(Error::InvalidParam(format!("{what} is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string that stays valid during the call
    // (documented on every function taking one).
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::InvalidParam(format!("{what} is not UTF-8")))
}

/// An optional C string argument (NULL or empty: `None`).
unsafe fn opt_arg<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Error> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: as `arg`.
    let s = unsafe { arg(p, what) }?;
    Ok((!s.trim().is_empty()).then_some(s))
}

/// The engine behind a handle.
unsafe fn engine<'a>(e: *const LeannEngine) -> Result<&'a Engine, Error> {
    if e.is_null() {
        return Err(Error::InvalidParam("engine is NULL".into()));
    }
    // SAFETY: a non-NULL handle comes from `leann_engine_open` and is not closed yet (the
    // caller's contract, documented on `leann_engine_close`).
    Ok(unsafe { &(*e).engine })
}

fn json_string<T: serde::Serialize>(v: &T) -> Result<*mut c_char, Error> {
    let s = serde_json::to_string(v).map_err(|e| Error::InvalidParam(e.to_string()))?;
    Ok(CString::new(s).unwrap_or_default().into_raw())
}

/// The library's version (`"0.1.0"`), a static string.
#[no_mangle]
pub extern "C" fn leann_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The code of this thread's last error: [`LEANN_OK`] after a success, else a `LeannErrorCode`.
#[no_mangle]
pub extern "C" fn leann_last_error_code() -> i32 {
    LAST.with(|l| l.borrow().0)
}

/// This thread's last error message (empty after a success). Valid until the next call on this
/// thread; do not free.
#[no_mangle]
pub extern "C" fn leann_last_error_message() -> *const c_char {
    LAST.with(|l| l.borrow().1.as_ptr())
}

/// The stable name of an error code (`"corrupt"`, `"not_found"`, …; `"ok"` for [`LEANN_OK`],
/// `"unknown"` otherwise), a static string.
#[no_mangle]
pub extern "C" fn leann_error_name(code: i32) -> *const c_char {
    static NAMES: OnceLock<Vec<CString>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let name = |c: ErrorCode| CString::new(c.name()).unwrap_or_default();
        ErrorCode::ALL.iter().map(|&c| name(c)).collect()
    });
    match ErrorCode::from_number(code) {
        Some(c) => names[c.number() as usize - 1].as_ptr(),
        None if code == LEANN_OK => c"ok".as_ptr(),
        None => c"unknown".as_ptr(),
    }
}

/// Open the index at `path` (UTF-8) with the encoder it was built with. `options_json` may be
/// NULL or a JSON object with any of `model` (folder or model name), `threads`, `board`,
/// `compute`, `read_only`, `min_score`, `recompute_cache_mb`. Returns NULL on error. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_open(
    path: *const c_char,
    options_json: *const c_char,
) -> *mut LeannEngine {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: NUL-terminated strings valid for the call.
        let path = unsafe { arg(path, "path") }?;
        // SAFETY: as above.
        let json = unsafe { opt_arg(options_json, "options_json") }?;
        let opts = OptionsJson::parse(json.unwrap_or(""))?;
        let engine = Engine::open(path.as_ref(), &opts)?;
        Ok(Box::into_raw(Box::new(LeannEngine { engine })))
    })
}

/// Search for `query` (UTF-8), `k` hits (0: the board's default), with the engine's defaults
/// (hybrid ranking). Returns NULL on error; free the result with [`leann_results_free`].
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_search(
    engine: *const LeannEngine,
    query: *const c_char,
    k: u32,
) -> *mut LeannResults {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: a live handle, a NUL-terminated query.
        let (e, q) = unsafe { (self::engine(engine)?, arg(query, "query")?) };
        let req = SearchRequest {
            k: (k > 0).then_some(k as usize),
            ..SearchRequest::new(q)
        };
        let a = e.search(&req)?;
        let mut strings = Vec::with_capacity(a.hits.len() * 4);
        let mut ptr = |s: &str| {
            let c = CString::new(s.replace('\0', " ")).unwrap_or_default();
            let p = c.as_ptr();
            strings.push(c);
            p
        };
        let hits: Vec<LeannHit> = a
            .hits
            .iter()
            .map(|h| LeannHit {
                rank: h.rank as u32,
                score: h.score,
                id: ptr(&h.id),
                title: ptr(&h.title),
                source: h.source.as_deref().map_or(std::ptr::null(), &mut ptr),
                text: ptr(&h.text),
            })
            .collect();
        let mut owned = Box::new(OwnedResults {
            public: LeannResults {
                len: hits.len(),
                hits: std::ptr::null(),
            },
            hits,
            strings,
        });
        owned.public.hits = owned.hits.as_ptr();
        Ok(Box::into_raw(owned).cast::<LeannResults>())
    })
}

/// Free what [`leann_engine_search`] returned (NULL is ignored).
#[no_mangle]
pub unsafe extern "C" fn leann_results_free(results: *mut LeannResults) {
    if !results.is_null() {
        // SAFETY: `results` came from `leann_engine_search`, which returned a boxed
        // `OwnedResults` whose first field (repr(C)) is the `LeannResults`; freed once.
        drop(unsafe { Box::from_raw(results.cast::<OwnedResults>()) });
    }
}

/// Search with a full request as JSON (`{"query": "...", "k": 5, "mode": "dense",
/// "filter": ["type=md"], "min_score": 0.3, "group_by_doc": true, …}`: the HTTP API's
/// `POST /v1/search` body) and return the whole answer as JSON (hits with metadata, stats).
/// Returns NULL on error; free with [`leann_string_free`]. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_search_json(
    engine: *const LeannEngine,
    request_json: *const c_char,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: a live handle, a NUL-terminated request.
        let (e, j) = unsafe { (self::engine(engine)?, arg(request_json, "request_json")?) };
        let req: SearchRequest = serde_json::from_str(j)
            .map_err(|err| Error::InvalidParam(format!("request_json: {err}")))?;
        json_string(&e.search(&req)?)
    })
}

/// Add or replace documents given as a JSON array of `{"id", "text", "title"?, "metadata"?}`;
/// returns the change report as JSON (free with [`leann_string_free`]), NULL on error.
/// Thread-safe (changes are serialised).
#[no_mangle]
pub unsafe extern "C" fn leann_engine_add(
    engine: *const LeannEngine,
    documents_json: *const c_char,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: a live handle, a NUL-terminated JSON array.
        let (e, j) = unsafe {
            (
                self::engine(engine)?,
                arg(documents_json, "documents_json")?,
            )
        };
        let docs: Vec<DocumentIn> = serde_json::from_str(j)
            .map_err(|err| Error::InvalidParam(format!("documents_json: {err}")))?;
        json_string(&e.add_documents(&docs, &IngestOptions::default(), &Hooks::default())?)
    })
}

/// Remove the passages with these JSONL ids, given as a JSON array of strings; returns the change
/// report as JSON (free with [`leann_string_free`]), NULL on error (`LEANN_ERROR_CODE_NOT_FOUND`
/// when no passage has any of them). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_remove(
    engine: *const LeannEngine,
    ids_json: *const c_char,
) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: a live handle, a NUL-terminated JSON array.
        let (e, j) = unsafe { (self::engine(engine)?, arg(ids_json, "ids_json")?) };
        let ids: Vec<String> = serde_json::from_str(j)
            .map_err(|err| Error::InvalidParam(format!("ids_json: {err}")))?;
        json_string(&e.remove_ids(&ids, &Hooks::default())?)
    })
}

/// The index's storage breakdown and build record as JSON (free with [`leann_string_free`]),
/// NULL on error. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_info(engine: *const LeannEngine) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: a live handle.
        let e = unsafe { self::engine(engine) }?;
        json_string(&e.info())
    })
}

/// Free a string this library returned (NULL is ignored).
#[no_mangle]
pub unsafe extern "C" fn leann_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in this library and is freed once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Close an engine (NULL is ignored). No other call on it may run or follow.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_close(engine: *mut LeannEngine) {
    if !engine.is_null() {
        // SAFETY: `engine` came from `leann_engine_open` and is closed once, with no call on it
        // in flight (the caller's contract).
        drop(unsafe { Box::from_raw(engine) });
    }
}
