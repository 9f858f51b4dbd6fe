//! Exec records.

use core::mem::offset_of;

use sensor_common::{
    ARGV_CAP, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXEC_CWD_RESOLVED, EXEC_DATA_OFFSET,
    EXEC_EXE_DELETED, EXEC_EXE_MEMFD, EXEC_FILENAME_TRUNCATED, EXEC_PATH_TRUNCATED, ExecRecord,
    OPEN_DIR_CAP, PATH_CAP, fd_kind,
};

use super::{DecodeError, reader::Reader};
use crate::event::{ExecEvent, FdKind};

/// An exec record is its fixed part, then exactly `name_len` bytes of name, `argv_len` of argv
/// and `cwd_len` of working directory (the kernel sends no unused capacity).
pub(super) fn decode(r: &Reader<'_>) -> Result<ExecEvent, DecodeError> {
    r.require(EXEC_DATA_OFFSET)?;
    let flags = r.u32(offset_of!(ExecRecord, flags))?;
    let argc = r.u32(offset_of!(ExecRecord, argc))?;
    // The kernel's string reads leave room for a NUL, so a name is always below PATH_CAP.
    let name_len = r.len(offset_of!(ExecRecord, name_len), "name", PATH_CAP - 1)?;
    let argv_len = r.len(offset_of!(ExecRecord, argv_len), "argv", ARGV_CAP)?;
    let name = r.bytes(EXEC_DATA_OFFSET, name_len)?;
    let argv = r.bytes(EXEC_DATA_OFFSET + name_len, argv_len)?;
    let cwd_len = r.len(offset_of!(ExecRecord, cwd_len), "cwd", OPEN_DIR_CAP - 1)?;
    let cwd = r.bytes(EXEC_DATA_OFFSET + name_len + argv_len, cwd_len)?;
    if r.len_total() != EXEC_DATA_OFFSET + name_len + argv_len + cwd_len {
        return Err(DecodeError::Inconsistent(
            "exec record longer than its name, argv and working directory",
        ));
    }
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
    let filename = crate::text::until_nul(name).to_vec();
    let executable = filename.clone();
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
        pgid: Some(r.u32(offset_of!(ExecRecord, pgid))?).filter(|&id| id != 0),
        sid: Some(r.u32(offset_of!(ExecRecord, sid))?).filter(|&id| id != 0),
        start_boottime_ns: Some(r.u64(offset_of!(ExecRecord, start_boottime_ns))?)
            .filter(|&ns| ns != 0),
        // The kernel writes no bytes for the root directory.
        cwd: (flags & EXEC_CWD_RESOLVED != 0).then(|| {
            if cwd.is_empty() {
                b"/".to_vec()
            } else {
                cwd.to_vec()
            }
        }),
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
