//! Owned, validated events: what [`crate::decode`] produces from kernel records. This is the
//! only userspace list of event kinds; matching on [`EventBody`] without a `_` arm makes the
//! compiler point at every place a new kind must be handled.
//!
//! Byte strings from the kernel (paths, argv, comm) stay `Vec<u8>`: they are untrusted and not
//! necessarily UTF-8. They are escaped only when rendered (see [`crate::text`]).

use std::net::IpAddr;

/// Fields every event carries, from the kernel record's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// Kernel boot-clock timestamp in nanoseconds.
    pub ktime_ns: u64,
    /// Thread id.
    pub tid: u32,
    /// Process id (thread-group id).
    pub pid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// cgroup v2 id.
    pub cgroup_id: u64,
    /// Task name as the kernel holds it, without NUL padding; untrusted bytes.
    pub comm: Vec<u8>,
}

/// One event from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Common fields.
    pub header: Header,
    /// What happened.
    pub body: EventBody,
}

/// The kind-specific part of an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventBody {
    /// A program was executed (or an exec failed).
    Exec(ExecEvent),
    /// A process was created.
    Fork(ForkEvent),
    /// A process exited.
    Exit(ExitEvent),
    /// An outgoing connect (TCP or UDP).
    Connect(NetEvent),
    /// An accepted incoming connection.
    Accept(NetEvent),
    /// A file was opened (or an open failed).
    Open(OpenEvent),
    /// Not from the kernel: the sensor found that a running process's executable file was
    /// deleted (see [`crate::exewatch`]).
    ExeDeleted(ExeDeletedEvent),
}

impl EventBody {
    /// A short stable name of the kind (`exec`, `fork`, ...), as used in metric labels.
    pub fn kind_name(&self) -> &'static str {
        match self {
            EventBody::Exec(_) => "exec",
            EventBody::Fork(_) => "fork",
            EventBody::Exit(_) => "exit",
            EventBody::Connect(_) => "connect",
            EventBody::Accept(_) => "accept",
            EventBody::Open(_) => "open",
            EventBody::ExeDeleted(_) => "executable-deleted",
        }
    }
}

/// What a standard file descriptor (0, 1, 2) of an exec'd process refers to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FdKind {
    /// Not known (not captured, or closed).
    #[default]
    Unknown,
    /// A network socket (TCP/UDP, IPv4/IPv6).
    Socket,
    /// A Unix-domain or other non-inet socket.
    UnixSocket,
    /// A pipe or FIFO.
    Pipe,
    /// A terminal (tty or pty).
    Tty,
    /// A regular file.
    File,
    /// Anything else (character device, eventfd, ...).
    Other,
}

/// A process replaced its program image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecEvent {
    /// The executable as the kernel resolved it; untrusted bytes.
    pub executable: Vec<u8>,
    /// The arguments, `argv[0]` first; untrusted bytes.
    pub args: Vec<Vec<u8>>,
    /// How many arguments the program was started with (may exceed `args.len()`).
    pub argc: u32,
    /// `args` is incomplete (too many or too long arguments).
    pub args_truncated: bool,
    /// argv could not be captured at all (the exec began before the sensor attached).
    pub args_missing: bool,
    /// `executable` was cut at the capture limit.
    pub executable_truncated: bool,
    /// Parent process id, when known.
    pub ppid: Option<u32>,
    /// 0 for a successful exec, otherwise the negative errno the syscall returned.
    pub result: i32,
    /// What fds 0, 1 and 2 were at exec time.
    pub stdio: [FdKind; 3],
    /// The executable is a memfd (`memfd:` name), i.e. fileless execution.
    pub exe_memfd: bool,
    /// The executable file had been deleted (unlinked) when it ran.
    pub exe_deleted: bool,
    /// Effective user id after the exec (differs from the real one for setuid programs).
    pub euid: Option<u32>,
    /// Effective group id after the exec.
    pub egid: Option<u32>,
    /// Audit login uid, when the kernel has one (`u32::MAX` means unset and is mapped to None).
    pub loginuid: Option<u32>,
    /// Process group id, from the kernel (`None`: unknown, read from /proc instead).
    pub pgid: Option<u32>,
    /// Session id, from the kernel (`None`: unknown, read from /proc instead).
    pub sid: Option<u32>,
    /// When the process started, on the boot clock of [`Header::ktime_ns`], from the kernel.
    pub start_boottime_ns: Option<u64>,
    /// Working directory at exec time, when captured; untrusted bytes.
    pub cwd: Option<Vec<u8>>,
    /// The filename as the caller passed it to execve (what a failed exec reports as
    /// `executable`); untrusted bytes.
    pub filename: Vec<u8>,
}

/// A process (or thread) was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForkEvent {
    /// The parent's process id.
    pub parent_pid: u32,
    /// The child's process id.
    pub child_pid: u32,
    /// The child's thread id (equals `child_pid` for a new process).
    pub child_tid: u32,
}

/// A process exited (its last thread ended).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExitEvent {
    /// Exit status as `wait()` reports it (`code << 8 | signal`).
    pub exit_code: i32,
}

/// Transport protocol of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transport {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
    /// Anything else inet (raw, SCTP, ...).
    Other,
}

/// A connect or accept on an inet socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetEvent {
    /// Transport protocol.
    pub transport: Transport,
    /// Local address and port (unspecified address / 0 when not yet bound).
    pub local: (IpAddr, u16),
    /// Remote address and port.
    pub remote: (IpAddr, u16),
    /// 0 on success, otherwise the negative errno (`-EINPROGRESS` for a non-blocking connect in
    /// progress, `-ECONNREFUSED`, ...).
    pub result: i32,
    /// The file descriptor involved (the new fd for accept), -1 when unknown.
    pub fd: i32,
    /// `socket.type` as the kernel reports it (1 stream, 2 datagram, ...), 0 when unknown.
    pub sock_type: u16,
}

impl Default for NetEvent {
    fn default() -> Self {
        let any = IpAddr::from([0u8, 0, 0, 0]);
        NetEvent {
            transport: Transport::Tcp,
            local: (any, 0),
            remote: (any, 0),
            result: 0,
            fd: -1,
            sock_type: 0,
        }
    }
}

/// A file open (open, openat, openat2, creat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenEvent {
    /// The absolute path (resolved against dirfd/cwd in userspace); untrusted bytes.
    pub path: Vec<u8>,
    /// The open flags as passed (`O_*`).
    pub flags: u32,
    /// The mode for creates.
    pub mode: u32,
    /// The fd on success, otherwise the negative errno.
    pub result: i32,
    /// `path` was cut at the capture limit.
    pub path_truncated: bool,
    /// Identical opens collapsed into this one by the kernel (1 = no collapsing).
    pub count: u32,
    /// The directory fd the path was relative to (`-100` = working directory).
    pub dfd: i32,
    /// The path exactly as the program passed it; untrusted bytes.
    pub requested_path: Vec<u8>,
    /// `path` is absolute: either passed so, or resolved against the working directory or
    /// `dfd` (read from /proc while the process still existed).
    pub path_resolved: bool,
    /// The syscall used (`open`, `openat`, `openat2`, `creat`).
    pub syscall: OpenSyscall,
}

/// A running process's executable was found deleted (`/proc/PID/exe` reads `... (deleted)`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExeDeletedEvent {
    /// What `/proc/PID/exe` read, without the ` (deleted)` suffix; untrusted bytes.
    pub link: Vec<u8>,
}

/// Which syscall opened a file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OpenSyscall {
    /// `open` or `openat` (the tracepoints share a record format).
    #[default]
    OpenAt,
    /// `openat2`.
    OpenAt2,
    /// `creat`.
    Creat,
}
