//! The C API of leann-edge: opaque engine handles over [`leann_edge::Engine`], the library's one
//! front door, so a C program searches and changes an index exactly as the CLI and the service do.
//!
//! Conventions (the header `include/leann_edge.h` is generated from this file by cbindgen):
//! - Every function that can fail returns `NULL` (pointers) or a non-zero code (`int32_t`) and
//!   leaves the error in thread-local storage: [`leann_last_error_code`] (a [`LeannErrorCode`], the
//!   library's stable codes) and [`leann_last_error_message`] (one line saying what to do).
//! - Results: [`leann_engine_search`] returns C structs (rank, score, id, title, source, text) —
//!   what a C program reads without a JSON parser; [`leann_engine_search_json`] takes the full
//!   request (filters, mode, floor, grouping) as JSON and returns the whole answer as one JSON
//!   string. Each result is freed with its own free function.
//! - Thread safety: an engine may be used from several threads at once (searches run in
//!   parallel; changes are serialised inside), except [`leann_engine_close`], which must be the
//!   last call on it. Error state is per thread.
//! - No panic crosses the boundary: one is reported as `LEANN_ERROR_CODE_INTERNAL`.
#![allow(clippy::missing_safety_doc)] // each function's doc says what it needs, in C terms
use leann_edge::engine::{DocumentIn, Engine, EngineOptions, Hooks, SearchRequest};
use leann_edge::ingest::IngestOptions;
use leann_edge::{Error, ErrorCode};
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// The stable error codes (the same names and numbers as the library's `ErrorCode`, the HTTP
/// `error.code` and the Python `LeannError.code`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeannErrorCode {
    /// No error.
    Ok = 0,
    /// A parameter is out of range.
    InvalidParam = 1,
    /// The query is empty or too long.
    InvalidQuery = 2,
    /// A filter or grep pattern is wrong.
    InvalidFilter = 3,
    /// Ids or sources to remove are not in the index.
    NotFound = 4,
    /// The index file does not exist.
    IndexNotFound = 5,
    /// The file is not a leann-edge index.
    NotAnIndex = 6,
    /// The index's format version is not supported.
    UnsupportedVersion = 7,
    /// The index is corrupt.
    Corrupt = 8,
    /// The index was built with another model.
    ModelMismatch = 9,
    /// The index was built with other encoder arithmetic.
    ComputeMismatch = 10,
    /// A vector's dimension differs from the index's.
    DimensionMismatch = 11,
    /// The encoder failed.
    Encoder = 12,
    /// The encoder model is not installed.
    ModelMissing = 13,
    /// Reading or writing a file failed.
    Io = 14,
    /// The disk is full (nothing was changed).
    DiskFull = 15,
    /// Another process is writing the index.
    Locked = 16,
    /// Cancelled.
    Cancelled = 17,
    /// The engine is read-only.
    ReadOnly = 18,
    /// Nothing to index.
    NoPassages = 19,
    /// The output path must not be written.
    OutputRefused = 20,
    /// A sync that would empty the index or cannot read its paths.
    SyncRefused = 21,
    /// Not implemented in this build.
    NotImplemented = 22,
    /// A bug or unexpected state (including a caught panic).
    Internal = 23,
}

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
    /// Passage id (JSONL id, or `path:line` for file passages).
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
    static LAST: RefCell<(LeannErrorCode, CString)> = RefCell::new((LeannErrorCode::Ok, CString::default()));
}

fn set_error(code: LeannErrorCode, msg: &str) {
    let msg = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST.with(|l| *l.borrow_mut() = (code, msg));
}

fn clear_error() {
    set_error(LeannErrorCode::Ok, "");
}

fn code_of(c: ErrorCode) -> LeannErrorCode {
    let n = c.number();
    ALL_CODES
        .iter()
        .copied()
        .find(|x| *x as i32 == n)
        .unwrap_or(LeannErrorCode::Internal)
}

const ALL_CODES: [LeannErrorCode; 24] = {
    use LeannErrorCode::*;
    [
        Ok,
        InvalidParam,
        InvalidQuery,
        InvalidFilter,
        NotFound,
        IndexNotFound,
        NotAnIndex,
        UnsupportedVersion,
        Corrupt,
        ModelMismatch,
        ComputeMismatch,
        DimensionMismatch,
        Encoder,
        ModelMissing,
        Io,
        DiskFull,
        Locked,
        Cancelled,
        ReadOnly,
        NoPassages,
        OutputRefused,
        SyncRefused,
        NotImplemented,
        Internal,
    ]
};

/// Run `f`, turning an error or a panic into the thread's last error and `fail`.
fn guard<T>(fail: T, f: impl FnOnce() -> Result<T, Error>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => {
            clear_error();
            v
        }
        Ok(Err(e)) => {
            set_error(code_of(e.code()), &e.to_string());
            fail
        }
        Err(_) => {
            set_error(
                LeannErrorCode::Internal,
                "internal error (a panic was caught); please report it",
            );
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

/// Engine options as JSON (all optional).
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OptionsIn {
    model: Option<PathBuf>,
    threads: Option<usize>,
    board: Option<String>,
    read_only: Option<bool>,
    min_score: Option<f32>,
    recompute_cache_mb: Option<u64>,
}

/// The library's version (`"0.1.0"`), a static string.
#[no_mangle]
pub extern "C" fn leann_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The code of this thread's last error (`LEANN_ERROR_CODE_OK` after a success).
#[no_mangle]
pub extern "C" fn leann_last_error_code() -> LeannErrorCode {
    LAST.with(|l| l.borrow().0)
}

/// This thread's last error message (empty after a success). Valid until the next call on this
/// thread; do not free.
#[no_mangle]
pub extern "C" fn leann_last_error_message() -> *const c_char {
    LAST.with(|l| l.borrow().1.as_ptr())
}

/// The stable name of an error code (`"corrupt"`, `"not_found"`, …; `"ok"` for 0, `"unknown"`
/// otherwise), a static string.
#[no_mangle]
pub extern "C" fn leann_error_name(code: LeannErrorCode) -> *const c_char {
    let name = ErrorCode::ALL
        .iter()
        .find(|c| c.number() == code as i32)
        .map_or(
            if code == LeannErrorCode::Ok {
                "ok\0"
            } else {
                "unknown\0"
            },
            |c| NAMES[c.number() as usize - 1],
        );
    name.as_ptr().cast()
}

const NAMES: [&str; 23] = [
    "invalid_param\0",
    "invalid_query\0",
    "invalid_filter\0",
    "not_found\0",
    "index_not_found\0",
    "not_an_index\0",
    "unsupported_version\0",
    "corrupt\0",
    "model_mismatch\0",
    "compute_mismatch\0",
    "dimension_mismatch\0",
    "encoder\0",
    "model_missing\0",
    "io\0",
    "disk_full\0",
    "locked\0",
    "cancelled\0",
    "read_only\0",
    "no_passages\0",
    "output_refused\0",
    "sync_refused\0",
    "not_implemented\0",
    "internal\0",
];

/// Open the index at `path` (UTF-8) with the encoder it was built with. `options_json` may be
/// NULL or a JSON object with any of `model` (folder or model name), `threads`, `board`,
/// `read_only`, `min_score`, `recompute_cache_mb`. Returns NULL on error. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn leann_engine_open(
    path: *const c_char,
    options_json: *const c_char,
) -> *mut LeannEngine {
    guard(std::ptr::null_mut(), || {
        // SAFETY: documented: NUL-terminated strings valid for the call.
        let path = unsafe { arg(path, "path") }?;
        // SAFETY: as above.
        let o: OptionsIn = match unsafe { opt_arg(options_json, "options_json") }? {
            Some(j) => serde_json::from_str(j)
                .map_err(|e| Error::InvalidParam(format!("options_json: {e}")))?,
            None => OptionsIn::default(),
        };
        let opts = EngineOptions {
            model: o.model,
            threads: o.threads,
            board: o.board,
            read_only: o.read_only.unwrap_or(false),
            min_score: o.min_score,
            recompute_cache_bytes: o.recompute_cache_mb.map(|m| m.saturating_mul(1 << 20)),
            ..EngineOptions::default()
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_codes_match_the_library_codes_by_number_and_name() {
        for c in ErrorCode::ALL {
            let lc = code_of(c);
            assert_eq!(lc as i32, c.number(), "{c:?}");
            // SAFETY: leann_error_name returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(leann_error_name(lc)) };
            assert_eq!(name.to_str().unwrap(), c.name());
        }
        assert_eq!(ALL_CODES.len(), ErrorCode::ALL.len() + 1);
    }

    #[test]
    fn errors_are_codes_and_messages_not_crashes() {
        // SAFETY: NULL and a valid C string are what the functions document.
        let e = unsafe { leann_engine_open(std::ptr::null(), std::ptr::null()) };
        assert!(e.is_null());
        assert_eq!(leann_last_error_code(), LeannErrorCode::InvalidParam);
        let p = CString::new("/nonexistent/x.leann").unwrap();
        // SAFETY: as above.
        let e = unsafe { leann_engine_open(p.as_ptr(), std::ptr::null()) };
        assert!(e.is_null());
        assert_eq!(leann_last_error_code(), LeannErrorCode::IndexNotFound);
        // SAFETY: the message pointer is valid until the next call on this thread.
        let m = unsafe { CStr::from_ptr(leann_last_error_message()) };
        assert!(m.to_str().unwrap().contains("does not exist"));
        // SAFETY: NULL handles are documented as errors.
        let r = unsafe { leann_engine_search(std::ptr::null(), p.as_ptr(), 3) };
        assert!(r.is_null());
        assert_eq!(leann_last_error_code(), LeannErrorCode::InvalidParam);
    }
}
