//! Exec records.

use core::mem::offset_of;

use sensor_common::{
    ARGV_CAP, EXEC_ARGS_OFFSET, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXEC_EXE_DELETED,
    EXEC_EXE_MEMFD, EXEC_FILENAME_TRUNCATED, EXEC_PATH_OFFSET, EXEC_PATH_TRUNCATED, ExecRecord,
    PATH_CAP, PendingExec, fd_kind,
};

use super::{DecodeError, reader::Reader};
use crate::event::{ExecEvent, FdKind};

pub(super) fn decode(r: &Reader<'_>) -> Result<ExecEvent, DecodeError> {
    r.require(size_of::<ExecRecord>())?;
    let args_at = |field: usize| EXEC_ARGS_OFFSET + field;
    let flags = r.u32(args_at(offset_of!(PendingExec, flags)))?;
    let argc = r.u32(args_at(offset_of!(PendingExec, argc)))?;
    let argv_len = r.len(args_at(offset_of!(PendingExec, argv_len)), "argv", ARGV_CAP)?;
    let argv = r.bytes(args_at(offset_of!(PendingExec, argv)), argv_len)?;
    let filename_len = r.len(
        args_at(offset_of!(PendingExec, filename_len)),
        "filename",
        PATH_CAP,
    )?;
    let filename = r.bytes(args_at(offset_of!(PendingExec, filename)), filename_len)?;
    let path_len = r.len(offset_of!(ExecRecord, path_len), "path", PATH_CAP)?;
    let path = r.bytes(EXEC_PATH_OFFSET, path_len)?;
    let result = r.i32(offset_of!(ExecRecord, result))?;
    if result > 0 {
        return Err(DecodeError::Inconsistent("positive exec result"));
    }
    let stdio_bytes = r.bytes(offset_of!(ExecRecord, stdio), 3)?;
    let mut stdio = [FdKind::Unknown; 3];
    for (slot, &code) in stdio.iter_mut().zip(stdio_bytes) {
        *slot = fd_kind_of(code)?;
    }

    let mut args: Vec<Vec<u8>> = argv.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    // argv ends with a NUL, which leaves one empty piece behind; a truncated last argument has
    // no NUL and is kept.
    if argv.last() == Some(&0) || argv.is_empty() {
        args.pop();
    }
    let filename = crate::text::until_nul(filename).to_vec();
    let executable = if result == 0 {
        crate::text::until_nul(path).to_vec()
    } else {
        filename.clone()
    };
    let optional = |v: u32| (v != u32::MAX).then_some(v);
    Ok(ExecEvent {
        executable,
        args,
        argc,
        args_truncated: flags & EXEC_ARGV_TRUNCATED != 0,
        args_missing: flags & EXEC_ARGV_MISSING != 0,
        executable_truncated: flags
            & (if result == 0 {
                EXEC_PATH_TRUNCATED
            } else {
                EXEC_FILENAME_TRUNCATED
            })
            != 0,
        ppid: optional(r.u32(offset_of!(ExecRecord, ppid))?).filter(|&p| p != 0),
        result,
        stdio,
        exe_memfd: flags & EXEC_EXE_MEMFD != 0,
        exe_deleted: flags & EXEC_EXE_DELETED != 0 && flags & EXEC_EXE_MEMFD == 0,
        euid: optional(r.u32(offset_of!(ExecRecord, euid))?),
        egid: optional(r.u32(offset_of!(ExecRecord, egid))?),
        loginuid: optional(r.u32(offset_of!(ExecRecord, loginuid))?),
        cwd: None,
        filename,
    })
}

fn fd_kind_of(code: u8) -> Result<FdKind, DecodeError> {
    Ok(match code {
        fd_kind::UNKNOWN => FdKind::Unknown,
        fd_kind::INET_SOCKET => FdKind::Socket,
        fd_kind::OTHER_SOCKET => FdKind::UnixSocket,
        fd_kind::PIPE => FdKind::Pipe,
        fd_kind::TTY => FdKind::Tty,
        fd_kind::FILE => FdKind::File,
        fd_kind::OTHER => FdKind::Other,
        _ => return Err(DecodeError::Inconsistent("unknown fd kind")),
    })
}
