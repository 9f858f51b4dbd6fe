//! Maps shared by the programs.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, PerCpuArray, RingBuf},
};
use sensor_common::{
    ARGV_CAP, EventKind, ExecRecord, FilterReason, OPEN_DIR_CAP, OPEN_PATH_CAP, OPEN_PREFIX_MAX,
    OpenPrefix, OpenRecord, PendingExec,
    bpf::OWN_IDS_MAX,
    canary::{Hook, tamper_drop},
};

/// The event stream to userspace. Userspace resizes it at load time.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

/// When the last early wake-up of `EVENTS`' reader was raised, in jiffies (see
/// `emit::early_wakeup_due`).
#[map]
pub static LAST_WAKEUP: Array<u64> = Array::with_max_entries(1, 0);

/// `bpf()` calls of other processes that name BPF objects (self-protection). Separate from
/// `EVENTS` so that an event storm can never crowd a tamper record out.
#[map]
pub static TAMPER: RingBuf = RingBuf::with_byte_size(64 * 1024, 0);

/// The sensor's own program, map and link ids (keys from `sensor_common::bpf::own_id_key`),
/// filled by userspace after attaching: a `*_GET_FD_BY_ID` of any other id is not reported, so
/// `bpftool prog list` on a busy host does not flood `TAMPER`.
#[map]
pub static OWN_IDS: HashMap<u64, u8> = HashMap::with_max_entries(OWN_IDS_MAX, 0);

/// Ring-buffer reserve failures per event kind (index = kind number), per CPU.
#[map]
pub static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(EventKind::SLOTS, 0);

/// `TAMPER` reserve failures per record kind (slot from `sensor_common::canary::tamper_drop`),
/// per CPU: exported like `DROPS`, with `ring="tamper"`.
#[map]
pub static TAMPER_DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(tamper_drop::SLOTS, 0);

/// Calls of the sensor's own process seen per canaried hook (index = `Hook` value), per CPU:
/// userspace makes such a call and checks that the count moved (liveness canary).
#[map]
pub static SELF_HITS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Hook::SLOTS, 0);

/// Events not reported on purpose, per kind and reason (index = kind * `FilterReason::SLOTS` +
/// reason), per CPU.
#[map]
pub static FILTERED: PerCpuArray<u64> =
    PerCpuArray::with_max_entries(EventKind::SLOTS * FilterReason::SLOTS, 0);

/// argv being assembled. `slack` follows `pending.argv` so that a string read of a constant
/// [`ARGV_CAP`] bytes at any offset below `ARGV_CAP` provably stays inside the value, which is
/// what the verifier needs; bytes that land in `slack` are beyond the capture limit.
#[repr(C)]
pub struct ArgvScratch {
    pub pending: PendingExec,
    pub slack: [u8; ARGV_CAP],
}

/// Per-CPU scratch space: records are too large for the 512-byte eBPF stack.
#[map]
pub static EXEC_SCRATCH: PerCpuArray<ArgvScratch> = PerCpuArray::with_max_entries(1, 0);

/// Where an exec record is assembled before its used bytes are copied to the ring (a ring
/// reservation has a fixed size, the record does not).
#[map]
pub static EXEC_OUT: PerCpuArray<ExecRecord> = PerCpuArray::with_max_entries(1, 0);

/// An open record being assembled at syscall exit, in place. It goes to the ring with only the
/// used bytes of its path, so a typical open takes ~140 bytes of ring instead of the full 600.
#[map]
pub static OPEN_OUT: PerCpuArray<OpenRecord> = PerCpuArray::with_max_entries(1, 0);

/// Where a relative open's absolute path is assembled: the directory is written backwards to
/// end at `OPEN_DIR_CAP`, then `/` and the path as passed follow. Sized so that every masked
/// write (offset and length each below `OPEN_DIR_CAP`, or at `OPEN_DIR_CAP + 1` with a length
/// below `OPEN_PATH_CAP`) provably stays inside, which is what the verifier needs.
#[repr(C)]
pub struct PathScratch {
    /// The walk's position (see `path.rs`).
    pub walk: PathWalk,
    pub buf: [u8; OPEN_DIR_CAP + 1 + OPEN_PATH_CAP],
}

/// Where a directory walk stands: the current dentry and `struct mount`, that mount's root
/// dentry, and where the path built so far starts in [`PathScratch::buf`].
#[repr(C)]
pub struct PathWalk {
    pub dentry: u64,
    pub mount: u64,
    pub root: u64,
    pub pos: u64,
}

/// Per-CPU scratch for [`PathScratch`].
#[map]
pub static PATH_SCRATCH: PerCpuArray<PathScratch> = PerCpuArray::with_max_entries(1, 0);

/// Path prefixes whose read-only opens are not reported (filled by userspace).
#[map]
pub static OPEN_PREFIXES: Array<OpenPrefix> = Array::with_max_entries(OPEN_PREFIX_MAX, 0);

/// Identity of an open for collapsing repeats.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CollapseKey {
    pub pid: u32,
    pub flags: u32,
    pub path_hash: u64,
    /// The result when negative (an errno), else 0: a success and a failure never collapse.
    pub outcome: i32,
    pub _pad: u32,
}

/// The last reported open whose key maps to this slot.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CollapseSlot {
    pub key: CollapseKey,
    /// When it was reported, in jiffies (`bpf_jiffies64`).
    pub reported: u64,
    pub suppressed: u32,
    pub _pad: u32,
}

/// Slots of [`OPEN_RECENT`] per CPU (a power of two: the slot is the key hash masked). 40 KiB
/// per CPU: a CPU runs few processes within one collapse window, and a per-CPU map is
/// allocated for every possible CPU (5 MiB on a 128-CPU host).
pub const OPEN_RECENT_SLOTS: u32 = 1024;

/// Recently reported opens: a direct-mapped cache per CPU. A slot is overwritten by whichever
/// key maps to it next, so, unlike an LRU hash, a stream of distinct paths costs one array
/// store per open instead of an insert and batched evictions (which were most of
/// `sys_exit_openat`'s 3.5 µs per distinct file). A process that moves to another CPU, or a
/// key whose slot was taken, is simply reported again: collapsing only ever saves events.
#[map]
pub static OPEN_RECENT: PerCpuArray<CollapseSlot> =
    PerCpuArray::with_max_entries(OPEN_RECENT_SLOTS, 0);
