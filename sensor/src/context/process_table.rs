//! The process table: the current record of every known pid, bounded in memory.
//!
//! - One entry per pid. A fork for a pid that still has an entry (pid reuse, a missed exit)
//!   replaces it: a new process, a new entity id, no inherited history.
//! - Exited processes stay for the configured retention, so late events and alerts still find
//!   them, then are removed.
//! - Above `max_processes` the least recently used entries are evicted in batches (one O(n)
//!   selection per batch of `max/32`, so insertion stays amortised O(1)), and counted in
//!   [`TableStats::evictions`].
//!
//! Time is the kernel's boot clock (event `ktime_ns`), so retention does not depend on how fast
//! events are read.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::model::ProcessInfo;

/// Counters the metrics stage reads (relaxed atomics: monotonic counts).
#[derive(Debug, Default)]
pub struct TableStats {
    /// Entries evicted because the table was full (LRU).
    pub evictions: AtomicU64,
    /// Exited entries removed after their retention.
    pub expired: AtomicU64,
    /// Processes read from `/proc` on demand (not seeded, no fork seen).
    pub lazy_loads: AtomicU64,
    /// Processes read from `/proc` at start.
    pub seeded: AtomicU64,
    /// Entries in the table now.
    pub live_entries: AtomicU64,
}

/// A stable, host-unique process identity: a 64-bit hash of the host id, pid and start time
/// (in clock ticks since boot, the resolution `/proc/PID/stat` has, so that a process seeded
/// from `/proc` and the same process seen at fork get the same id), as 16 hex digits.
pub fn entity_id(host_id: &str, pid: u32, start_boot_ns: u64, tick_ns: u64) -> String {
    let ticks = start_boot_ns / tick_ns.max(1);
    // FNV-1a over the fields, then a murmur3 finaliser to spread the low-entropy inputs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = host_id
        .bytes()
        .chain([0])
        .chain(pid.to_le_bytes())
        .chain(ticks.to_le_bytes());
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    format!("{h:016x}")
}

/// Hashes a pid to itself in the low bits and to a multiplicative hash in the top seven, the
/// bits hashbrown keeps in its control bytes. hashbrown places a key by the low bits, so pids
/// handed out one after another sit in neighbouring buckets: a fork-heavy host touches a few
/// hot cache lines and pages instead of a random bucket of a multi-megabyte table per new
/// process. The top bits keep the control-byte filter working, and SipHash's flooding
/// resistance buys nothing here: a process cannot choose its pid short of exhausting the pid
/// space.
#[derive(Debug, Default, Clone, Copy)]
pub struct PidHasher(u64);

/// The top seven bits of a 64-bit hash, which hashbrown stores in its control bytes.
const CONTROL_BITS: u64 = 0x7f << 57;

impl Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        let n = u64::from(n);
        self.0 = n | (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) & CONTROL_BITS);
    }
}

/// A map keyed by pid.
pub type PidMap<V> = HashMap<u32, V, BuildHasherDefault<PidHasher>>;

#[derive(Debug)]
struct Entry {
    info: Arc<ProcessInfo>,
    last_used: u64,
}

/// The table. Not thread-safe by design: only the context stage owns it.
#[derive(Debug)]
pub struct ProcessTable {
    map: PidMap<Entry>,
    use_clock: u64,
    /// Moves on every change of a record or of the set of records (see [`ProcessTable::version`]).
    version: u64,
    /// (removal deadline in boot ns, pid, start time of the exited process).
    exited: VecDeque<(u64, u32, i128)>,
    max: usize,
    retention_ns: u64,
    stats: Arc<TableStats>,
}

impl ProcessTable {
    /// A table holding at most `max` entries (at least 64) and keeping exited processes for
    /// `retention_ns`.
    pub fn new(max: usize, retention_ns: u64) -> ProcessTable {
        ProcessTable {
            map: PidMap::with_capacity_and_hasher(
                max.clamp(64, 1 << 16),
                BuildHasherDefault::default(),
            ),
            use_clock: 0,
            version: 0,
            exited: VecDeque::new(),
            max: max.max(64),
            retention_ns,
            stats: Arc::default(),
        }
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<TableStats> {
        Arc::clone(&self.stats)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The record of `pid`, marking it recently used.
    pub fn get(&mut self, pid: u32) -> Option<Arc<ProcessInfo>> {
        self.use_clock += 1;
        let entry = self.map.get_mut(&pid)?;
        entry.last_used = self.use_clock;
        Some(Arc::clone(&entry.info))
    }

    /// A number that changes whenever a record is added, replaced, updated or removed: what was
    /// derived from the records alone is still true while it stays the same.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The record of `pid` without touching its recency.
    pub fn peek(&self, pid: u32) -> Option<&Arc<ProcessInfo>> {
        self.map.get(&pid).map(|e| &e.info)
    }

    /// Every record, in no particular order, without touching recency.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ProcessInfo>> {
        self.map.values().map(|e| &e.info)
    }

    /// Inserts or replaces the record of `info.pid`.
    pub fn insert(&mut self, info: Arc<ProcessInfo>) -> Arc<ProcessInfo> {
        self.use_clock += 1;
        self.version += 1;
        let entry = Entry {
            info: Arc::clone(&info),
            last_used: self.use_clock,
        };
        if self.map.insert(info.pid, entry).is_none() && self.map.len() > self.max {
            self.evict_lru();
        }
        self.stats
            .live_entries
            .store(self.map.len() as u64, Ordering::Relaxed);
        info
    }

    /// Removes the record of `pid` and returns it, so that a caller replacing it holds the
    /// only reference when nothing else does and can update it without a copy
    /// (`Arc::unwrap_or_clone`); the caller inserts the new record.
    pub fn take(&mut self, pid: u32) -> Option<Arc<ProcessInfo>> {
        let entry = self.map.remove(&pid)?;
        self.version += 1;
        self.stats
            .live_entries
            .store(self.map.len() as u64, Ordering::Relaxed);
        Some(entry.info)
    }

    /// Marks `pid` exited at `now_ns` (boot clock) and schedules its removal.
    pub fn mark_exited(
        &mut self,
        pid: u32,
        now_ns: u64,
        end_unix_ns: i128,
        exit_code: i32,
    ) -> Option<Arc<ProcessInfo>> {
        let entry = self.map.get_mut(&pid)?;
        if !entry.info.exited {
            self.version += 1;
            // In place when the table holds the only reference (the usual case for a program
            // with no children); a copy when anything else does, so that a shared record never
            // changes under its holder (the renderer's cache keys on the address).
            let info = Arc::make_mut(&mut entry.info);
            info.exited = true;
            info.end_unix_ns = Some(end_unix_ns);
            info.exit_code = Some(exit_code);
            self.exited.push_back((
                now_ns.saturating_add(self.retention_ns),
                pid,
                entry.info.start_unix_ns,
            ));
        }
        Some(Arc::clone(&entry.info))
    }

    /// Removes exited entries whose retention ended by `now_ns` (boot clock).
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&(deadline, pid, start)) = self.exited.front() {
            if deadline > now_ns {
                break;
            }
            self.exited.pop_front();
            // The pid may have been reused (or evicted) since: remove only that very process.
            if self
                .map
                .get(&pid)
                .is_some_and(|e| e.info.exited && e.info.start_unix_ns == start)
            {
                self.map.remove(&pid);
                self.version += 1;
                self.stats.expired.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.stats
            .live_entries
            .store(self.map.len() as u64, Ordering::Relaxed);
    }

    fn evict_lru(&mut self) {
        let batch = (self.max / 32).max(1);
        let mut ages: Vec<(u64, u32)> = self.map.iter().map(|(&p, e)| (e.last_used, p)).collect();
        let excess = self.map.len().saturating_sub(self.max) + batch;
        let cut = excess.min(ages.len());
        if cut == 0 {
            return;
        }
        ages.select_nth_unstable(cut - 1);
        for (_, pid) in ages.get(..cut).unwrap_or_default() {
            self.map.remove(pid);
        }
        self.version += 1;
        self.stats
            .evictions
            .fetch_add(cut as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
pub(crate) mod tests;
