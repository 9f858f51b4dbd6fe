//! Bounds-checked little-endian field reads from a record.

use super::DecodeError;

/// A record being decoded.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Fails unless the record has at least `need` bytes.
    pub(super) fn require(&self, need: usize) -> Result<(), DecodeError> {
        if self.bytes.len() < need {
            return Err(DecodeError::TooShort {
                len: self.bytes.len(),
                need,
            });
        }
        Ok(())
    }

    /// Size of the whole record.
    pub(super) fn len_total(&self) -> usize {
        self.bytes.len()
    }

    pub(super) fn u16(&self, offset: usize) -> Result<u16, DecodeError> {
        let b = self.bytes(offset, 2)?;
        Ok(u16::from_ne_bytes([b[0], b[1]]))
    }

    pub(super) fn i32(&self, offset: usize) -> Result<i32, DecodeError> {
        self.u32(offset).map(|v| v.cast_signed())
    }

    pub(super) fn bytes(&self, offset: usize, len: usize) -> Result<&'a [u8], DecodeError> {
        let end = offset.saturating_add(len);
        self.bytes.get(offset..end).ok_or(DecodeError::TooShort {
            len: self.bytes.len(),
            need: end,
        })
    }

    pub(super) fn u32(&self, offset: usize) -> Result<u32, DecodeError> {
        let b = self.bytes(offset, 4)?;
        Ok(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&self, offset: usize) -> Result<u64, DecodeError> {
        let b = self.bytes(offset, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_ne_bytes(a))
    }

    /// A length field at `offset`, checked against `cap`.
    pub(super) fn len(
        &self,
        offset: usize,
        field: &'static str,
        cap: usize,
    ) -> Result<usize, DecodeError> {
        let len = self.u32(offset)? as usize;
        if len > cap {
            return Err(DecodeError::BadLength { field, len, cap });
        }
        Ok(len)
    }
}
