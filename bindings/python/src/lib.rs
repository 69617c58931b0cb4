//! The Python binding of leann-edge: `leann_edge._native.Engine`, a thin handle over the library's
//! one [`leann_edge::Engine`]. Requests and answers cross as JSON strings (the shapes the HTTP API
//! and the CLI's `--json` already use); `python/leann_edge/__init__.py` turns them into `Index`,
//! `Hit` and `LeannError`. The GIL is released for every call that touches the index or encoder,
//! so Python threads search in parallel.
use leann_edge::engine::build::{self, BuildOptions, Inputs, Shape};
use leann_edge::engine::{
    CompactOptions, DocumentIn, Engine as Core, Hooks, OptionsJson, Retrain, SearchRequest,
};
use leann_edge::index::{BuildParams, Phase};
use leann_edge::ingest::IngestOptions;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

create_exception!(
    leann_edge,
    LeannError,
    PyException,
    "A leann-edge failure: args = (code, message); `code` is the stable error code."
);

/// The library's error as `LeannError(code, message)`.
fn err(e: leann_edge::Error) -> PyErr {
    LeannError::new_err((e.code().name(), e.to_string()))
}

fn invalid(what: &str, e: impl std::fmt::Display) -> PyErr {
    err(leann_edge::Error::InvalidParam(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| invalid("result", e))
}

/// Build options as JSON: the shape (as `build`'s flags) plus `keep_vectors`, `embed_cache`.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BuildIn {
    #[serde(flatten)]
    shape: Shape,
    #[serde(default)]
    keep_vectors: bool,
    embed_cache: Option<PathBuf>,
    hub_cache_bytes: Option<u64>,
}

/// Calls a Python progress callable at most every 200 ms (and at each new phase), with the GIL
/// taken back for the call; a callable that raises cancels the work and its error is re-raised.
struct Progress {
    cb: Option<Py<PyAny>>,
    last: Mutex<(Option<Phase>, Instant)>,
    error: Mutex<Option<PyErr>>,
    cancel: AtomicBool,
}

impl Progress {
    fn new(cb: Option<Py<PyAny>>) -> Self {
        Progress {
            cb,
            last: Mutex::new((None, Instant::now())),
            error: Mutex::new(None),
            cancel: AtomicBool::new(false),
        }
    }

    fn report(&self, ph: Phase, done: u64, total: u64) {
        let Some(cb) = &self.cb else { return };
        {
            let Ok(mut last) = self.last.lock() else {
                return;
            };
            let due = last.0 != Some(ph) || last.1.elapsed() >= Duration::from_millis(200);
            if !due && done < total {
                return;
            }
            *last = (Some(ph), Instant::now());
        }
        Python::attach(|py| {
            let r = py
                .check_signals()
                .and_then(|()| cb.call1(py, (ph.name(), done, total)).map(drop));
            if let Err(e) = r {
                if let Ok(mut slot) = self.error.lock() {
                    slot.get_or_insert(e);
                }
                self.cancel.store(true, Ordering::Relaxed);
            }
        });
    }

    /// The callable's error, if it raised; else `r` mapped.
    fn finish<T>(self, r: Result<T, leann_edge::Error>) -> PyResult<T> {
        if let Some(e) = self.error.into_inner().ok().flatten() {
            return Err(e);
        }
        r.map_err(err)
    }
}

/// An open index with its encoder.
#[pyclass(frozen, module = "leann_edge._native", name = "Engine")]
struct Engine {
    inner: Core,
}

#[pymethods]
impl Engine {
    /// Open the index at `path`; `options`: JSON engine options.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf, options: String) -> PyResult<Self> {
        let opts = OptionsJson::parse(&options).map_err(err)?;
        let inner = py.detach(|| Core::open(&path, &opts)).map_err(err)?;
        Ok(Engine { inner })
    }

    /// Build a new index at `path` from `paths` (files and folders) or `records` (a JSON array of
    /// documents), then open it.
    #[staticmethod]
    #[pyo3(signature = (path, paths, records, options, build, progress=None))]
    fn build(
        py: Python<'_>,
        path: PathBuf,
        paths: Vec<PathBuf>,
        records: Option<String>,
        options: String,
        build: String,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<(Self, String)> {
        let opts = OptionsJson::parse(&options).map_err(err)?;
        let b: BuildIn = serde_json::from_str(&build).map_err(|e| invalid("build options", e))?;
        let inputs = match records {
            Some(j) => {
                let docs: Vec<DocumentIn> =
                    serde_json::from_str(&j).map_err(|e| invalid("records", e))?;
                let recs =
                    leann_edge::engine::documents_to_records(&docs, &IngestOptions::default())
                        .map_err(err)?;
                Inputs::Records(recs)
            }
            None => Inputs::Paths(paths, IngestOptions::default()),
        };
        let p = Progress::new(progress);
        let r = py.detach(|| {
            let board = leann_edge::engine::encoder::board(&opts)?;
            let mut params = BuildParams {
                embed_cache: b.embed_cache.clone(),
                ..BuildParams::default()
            };
            b.shape.apply(&mut params, false);
            let o = BuildOptions {
                params: build::for_board(params, &board, b.hub_cache_bytes),
                keep_vectors: b.keep_vectors,
            };
            let report = |ph: Phase, d: u64, t: u64| p.report(ph, d, t);
            let hooks = Hooks {
                progress: Some(&report),
                cancel: Some(&p.cancel),
                ..Hooks::default()
            };
            Core::build(inputs, &path, &o, &opts, &hooks)
        });
        let (inner, outcome) = p.finish(r)?;
        Ok((Engine { inner }, to_json(&outcome.report)?))
    }

    /// Search with a JSON request; the answer as JSON.
    fn search_json(&self, py: Python<'_>, request: String) -> PyResult<String> {
        let req: SearchRequest =
            serde_json::from_str(&request).map_err(|e| invalid("request", e))?;
        let a = py.detach(|| self.inner.search(&req)).map_err(err)?;
        to_json(&a)
    }

    /// Add files and folders; the change report as JSON.
    fn add_paths(&self, py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<String> {
        let r = py.detach(|| {
            self.inner
                .add_paths(&paths, &IngestOptions::default(), &Hooks::default())
        });
        to_json(&r.map_err(err)?.0)
    }

    /// Add or replace documents (a JSON array); the change report as JSON.
    fn add_documents(&self, py: Python<'_>, documents: String) -> PyResult<String> {
        let docs: Vec<DocumentIn> =
            serde_json::from_str(&documents).map_err(|e| invalid("records", e))?;
        let r = py.detach(|| {
            self.inner
                .add_documents(&docs, &IngestOptions::default(), &Hooks::default())
        });
        to_json(&r.map_err(err)?)
    }

    /// Remove passages by JSONL id or by source path; the change report as JSON.
    fn remove(&self, py: Python<'_>, ids: Vec<String>, sources: Vec<String>) -> PyResult<String> {
        let r = py.detach(|| match (ids.is_empty(), sources.is_empty()) {
            (false, true) => self.inner.remove_ids(&ids, &Hooks::default()),
            (true, false) => self.inner.remove_sources(&sources, &Hooks::default()),
            _ => Err(leann_edge::Error::InvalidParam(
                "give ids or sources to remove (one of them)".into(),
            )),
        });
        to_json(&r.map_err(err)?)
    }

    /// Make the index hold exactly the passages of `paths`; the change report as JSON.
    fn sync(&self, py: Python<'_>, paths: Vec<PathBuf>, allow_empty: bool) -> PyResult<String> {
        let r = py.detach(|| {
            self.inner.sync(
                &paths,
                &IngestOptions::default(),
                allow_empty,
                &Hooks::default(),
            )
        });
        to_json(&r.map_err(err)?.0)
    }

    /// Compact (`retrain`: auto, always or never); the report as JSON.
    #[pyo3(signature = (retrain, embed_cache=None))]
    fn compact(
        &self,
        py: Python<'_>,
        retrain: String,
        embed_cache: Option<PathBuf>,
    ) -> PyResult<String> {
        let retrain = match retrain.as_str() {
            "auto" => Retrain::Auto,
            "always" => Retrain::Always,
            "never" => Retrain::Never,
            r => {
                return Err(invalid(
                    "retrain",
                    format!("{r:?} is not auto, always or never"),
                ))
            }
        };
        let o = CompactOptions {
            retrain,
            embed_cache,
        };
        let r = py.detach(|| self.inner.compact(&o, &Hooks::default()));
        to_json(&r.map_err(err)?)
    }

    /// Storage breakdown and build record as JSON.
    fn info(&self) -> PyResult<String> {
        to_json(&self.inner.info())
    }

    /// The sources of the index as JSON.
    fn list(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&py.detach(|| self.inner.list()).map_err(err)?)
    }

    /// Check every checksum and the model files; what was checked as JSON.
    fn verify(&self, py: Python<'_>) -> PyResult<String> {
        to_json(&py.detach(|| self.inner.verify()).map_err(err)?)
    }

    /// Passages in the index.
    fn __len__(&self) -> usize {
        self.inner.index().len()
    }

    /// The index file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }
}

/// `leann_edge._native`.
#[pymodule(name = "_native")]
mod native {
    #[pymodule_export]
    use super::{Engine, LeannError};
    #[pymodule_export]
    #[allow(non_upper_case_globals)]
    const __version__: &str = env!("CARGO_PKG_VERSION");
}
