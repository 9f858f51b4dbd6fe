//! Maps shared by the programs.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray, RingBuf},
};
use sensor_common::{
    ARGV_CAP, EventKind, FilterReason, OPEN_PREFIX_MAX, OpenArgs, OpenPrefix, PendingConnect,
    PendingExec, bpf::OWN_IDS_MAX,
};

/// The event stream to userspace. Userspace resizes it at load time.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

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

/// Events not reported on purpose, per kind and reason (index = kind * `FilterReason::SLOTS` +
/// reason), per CPU.
#[map]
pub static FILTERED: PerCpuArray<u64> =
    PerCpuArray::with_max_entries(EventKind::SLOTS * FilterReason::SLOTS, 0);

/// argv captured at `sys_enter_execve`, keyed by thread id, until the exec completes or fails.
#[map]
pub static PENDING_EXEC: LruHashMap<u32, PendingExec> = LruHashMap::with_max_entries(4096, 0);

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

/// Open arguments being assembled at syscall entry.
#[map]
pub static OPEN_SCRATCH: PerCpuArray<OpenArgs> = PerCpuArray::with_max_entries(1, 0);

/// Open arguments staged per thread between `sys_enter_open*` and `sys_exit_open*`.
#[map]
pub static PENDING_OPEN: LruHashMap<u32, OpenArgs> = LruHashMap::with_max_entries(8192, 0);

/// Connect destinations staged per thread between `sys_enter_connect` and its exit.
#[map]
pub static PENDING_CONNECT: LruHashMap<u32, PendingConnect> = LruHashMap::with_max_entries(8192, 0);

/// Path prefixes whose read-only opens are not reported (filled by userspace).
#[map]
pub static OPEN_PREFIXES: Array<OpenPrefix> = Array::with_max_entries(OPEN_PREFIX_MAX, 0);

/// Identity of an open for collapsing repeats.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CollapseKey {
    pub pid: u32,
    pub flags: u32,
    pub path_hash: u64,
    /// The result when negative (an errno), else 0: a success and a failure never collapse.
    pub outcome: i32,
    pub _pad: u32,
}

/// The last reported open with a given [`CollapseKey`].
#[repr(C)]
#[derive(Clone, Copy)]
pub struct CollapseState {
    pub reported_ns: u64,
    pub suppressed: u32,
    pub _pad: u32,
}

/// Recently reported opens.
#[map]
pub static OPEN_RECENT: LruHashMap<CollapseKey, CollapseState> =
    LruHashMap::with_max_entries(16384, 0);
