//! Fields of the tracepoint record a program was called with.

use aya_ebpf::{EbpfContext, programs::TracePointContext};

/// Offset of `ret` in every `sys_exit_*` record (`struct syscall_trace_exit`: the common
/// header, `int __syscall_nr`, then `long ret`).
pub const SYS_EXIT_RET: usize = 16;

/// Reads the field of type `T` at `at`, the offset userspace found in the format file.
///
/// When `at` is `USUAL`, the offset current kernels use, this is a plain load from the record:
/// the verifier accepts only constant offsets into a context, and `at` comes from the frozen
/// configuration, which it sees as a constant, so the other branch is never even verified.
/// Otherwise it is a probe read, a helper call (about 70 ns on a host with return-stack
/// mitigations, against a few for the load).
#[inline(always)]
pub fn field<T: Copy, const USUAL: usize>(ctx: &TracePointContext, at: u32) -> Option<T> {
    if at as usize == USUAL {
        // SAFETY: `USUAL` is inside the record (the format file says so, through `at`); the
        // verifier checks the access against the record's bounds.
        Some(unsafe { core::ptr::read(ctx.as_ptr().cast::<u8>().add(USUAL).cast::<T>()) })
    } else {
        // SAFETY: probe read: a bad offset yields an error, not a fault.
        unsafe { ctx.read_at::<T>(at as usize) }.ok()
    }
}

/// The return value of the syscall whose `sys_exit_*` record this is (`at`: its offset from the
/// format file).
#[inline(always)]
pub fn syscall_ret(ctx: &TracePointContext, at: u32) -> Option<i64> {
    field::<i64, SYS_EXIT_RET>(ctx, at)
}
