//! `bpf()` calls by other processes that get a handle on, or change, a BPF object: the raw
//! material of the self-protection alerts. Only capture and the own-pid filter happen here;
//! whether the object is the sensor's is decided in userspace, which knows its ids.
//!
//! Captured at the call's exit, from the saved registers and the caller's unchanged memory: an
//! entry program would put every syscall of the host through the enter-tracepoint dispatch.
//! A detach of this very program is not seen at its own exit, but the `LINK_GET_FD_BY_ID` or
//! `PROG_GET_FD_BY_ID` that got the handle for it was, and the canary notices the silence.

use aya_ebpf::{helpers::bpf_probe_read_user, macros::tracepoint, programs::TracePointContext};
use sensor_common::{
    BATCH_MAP_FD_OFFSET, BPF_CMD_KIND, BpfCmdRecord,
    bpf::{cmd, own_id_key},
    canary::{Hook, tamper_drop},
    is_batch,
};

use crate::{
    config,
    emit::fill_header_raw,
    kernel::{Syscall, current_syscall},
    maps::{OWN_IDS, SELF_HITS, TAMPER, TAMPER_DROPS},
};

#[inline(always)]
fn count_self_bpf() {
    if let Some(counter) = SELF_HITS.get_ptr_mut(Hook::BpfExit as u32) {
        // SAFETY: per-CPU slot.
        unsafe { *counter += 1 };
    }
}

#[tracepoint]
pub fn sys_exit_bpf(_ctx: TracePointContext) -> u32 {
    // bpf(int cmd, union bpf_attr *uattr, unsigned int size)
    let Some(Syscall {
        pid,
        args: [command, uattr, _, _],
        ..
    }) = current_syscall()
    else {
        return 0;
    };
    let command = command as u32;
    if !cmd::watched(command) {
        return 0;
    }
    if pid == config::get().self_pid {
        // The liveness canary: the sensor's own (refused) call of a watched command.
        count_self_bpf();
        return 0;
    }
    let mut unreadable = 0;
    // SAFETY: user memory probe reads; a failure is reported, not trusted.
    let head = unsafe { bpf_probe_read_user(uattr as *const [u32; 2]) }.unwrap_or_else(|_| {
        unreadable = 1;
        [0; 2]
    });
    // A handle on someone else's object is none of our business (and `bpftool prog list`
    // takes one on every program of the host).
    if let Some(key) = own_id_key(command, head[0])
        // SAFETY: a plain lookup; the value is not used.
        && unsafe { OWN_IDS.get(&key) }.is_none()
    {
        return 0;
    }
    let second = if is_batch(command) {
        // SAFETY: as above.
        unsafe { bpf_probe_read_user((uattr + BATCH_MAP_FD_OFFSET as u64) as *const u32) }
            .unwrap_or_else(|_| {
                unreadable = 1;
                0
            })
    } else {
        head[1]
    };
    // A full ring loses the record, counted like the event ring's losses.
    let Some(mut entry) = TAMPER.reserve::<BpfCmdRecord>(0) else {
        if let Some(counter) = TAMPER_DROPS.get_ptr_mut(tamper_drop::BPF_CMD) {
            // SAFETY: per-CPU slot.
            unsafe { *counter += 1 };
        }
        return 0;
    };
    let record = entry.as_mut_ptr();
    // SAFETY: `record` points at a reserved, exclusively owned slot of the right size.
    unsafe {
        fill_header_raw(
            &mut (*record).header,
            BPF_CMD_KIND,
            core::mem::size_of::<BpfCmdRecord>(),
        );
        (*record).cmd = command;
        (*record).first = head[0];
        (*record).second = second;
        (*record).unreadable = unreadable;
    }
    entry.submit(0);
    0
}
