//! Product quantisation: the optional OPQ projection, the f16 codebook ([`crate::pq`]) and one
//! fixed-size code per node, scored against a query's distance table.
use super::read_checked;
use crate::error::{Error, Result};
use crate::flash::FlashSource;
use crate::format::{Kind, Layout, Meta, Section};
use crate::pq::{Pq, Rotation};
use crate::search::{Calibration, TopK};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// Largest codebook or projection section (64 MiB).
const MAX_TABLE_BYTES: u64 = 1 << 26;
/// Codes read per chunk of a scan.
const SCAN_CHUNK_BYTES: usize = 64 * 1024;

/// The codebook and code sections.
pub fn sections(pq: &Pq, codes: Vec<u8>) -> Vec<(Kind, Vec<u8>)> {
    alloc::vec![
        (Kind::PqCodebook, pq.codebook_bytes()),
        (Kind::PqCodes, codes)
    ]
}

/// The projection section, when the PQ has one (written last: format 2 added it).
pub fn rotation_section(pq: &Pq) -> Option<(Kind, Vec<u8>)> {
    pq.rotation
        .as_ref()
        .map(|r| (Kind::PqRotation, r.to_bytes()))
}

/// The calibration section, when there is one (format 6: written after every older section).
pub fn calibration_section(cal: Option<&Calibration>) -> Option<(Kind, Vec<u8>)> {
    cal.map(|c| (Kind::PqCalibration, c.to_bytes()))
}

/// The PQ of an open index: codebook in RAM, codes on flash.
#[derive(Debug)]
pub struct PqPart {
    pq: Pq,
    codes: Section,
    n: u64,
    calibration: Option<Calibration>,
    /// The codes' CRC matched on a full scan (checked once).
    codes_verified: AtomicBool,
}

impl PqPart {
    /// Read and validate the PQ of an index of `meta.n` nodes of dimension `meta.dim`.
    pub fn read<S: FlashSource + ?Sized>(src: &S, layout: &Layout, meta: &Meta) -> Result<Self> {
        let dim = meta.dim as usize;
        let rotation = match layout.get(Kind::PqRotation) {
            Some(r) => Some(Rotation::from_bytes(
                dim,
                &read_checked(src, &r, MAX_TABLE_BYTES)?,
            )?),
            None => None,
        };
        let pq_dim = rotation.as_ref().map_or(dim, |r| r.out_dim);
        let m = meta.pq_m as usize;
        if m == 0 || pq_dim % m != 0 || !(meta.pq_bits == 4 || meta.pq_bits == 8) {
            return Err(Error::corrupt("pq_codebook", "bad PQ shape"));
        }
        let cb = layout.need(Kind::PqCodebook)?;
        let mut pq = Pq::from_codebook_bytes(
            pq_dim,
            m,
            meta.pq_bits,
            &read_checked(src, &cb, MAX_TABLE_BYTES)?,
        )?;
        pq.rotation = rotation;
        let codes = layout.need(Kind::PqCodes)?;
        let want = meta.n.checked_mul(pq.code_bytes() as u64);
        if want != Some(codes.len) {
            return Err(Error::corrupt(
                "pq_codes",
                alloc::format!("{} bytes, expected {want:?}", codes.len),
            ));
        }
        let calibration = match layout.get(Kind::PqCalibration) {
            Some(c) => Some(Calibration::from_bytes(&read_checked(
                src,
                &c,
                crate::search::calibration::BYTES as u64,
            )?)?),
            None => None,
        };
        Ok(PqPart {
            pq,
            codes,
            n: meta.n,
            calibration,
            codes_verified: AtomicBool::new(false),
        })
    }

    /// The quantiser.
    pub fn pq(&self) -> &Pq {
        &self.pq
    }

    /// The PQ error calibration (format 6 indexes).
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// PQ distance of node `v` under `table`.
    pub fn distance<S: FlashSource + ?Sized>(&self, src: &S, table: &[f32], v: u32) -> Result<f32> {
        if v as u64 >= self.n {
            return Err(Error::InvalidParam(alloc::format!("node {v} out of range")));
        }
        let cb = self.pq.code_bytes();
        let off = self.codes.offset + v as u64 * cb as u64;
        if let Some(s) = src.slice(off, cb) {
            return Ok(self.pq.distance(table, s));
        }
        let mut buf = [0u8; 256];
        let code = buf
            .get_mut(..cb)
            .ok_or_else(|| Error::corrupt("pq_codes", "code longer than 256 bytes"))?;
        src.read_at(off, code)?;
        Ok(self.pq.distance(table, code))
    }

    /// The `keep` nodes with the smallest PQ distance under `table` (only those `allow` flags, when
    /// given), best first, streaming the code section in chunks (never whole in RAM through
    /// positioned reads); the first scan also checks the section's CRC. Returns distances computed.
    pub fn scan<S: FlashSource + ?Sized>(
        &self,
        src: &S,
        table: &[f32],
        keep: usize,
        allow: Option<&[bool]>,
        out: &mut Vec<(f32, u32)>,
    ) -> Result<u64> {
        let cb = self.pq.code_bytes();
        let n = self.n as usize;
        let chunk = (SCAN_CHUNK_BYTES / cb).max(1);
        let mut crc = (!self.codes_verified.load(Ordering::Relaxed)).then(crc32fast::Hasher::new);
        let mut top = TopK::new(keep);
        let mut buf = Vec::new();
        let mut v = 0usize;
        let mut scored = 0u64;
        while v < n {
            let take = chunk.min(n - v);
            let off = self.codes.offset + (v * cb) as u64;
            let codes = match src.slice(off, take * cb) {
                Some(s) => s,
                None => {
                    buf.resize(take * cb, 0);
                    src.read_at(off, &mut buf)?;
                    &buf[..]
                }
            };
            if let Some(h) = crc.as_mut() {
                h.update(codes);
            }
            for (i, c) in codes.chunks_exact(cb).enumerate() {
                if allow.is_none_or(|a| a.get(v + i) == Some(&true)) {
                    top.push(self.pq.distance(table, c), (v + i) as u32);
                    scored += 1;
                }
            }
            v += take;
        }
        if let Some(h) = crc {
            let found = h.finalize();
            if found != self.codes.crc {
                return Err(Error::Checksum {
                    section: "pq_codes",
                    expected: self.codes.crc,
                    found,
                });
            }
            self.codes_verified.store(true, Ordering::Relaxed);
        }
        top.into_sorted(out);
        Ok(scored)
    }
}
