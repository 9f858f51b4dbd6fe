//! Liveness canaries: hooks that count the sensor's own calls before dropping them, so that
//! userspace can make such a call and see whether the hook still runs.
//!
//! The kernel side filters the sensor's own process out of every hook. Each hook listed here
//! first adds one to its slot of the `SELF_HITS` per-CPU array when the caller is the sensor,
//! then returns as before. Only the sensor's own (rare) calls pay for the extra store.

/// A hook with a liveness canary; the value is its slot in `SELF_HITS`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// `syscalls:sys_exit_openat`.
    OpenatExit = 0,
    /// `syscalls:sys_exit_openat2`.
    Openat2Exit = 1,
    /// `syscalls:sys_exit_connect`.
    ConnectExit = 2,
    /// `syscalls:sys_exit_bpf` (self-protection's own hook).
    BpfExit = 3,
}

impl Hook {
    /// Every hook with a canary.
    pub const ALL: [Hook; 4] = [
        Hook::OpenatExit,
        Hook::Openat2Exit,
        Hook::ConnectExit,
        Hook::BpfExit,
    ];

    /// Size of `SELF_HITS` (room for hooks added later without resizing the map).
    pub const SLOTS: u32 = 16;

    /// The tracepoint's name, used as the `hook` label of metrics and in alerts.
    pub const fn name(self) -> &'static str {
        match self {
            Hook::OpenatExit => "sys_exit_openat",
            Hook::Openat2Exit => "sys_exit_openat2",
            Hook::ConnectExit => "sys_exit_connect",
            Hook::BpfExit => "sys_exit_bpf",
        }
    }
}

/// Reserve failures on the `TAMPER` ring, per record kind: the kind's slot in `TAMPER_DROPS`.
pub mod tamper_drop {
    /// Slot of [`crate::BpfCmdRecord`] (kind [`crate::BPF_CMD_KIND`]).
    pub const BPF_CMD: u32 = 0;
    /// Size of `TAMPER_DROPS`.
    pub const SLOTS: u32 = 4;
}
