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
    /// The query is empty or too long.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A filter clause or grep pattern does not parse or names an unknown field.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A removal named ids or sources the index does not hold.
    #[error("not found: {0}")]
    NotFound(String),
    /// The index file does not exist (or is a folder).
    #[error("{0}")]
    IndexNotFound(String),
    /// Nothing to index: every input was empty or skipped.
    #[error("{0}")]
    NoPassages(String),
    /// An output path that must not be written (an input, a folder, a file that is not an index).
    #[error("{0}")]
    OutputRefused(String),
    /// A `sync` that would empty the index or cannot read a path it was given.
    #[error("{0}")]
    SyncRefused(String),
    /// A write asked of an engine opened read-only.
    #[error("{0}")]
    ReadOnly(String),
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
    #[error("{path} is being changed by process {pid} (lock file {lock}); wait for it to finish")]
    Locked {
        /// The index.
        path: String,
        /// The lock file (`.NAME.lock` beside the index).
        lock: String,
        /// The writer holding the lock (0 when the lock file does not say).
        pid: u32,
    },
    /// A feature this build does not have yet; the message says what to do instead.
    #[error("not implemented yet: {0}")]
    NotImplemented(String),
}

impl Error {
    /// The stable code of this error: the same for the CLI, the HTTP `error.code`, the C API and
    /// the Python exceptions ([`ErrorCode`]).
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            Error::BadMagic => C::NotAnIndex,
            Error::UnsupportedVersion { .. } => C::UnsupportedVersion,
            Error::Endianness
            | Error::Truncated { .. }
            | Error::Checksum { .. }
            | Error::MissingSection(_)
            | Error::Corrupt { .. } => C::Corrupt,
            Error::ModelMismatch { .. } => C::ModelMismatch,
            Error::ComputeMismatch { .. } => C::ComputeMismatch,
            Error::Dimension { .. } => C::DimensionMismatch,
            Error::InvalidParam(_) => C::InvalidParam,
            Error::InvalidQuery(_) => C::InvalidQuery,
            Error::InvalidFilter(_) => C::InvalidFilter,
            Error::NotFound(_) => C::NotFound,
            Error::IndexNotFound(_) => C::IndexNotFound,
            Error::NoPassages(_) => C::NoPassages,
            Error::OutputRefused(_) => C::OutputRefused,
            Error::SyncRefused(_) => C::SyncRefused,
            Error::ReadOnly(_) => C::ReadOnly,
            Error::Embed(e) if e.is_missing_model() => C::ModelMissing,
            Error::Embed(_) => C::Encoder,
            Error::Flash(crate::flash::FlashError::Corrupt { .. }) => C::Corrupt,
            Error::Flash(_) => C::Io,
            #[cfg(feature = "std")]
            Error::Io { source, .. } if is_disk_full(source) => C::DiskFull,
            #[cfg(feature = "std")]
            Error::Io { .. } => C::Io,
            Error::Cancelled => C::Cancelled,
            Error::Locked { .. } => C::Locked,
            Error::NotImplemented(_) => C::NotImplemented,
        }
    }

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

/// Whether `e` says the disk (or a quota, or a file size limit) is full.
#[cfg(feature = "std")]
fn is_disk_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{FileTooLarge, StorageFull};
    const EDQUOT: i32 = 122;
    matches!(e.kind(), StorageFull | FileTooLarge) || e.raw_os_error() == Some(EDQUOT)
}

/// What to do about a full disk (every write goes through a temporary file and a rename, so the
/// file that was there is intact).
#[cfg(feature = "std")]
fn io_hint(e: &std::io::Error) -> &'static str {
    if is_disk_full(e) {
        " (the disk is full or a size limit was reached: free space and run it again; the \
         file that was there is unchanged)"
    } else {
        ""
    }
}

/// The stable code of an error, shared by every caller: the CLI prints `error[CODE]: …`, the
/// HTTP API answers `{"error": {"code": "CODE", …}}`, the C API returns the number from
/// `leann_last_error_code()`, and Python raises `leann_edge.LeannError` with `.code == "CODE"`.
/// Names and numbers never change meaning; new codes are added at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
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
    /// The index's format version is too new or too old.
    UnsupportedVersion = 7,
    /// The index is corrupt (checksum, truncation, structure).
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
    /// The caller cancelled the operation.
    Cancelled = 17,
    /// The engine or service is read-only.
    ReadOnly = 18,
    /// Nothing to index.
    NoPassages = 19,
    /// The output path must not be written.
    OutputRefused = 20,
    /// A sync that would empty the index or cannot read its paths.
    SyncRefused = 21,
    /// Not implemented in this build.
    NotImplemented = 22,
    /// A bug or an unexpected state (a message says what).
    Internal = 23,
}

impl ErrorCode {
    /// Every code, in number order.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::InvalidParam,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidFilter,
        ErrorCode::NotFound,
        ErrorCode::IndexNotFound,
        ErrorCode::NotAnIndex,
        ErrorCode::UnsupportedVersion,
        ErrorCode::Corrupt,
        ErrorCode::ModelMismatch,
        ErrorCode::ComputeMismatch,
        ErrorCode::DimensionMismatch,
        ErrorCode::Encoder,
        ErrorCode::ModelMissing,
        ErrorCode::Io,
        ErrorCode::DiskFull,
        ErrorCode::Locked,
        ErrorCode::Cancelled,
        ErrorCode::ReadOnly,
        ErrorCode::NoPassages,
        ErrorCode::OutputRefused,
        ErrorCode::SyncRefused,
        ErrorCode::NotImplemented,
        ErrorCode::Internal,
    ];

    /// The code's name (`invalid_param`, `not_found`, …).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidParam => "invalid_param",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidFilter => "invalid_filter",
            ErrorCode::NotFound => "not_found",
            ErrorCode::IndexNotFound => "index_not_found",
            ErrorCode::NotAnIndex => "not_an_index",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::Corrupt => "corrupt",
            ErrorCode::ModelMismatch => "model_mismatch",
            ErrorCode::ComputeMismatch => "compute_mismatch",
            ErrorCode::DimensionMismatch => "dimension_mismatch",
            ErrorCode::Encoder => "encoder",
            ErrorCode::ModelMissing => "model_missing",
            ErrorCode::Io => "io",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::Locked => "locked",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::ReadOnly => "read_only",
            ErrorCode::NoPassages => "no_passages",
            ErrorCode::OutputRefused => "output_refused",
            ErrorCode::SyncRefused => "sync_refused",
            ErrorCode::NotImplemented => "not_implemented",
            ErrorCode::Internal => "internal",
        }
    }

    /// The number (C API).
    pub fn number(self) -> i32 {
        self as i32
    }

    /// The code with this number.
    pub fn from_number(n: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.number() == n)
    }

    /// The HTTP status the service answers with.
    pub fn http_status(self) -> u16 {
        use ErrorCode as C;
        match self {
            C::InvalidParam | C::InvalidQuery | C::InvalidFilter | C::DimensionMismatch => 400,
            C::NoPassages => 400,
            C::NotFound => 404,
            C::ReadOnly => 403,
            C::Locked | C::SyncRefused | C::OutputRefused => 409,
            C::Cancelled => 499,
            C::NotImplemented => 501,
            C::DiskFull => 507,
            _ => 500,
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = core::result::Result<T, E>;
