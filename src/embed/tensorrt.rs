//! TensorRT encoder backend for Jetson (feature `tensorrt`).
//!
//! Status: **not implemented on hardware.** No NVIDIA GPU was available to develop or test it, so
//! [`TensorRtEmbedder::open`] always returns [`EmbedError::BackendUnavailable`], with the reason. The
//! seam is in place: callers construct it like any other [`Embedder`] and need no `cfg`.
use super::{EmbedError, Embedder};

/// A TensorRT-backed embedder (see the module docs for its status).
#[derive(Debug)]
pub struct TensorRtEmbedder {
    dim: usize,
}

impl TensorRtEmbedder {
    /// Open the backend for an ONNX model folder; builds and caches an FP16 engine on first use.
    pub fn open(model_dir: &std::path::Path) -> Result<Self, EmbedError> {
        let _ = model_dir;
        if !cfg!(feature = "tensorrt") {
            return Err(EmbedError::BackendUnavailable { backend: "tensorrt", why: "this build has no `tensorrt` feature; rebuild with `--features tensorrt` on a Jetson, or use the default tract encoder".into() });
        }
        #[cfg(feature = "tensorrt")]
        {
            // SAFETY: loading a system library by name runs its initialisers; libnvinfer is NVIDIA's.
            let lib = unsafe {
                libloading::Library::new("libnvinfer.so.10")
                    .or_else(|_| libloading::Library::new("libnvinfer.so.8"))
            };
            if let Err(e) = lib {
                return Err(EmbedError::BackendUnavailable { backend: "tensorrt", why: format!("TensorRT runtime not found ({e}); install TensorRT (JetPack) or use the default tract encoder") });
            }
        }
        Err(EmbedError::BackendUnavailable { backend: "tensorrt", why: "TensorRT was found, but the engine builder is not implemented in this release (untested on hardware); use the default tract encoder".into() })
    }
}

impl Embedder for TensorRtEmbedder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, _texts: &[&str]) -> Result<Vec<f32>, EmbedError> {
        Err(EmbedError::BackendUnavailable {
            backend: "tensorrt",
            why: "not implemented".into(),
        })
    }
    fn fingerprint(&self) -> String {
        "tensorrt".into()
    }
}
