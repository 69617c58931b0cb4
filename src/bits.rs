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
    /// Append `q` ones and a zero.
    pub fn put_unary(&mut self, mut q: u64) {
        while q >= 57 {
            self.put((1u64 << 57) - 1, 57);
            q -= 57;
        }
        self.put((1u64 << q) - 1, q as u32 + 1);
    }
    /// Append a Rice code of `v` with parameter `k`.
    pub fn put_rice(&mut self, v: u64, k: u32) {
        self.put_unary(v >> k);
        self.put(v & ((1u64 << k) - 1), k);
    }
    /// Append an Elias-gamma code of `v >= 1` (as unary length + low bits).
    pub fn put_gamma(&mut self, v: u64) {
        let z = width(v) - 1;
        self.put_unary(z as u64);
        self.put(v & ((1u64 << z) - 1), z);
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
    /// Read a unary count (ones terminated by a zero); `None` past the end or above `max`.
    #[inline]
    pub fn unary(&mut self, max: u64) -> Option<u64> {
        let mut q = 0u64;
        loop {
            let avail = (self.buf.len() as u64 * 8).checked_sub(self.pos)?;
            if avail == 0 {
                return None;
            }
            let w = avail.min(57) as u32;
            let save = self.pos;
            let bits = self.get(w)?;
            let ones = (!bits).trailing_zeros().min(w) as u64;
            if ones < w as u64 {
                self.pos = save + ones + 1;
                return Some(q + ones);
            }
            q += ones;
            if q > max {
                return None;
            }
        }
    }
    /// Read a Rice code with parameter `k`.
    #[inline]
    pub fn rice(&mut self, k: u32) -> Option<u64> {
        let q = self.unary(1 << 32)?;
        let r = self.get(k)?;
        q.checked_shl(k).map(|x| x | r)
    }
    /// Read an Elias-gamma code (values >= 1).
    pub fn gamma(&mut self) -> Option<u64> {
        let z = self.unary(57)? as u32;
        if z > 56 {
            return None;
        }
        let rest = self.get(z)?;
        Some((1u64 << z) | rest)
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
