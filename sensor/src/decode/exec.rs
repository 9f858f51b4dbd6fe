//! Exec records.

use core::mem::offset_of;

use sensor_common::{
    ARGV_CAP, EXEC_ARGS_OFFSET, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXEC_PATH_OFFSET,
    EXEC_PATH_TRUNCATED, ExecRecord, PATH_CAP, PendingExec,
};

use super::{DecodeError, reader::Reader};
use crate::event::ExecEvent;

pub(super) fn decode(r: &Reader<'_>) -> Result<ExecEvent, DecodeError> {
    r.require(size_of::<ExecRecord>())?;
    let args_at = |field: usize| EXEC_ARGS_OFFSET + field;
    let flags = r.u32(args_at(offset_of!(PendingExec, flags)))?;
    let argc = r.u32(args_at(offset_of!(PendingExec, argc)))?;
    let argv_len = r.len(args_at(offset_of!(PendingExec, argv_len)), "argv", ARGV_CAP)?;
    let argv = r.bytes(args_at(offset_of!(PendingExec, argv)), argv_len)?;
    let path_len = r.len(offset_of!(ExecRecord, path_len), "path", PATH_CAP)?;
    let path = r.bytes(EXEC_PATH_OFFSET, path_len)?;

    let mut args: Vec<Vec<u8>> = argv.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    // argv ends with a NUL, which leaves one empty piece behind; a truncated last argument has
    // no NUL and is kept.
    if argv.last() == Some(&0) || argv.is_empty() {
        args.pop();
    }
    Ok(ExecEvent {
        executable: crate::text::until_nul(path).to_vec(),
        args,
        argc,
        args_truncated: flags & EXEC_ARGV_TRUNCATED != 0,
        args_missing: flags & EXEC_ARGV_MISSING != 0,
        executable_truncated: flags & EXEC_PATH_TRUNCATED != 0,
        ..ExecEvent::default()
    })
}
