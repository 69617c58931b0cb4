//! One trait for reading index bytes from flash, with three implementations:
//! a memory map ([`MmapSource`]), positioned file reads ([`FileSource`]) and any embedded-io
//! `Read + Seek` device ([`EmbeddedIoSource`], e.g. raw SPI/NOR flash). [`SliceSource`] serves bytes
//! already in memory. The search path reads only what it needs through this trait.
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// A read from the flash source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlashError {
    /// The read would go past the end of the source.
    #[error("read of {len} bytes at {offset} is past the end ({size} bytes)")]
    OutOfRange {
        /// Offset asked for.
        offset: u64,
        /// Length asked for.
        len: usize,
        /// Size of the source.
        size: u64,
    },
    /// The device reported an error.
    #[error("device read failed: {0}")]
    Device(alloc::string::String),
    /// Bytes that do not match their checksum (a block CRC, or an old file's section CRC): the
    /// file is damaged.
    #[error(
        "index section `{section}` is damaged at byte {offset} (its checksum does not match): \
         run `leann-edge verify`, then rebuild the index or restore a copy"
    )]
    Corrupt {
        /// The section holding the bad bytes (`a/b`: a block shared by two sections).
        section: alloc::string::String,
        /// First byte of the block (or section) that failed its check.
        offset: u64,
    },
}

/// Positioned, read-only access to the bytes of an index.
pub trait FlashSource {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fill `buf` with the bytes at `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FlashError>;
    /// Borrow bytes directly when the source is memory-resident (zero-copy); `None` otherwise.
    fn slice(&self, _offset: u64, _len: usize) -> Option<&[u8]> {
        None
    }
    /// Bytes read through `read_at` so far (zero-copy borrows are counted by the caller).
    fn bytes_read(&self) -> u64;
}

fn check(offset: u64, len: usize, size: u64) -> Result<(), FlashError> {
    match offset.checked_add(len as u64) {
        Some(end) if end <= size => Ok(()),
        _ => Err(FlashError::OutOfRange { offset, len, size }),
    }
}

/// Bytes in memory.
#[derive(Debug)]
pub struct SliceSource<B: AsRef<[u8]>> {
    bytes: B,
    read: Cell<u64>,
}

impl<B: AsRef<[u8]>> SliceSource<B> {
    /// Wrap bytes.
    pub fn new(bytes: B) -> Self {
        SliceSource {
            bytes,
            read: Cell::new(0),
        }
    }
}

impl<B: AsRef<[u8]>> FlashSource for SliceSource<B> {
    fn len(&self) -> u64 {
        self.bytes.as_ref().len() as u64
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FlashError> {
        check(offset, buf.len(), self.len())?;
        let o = offset as usize;
        buf.copy_from_slice(&self.bytes.as_ref()[o..o + buf.len()]);
        self.read.set(self.read.get() + buf.len() as u64);
        Ok(())
    }
    fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        check(offset, len, self.len()).ok()?;
        self.read.set(self.read.get() + len as u64);
        Some(&self.bytes.as_ref()[offset as usize..offset as usize + len])
    }
    fn bytes_read(&self) -> u64 {
        self.read.get()
    }
}

/// A memory-mapped index file. Pages are faulted in on demand; nothing is read eagerly.
#[cfg(feature = "std")]
pub type MmapSource = SliceSource<memmap2::Mmap>;

/// Open `path` for reading if it is a regular file: a FIFO would block the open forever and a
/// device or socket is no index.
#[cfg(feature = "std")]
pub fn open_regular(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    std::fs::File::open(path)
}

#[cfg(feature = "std")]
impl MmapSource {
    /// Map a file read-only. A file replaced *in place* while mapped (truncated, rewritten) makes
    /// reads of the lost pages fault (SIGBUS); replace indexes by renaming a new file over the old
    /// one (what `build` does), or read through [`FileSource`], which returns an error instead.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let f = open_regular(path)?;
        // SAFETY: the map is read-only and only read through bounds-checked slices; the file must
        // not be truncated in place while mapped (see above: builds write a temporary file and
        // rename it over the old one, which leaves existing maps intact).
        let m = unsafe { memmap2::Mmap::map(&f)? };
        Ok(SliceSource::new(m))
    }
}

/// Positioned reads (`pread`) on a file; keeps nothing in memory.
#[cfg(feature = "std")]
#[derive(Debug)]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
    /// Atomic so that one open index can serve searches on several threads (the service).
    read: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "std")]
impl FileSource {
    /// Open a regular file. A file replaced in place while open gives read errors, never a signal.
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = open_regular(path)?;
        let len = file.metadata()?.len();
        Ok(FileSource {
            file,
            len,
            read: std::sync::atomic::AtomicU64::new(0),
        })
    }
}

#[cfg(feature = "std")]
impl FlashSource for FileSource {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FlashError> {
        check(offset, buf.len(), self.len)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file
                .read_exact_at(buf, offset)
                .map_err(|e| FlashError::Device(e.to_string()))?;
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| FlashError::Device(e.to_string()))?;
            f.read_exact(buf)
                .map_err(|e| FlashError::Device(e.to_string()))?;
        }
        self.read
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    fn bytes_read(&self) -> u64 {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Any embedded-io `Read + Seek` device (raw flash behind SPI, an SD card block driver, …).
pub struct EmbeddedIoSource<D> {
    dev: RefCell<D>,
    len: u64,
    read: Cell<u64>,
}

impl<D: embedded_io::Read + embedded_io::Seek> EmbeddedIoSource<D> {
    /// Wrap a device holding `len` bytes of index.
    pub fn new(dev: D, len: u64) -> Self {
        EmbeddedIoSource {
            dev: RefCell::new(dev),
            len,
            read: Cell::new(0),
        }
    }
    /// Give the device back.
    pub fn into_inner(self) -> D {
        self.dev.into_inner()
    }
}

impl<D: embedded_io::Read + embedded_io::Seek> FlashSource for EmbeddedIoSource<D> {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), FlashError> {
        check(offset, buf.len(), self.len)?;
        let mut dev = self.dev.borrow_mut();
        dev.seek(embedded_io::SeekFrom::Start(offset))
            .map_err(|e| FlashError::Device(alloc::format!("{e:?}")))?;
        dev.read_exact(buf)
            .map_err(|e| FlashError::Device(alloc::format!("{e:?}")))?;
        self.read.set(self.read.get() + buf.len() as u64);
        Ok(())
    }
    fn bytes_read(&self) -> u64 {
        self.read.get()
    }
}

/// Read `len` bytes at `offset` into a fresh vector (for small, one-off reads).
pub fn read_vec<S: FlashSource + ?Sized>(
    src: &S,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, FlashError> {
    check(offset, len, src.len())?;
    if let Some(s) = src.slice(offset, len) {
        return Ok(s.to_vec());
    }
    let mut v = alloc::vec![0u8; len];
    src.read_at(offset, &mut v)?;
    Ok(v)
}
