//! The exec record and the arguments staged between syscall entry and `sched_process_exec`.

use crate::EventHeader;

/// Bytes of argv captured per exec (NUL-separated, as the kernel stores it). A power of two:
/// the eBPF side masks offsets with `ARGV_CAP - 1` to satisfy the verifier.
pub const ARGV_CAP: usize = 4096;
/// Most argv pointers the eBPF side follows per exec (a verifier-bounded loop).
pub const ARGV_MAX_ARGS: u32 = 128;
/// Bytes of the executable path captured per exec.
pub const PATH_CAP: usize = 512;

/// Set in [`ExecRecord::args`]`.flags` when argv did not fit in [`ARGV_CAP`] bytes or had more
/// than [`ARGV_MAX_ARGS`] arguments.
pub const EXEC_ARGV_TRUNCATED: u32 = 1 << 0;
/// Set when the path did not fit in [`PATH_CAP`] bytes.
pub const EXEC_PATH_TRUNCATED: u32 = 1 << 1;
/// Set when argv was not captured at syscall entry (e.g. the sensor started while the exec was
/// in flight).
pub const EXEC_ARGV_MISSING: u32 = 1 << 2;
/// Set when the executable is a memfd (its dentry is named `memfd:...`).
pub const EXEC_EXE_MEMFD: u32 = 1 << 3;
/// Set when the executable file has no links left (deleted after or while being run).
pub const EXEC_EXE_DELETED: u32 = 1 << 4;
/// Set when the requested filename did not fit in [`PATH_CAP`] bytes.
pub const EXEC_FILENAME_TRUNCATED: u32 = 1 << 5;

/// What a standard fd refers to, as the kernel classifies it (`ExecRecord::stdio`).
pub mod fd_kind {
    /// Closed or unreadable.
    pub const UNKNOWN: u8 = 0;
    /// An IPv4/IPv6 socket.
    pub const INET_SOCKET: u8 = 1;
    /// Any other socket (Unix-domain, netlink, ...).
    pub const OTHER_SOCKET: u8 = 2;
    /// A pipe or FIFO.
    pub const PIPE: u8 = 3;
    /// A terminal: character device with major 4, 5 or 136-143.
    pub const TTY: u8 = 4;
    /// A regular file.
    pub const FILE: u8 = 5;
    /// Anything else (other character devices, eventfd, ...).
    pub const OTHER: u8 = 6;
}

/// argv and filename of an exec: for a successful one, argv as the new program's stack holds it
/// and the filename the kernel carries (`bprm->filename`); for a failed one, both read through
/// the caller's pointers when the syscall returns. (Also the layout of the per-CPU scratch the
/// failed-exec path assembles them in.)
#[repr(C)]
#[derive(Clone, Copy)]
pub struct PendingExec {
    /// Arguments: the program's `argc` after a successful exec; after a failed one, the
    /// arguments seen (capped at [`ARGV_MAX_ARGS`] unless the list ended earlier).
    pub argc: u32,
    /// `EXEC_*` flag bits gathered so far.
    pub flags: u32,
    /// Bytes used in `argv`.
    pub argv_len: u32,
    /// Bytes used in `filename`, without the NUL.
    pub filename_len: u32,
    /// The filename as the caller passed it (what a failed exec reports).
    pub filename: [u8; PATH_CAP],
    /// argv, each argument followed by a NUL. Last, so that the eBPF side's bounded string reads
    /// can run into scratch slack that follows it.
    pub argv: [u8; ARGV_CAP],
}

const _: () = assert!(core::mem::size_of::<PendingExec>() == 16 + PATH_CAP + ARGV_CAP);

/// One execve/execveat: emitted at `sched_process_exec` on success, at `sys_exit_execve(at)`
/// on failure.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecRecord {
    /// Common header; `kind` is [`crate::EventKind::Exec`].
    pub header: EventHeader,
    /// Bytes used in `path`, without the NUL.
    pub path_len: u32,
    /// 0 on success, otherwise the negative errno of the syscall.
    pub result: i32,
    /// Parent process id (`real_parent->tgid`).
    pub ppid: u32,
    /// Effective uid after the exec.
    pub euid: u32,
    /// Effective gid after the exec.
    pub egid: u32,
    /// Audit login uid (`u32::MAX` when unset or unknown).
    pub loginuid: u32,
    /// What fds 0, 1 and 2 are ([`fd_kind`] values); the fourth byte is zero.
    pub stdio: [u8; 4],
    /// Reserved, zero.
    pub _pad: u32,
    /// argv and filename.
    pub args: PendingExec,
    /// The executable as the kernel resolved it (empty for a failed exec).
    pub path: [u8; PATH_CAP],
}

/// Offset of [`ExecRecord::args`] within the record.
pub const EXEC_ARGS_OFFSET: usize = core::mem::size_of::<EventHeader>() + 32;
/// Offset of [`ExecRecord::path`] within the record.
pub const EXEC_PATH_OFFSET: usize = EXEC_ARGS_OFFSET + core::mem::size_of::<PendingExec>();

const _: () = assert!(core::mem::offset_of!(ExecRecord, args) == EXEC_ARGS_OFFSET);
const _: () = assert!(core::mem::offset_of!(ExecRecord, path) == EXEC_PATH_OFFSET);
const _: () = assert!(core::mem::size_of::<ExecRecord>() == EXEC_PATH_OFFSET + PATH_CAP);
