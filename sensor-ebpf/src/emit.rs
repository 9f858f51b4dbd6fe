//! Filling the common header, choosing who is reported, counting reserve failures and filtered
//! events, and submitting records with cheap wakeups.

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::{
        bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
        bpf_get_current_uid_gid, bpf_ktime_get_boot_ns, generated::bpf_jiffies64,
    },
};
use sensor_common::{EventHeader, EventKind, FilterReason, canary::Hook};

use crate::{
    config,
    maps::{DROPS, EVENTS, FILTERED, LAST_WAKEUP, SELF_HITS},
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

/// Submit flags for a record of `size` bytes already reserved in the ring: see [`wakeup`].
#[inline(always)]
pub fn wakeup_flags(size: usize) -> u64 {
    wakeup(size, true)
}

/// Flags for `output` of a record of `size` bytes not yet in the ring: see [`wakeup`].
#[inline(always)]
pub fn output_wakeup_flags(size: usize) -> u64 {
    wakeup(size, false)
}

/// Wakes the reader when at least `wakeup_bytes` wait in the ring, and then at most once per
/// `wakeup_gap_jiffies`; otherwise the reader's poll collects the records. Each wake-up raises
/// an irq_work (a self-interrupt and then a cross-CPU wake-up, VM exits on a guest) in the
/// process whose record it is. Waking for every record past the threshold did that per record
/// exactly when the reader was behind and already busy draining: a third of an open loop's time.
/// Waking once per crossing of the threshold still woke a reader that kept up with a steady
/// stream after every batch it drained: about 2,000 times a second on a loopback connect loop,
/// 200 ns per connect on average.
#[inline(always)]
fn wakeup(size: usize, reserved: bool) -> u64 {
    let threshold = config::get().wakeup_bytes;
    if threshold == 0 {
        return 0;
    }
    let avail = EVENTS.query(BPF_RB_AVAIL_DATA as u64);
    // What the record takes in the ring: the kernel's 8-byte header, rounded up to 8 bytes.
    let taken = (size as u64 + 8 + 7) & !7;
    let waiting = if reserved { avail } else { avail + taken };
    if waiting >= threshold && early_wakeup_due() {
        BPF_RB_FORCE_WAKEUP as u64
    } else {
        BPF_RB_NO_WAKEUP as u64
    }
}

/// Whether the reader may be woken now: at least `wakeup_gap_jiffies` after the last wake-up,
/// across all CPUs. The stamp is shared and written without atomics: CPUs racing here can
/// each wake the reader, which is harmless.
#[inline(always)]
fn early_wakeup_due() -> bool {
    let gap = config::get().wakeup_gap_jiffies;
    if gap == 0 {
        return true;
    }
    let Some(last) = LAST_WAKEUP.get_ptr_mut(0) else {
        return true;
    };
    // SAFETY: helper without preconditions.
    let now = unsafe { bpf_jiffies64() };
    // SAFETY: a u64 in an array map, valid for the program's life; see above on races.
    let last = unsafe { &mut *last };
    if now.wrapping_sub(*last) < gap {
        return false;
    }
    *last = now;
    true
}
