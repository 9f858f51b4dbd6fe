//! File opens (open, openat, openat2, creat). The path, dirfd and flags are read at entry and
//! staged per thread; the record is emitted at exit with the result. Read-only opens under a
//! configured prefix are dropped at entry, and repeats of a recent identical open (same process,
//! path, flags and outcome) are collapsed at exit into a count carried by the next one reported.

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_ktime_get_boot_ns, bpf_probe_read_user,
        bpf_probe_read_user_str_bytes, generated::bpf_probe_read_kernel,
    },
    macros::tracepoint,
    programs::TracePointContext,
};
use sensor_common::{
    AT_FDCWD, EventKind, FilterReason, OPEN_PATH_CAP, OPEN_PATH_TRUNCATED, OPEN_PREFIX_LEN,
    OPEN_PREFIX_MAX, OPEN_VIA_CREAT, OPEN_VIA_OPENAT2, OpenArgs, OpenRecord, canary::Hook,
};

use crate::{
    config,
    emit::{count_drop, count_filtered, fill_header, own_call, wakeup_flags, wanted},
    maps::{
        CollapseKey, CollapseSlot, EVENTS, OPEN_OUT, OPEN_PREFIXES, OPEN_RECENT, OPEN_RECENT_SLOTS,
        OPEN_SCRATCH, PENDING_OPEN,
    },
};

const O_ACCMODE: u32 = 0o3;
const O_WRONLY: u32 = 0o1;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

// match-proto: sys_enter_open(const char *filename, int flags, umode_t mode)
#[tracepoint]
pub fn sys_enter_open(ctx: TracePointContext) -> u32 {
    let tp = config::get().tp;
    // SAFETY: offsets from the format file.
    let (path, flags, mode) = unsafe {
        (
            ctx.read_at::<u64>(tp.open_filename as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.open_flags as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.open_mode as usize).unwrap_or(0),
        )
    };
    stage(AT_FDCWD, path, flags as u32, mode as u32, 0);
    0
}

// match-proto: sys_enter_openat(int dfd, const char *filename, int flags, umode_t mode)
#[tracepoint]
pub fn sys_enter_openat(ctx: TracePointContext) -> u32 {
    // The sensor's own opens are not reported (`stage` counts them as filtered) but counted
    // here first, for the liveness canary.
    own_call(Hook::OpenatEnter);
    let tp = config::get().tp;
    // SAFETY: offsets from the format file.
    let (dfd, path, flags, mode) = unsafe {
        (
            ctx.read_at::<i64>(tp.openat_dfd as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.openat_filename as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.openat_flags as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.openat_mode as usize).unwrap_or(0),
        )
    };
    stage(dfd as i32, path, flags as u32, mode as u32, 0);
    0
}

// match-proto: sys_enter_openat2(int dfd, const char *filename, struct open_how *how, size_t)
#[tracepoint]
pub fn sys_enter_openat2(ctx: TracePointContext) -> u32 {
    own_call(Hook::Openat2Enter);
    let tp = config::get().tp;
    // SAFETY: offsets from the format file.
    let (dfd, path, how) = unsafe {
        (
            ctx.read_at::<i64>(tp.openat2_dfd as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.openat2_filename as usize)
                .unwrap_or(0),
            ctx.read_at::<u64>(tp.openat2_how as usize).unwrap_or(0),
        )
    };
    // struct open_how { u64 flags; u64 mode; u64 resolve; } (uapi, stable).
    // SAFETY: user memory probe read.
    let how: [u64; 2] = unsafe { bpf_probe_read_user(how as *const [u64; 2]) }.unwrap_or([0; 2]);
    stage(
        dfd as i32,
        path,
        how[0] as u32,
        how[1] as u32,
        OPEN_VIA_OPENAT2,
    );
    0
}

// match-proto: sys_enter_creat(const char *pathname, umode_t mode)
#[tracepoint]
pub fn sys_enter_creat(ctx: TracePointContext) -> u32 {
    let tp = config::get().tp;
    // SAFETY: offsets from the format file.
    let (path, mode) = unsafe {
        (
            ctx.read_at::<u64>(tp.creat_pathname as usize).unwrap_or(0),
            ctx.read_at::<u64>(tp.creat_mode as usize).unwrap_or(0),
        )
    };
    stage(
        AT_FDCWD,
        path,
        O_CREAT | O_WRONLY | O_TRUNC,
        mode as u32,
        OPEN_VIA_CREAT,
    );
    0
}

#[inline(always)]
fn stage(dfd: i32, path: u64, flags: u32, mode: u32, flags2: u32) {
    if !wanted(EventKind::Open) {
        return;
    }
    let Some(args) = OPEN_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU scratch slot.
    let args = unsafe { &mut *args };
    args.result = 0;
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
    crate::path::resolve_relative(&config::get().k, args);
    let read_only = flags & O_ACCMODE == 0 && flags & (O_CREAT | O_TRUNC) == 0;
    if read_only && under_prefix(args) {
        count_filtered(EventKind::Open, FilterReason::Prefix);
        return;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = PENDING_OPEN.insert(&tid, args, 0);
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

#[tracepoint]
pub fn sys_exit_open(ctx: TracePointContext) -> u32 {
    exit(&ctx);
    0
}

#[tracepoint]
pub fn sys_exit_openat(ctx: TracePointContext) -> u32 {
    // The sensor's own opens were never staged: nothing to finish.
    if !own_call(Hook::OpenatExit) {
        exit(&ctx);
    }
    0
}

#[tracepoint]
pub fn sys_exit_openat2(ctx: TracePointContext) -> u32 {
    if !own_call(Hook::Openat2Exit) {
        exit(&ctx);
    }
    0
}

#[tracepoint]
pub fn sys_exit_creat(ctx: TracePointContext) -> u32 {
    exit(&ctx);
    0
}

#[inline(always)]
fn exit(ctx: &TracePointContext) {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(args) = PENDING_OPEN.get_ptr_mut(&tid) else {
        return;
    };
    // SAFETY: our map value, used only by this thread until removed below.
    let args = unsafe { &mut *args };
    let cfg = config::get();
    // SAFETY: offset from the format file.
    let ret: i64 = unsafe { ctx.read_at(cfg.tp.sys_exit_ret as usize) }.unwrap_or(0);
    args.result = ret as i32;

    let mut slot: Option<*mut CollapseSlot> = None;
    if cfg.open_collapse_ns != 0 {
        let key = CollapseKey {
            pid: (pid_tgid >> 32) as u32,
            flags: args.flags,
            path_hash: path_hash(args),
            outcome: if ret < 0 { ret as i32 } else { 0 },
            _pad: 0,
        };
        let index = (key.path_hash ^ (key.path_hash >> 32) ^ key.pid as u64) as u32
            & (OPEN_RECENT_SLOTS - 1);
        if let Some(s) = OPEN_RECENT.get_ptr_mut(index) {
            // SAFETY: a per-CPU slot: nothing else runs on this CPU while we hold it.
            let s = unsafe { &mut *s };
            // SAFETY: helper without preconditions.
            let now = unsafe { bpf_ktime_get_boot_ns() };
            let same = s.key == key;
            if same && now.wrapping_sub(s.reported_ns) < cfg.open_collapse_ns {
                s.suppressed += 1;
                count_filtered(EventKind::Open, FilterReason::Collapsed);
                let _ = PENDING_OPEN.remove(&tid);
                return;
            }
            // A different key takes the slot over; repeats it had collapsed stay counted in
            // FILTERED (as they would have if no identical open ever came again).
            args.collapsed = if same { s.suppressed } else { 0 };
            s.key = key;
            s.reported_ns = now;
            s.suppressed = 0;
            slot = Some(s);
        }
    }

    let collapsed = args.collapsed;
    let emitted = emit(args);
    let _ = PENDING_OPEN.remove(&tid);
    if !emitted {
        count_drop(EventKind::Open);
        if let Some(s) = slot {
            // Not reported after all: let the next identical open through, with the count.
            // SAFETY: as above.
            unsafe {
                (*s).reported_ns = 0;
                (*s).suppressed = collapsed;
            }
        }
    }
}

/// Writes the record of `args` to the ring: header, arguments and only the used bytes of the
/// path (and its NUL). Userspace reads no further than `path_len`, and a fixed-size
/// reservation would spend 600 bytes of ring on every open whatever its path.
#[inline(always)]
fn emit(args: &OpenArgs) -> bool {
    let Some(record) = OPEN_OUT.get_ptr_mut(0) else {
        return false;
    };
    // SAFETY: per-CPU scratch slot, used by this program run only.
    let record = unsafe { &mut *record };
    fill_header(&mut record.header, EventKind::Open, 0);
    let out = &mut record.args;
    out.result = args.result;
    out.dfd = args.dfd;
    out.flags = args.flags;
    out.mode = args.mode;
    out.flags2 = args.flags2;
    out.collapsed = args.collapsed;
    out.dir_len = args.dir_len;
    out.path_len = args.path_len;
    let mut n = args.path_len + 1;
    if n > OPEN_PATH_CAP as u32 {
        n = OPEN_PATH_CAP as u32;
    }
    // SAFETY: kernel-to-kernel copy of at most OPEN_PATH_CAP bytes between two buffers of
    // OPEN_PATH_CAP bytes (our map values).
    let copied = unsafe {
        bpf_probe_read_kernel(out.path.as_mut_ptr().cast(), n, args.path.as_ptr().cast())
    };
    if copied != 0 {
        return false;
    }
    let size = OPEN_PATH_OFFSET + n as usize;
    record.header.size = size as u32;
    // SAFETY: the record is plain bytes (repr(C), no padding read by userspace beyond `size`).
    let bytes: &[u8; core::mem::size_of::<OpenRecord>()] =
        unsafe { &*(record as *const OpenRecord).cast() };
    match bytes.get(..size) {
        Some(used) => EVENTS.output(used, wakeup_flags()).is_ok(),
        None => false,
    }
}

/// Where the path starts in an [`OpenRecord`].
const OPEN_PATH_OFFSET: usize =
    core::mem::offset_of!(OpenRecord, args) + core::mem::offset_of!(OpenArgs, path);
