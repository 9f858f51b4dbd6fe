//! Process lifecycle: fork (new processes only, not threads) and exit (of the whole process),
//! so userspace can keep a process tree.

use aya_ebpf::{
    macros::{raw_tracepoint, tracepoint},
    programs::{RawTracePointContext, TracePointContext},
};
use sensor_common::{ABSENT, EventKind, ExitRecord, ForkRecord};

use crate::{
    config,
    emit::{count_drop, current_pid, fill_header, wakeup_flags, wanted},
    kernel::{current_task, read},
    maps::EVENTS,
    tp,
};

// match-proto: sched_process_fork(struct task_struct *parent, struct task_struct *child)
// A raw tracepoint: the classic one carries pids only, and the child's tgid is what tells a
// new process from a new thread.
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn sched_process_fork(ctx: RawTracePointContext) -> i32 {
    let k = &config::get().k;
    let parent: u64 = ctx.arg(0);
    let child: u64 = ctx.arg(1);
    let Some(child_tid) = read::<u32>(child, k.task_pid) else {
        return 0;
    };
    let Some(child_pid) = read::<u32>(child, k.task_tgid) else {
        return 0;
    };
    if child_tid != child_pid || !wanted(current_pid(), EventKind::Fork) {
        // A thread: not a process-tree event.
        return 0;
    }
    let Some(mut entry) = EVENTS.reserve::<ForkRecord>(0) else {
        count_drop(EventKind::Fork);
        return 0;
    };
    // SAFETY: the reservation is exactly one ForkRecord; every field is written below.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(
        &mut record.header,
        EventKind::Fork,
        core::mem::size_of::<ForkRecord>(),
    );
    record.parent_pid = read(parent, k.task_tgid).unwrap_or(record.header.pid);
    record.child_pid = child_pid;
    record.child_tid = child_tid;
    record._pad = 0;
    entry.submit(wakeup_flags(core::mem::size_of::<ForkRecord>()));
    0
}

// match-proto: sched_process_exit(char comm[16], pid_t pid, int prio, bool group_dead)
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let cfg = config::get();
    let task = current_task();
    let last = if cfg.tp.exit_group_dead == ABSENT {
        // Older kernels: report the exit of the thread-group leader.
        let tid: u32 = read(task, cfg.k.task_pid).unwrap_or(0);
        let tgid: u32 = read(task, cfg.k.task_tgid).unwrap_or(1);
        tid == tgid
    } else {
        tp::field::<u8, 32>(&ctx, cfg.tp.exit_group_dead).unwrap_or(0) != 0
    };
    if !last || !wanted(current_pid(), EventKind::Exit) {
        return 0;
    }
    let Some(mut entry) = EVENTS.reserve::<ExitRecord>(0) else {
        count_drop(EventKind::Exit);
        return 0;
    };
    // SAFETY: the reservation is exactly one ExitRecord; every field is written below.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(
        &mut record.header,
        EventKind::Exit,
        core::mem::size_of::<ExitRecord>(),
    );
    record.exit_code = read(task, cfg.k.task_exit_code).unwrap_or(0);
    record._pad = 0;
    entry.submit(wakeup_flags(core::mem::size_of::<ExitRecord>()));
    0
}
