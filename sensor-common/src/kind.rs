//! The kinds of record the kernel side emits.
//!
//! Numbers are reserved in ranges per family (process 1-19, network 20-39, file 40-59) and a
//! retired number is never reused, so recorded streams stay decodable.

/// The kind of a kernel record, stored in [`crate::EventHeader::kind`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A successful or failed execve/execveat ([`crate::ExecRecord`]).
    Exec = 1,
    /// A new process ([`crate::ForkRecord`]).
    Fork = 2,
    /// A process ended ([`crate::ExitRecord`]).
    Exit = 3,
    /// An outgoing connect ([`crate::NetRecord`]).
    Connect = 20,
    /// An accepted connection ([`crate::NetRecord`]).
    Accept = 21,
    /// A file open ([`crate::OpenRecord`]).
    Open = 40,
}

impl EventKind {
    /// Every kind, for metrics and table-driven code.
    pub const ALL: [EventKind; 6] = [
        EventKind::Exec,
        EventKind::Fork,
        EventKind::Exit,
        EventKind::Connect,
        EventKind::Accept,
        EventKind::Open,
    ];

    /// Size of per-kind arrays indexed by the kind's number (the drop counters).
    pub const SLOTS: u32 = 64;

    /// A short stable name, used as the `type` label of metrics.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Fork => "fork",
            EventKind::Exit => "exit",
            EventKind::Connect => "connect",
            EventKind::Accept => "accept",
            EventKind::Open => "open",
        }
    }
}

impl TryFrom<u32> for EventKind {
    type Error = u32;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(EventKind::Exec),
            2 => Ok(EventKind::Fork),
            3 => Ok(EventKind::Exit),
            20 => Ok(EventKind::Connect),
            21 => Ok(EventKind::Accept),
            40 => Ok(EventKind::Open),
            other => Err(other),
        }
    }
}

/// Why the kernel side did not report an event; counted per kind in the `FILTERED` per-CPU
/// array at index `kind * FilterReason::SLOTS + reason`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterReason {
    /// The sensor's own process.
    SelfPid = 0,
    /// A read-only open under a configured path prefix.
    Prefix = 1,
    /// An open identical to a recent one (same process, path, flags, outcome).
    Collapsed = 2,
    /// A connect/accept on a socket that is not IPv4/IPv6 (Unix-domain, netlink, ...).
    NotInet = 3,
    /// Outside the `--only-pid` selection.
    NotSelected = 4,
}

impl FilterReason {
    /// Every reason.
    pub const ALL: [FilterReason; 5] = [
        FilterReason::SelfPid,
        FilterReason::Prefix,
        FilterReason::Collapsed,
        FilterReason::NotInet,
        FilterReason::NotSelected,
    ];
    /// Slots per kind in the counter array.
    pub const SLOTS: u32 = 8;

    /// A short stable name, used as the `reason` label of metrics.
    pub const fn name(self) -> &'static str {
        match self {
            FilterReason::SelfPid => "self",
            FilterReason::Prefix => "prefix",
            FilterReason::Collapsed => "collapsed",
            FilterReason::NotInet => "not_inet",
            FilterReason::NotSelected => "not_selected",
        }
    }
}
