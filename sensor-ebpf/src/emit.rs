//! Filling the common header and counting reserve failures.

use aya_ebpf::helpers::{
    bpf_get_current_cgroup_id, bpf_get_current_comm, bpf_get_current_pid_tgid,
    bpf_get_current_uid_gid, bpf_ktime_get_boot_ns,
};
use sensor_common::{EventHeader, EventKind};

use crate::maps::DROPS;

/// Fills `header` for an event of `kind` and total size `size` from the current task.
#[inline(always)]
pub fn fill_header(header: &mut EventHeader, kind: EventKind, size: usize) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let uid_gid = bpf_get_current_uid_gid();
    header.kind = kind as u32;
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
