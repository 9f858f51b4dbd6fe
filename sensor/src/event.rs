//! Owned, validated events: what [`crate::decode`] produces from kernel records. This is the
//! only userspace list of event kinds; matching on [`EventBody`] without a `_` arm makes the
//! compiler point at every place a new kind must be handled.

/// Fields every event carries, from the kernel record's header.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A program was executed.
    Exec(ExecEvent),
}

/// A process replaced its program image.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}
