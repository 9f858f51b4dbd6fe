//! Maps shared by the programs.

use aya_ebpf::{
    macros::map,
    maps::{LruHashMap, PerCpuArray, RingBuf},
};
use sensor_common::{ARGV_CAP, EventKind, PendingExec};

/// The event stream to userspace. Userspace resizes it at load time.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(256 * 1024, 0);

/// Ring-buffer reserve failures per event kind (index = kind number), per CPU.
#[map]
pub static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(EventKind::SLOTS, 0);

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
