//! Filling the common header, choosing who is reported, counting reserve failures and filtered
//! events, and submitting records with cheap wakeups.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
        bpf_get_current_uid_gid, bpf_ktime_get_boot_ns,
    },
};
use sensor_common::{EventHeader, EventKind, FilterReason, canary::Hook};

use crate::{
    config,
    maps::{DROPS, EVENTS, FILTERED, SELF_HITS},
};

/// Fills `header` for an event of `kind` and total size `size` from the current task.
#[inline(always)]
pub fn fill_header(header: &mut EventHeader, kind: EventKind, size: usize) {
    fill_header_raw(header, kind as u32, size);
}

/// [`fill_header`] for records outside [`EventKind`] (those of the `TAMPER` ring).
#[inline(always)]
pub fn fill_header_raw(header: &mut EventHeader, kind: u32, size: usize) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let uid_gid = bpf_get_current_uid_gid();
    header.kind = kind;
    header.size = size as u32;
    // SAFETY: helpers without preconditions.
    header.ktime_ns = unsafe { bpf_ktime_get_boot_ns() };
    header.tid = pid_tgid as u32;
    header.pid = (pid_tgid >> 32) as u32;
    header.uid = uid_gid as u32;
    header.gid = (uid_gid >> 32) as u32;
    // SAFETY: helper without preconditions.
    header.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
    header.comm = bpf_get_current_comm().unwrap_or([0; 16]);
}

/// Counts one record of `kind` that did not fit in the ring buffer.
#[inline(always)]
pub fn count_drop(kind: EventKind) {
    if let Some(counter) = DROPS.get_ptr_mut(kind as u32) {
        // SAFETY: per-CPU slot, so no other program writes it concurrently.
        unsafe { *counter += 1 };
    }
}

/// Counts one event of `kind` not reported for `reason`.
#[inline(always)]
pub fn count_filtered(kind: EventKind, reason: FilterReason) {
    let index = kind as u32 * FilterReason::SLOTS + reason as u32;
    if let Some(counter) = FILTERED.get_ptr_mut(index) {
        // SAFETY: per-CPU slot.
        unsafe { *counter += 1 };
    }
}

/// The current process id (thread group id). Programs take it once and pass it on: each helper
/// call costs tens of nanoseconds.
#[inline(always)]
pub fn current_pid() -> u32 {
    (bpf_get_current_pid_tgid() >> 32) as u32
}

/// Whether the caller, process `pid`, is the sensor itself; if so, counts the call at `hook`
/// (the liveness canary: userspace makes such a call and checks that the count moved).
#[inline(always)]
pub fn own_call(pid: u32, hook: Hook) -> bool {
    if pid != config::get().self_pid {
        return false;
    }
    if let Some(counter) = SELF_HITS.get_ptr_mut(hook as u32) {
        // SAFETY: per-CPU slot.
        unsafe { *counter += 1 };
    }
    true
}

/// Whether events of process `pid` (the current one) are reported; counts the ones that are
/// not. The sensor is recognised by its process id only, never by name, so a process that
/// merely calls itself `sensor` is still reported.
#[inline(always)]
pub fn wanted(pid: u32, kind: EventKind) -> bool {
    let cfg = config::get();
    if pid == cfg.self_pid {
        count_filtered(kind, FilterReason::SelfPid);
        return false;
    }
    if cfg.only_pid != 0 && pid != cfg.only_pid {
        count_filtered(kind, FilterReason::NotSelected);
        return false;
    }
    true
}

/// Submit flags for a record of `size` bytes already reserved in the ring: see [`crossing`].
#[inline(always)]
pub fn wakeup_flags(size: usize) -> u64 {
    crossing(size, true)
}

/// Flags for `output` of a record of `size` bytes not yet in the ring: see [`crossing`].
#[inline(always)]
pub fn output_wakeup_flags(size: usize) -> u64 {
    crossing(size, false)
}

/// Wakes the reader only for the record that takes the ring across `wakeup_bytes`; below that
/// the reader's timer collects records. Waking for every record past the threshold instead
/// would raise an irq_work (a self-interrupt, a VM exit on a guest) per record exactly when
/// the reader is behind and already busy draining: that was a third of an open loop's time.
/// A crossing missed by two CPUs racing costs at most one timer period of latency.
#[inline(always)]
fn crossing(size: usize, reserved: bool) -> u64 {
    let threshold = config::get().wakeup_bytes;
    if threshold == 0 {
        return 0;
    }
    let avail = EVENTS.query(BPF_RB_AVAIL_DATA as u64);
    // What the record takes in the ring: the kernel's 8-byte header, rounded up to 8 bytes.
    let taken = (size as u64 + 8 + 7) & !7;
    let (before, after) = if reserved {
        (avail.saturating_sub(taken), avail)
    } else {
        (avail, avail + taken)
    };
    if before < threshold && after >= threshold {
        BPF_RB_FORCE_WAKEUP as u64
    } else {
        BPF_RB_NO_WAKEUP as u64
    }
}
