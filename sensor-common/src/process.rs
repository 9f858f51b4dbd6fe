//! Fork and exit records, which let userspace keep a process tree.

use crate::EventHeader;

/// A new process (not a thread), emitted at `sched_process_fork`. The header describes the
/// parent (the task that called fork/clone).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ForkRecord {
    /// Common header; `kind` is [`crate::EventKind::Fork`].
    pub header: EventHeader,
    /// The parent's process id.
    pub parent_pid: u32,
    /// The child's process id.
    pub child_pid: u32,
    /// The child's thread id.
    pub child_tid: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

/// The end of a process (its thread group), emitted at `sched_process_exit`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ExitRecord {
    /// Common header; `kind` is [`crate::EventKind::Exit`].
    pub header: EventHeader,
    /// `task_struct.exit_code`: `wait()` status (`code << 8 | signal`).
    pub exit_code: i32,
    /// Reserved, zero.
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<ForkRecord>() == 56 + 16);
const _: () = assert!(core::mem::size_of::<ExitRecord>() == 56 + 8);
