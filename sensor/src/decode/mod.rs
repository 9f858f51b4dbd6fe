//! Kernel records (ring-buffer bytes) to typed [`Event`]s. Every record is validated: a
//! truncated or inconsistent one is rejected with a [`DecodeError`], never a panic, and never by
//! reinterpreting bytes as a Rust type.

mod exec;
mod net;
mod open;
mod process;
mod reader;
pub mod resolve;

use sensor_common::{EventHeader, EventKind};
use thiserror::Error;

use crate::event::{Event, EventBody, Header};
use reader::Reader;

/// Why a record was rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The record is shorter than its kind requires.
    #[error("record too short: {len} bytes, need {need}")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes required.
        need: usize,
    },
    /// The header names an unknown kind.
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
    /// A length field points outside the record.
    #[error("{field} length {len} exceeds its capacity {cap}")]
    BadLength {
        /// The field.
        field: &'static str,
        /// The length claimed.
        len: usize,
        /// The capacity.
        cap: usize,
    },
    /// A field holds a value the kernel side never writes.
    #[error("inconsistent record: {0}")]
    Inconsistent(&'static str),
}

impl DecodeError {
    /// A short stable name for the `reason` label of the drop metric.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::TooShort { .. } => "truncated_record",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::BadLength { .. } => "bad_length",
            DecodeError::Inconsistent(_) => "inconsistent",
        }
    }
}

/// Decodes one ring-buffer record.
pub fn decode(bytes: &[u8]) -> Result<Event, DecodeError> {
    let reader = Reader::new(bytes);
    let (kind, header) = decode_header(&reader)?;
    let body = match kind {
        EventKind::Exec => EventBody::Exec(exec::decode(&reader)?),
        EventKind::Fork => EventBody::Fork(process::decode_fork(&reader)?),
        EventKind::Exit => EventBody::Exit(process::decode_exit(&reader)?),
        EventKind::Connect => EventBody::Connect(net::decode(&reader)?),
        EventKind::Accept => EventBody::Accept(net::decode(&reader)?),
        EventKind::Open => EventBody::Open(open::decode(&reader)?),
    };
    Ok(Event { header, body })
}

fn decode_header(r: &Reader<'_>) -> Result<(EventKind, Header), DecodeError> {
    use core::mem::offset_of;
    r.require(size_of::<EventHeader>())?;
    let kind = r.u32(offset_of!(EventHeader, kind))?;
    let kind = EventKind::try_from(kind).map_err(DecodeError::UnknownKind)?;
    // The kernel writes the record's own size; anything else means a layout mismatch.
    let size = r.u32(offset_of!(EventHeader, size))? as usize;
    if size > r.len_total() {
        return Err(DecodeError::TooShort {
            len: r.len_total(),
            need: size,
        });
    }
    if size != r.len_total() {
        return Err(DecodeError::Inconsistent(
            "header size differs from record size",
        ));
    }
    let comm = r.bytes(offset_of!(EventHeader, comm), sensor_common::COMM_LEN)?;
    let header = Header {
        ktime_ns: r.u64(offset_of!(EventHeader, ktime_ns))?,
        tid: r.u32(offset_of!(EventHeader, tid))?,
        pid: r.u32(offset_of!(EventHeader, pid))?,
        uid: r.u32(offset_of!(EventHeader, uid))?,
        gid: r.u32(offset_of!(EventHeader, gid))?,
        cgroup_id: r.u64(offset_of!(EventHeader, cgroup_id))?,
        comm: crate::text::until_nul(comm).to_vec(),
    };
    Ok((kind, header))
}

#[cfg(test)]
mod tests;
