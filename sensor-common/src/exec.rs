//! The exec record and the arguments staged between syscall entry and `sched_process_exec`.

use crate::EventHeader;

/// Bytes of argv captured per exec (NUL-separated, as the kernel stores it). A power of two:
/// the eBPF side masks offsets with `ARGV_CAP - 1` to satisfy the verifier.
pub const ARGV_CAP: usize = 4096;
/// Most argv pointers the eBPF side follows per exec (a verifier-bounded loop).
pub const ARGV_MAX_ARGS: u32 = 128;
/// Bytes of the executable path captured per exec.
pub const PATH_CAP: usize = 512;

/// Set in [`ExecRecord::flags`] when argv did not fit in [`ARGV_CAP`] bytes or had more
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
/// Set when the kernel resolved the working directory: it follows argv in `data`
/// (`cwd_len` bytes; none for the root directory).
pub const EXEC_CWD_RESOLVED: u32 = 1 << 6;

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

/// argv and filename of a failed exec, read through the caller's pointers when the syscall
/// returns: the layout of the per-CPU scratch the eBPF side assembles them in before copying the
/// used bytes into an [`ExecRecord`].
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
///
/// Variable-size: the ring carries the fixed part and then only the used bytes of `data`
/// (`header.size` is [`EXEC_DATA_OFFSET`]` + name_len + argv_len`). A fixed 5 KiB record for
/// every exec filled the ring's wakeup threshold every three execs; most execs use a few dozen
/// bytes of name and argv.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExecRecord {
    /// Common header; `kind` is [`crate::EventKind::Exec`].
    pub header: EventHeader,
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
    /// Arguments: the program's `argc` after a successful exec; after a failed one, the
    /// arguments seen (capped at [`ARGV_MAX_ARGS`] unless the list ended earlier).
    pub argc: u32,
    /// `EXEC_*` flag bits.
    pub flags: u32,
    /// Bytes of the name at the start of `data`, without a NUL; below [`PATH_CAP`].
    pub name_len: u32,
    /// Bytes of argv that follow the name in `data`; at most [`ARGV_CAP`].
    pub argv_len: u32,
    /// Process group id (in the initial pid namespace); 0 when unknown.
    pub pgid: u32,
    /// Session id (in the initial pid namespace); 0 when unknown.
    pub sid: u32,
    /// When the process started (`task_struct.start_boottime`, the boot clock of the header's
    /// `ktime_ns`); 0 when unknown.
    pub start_boottime_ns: u64,
    /// Bytes of the working directory that follow argv in `data` (with
    /// [`EXEC_CWD_RESOLVED`]); below [`crate::OPEN_DIR_CAP`].
    pub cwd_len: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// The name, then argv (each argument followed by a NUL). The name of a successful exec is
    /// the executable as the kernel resolved it (`bprm->filename`, which is also the name the
    /// caller passed: for an execveat relative to a descriptor, the kernel's `/dev/fd/N/...`
    /// spelling of it); of a failed one, the filename the caller passed. Then the working
    /// directory, when resolved.
    pub data: [u8; PATH_CAP + ARGV_CAP + crate::OPEN_DIR_CAP],
}

/// Offset of [`ExecRecord::data`]: the fixed part every exec record has.
pub const EXEC_DATA_OFFSET: usize = core::mem::size_of::<EventHeader>() + 64;

const _: () = assert!(core::mem::offset_of!(ExecRecord, data) == EXEC_DATA_OFFSET);
const _: () = assert!(
    core::mem::size_of::<ExecRecord>()
        == EXEC_DATA_OFFSET + PATH_CAP + ARGV_CAP + crate::OPEN_DIR_CAP
);
