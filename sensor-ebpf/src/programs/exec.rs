//! Process execution. A successful exec is emitted at `sched_process_exec`, where the kernel
//! has loaded the new program: argv is read in one piece from the new stack
//! (`mm->arg_start..arg_end`, as `/proc/PID/cmdline` shows it) and argc from the top of it. A
//! failed one is emitted at `sys_exit_execve(at)`, with filename and argv read through the
//! pointers in the caller's saved registers (its memory is still in place then).
//!
//! There is no `sys_enter_*` program: while any is attached, every syscall of every task goes
//! through the kernel's enter-tracepoint dispatch, which cost an open/close loop
//! several percent.

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_probe_read_kernel_str_bytes, bpf_probe_read_user, bpf_probe_read_user_str_bytes,
        generated::{
            bpf_probe_read_kernel, bpf_probe_read_user as probe_read_user_raw,
            bpf_probe_read_user_str,
        },
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use sensor_common::{
    ABSENT, ARGV_CAP, ARGV_MAX_ARGS, EXEC_ARGV_MISSING, EXEC_ARGV_TRUNCATED, EXEC_CWD_RESOLVED,
    EXEC_DATA_OFFSET, EXEC_EXE_DELETED, EXEC_EXE_MEMFD, EXEC_FILENAME_TRUNCATED,
    EXEC_PATH_TRUNCATED, EventKind, ExecRecord, KernelOffsets, OPEN_DIR_CAP, PATH_CAP, PendingExec,
};

use crate::{
    config,
    emit::{count_drop, current_pid, fill_header, output_wakeup_flags, wanted},
    kernel::{current_syscall, current_task, read, stdio_kinds},
    maps::{EVENTS, EXEC_OUT, EXEC_SCRATCH},
    tp,
};

/// A failed exec returns here to the caller's unchanged memory (a successful one was emitted at
/// `sched_process_exec`).
#[tracepoint]
pub fn sys_exit_execve(ctx: TracePointContext) -> u32 {
    // execve(const char *filename, const char *const *argv, const char *const *envp)
    exit(&ctx, |[filename, argv, _, _]| (filename, argv));
    0
}

/// Same as [`sys_exit_execve`], for execveat.
#[tracepoint]
pub fn sys_exit_execveat(ctx: TracePointContext) -> u32 {
    // execveat(int fd, const char *filename, const char *const *argv, ...)
    exit(&ctx, |[_, filename, argv, _]| (filename, argv));
    0
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

/// Reads the arguments of a failed exec through the caller's pointers: the filename straight
/// into the record's name, argv into the per-CPU scratch (its string reads need slack beyond
/// the capture limit), then only the used bytes of argv after the name.
#[inline(always)]
fn args_from_caller(record: &mut ExecRecord, filename: u64, argv: u64) {
    record.flags = 0;
    record.argc = 0;
    record.argv_len = 0;
    // SAFETY: reading a user string; faults return an error.
    record.name_len =
        match unsafe { bpf_probe_read_user_str_bytes(filename as *const u8, name_buf(record)) } {
            Ok(bytes) => bytes.len() as u32,
            Err(_) => 0,
        };
    if record.name_len as usize >= PATH_CAP - 1 {
        record.flags |= EXEC_FILENAME_TRUNCATED;
    }
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        missing(record);
        return;
    };
    // SAFETY: per-CPU scratch slot; nothing else runs on this CPU while we hold it.
    let p = unsafe { &mut (*scratch).pending };
    read_argv(p, argv as *const *const u8);
    record.argc = p.argc;
    record.flags |= p.flags;
    let argv_len = p.argv_len;
    let dst = argv_dst(record);
    if copy_bounded::<ARGV_CAP>(p.argv.as_ptr(), dst, argv_len) {
        record.argv_len = argv_len;
    } else {
        missing(record);
    }
}

/// The record's name buffer: the first [`PATH_CAP`] bytes of `data`.
#[inline(always)]
fn name_buf(record: &mut ExecRecord) -> &mut [u8; PATH_CAP] {
    // SAFETY: `data` is PATH_CAP + ARGV_CAP bytes; u8 has no alignment requirement.
    unsafe { &mut *record.data.as_mut_ptr().cast::<[u8; PATH_CAP]>() }
}

/// Where argv goes: right after the name. The mask keeps the offset provably below
/// [`PATH_CAP`] for the verifier (`name_len` already is), so `ARGV_CAP` bytes from there stay
/// inside `data`.
#[inline(always)]
fn argv_dst(record: &mut ExecRecord) -> *mut u8 {
    let off = record.name_len as usize & (PATH_CAP - 1);
    record.data.as_mut_ptr().wrapping_add(off)
}

/// Reads argv of the program just loaded from its stack: the strings lie back to back,
/// NUL-terminated, between `mm->arg_start` and `mm->arg_end`, and `argc` is the first word at
/// `mm->start_stack`. One bounded read, instead of a read per argument through the caller's
/// pointers. For a script this is the argv the kernel built (interpreter, script, arguments),
/// as `/proc/PID/cmdline` and `ps` show it.
#[inline(always)]
fn args_from_stack(record: &mut ExecRecord, k: &KernelOffsets, mm: u64) {
    let start: u64 = read(mm, k.mm_arg_start).unwrap_or(0);
    let end: u64 = read(mm, k.mm_arg_end).unwrap_or(0);
    let stack: u64 = read(mm, k.mm_start_stack).unwrap_or(0);
    if start == 0 || end < start {
        missing(record);
        return;
    }
    // SAFETY: user memory probe read of the new stack; a fault returns an error.
    record.argc = match unsafe { bpf_probe_read_user(stack as *const u64) } {
        Ok(argc) => argc as u32,
        Err(_) => 0,
    };
    let total = end - start;
    let mut n = total as u32;
    if total > ARGV_CAP as u64 {
        n = ARGV_CAP as u32;
        record.flags |= EXEC_ARGV_TRUNCATED;
    }
    if n > 0 {
        let dst = argv_dst(record);
        // SAFETY: at most ARGV_CAP bytes from an offset below PATH_CAP of the record's
        // PATH_CAP + ARGV_CAP-byte data; a fault returns an error.
        let rc = unsafe { probe_read_user_raw(dst.cast(), n, start as *const core::ffi::c_void) };
        if rc != 0 {
            missing(record);
            return;
        }
    }
    record.argv_len = n;
}

/// Marks argv as not captured (the filename, if any, stays).
#[inline(always)]
fn missing(record: &mut ExecRecord) {
    record.argc = 0;
    record.argv_len = 0;
    record.flags |= EXEC_ARGV_MISSING;
}

/// Copies `len` (clamped to `CAP`) bytes between two kernel buffers of `CAP` bytes.
#[inline(always)]
fn copy_bounded<const CAP: usize>(src: *const u8, dst: *mut u8, len: u32) -> bool {
    let mut n = len;
    if n > CAP as u32 {
        n = CAP as u32;
    }
    if n == 0 {
        return true;
    }
    // SAFETY: both buffers hold CAP bytes and n <= CAP; a fault returns an error.
    unsafe { bpf_probe_read_kernel(dst.cast(), n, src.cast()) == 0 }
}

/// Fields read from the current task: parent, credentials, stdio and, after a successful exec,
/// argv from the new stack and what the executable is.
#[inline(always)]
fn fill_task(record: &mut ExecRecord, exe: bool) {
    let k = &config::get().k;
    let task = current_task();
    let parent: u64 = read(task, k.task_real_parent).unwrap_or(0);
    record.ppid = read(parent, k.task_tgid).unwrap_or(0);
    let cred: u64 = read(task, k.task_cred).unwrap_or(0);
    record.euid = read(cred, k.cred_euid).unwrap_or(u32::MAX);
    record.egid = read(cred, k.cred_egid).unwrap_or(u32::MAX);
    record.loginuid = if k.task_loginuid == ABSENT {
        u32::MAX
    } else {
        read(task, k.task_loginuid).unwrap_or(u32::MAX)
    };
    record.stdio = stdio_kinds(&k, task);
    (record.pgid, record.sid) = group_and_session(k, task);
    record.start_boottime_ns = if k.task_start_boottime == ABSENT {
        0
    } else {
        read(task, k.task_start_boottime).unwrap_or(0)
    };
    if !exe {
        return;
    }
    let mm: u64 = read(task, k.task_mm).unwrap_or(0);
    args_from_stack(record, &k, mm);
    let Some(file) = read::<u64>(mm, k.mm_exe_file) else {
        return;
    };
    let dentry: u64 = read(file, k.file_dentry).unwrap_or(0);
    let name: u64 = read(dentry, k.dentry_name).unwrap_or(0);
    if let Some(prefix) = read::<[u8; 6]>(name, 0)
        && &prefix == b"memfd:"
    {
        record.flags |= EXEC_EXE_MEMFD;
    }
    let inode: u64 = read(file, k.file_inode).unwrap_or(0);
    if read::<u32>(inode, k.inode_nlink) == Some(0) {
        record.flags |= EXEC_EXE_DELETED;
    }
}

/// `enum pid_type` slots of `signal_struct.pids` (unchanged since Linux 4.19).
const PIDTYPE_PGID: u32 = 2;
const PIDTYPE_SID: u32 = 3;

/// The process group and session ids of `task` in the initial pid namespace (0 when unknown),
/// so userspace need not read `/proc/PID/stat` for them on every exec.
#[inline(always)]
fn group_and_session(k: &KernelOffsets, task: u64) -> (u32, u32) {
    if k.task_signal == ABSENT || k.signal_pids == ABSENT || k.pid_numbers == ABSENT {
        return (0, 0);
    }
    let Some(signal) = read::<u64>(task, k.task_signal) else {
        return (0, 0);
    };
    let id = |kind: u32| -> u32 {
        read::<u64>(signal, k.signal_pids + kind * 8)
            .and_then(|pid| read::<u32>(pid, k.pid_numbers))
            .unwrap_or(0)
    };
    (id(PIDTYPE_PGID), id(PIDTYPE_SID))
}

/// Reports a failed exec, its filename and argv pointers chosen by `pick` from the syscall's
/// arguments.
#[inline(always)]
fn exit(ctx: &TracePointContext, pick: impl FnOnce([u64; 4]) -> (u64, u64)) {
    let cfg = config::get();
    let ret = tp::syscall_ret(ctx, cfg.tp.sys_exit_ret).unwrap_or(0);
    // Success was reported at `sched_process_exec`.
    if ret >= 0 {
        return;
    }
    let Some(call) = current_syscall() else {
        return;
    };
    if !wanted(call.pid, EventKind::Exec) {
        return;
    }
    let (filename, argv) = pick(call.args);
    let Some(record) = EXEC_OUT.get_ptr_mut(0) else {
        count_drop(EventKind::Exec);
        return;
    };
    // SAFETY: per-CPU scratch slot, used by this program run only.
    let record = unsafe { &mut *record };
    fill_header(&mut record.header, EventKind::Exec, 0);
    record.result = ret as i32;
    args_from_caller(record, filename, argv);
    fill_task(record, false);
    submit(record);
}

/// Writes the fixed part and only the used bytes of `data` to the ring.
#[inline(always)]
fn submit(record: &mut ExecRecord) {
    let mut argv_len = record.argv_len as usize;
    if argv_len > ARGV_CAP {
        argv_len = ARGV_CAP;
    }
    let size = EXEC_DATA_OFFSET
        + (record.name_len as usize & (PATH_CAP - 1))
        + argv_len
        + (record.cwd_len as usize & (OPEN_DIR_CAP - 1));
    record.header.size = size as u32;
    // SAFETY: the record is plain bytes (repr(C); userspace reads no padding).
    let bytes: &[u8; core::mem::size_of::<ExecRecord>()] =
        unsafe { &*(record as *const ExecRecord).cast() };
    let sent = match bytes.get(..size) {
        Some(used) => EVENTS.output(used, output_wakeup_flags(size)).is_ok(),
        None => false,
    };
    if !sent {
        count_drop(EventKind::Exec);
    }
}

// match-proto: sched_process_exec(__data_loc char[] filename, pid_t pid, pid_t old_pid)
#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    let cfg = config::get();
    if cfg.tp.exec_filename_loc == 0 || !wanted(current_pid(), EventKind::Exec) {
        return 0;
    }

    let Some(record) = EXEC_OUT.get_ptr_mut(0) else {
        count_drop(EventKind::Exec);
        return 0;
    };
    // SAFETY: per-CPU scratch slot, used by this program run only; every field userspace reads
    // is written below.
    let record = unsafe { &mut *record };
    fill_header(&mut record.header, EventKind::Exec, 0);
    record.result = 0;
    record.flags = 0;
    record.argc = 0;
    record.argv_len = 0;

    // __data_loc: low 16 bits are the offset of the string from the record start, high 16 bits
    // its length.
    let loc: u32 = tp::field::<u32, 8>(&ctx, cfg.tp.exec_filename_loc).unwrap_or(0);
    let src = ctx
        .as_ptr()
        .wrapping_add((loc & 0xffff) as usize)
        .cast::<u8>();
    // SAFETY: reading the tracepoint record; a fault returns an error.
    record.name_len = match unsafe { bpf_probe_read_kernel_str_bytes(src, name_buf(record)) } {
        Ok(bytes) => bytes.len() as u32,
        Err(_) => 0,
    };
    if record.name_len as usize >= PATH_CAP - 1 {
        record.flags |= EXEC_PATH_TRUNCATED | EXEC_FILENAME_TRUNCATED;
    }
    fill_task(record, true);
    record.cwd_len = 0;
    record._pad = 0;
    working_directory(record, &cfg.k);
    submit(record);
    0
}

/// Appends the working directory after argv (resolved here so that userspace need not read
/// `/proc/PID/cwd` of a program that may be gone already); sets [`EXEC_CWD_RESOLVED`].
#[inline(always)]
fn working_directory(record: &mut ExecRecord, k: &KernelOffsets) {
    let Some((start, len)) = crate::path::working_directory(k) else {
        return;
    };
    let Some(buf) = crate::path::scratch_buf() else {
        return;
    };
    let mut argv_len = record.argv_len as usize;
    if argv_len > ARGV_CAP {
        argv_len = ARGV_CAP;
    }
    let at = (record.name_len as usize & (PATH_CAP - 1)) + argv_len;
    let len = len & (OPEN_DIR_CAP - 1);
    if len > 0 {
        // SAFETY: `at + len` < PATH_CAP + ARGV_CAP + OPEN_DIR_CAP, inside `data`; the source is
        // the scratch buffer the walk filled, `start + len == OPEN_DIR_CAP`.
        let copied = unsafe {
            bpf_probe_read_kernel(
                record.data.as_mut_ptr().add(at).cast(),
                len as u32,
                buf.add(start & (OPEN_DIR_CAP - 1)).cast(),
            )
        };
        if copied != 0 {
            return;
        }
    }
    record.cwd_len = len as u32;
    record.flags |= EXEC_CWD_RESOLVED;
}
