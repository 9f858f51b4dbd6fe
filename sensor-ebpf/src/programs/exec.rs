//! Process execution: argv is staged at `sys_enter_execve(at)` (while the caller's memory still
//! holds it) and the record is emitted at `sched_process_exec`, where the kernel has resolved the
//! executable.

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel_buf, bpf_probe_read_kernel_str_bytes,
        bpf_probe_read_user, generated::bpf_probe_read_user_str,
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use aya_log_ebpf::debug;
use sensor_common::{
    ARGV_CAP, ARGV_MAX_ARGS, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXEC_PATH_TRUNCATED,
    EventKind, ExecRecord, PATH_CAP, PendingExec,
};

use crate::{
    config,
    emit::{count_drop, fill_header},
    maps::{EVENTS, EXEC_SCRATCH, PENDING_EXEC},
};

// match-proto: sys_enter_execve(const char *filename, const char *const *argv, ...)
#[tracepoint]
pub fn sys_enter_execve(ctx: TracePointContext) -> u32 {
    stage_argv(&ctx, config::get().execve_argv);
    0
}

// match-proto: sys_enter_execveat(int fd, const char *filename, const char *const *argv, ...)
#[tracepoint]
pub fn sys_enter_execveat(ctx: TracePointContext) -> u32 {
    stage_argv(&ctx, config::get().execveat_argv);
    0
}

/// Forgets the staged argv of a thread whose exec returned (a successful exec has already been
/// emitted by `sched_process_exec` by then).
#[tracepoint]
pub fn sys_exit_execve(_ctx: TracePointContext) -> u32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = PENDING_EXEC.remove(&tid);
    0
}

/// Same as [`sys_exit_execve`], for execveat.
#[tracepoint]
pub fn sys_exit_execveat(_ctx: TracePointContext) -> u32 {
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = PENDING_EXEC.remove(&tid);
    0
}

fn stage_argv(ctx: &TracePointContext, argv_offset: u32) {
    let cfg = config::get();
    let pid_tgid = bpf_get_current_pid_tgid();
    if (pid_tgid >> 32) as u32 == cfg.self_pid || argv_offset == 0 {
        return;
    }
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU scratch slot; nothing else runs on this CPU while we hold it.
    let pending = unsafe { &mut (*scratch).pending };
    // SAFETY: the offset comes from the tracepoint's format file, read by userspace.
    let argv: u64 = match unsafe { ctx.read_at(argv_offset as usize) } {
        Ok(argv) => argv,
        Err(_) => return,
    };
    read_argv(pending, argv as *const *const u8);
    let tid = pid_tgid as u32;
    if PENDING_EXEC.insert(&tid, pending, 0).is_err() {
        debug!(ctx, "exec: cannot stage argv for tid {}", tid);
    }
}

/// Copies up to [`ARGV_CAP`] bytes of argv, each argument NUL-terminated.
#[inline(always)]
fn read_argv(pending: &mut PendingExec, argv: *const *const u8) {
    pending.argc = 0;
    pending.flags = 0;
    pending.argv_len = 0;
    let mut len: usize = 0;
    for i in 0..ARGV_MAX_ARGS {
        // SAFETY: reading a user pointer; a fault returns an error, never a crash.
        let arg: *const u8 = match unsafe { bpf_probe_read_user(argv.wrapping_add(i as usize)) } {
            Ok(arg) => arg,
            Err(_) => break,
        };
        if arg.is_null() {
            pending.argv_len = len as u32;
            return;
        }
        pending.argc += 1;
        if len >= ARGV_CAP {
            pending.flags |= EXEC_ARGV_TRUNCATED;
            continue;
        }
        let off = len & (ARGV_CAP - 1);
        let dst = pending.argv.as_mut_ptr().wrapping_add(off);
        // SAFETY: dst..dst+ARGV_CAP lies within `pending.argv` plus the scratch slack that
        // follows it; the helper NUL-terminates.
        let n = unsafe { bpf_probe_read_user_str(dst.cast(), ARGV_CAP as u32, arg.cast()) };
        if n <= 0 {
            break;
        }
        len = off + n as usize;
        if len > ARGV_CAP || n as usize >= ARGV_CAP {
            // The argument ran past the capture limit (or was cut at ARGV_CAP itself).
            pending.flags |= EXEC_ARGV_TRUNCATED;
            len = ARGV_CAP;
        }
    }
    pending.argv_len = len.min(ARGV_CAP) as u32;
    pending.flags |= EXEC_ARGV_TRUNCATED;
}

// match-proto: sched_process_exec(__data_loc char[] filename, pid_t pid, pid_t old_pid)
#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let cfg = config::get();
    let pid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if pid == cfg.self_pid || cfg.exec_filename_loc == 0 {
        return 0;
    }
    // SAFETY: offset from the format file.
    let old_pid: u32 = unsafe { ctx.read_at(cfg.exec_old_pid as usize) }.unwrap_or(0);

    let Some(mut entry) = EVENTS.reserve::<ExecRecord>(0) else {
        count_drop(EventKind::Exec);
        let _ = PENDING_EXEC.remove(&old_pid);
        return 0;
    };
    // SAFETY: the reservation is exactly one ExecRecord; every field is written below.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(
        &mut record.header,
        EventKind::Exec,
        core::mem::size_of::<ExecRecord>(),
    );
    record._pad = 0;

    match PENDING_EXEC.get_ptr(&old_pid) {
        Some(pending) => {
            // SAFETY: a map value of the right type; copied, not kept.
            let src = unsafe {
                core::slice::from_raw_parts(pending.cast::<u8>(), size_of::<PendingExec>())
            };
            // SAFETY: reading our own map value into the reservation.
            let dst = unsafe {
                core::slice::from_raw_parts_mut(
                    (&raw mut record.args).cast::<u8>(),
                    size_of::<PendingExec>(),
                )
            };
            if unsafe { bpf_probe_read_kernel_buf(src.as_ptr(), dst) }.is_err() {
                record.args.argc = 0;
                record.args.argv_len = 0;
                record.args.flags = EXEC_ARGV_MISSING;
            }
            let _ = PENDING_EXEC.remove(&old_pid);
        }
        None => {
            record.args.argc = 0;
            record.args.argv_len = 0;
            record.args.flags = EXEC_ARGV_MISSING;
        }
    }
    record.args._pad = 0;

    // __data_loc: low 16 bits are the offset of the string from the record start, high 16 bits
    // its length.
    // SAFETY: offset from the format file.
    let loc: u32 = unsafe { ctx.read_at(cfg.exec_filename_loc as usize) }.unwrap_or(0);
    let src = ctx
        .as_ptr()
        .wrapping_add((loc & 0xffff) as usize)
        .cast::<u8>();
    // SAFETY: reading the tracepoint record; a fault returns an error.
    record.path_len = match unsafe { bpf_probe_read_kernel_str_bytes(src, &mut record.path) } {
        Ok(bytes) => bytes.len() as u32,
        Err(_) => 0,
    };
    if record.path_len as usize >= PATH_CAP - 1 {
        record.args.flags |= EXEC_PATH_TRUNCATED;
    }
    entry.submit(0);
    0
}
