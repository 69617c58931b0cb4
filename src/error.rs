//! Error types. Every corrupt, truncated or mismatched input is an error value, never a panic.
use alloc::string::String;

/// Errors from reading, writing or searching an index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file does not start with the leann-edge magic bytes.
    #[error("not a leann-edge index (bad magic); rebuild it with `leann-edge build`")]
    BadMagic,
    /// The format version is not one this build reads.
    #[error("index format version {found} is not supported (this build reads versions 1 to {supported}); rebuild the index with this version of leann-edge, or search it with the leann-edge that wrote it")]
    UnsupportedVersion {
        /// Version in the file.
        found: u16,
        /// Newest version this build reads.
        supported: u16,
    },
    /// The index was written on a machine of other endianness or is corrupt.
    #[error("index endianness marker is wrong (file corrupt or written by a foreign build)")]
    Endianness,
    /// The file is shorter than its header or section table says.
    #[error("index truncated: {what} needs bytes up to {needed} but the file has {len}; the file is incomplete, rebuild it")]
    Truncated {
        /// Which part was cut.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes present.
        len: u64,
    },
    /// A section's CRC32 does not match its bytes.
    #[error("index section `{section}` is corrupt (crc32 {found:08x}, expected {expected:08x}); rebuild the index")]
    Checksum {
        /// Section name.
        section: &'static str,
        /// CRC in the section table.
        expected: u32,
        /// CRC of the bytes read.
        found: u32,
    },
    /// A section that must exist is missing.
    #[error("index has no `{0}` section; the file is corrupt or from an incompatible build")]
    MissingSection(&'static str),
    /// A structural inconsistency inside a section.
    #[error("index corrupt in {section}: {detail}")]
    Corrupt {
        /// Section name.
        section: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The index was built with another encoder than the one given.
    #[error("index was built with encoder `{index_model}` but the search uses `{given_model}`; search with the same model (`--model NAME`, NAME the part before the first `:`, for a model of the manifest) or rebuild the index")]
    ModelMismatch {
        /// Encoder fingerprint stored in the index.
        index_model: String,
        /// Encoder fingerprint of the embedder given.
        given_model: String,
    },
    /// The index was built by the same model computing in other arithmetic (f32 vs int8).
    #[error("index was built with {index} encoder compute but the encoder given computes in {given}; open the encoder with the index's compute (CLI: leave out --compute, the index's is used)")]
    ComputeMismatch {
        /// `int8` or `f32`: what built the index.
        index: &'static str,
        /// `int8` or `f32`: what the encoder given does.
        given: &'static str,
    },
    /// Dimensions disagree.
    #[error("dimension mismatch: index has {index}, vector has {given}")]
    Dimension {
        /// Index dimension.
        index: usize,
        /// Given dimension.
        given: usize,
    },
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// The embedder failed.
    #[error(transparent)]
    Embed(#[from] crate::embed::EmbedError),
    /// Reading the flash source failed.
    #[error("reading the index failed: {0}")]
    Flash(#[from] crate::flash::FlashError),
    /// An I/O error with the path involved.
    #[cfg(feature = "std")]
    #[error("{path}: {source}{}", io_hint(.source))]
    Io {
        /// File involved.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The operation was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// Another process is writing the index.
    #[error(
        "{path} is being changed by process {pid} (lock file {path}.lock); wait for it to finish"
    )]
    Locked {
        /// The index.
        path: String,
        /// The writer holding the lock.
        pid: u32,
    },
    /// A feature this build does not have yet; the message says what to do instead.
    #[error("not implemented yet: {0}")]
    NotImplemented(String),
}

impl Error {
    /// Shorthand for a [`Error::Corrupt`].
    pub fn corrupt(section: &'static str, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            section,
            detail: detail.into(),
        }
    }
    /// Shorthand for an I/O error on a path.
    #[cfg(feature = "std")]
    pub fn io(path: impl Into<std::path::PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// What to do about a full disk (every write goes through a temporary file and a rename, so the
/// file that was there is intact).
#[cfg(feature = "std")]
fn io_hint(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::{FileTooLarge, StorageFull};
    const EDQUOT: i32 = 122;
    if matches!(e.kind(), StorageFull | FileTooLarge) || e.raw_os_error() == Some(EDQUOT) {
        " (the disk is full or a size limit was reached: free space and run it again; the \
         file that was there is unchanged)"
    } else {
        ""
    }
}

/// Result alias.
pub type Result<T, E = Error> = core::result::Result<T, E>;
