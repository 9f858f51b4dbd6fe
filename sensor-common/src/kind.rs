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
}

impl EventKind {
    /// Every kind, for metrics and table-driven code.
    pub const ALL: [EventKind; 1] = [EventKind::Exec];

    /// Size of per-kind arrays indexed by the kind's number (the drop counters).
    pub const SLOTS: u32 = 64;

    /// A short stable name, used as the `type` label of metrics.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
        }
    }
}

impl TryFrom<u32> for EventKind {
    type Error = u32;

    fn try_from(value: u32) -> Result<Self, Self::Error> {
        match value {
            1 => Ok(EventKind::Exec),
            other => Err(other),
        }
    }
}
