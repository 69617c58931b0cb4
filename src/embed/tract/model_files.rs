//! Model files: the models we know (size and sha256, kept in step with `models/manifest.toml` by a
//! test), where the default one is looked for, and the checksum check.
//!
//! The sha256 of a 23 MB model costs ~0.1 s on a desktop core and most of a cold query on a Pi's SD
//! card, so it is not paid on every process start: `models/fetch.sh` checks it at fetch, and the
//! encoder checks it once per (canonical path, size, modification time), remembering the result in
//! `$XDG_CACHE_HOME/leann-edge/verified-models` (else `~/.cache/...`). A file replaced or edited
//! since gets a new size or mtime and is hashed again; [`Checksum::Always`] (`verify`) ignores the
//! record. Where no cache folder can be written the file is simply hashed every time.
use super::super::EmbedError;
use std::path::{Path, PathBuf};

/// A model the manifest knows.
#[derive(Clone, Copy, Debug)]
pub struct KnownModel {
    /// Name (folder under `models/`).
    pub name: &'static str,
    /// Size of model.onnx.
    pub size: u64,
    /// sha256 of model.onnx.
    pub sha256: &'static str,
    /// sha256 of tokenizer.json (an edited tokenizer changes every vector).
    pub tokenizer_sha256: &'static str,
    /// sha256 of config.json (the encoder does not read it; checked when present, as fetched;
    /// empty: the model comes without one).
    pub config_sha256: &'static str,
    /// Output dimension.
    pub dim: usize,
    /// Max tokens.
    pub max_tokens: usize,
    /// Languages it was trained for (what `models`, `info` and the README say).
    pub languages: &'static str,
    /// Put before each question (e5: `query: `).
    pub query_prefix: &'static str,
    /// Put before each passage (e5: `passage: `).
    pub passage_prefix: &'static str,
}

/// Models from `models/manifest.toml` (kept in step by a test).
pub const KNOWN: &[KnownModel] = &[
    KnownModel {
        name: "all-minilm-l6-v2-int8",
        size: 22_928_619,
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        tokenizer_sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        config_sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        dim: 384,
        max_tokens: 256,
        languages: "English (other languages get poor results)",
        query_prefix: "",
        passage_prefix: "",
    },
    KnownModel {
        name: MULTILINGUAL,
        size: 119_492_518,
        sha256: "184f208db8e70aecef4cc3345ebb2be915c17a78a735e7a9afd8960aad7bc9e6",
        tokenizer_sha256: "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
        config_sha256: "",
        dim: 384,
        max_tokens: 512,
        languages: "about 100 languages (multilingual e5: German, French, Spanish, Chinese, …); \
                    questions in one language find passages in another",
        query_prefix: "query: ",
        passage_prefix: "passage: ",
    },
];

/// The multilingual model of the manifest (`models/fetch.sh --model multilingual-e5-small-int8`).
pub const MULTILINGUAL: &str = "multilingual-e5-small-int8";

/// When the model file's sha256 is computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checksum {
    /// Once per (path, size, mtime), remembered in the user's cache folder (default).
    #[default]
    Once,
    /// On every open (`verify`).
    Always,
    /// Never for a known model (its size is still checked); for slow boards after a verified fetch.
    Skip,
}

/// The checked model folder.
#[derive(Debug)]
pub(super) struct ModelFiles {
    pub onnx: PathBuf,
    pub tokenizer: PathBuf,
    pub known: Option<&'static KnownModel>,
    /// Identifies the model in an index (`name:sha256:<16 hex>`).
    pub fingerprint: String,
}

pub(super) fn model_err(path: &Path, problem: impl Into<String>) -> EmbedError {
    EmbedError::Model {
        path: path.display().to_string(),
        problem: problem.into(),
    }
}

/// Check the files in `dir`: a regular `model.onnx` of the manifest's size and checksum for a known
/// model (by folder name, else by size), any `model.onnx` otherwise (fingerprinted by its sha256).
pub(super) fn check(dir: &Path, policy: Checksum) -> Result<ModelFiles, EmbedError> {
    let onnx = dir.join("model.onnx");
    let tokenizer = dir.join("tokenizer.json");
    let meta = regular_file(&onnx)?;
    let tok_meta = regular_file(&tokenizer)?;
    let known = KNOWN
        .iter()
        .find(|k| dir.file_name().is_some_and(|f| f == k.name))
        .or_else(|| KNOWN.iter().find(|k| k.size == meta.len()));
    let fingerprint = match known {
        Some(k) => {
            if meta.len() != k.size {
                let why = format!(
                    "is {} bytes, expected {} (incomplete or wrong file)",
                    meta.len(),
                    k.size
                );
                return Err(model_err(&onnx, why));
            }
            if policy != Checksum::Skip {
                let config = dir.join("config.json");
                let config_meta = regular_file(&config).ok();
                let mut files = vec![
                    (&onnx, &meta, k.sha256),
                    (&tokenizer, &tok_meta, k.tokenizer_sha256),
                ];
                if let Some(m) = config_meta.as_ref().filter(|_| !k.config_sha256.is_empty()) {
                    files.push((&config, m, k.config_sha256));
                }
                for (path, meta, want) in files {
                    let sum = sha256_checked(path, meta, policy)?;
                    if sum != want {
                        let why = format!("sha256 {sum} does not match the manifest ({want}) — corrupt, edited or from another model");
                        return Err(model_err(path, why));
                    }
                }
            }
            // The manifest pins the tokenizer with the model: the model's checksum names both.
            format!("{}:sha256:{}", k.name, &k.sha256[..16])
        }
        None => {
            let sum = sha256_checked(&onnx, &meta, policy)?;
            let tok = sha256_checked(&tokenizer, &tok_meta, policy)?;
            log::warn!(
                "{} is not in models/manifest.toml; using it unverified",
                onnx.display()
            );
            format!("custom:sha256:{}:tok:{}", &sum[..16], &tok[..8])
        }
    };
    Ok(ModelFiles {
        onnx,
        tokenizer,
        known,
        fingerprint,
    })
}

/// Metadata of `path` if it is a regular file (a FIFO or device would block or never end).
fn regular_file(path: &Path) -> Result<std::fs::Metadata, EmbedError> {
    let meta =
        std::fs::metadata(path).map_err(|e| model_err(path, format!("cannot read it ({e})")))?;
    if !meta.is_file() {
        return Err(model_err(path, "is not a regular file"));
    }
    Ok(meta)
}

/// The file's sha256, from the verified-models record when its path, size and mtime match one.
fn sha256_checked(
    path: &Path,
    meta: &std::fs::Metadata,
    policy: Checksum,
) -> Result<String, EmbedError> {
    let key = stamp_key(path, meta);
    if policy == Checksum::Once {
        if let Some(sum) = key.as_ref().and_then(|k| stamps::lookup(k)) {
            return Ok(sum);
        }
    }
    let sum = sha256_file(path).map_err(|e| model_err(path, format!("cannot read it ({e})")))?;
    if let Some(k) = key {
        stamps::record(&k, &sum);
    }
    Ok(sum)
}

/// `canonical path \t size \t mtime ns` of the file, if it can be named.
fn stamp_key(path: &Path, meta: &std::fs::Metadata) -> Option<String> {
    let canon = std::fs::canonicalize(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    let p = canon.to_str()?;
    (!p.contains(['\t', '\n'])).then(|| format!("{p}\t{}\t{}", meta.len(), mtime.as_nanos()))
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The verified-models record: lines of `key \t sha256`, newest last, at most [`stamps::KEEP`].
mod stamps {
    use std::path::PathBuf;

    /// Records kept (oldest dropped first).
    const KEEP: usize = 32;

    fn file() -> Option<PathBuf> {
        Some(
            crate::env::knobs()
                .cache_dir
                .as_ref()?
                .join("verified-models"),
        )
    }

    fn lines() -> Vec<String> {
        let Some(f) = file() else { return Vec::new() };
        // A record is a few hundred bytes: anything much larger is not ours.
        match std::fs::metadata(&f) {
            Ok(m) if m.is_file() && m.len() <= 64 * 1024 => std::fs::read_to_string(&f)
                .map(|s| s.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    pub(super) fn lookup(key: &str) -> Option<String> {
        lines().iter().rev().find_map(|l| {
            let (k, sum) = l.rsplit_once('\t')?;
            (k == key && sum.len() == 64).then(|| sum.to_string())
        })
    }

    /// Remember `key → sum`; failures only cost a hash next time.
    pub(super) fn record(key: &str, sum: &str) {
        let Some(f) = file() else { return };
        let mut keep: Vec<String> = lines()
            .into_iter()
            .filter(|l| l.rsplit_once('\t').is_some_and(|(k, _)| k != key))
            .collect();
        keep.push(format!("{key}\t{sum}"));
        let skip = keep.len().saturating_sub(KEEP);
        let body: String = keep[skip..].iter().map(|l| format!("{l}\n")).collect();
        let res = f
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                crate::format::write_file_atomic(&f, body.as_bytes()).map_err(|e| e.to_string())
            });
        if let Err(e) = res {
            log::debug!("cannot remember the model checksum in {}: {e}", f.display());
        }
    }
}
