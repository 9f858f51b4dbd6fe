//! File open records. The path is kept as passed; [`super::resolve`] makes it absolute.

use core::mem::offset_of;

use sensor_common::{
    OPEN_PATH_CAP, OPEN_PATH_TRUNCATED, OPEN_VIA_CREAT, OPEN_VIA_OPENAT2, OpenArgs, OpenRecord,
};

use super::{DecodeError, reader::Reader};
use crate::event::{OpenEvent, OpenSyscall};

pub(super) fn decode(r: &Reader<'_>) -> Result<OpenEvent, DecodeError> {
    r.require(size_of::<OpenRecord>())?;
    let at = |field: usize| offset_of!(OpenRecord, args) + field;
    let path_len = r.len(at(offset_of!(OpenArgs, path_len)), "path", OPEN_PATH_CAP)?;
    let path = r.bytes(at(offset_of!(OpenArgs, path)), path_len)?.to_vec();
    let flags2 = r.u32(at(offset_of!(OpenArgs, flags2)))?;
    let collapsed = r.u32(at(offset_of!(OpenArgs, collapsed)))?;
    let syscall = if flags2 & OPEN_VIA_CREAT != 0 {
        OpenSyscall::Creat
    } else if flags2 & OPEN_VIA_OPENAT2 != 0 {
        OpenSyscall::OpenAt2
    } else {
        OpenSyscall::OpenAt
    };
    let path_resolved = path.first() == Some(&b'/');
    Ok(OpenEvent {
        requested_path: path.clone(),
        path,
        flags: r.u32(at(offset_of!(OpenArgs, flags)))?,
        mode: r.u32(at(offset_of!(OpenArgs, mode)))?,
        result: r.i32(at(offset_of!(OpenArgs, result)))?,
        path_truncated: flags2 & OPEN_PATH_TRUNCATED != 0,
        count: collapsed.saturating_add(1),
        dfd: r.i32(at(offset_of!(OpenArgs, dfd)))?,
        path_resolved,
        syscall,
    })
}
