//! File opens (open, openat, openat2, creat), captured by one program per syscall at its exit.
//!
//! The arguments come from the user registers the syscall saved on entry ([`current_syscall`]),
//! so there is no entry hook and nothing staged per thread: each open costs one program run,
//! which builds its record in place in a per-CPU buffer. Read-only opens under a configured
//! prefix are dropped, and repeats of a recent identical open (same process, path, flags and
//! outcome) are collapsed into a count carried by the next one reported.
//!
//! The path is read from the caller's memory after the kernel used it. Another thread of the
//! caller could rewrite that memory in between; a read at entry has the mirror-image race
//! (rewrite after our read, before the kernel's copy), so neither is authoritative, and peers
//! (Falco's modern probe) read at exit too.

use aya_ebpf::{
    helpers::{bpf_probe_read_user, bpf_probe_read_user_str_bytes, generated::bpf_jiffies64},
    macros::tracepoint,
    programs::TracePointContext,
};
use sensor_common::{
    AT_FDCWD, EventKind, FilterReason, OPEN_PATH_CAP, OPEN_PATH_TRUNCATED, OPEN_PREFIX_LEN,
    OPEN_PREFIX_MAX, OPEN_VIA_CREAT, OPEN_VIA_OPENAT2, OpenArgs, OpenRecord, canary::Hook,
};

use crate::{
    config,
    emit::{count_drop, count_filtered, fill_header, output_wakeup_flags, own_call, wanted},
    kernel::{Syscall, current_syscall},
    maps::{CollapseKey, EVENTS, OPEN_OUT, OPEN_PREFIXES, OPEN_RECENT, OPEN_RECENT_SLOTS},
    tp,
};

const O_ACCMODE: u32 = 0o3;
const O_WRONLY: u32 = 0o1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

#[tracepoint]
pub fn sys_exit_open(ctx: TracePointContext) -> u32 {
    // open(const char *filename, int flags, umode_t mode)
    if let Some(Syscall {
        pid,
        args: [path, flags, mode, _],
        ..
    }) = current_syscall()
    {
        capture(&ctx, pid, AT_FDCWD, path, flags as u32, mode as u32, 0);
    }
    0
}

#[tracepoint]
pub fn sys_exit_openat(ctx: TracePointContext) -> u32 {
    let Some(Syscall { pid, args, .. }) = current_syscall() else {
        return 0;
    };
    // The sensor's own opens are not reported, but counted first for the liveness canary.
    if own_call(pid, Hook::OpenatExit) {
        return 0;
    }
    // openat(int dfd, const char *filename, int flags, umode_t mode)
    let [dfd, path, flags, mode] = args;
    capture(&ctx, pid, dfd as i32, path, flags as u32, mode as u32, 0);
    0
}

#[tracepoint]
pub fn sys_exit_openat2(ctx: TracePointContext) -> u32 {
    let Some(Syscall { pid, args, .. }) = current_syscall() else {
        return 0;
    };
    if own_call(pid, Hook::Openat2Exit) {
        return 0;
    }
    // openat2(int dfd, const char *filename, struct open_how *how, size_t usize)
    let [dfd, path, how, _] = args;
    // struct open_how { u64 flags; u64 mode; u64 resolve; } (uapi, stable).
    // SAFETY: user memory probe read.
    let how: [u64; 2] = unsafe { bpf_probe_read_user(how as *const [u64; 2]) }.unwrap_or([0; 2]);
    capture(
        &ctx,
        pid,
        dfd as i32,
        path,
        how[0] as u32,
        how[1] as u32,
        OPEN_VIA_OPENAT2,
    );
    0
}

#[tracepoint]
pub fn sys_exit_creat(ctx: TracePointContext) -> u32 {
    // creat(const char *pathname, umode_t mode)
    if let Some(Syscall {
        pid,
        args: [path, mode, _, _],
        ..
    }) = current_syscall()
    {
        capture(
            &ctx,
            pid,
            AT_FDCWD,
            path,
            O_CREAT | O_WRONLY | O_TRUNC,
            mode as u32,
            OPEN_VIA_CREAT,
        );
    }
    0
}

/// Reports an open by process `pid` (the current one) unless it is filtered or collapsed.
#[inline(always)]
fn capture(
    ctx: &TracePointContext,
    pid: u32,
    dfd: i32,
    path: u64,
    flags: u32,
    mode: u32,
    flags2: u32,
) {
    if !wanted(pid, EventKind::Open) {
        return;
    }
    let Some(record) = OPEN_OUT.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU buffer, used by this program run only (tracepoint programs do not sleep
    // and are not preempted by another run on the same CPU).
    let record = unsafe { &mut *record };
    let cfg = config::get();
    let args = &mut record.args;
    args.result = tp::syscall_ret(ctx, cfg.tp.sys_exit_ret).unwrap_or(0) as i32;
    args.dfd = dfd;
    args.flags = flags;
    args.mode = mode;
    args.flags2 = flags2;
    args.collapsed = 0;
    args.dir_len = 0;
    // SAFETY: reading a user string; faults return an error.
    args.path_len =
        match unsafe { bpf_probe_read_user_str_bytes(path as *const u8, &mut args.path) } {
            Ok(bytes) => bytes.len() as u32,
            Err(_) => 0,
        };
    if args.path_len as usize >= OPEN_PATH_CAP - 1 {
        args.flags2 |= OPEN_PATH_TRUNCATED;
    }
    crate::path::resolve_relative(&cfg.k, args);
    let read_only = flags & O_ACCMODE == 0 && flags & (O_CREAT | O_TRUNC) == 0;
    if read_only && under_prefix(args) {
        count_filtered(EventKind::Open, FilterReason::Prefix);
        return;
    }

    let mut slot = None;
    if cfg.open_collapse_jiffies != 0 {
        let key = CollapseKey {
            pid,
            flags: args.flags,
            path_hash: path_hash(args),
            outcome: if args.result < 0 { args.result } else { 0 },
            _pad: 0,
        };
        let index = (key.path_hash ^ (key.path_hash >> 32) ^ key.pid as u64) as u32
            & (OPEN_RECENT_SLOTS - 1);
        if let Some(s) = OPEN_RECENT.get_ptr_mut(index) {
            // SAFETY: a per-CPU slot: nothing else runs on this CPU while we hold it.
            let s = unsafe { &mut *s };
            // The tick counter, not a clock: reading the clock source (the TSC behind
            // `bpf_ktime_get_boot_ns`) was 2% of a repeated open's time in a VM, and a window of
            // about a second does not need better than a tick.
            // SAFETY: helper without preconditions.
            let now = unsafe { bpf_jiffies64() };
            let same = s.key == key;
            if same && now.wrapping_sub(s.reported) < cfg.open_collapse_jiffies {
                s.suppressed += 1;
                count_filtered(EventKind::Open, FilterReason::Collapsed);
                return;
            }
            // A different key takes the slot over; repeats it had collapsed stay counted in
            // FILTERED (as they would have if no identical open ever came again).
            args.collapsed = if same { s.suppressed } else { 0 };
            s.key = key;
            s.reported = now;
            s.suppressed = 0;
            slot = Some(s);
        }
    }

    let collapsed = args.collapsed;
    if !emit(record) {
        count_drop(EventKind::Open);
        if let Some(s) = slot {
            // Not reported after all: let the next identical open through, with the count.
            s.reported = 0;
            s.suppressed = collapsed;
        }
    }
}

/// The `i`th 8-byte word of the path.
#[inline(always)]
fn word(args: &OpenArgs, i: usize) -> u64 {
    let at = (i * 8) & (OPEN_PATH_CAP - 8);
    // SAFETY: `at + 8 <= OPEN_PATH_CAP`, inside the array.
    unsafe { core::ptr::read_unaligned(args.path.as_ptr().add(at).cast::<u64>()) }
}

/// Whether the path starts with one of the configured prefixes (compared a word at a time).
#[inline(always)]
fn under_prefix(args: &OpenArgs) -> bool {
    let count = config::get().open_prefix_count;
    for p in 0..OPEN_PREFIX_MAX {
        if p >= count {
            break;
        }
        let Some(prefix) = OPEN_PREFIXES.get(p) else {
            break;
        };
        if args.path_len < prefix.len {
            continue;
        }
        let mut matched = true;
        for w in 0..OPEN_PREFIX_LEN / 8 {
            if w as u32 >= prefix.words {
                break;
            }
            if word(args, w) & prefix.mask[w] != prefix.bytes[w] {
                matched = false;
                break;
            }
        }
        if matched {
            return true;
        }
    }
    false
}

/// FNV-1a over the path's 8-byte words, the last one masked to the path's length.
#[inline(always)]
fn path_hash(args: &OpenArgs) -> u64 {
    let len = args.path_len as usize;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for i in 0..OPEN_PATH_CAP / 8 {
        if i * 8 >= len {
            break;
        }
        let mut w = word(args, i);
        let left = len - i * 8;
        if left < 8 {
            w &= (1u64 << (left * 8)) - 1;
        }
        hash = (hash ^ w).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash ^ len as u64
}

/// Sends `record` to the ring: header, arguments and only the used bytes of the path (and its
/// NUL). Userspace reads no further than `path_len`, and a fixed-size record would spend 600
/// bytes of ring on every open whatever its path.
#[inline(always)]
fn emit(record: &mut OpenRecord) -> bool {
    fill_header(&mut record.header, EventKind::Open, 0);
    let mut n = record.args.path_len as usize + 1;
    if n > OPEN_PATH_CAP {
        n = OPEN_PATH_CAP;
    }
    let size = OPEN_PATH_OFFSET + n;
    record.header.size = size as u32;
    // SAFETY: the record is plain bytes (repr(C), no padding read by userspace beyond `size`).
    let bytes: &[u8; core::mem::size_of::<OpenRecord>()] =
        unsafe { &*(record as *const OpenRecord).cast() };
    match bytes.get(..size) {
        Some(used) => EVENTS.output(used, output_wakeup_flags(size)).is_ok(),
        None => false,
    }
}

/// Where the path starts in an [`OpenRecord`].
const OPEN_PATH_OFFSET: usize =
    core::mem::offset_of!(OpenRecord, args) + core::mem::offset_of!(OpenArgs, path);
