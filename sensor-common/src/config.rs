//! Settings userspace hands to the kernel side before attaching.

/// Global settings, written into the eBPF object's `CONFIG` global at load time.
///
/// Tracepoint field offsets are read from tracefs `format` files at start rather than
/// hard-coded, so one binary runs on kernels whose layouts differ.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SensorConfig {
    /// The sensor's own process id, whose events are never reported.
    pub self_pid: u32,
    /// `sched:sched_process_exec`: offset of the `__data_loc char[] filename` field.
    pub exec_filename_loc: u32,
    /// `sched:sched_process_exec`: offset of `old_pid`.
    pub exec_old_pid: u32,
    /// `syscalls:sys_enter_execve`: offset of `argv`.
    pub execve_argv: u32,
    /// `syscalls:sys_enter_execveat`: offset of `argv`.
    pub execveat_argv: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

impl SensorConfig {
    /// All zero: "not configured".
    pub const ZERO: SensorConfig = SensorConfig {
        self_pid: 0,
        exec_filename_loc: 0,
        exec_old_pid: 0,
        execve_argv: 0,
        execveat_argv: 0,
        _pad: 0,
    };
}

const _: () = assert!(core::mem::size_of::<SensorConfig>() == 24);
