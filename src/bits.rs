//! LSB-first bit packing used by the graph and offset tables.
use alloc::vec::Vec;

/// Number of bits needed to hold `v` (0 for 0).
pub fn width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// Zig-zag encode a signed value.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Zig-zag decode.
pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends bit fields to a byte buffer.
#[derive(Default, Debug, Clone)]
pub struct BitWriter {
    buf: Vec<u8>,
    bits: u64,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Bits written so far.
    pub fn bit_len(&self) -> u64 {
        self.bits
    }
    /// Append the low `w` bits of `v` (`w <= 57`).
    pub fn put(&mut self, v: u64, w: u32) {
        debug_assert!(w <= 57 && (w == 64 || v >> w == 0));
        let mut v = v;
        let mut w = w;
        while w > 0 {
            let bit = (self.bits % 8) as u32;
            if bit == 0 {
                self.buf.push(0);
            }
            let take = (8 - bit).min(w);
            let last = self.buf.len() - 1;
            self.buf[last] |= ((v & ((1u64 << take) - 1)) as u8) << bit;
            v >>= take;
            w -= take;
            self.bits += take as u64;
        }
    }
    /// The bytes (last byte zero-padded).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads bit fields from a byte slice; reading past the end is an error (`None`), never a panic.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    buf: &'a [u8],
    pos: u64,
}

impl<'a> BitReader<'a> {
    /// A reader at bit `pos` of `buf`.
    pub fn new(buf: &'a [u8], pos: u64) -> Self {
        BitReader { buf, pos }
    }
    /// Current bit position.
    pub fn pos(&self) -> u64 {
        self.pos
    }
    /// Skip `n` bits (checked on the next read).
    pub fn skip(&mut self, n: u64) {
        self.pos = self.pos.saturating_add(n);
    }
    /// Read `w <= 57` bits.
    #[inline]
    pub fn get(&mut self, w: u32) -> Option<u64> {
        if w == 0 {
            return Some(0);
        }
        let end = self.pos.checked_add(w as u64)?;
        if end > self.buf.len() as u64 * 8 || w > 57 {
            return None;
        }
        let byte = (self.pos / 8) as usize;
        let shift = (self.pos % 8) as u32;
        let mut word = [0u8; 8];
        let avail = (self.buf.len() - byte).min(8);
        word[..avail].copy_from_slice(&self.buf[byte..byte + avail]);
        let v = (u64::from_le_bytes(word) >> shift) & ((1u64 << w) - 1);
        self.pos = end;
        Some(v)
    }
}

/// Append `v` as an LEB128 varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Read an LEB128 varint at `*pos`, advancing it; `None` on truncation or overflow.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift >= 64 {
            return None;
        }
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}
