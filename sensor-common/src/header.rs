//! The header that starts every kernel record.

/// Length of the kernel's `comm` (task name), including the terminating NUL.
pub const COMM_LEN: usize = 16;

/// The first bytes of every record in the ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct EventHeader {
    /// An [`crate::EventKind`] as a number.
    pub kind: u32,
    /// Total size of the record in bytes, header included.
    pub size: u32,
    /// `bpf_ktime_get_boot_ns()` when the event happened (boot clock, includes suspend).
    pub ktime_ns: u64,
    /// Thread id (the kernel's `pid`).
    pub tid: u32,
    /// Process id (the kernel's `tgid`).
    pub pid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// cgroup v2 id of the task.
    pub cgroup_id: u64,
    /// Task name, NUL-padded; not necessarily valid UTF-8.
    pub comm: [u8; COMM_LEN],
}

const _: () = assert!(core::mem::size_of::<EventHeader>() == 56);
