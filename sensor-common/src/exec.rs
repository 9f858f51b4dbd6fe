//! The exec record and the argv staged between syscall entry and `sched_process_exec`.

use crate::EventHeader;

/// Bytes of argv captured per exec (NUL-separated, as the kernel stores it). A power of two:
/// the eBPF side masks offsets with `ARGV_CAP - 1` to satisfy the verifier.
pub const ARGV_CAP: usize = 4096;
/// Most argv pointers the eBPF side follows per exec (a verifier-bounded loop).
pub const ARGV_MAX_ARGS: u32 = 128;
/// Bytes of the executable path captured per exec.
pub const PATH_CAP: usize = 512;

/// Set in [`ExecRecord::flags`] when argv did not fit in [`ARGV_CAP`] bytes or had more than
/// [`ARGV_MAX_ARGS`] arguments.
pub const EXEC_ARGV_TRUNCATED: u32 = 1 << 0;
/// Set in [`ExecRecord::flags`] when the path did not fit in [`PATH_CAP`] bytes.
pub const EXEC_PATH_TRUNCATED: u32 = 1 << 1;
/// Set in [`ExecRecord::flags`] when argv was not captured at syscall entry (e.g. the sensor
/// started while the exec was in flight).
pub const EXEC_ARGV_MISSING: u32 = 1 << 2;

/// argv read at `sys_enter_execve(at)`, staged per thread until the exec completes.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingExec {
    /// Arguments seen (capped at [`ARGV_MAX_ARGS`] unless the list ended earlier).
    pub argc: u32,
    /// `EXEC_*` flag bits gathered so far.
    pub flags: u32,
    /// Bytes used in `argv`.
    pub argv_len: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// argv, each argument followed by a NUL.
    pub argv: [u8; ARGV_CAP],
}

const _: () = assert!(core::mem::size_of::<PendingExec>() == 16 + ARGV_CAP);

/// One execve/execveat, emitted at `sched_process_exec`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecRecord {
    /// Common header; `kind` is [`crate::EventKind::Exec`].
    pub header: EventHeader,
    /// Bytes used in `path`, without the NUL.
    pub path_len: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// argv as staged at syscall entry.
    pub args: PendingExec,
    /// The executable as the kernel resolved it.
    pub path: [u8; PATH_CAP],
}

/// Offset of [`ExecRecord::args`] within the record.
pub const EXEC_ARGS_OFFSET: usize = core::mem::size_of::<EventHeader>() + 8;
/// Offset of [`ExecRecord::path`] within the record.
pub const EXEC_PATH_OFFSET: usize = EXEC_ARGS_OFFSET + core::mem::size_of::<PendingExec>();

const _: () = assert!(core::mem::offset_of!(ExecRecord, args) == EXEC_ARGS_OFFSET);
const _: () = assert!(core::mem::offset_of!(ExecRecord, path) == EXEC_PATH_OFFSET);
const _: () = assert!(core::mem::size_of::<ExecRecord>() == EXEC_PATH_OFFSET + PATH_CAP);
