//! Capture statistics: what was received, lost in the kernel (ring buffer full), filtered in the
//! kernel on purpose, and rejected by the decoder. A plain struct, updated by the app loop and
//! shared behind a mutex, so metrics and tests read one consistent snapshot.

use std::sync::{Arc, Mutex};

use aya::maps::{MapData, PerCpuArray};
use sensor_common::{EventKind, FilterReason};

use crate::decode::DecodeError;

/// Counters of one event kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounters {
    /// Records decoded successfully.
    pub received: u64,
    /// Records lost because the ring buffer was full (kernel reserve failures).
    pub kernel_drops: u64,
    /// Events not reported on purpose, indexed like [`FilterReason::ALL`].
    pub filtered: [u64; FilterReason::ALL.len()],
}

impl KindCounters {
    /// Events filtered for `reason`.
    pub fn filtered(&self, reason: FilterReason) -> u64 {
        FilterReason::ALL
            .iter()
            .position(|&r| r == reason)
            .and_then(|i| self.filtered.get(i).copied())
            .unwrap_or(0)
    }
}

/// Records rejected by the decoder, per [`DecodeError::reason`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeRejects {
    /// Shorter than the kind's layout (`truncated_record`).
    pub truncated_record: u64,
    /// Unknown kind number (`unknown_kind`).
    pub unknown_kind: u64,
    /// A length field beyond its capacity (`bad_length`).
    pub bad_length: u64,
    /// A field value the kernel never writes (`inconsistent`).
    pub inconsistent: u64,
}

impl DecodeRejects {
    /// Counts one rejected record.
    pub fn count(&mut self, err: &DecodeError) {
        let slot = match err {
            DecodeError::TooShort { .. } => &mut self.truncated_record,
            DecodeError::UnknownKind(_) => &mut self.unknown_kind,
            DecodeError::BadLength { .. } => &mut self.bad_length,
            DecodeError::Inconsistent(_) => &mut self.inconsistent,
        };
        *slot += 1;
    }

    /// All rejects.
    pub fn total(&self) -> u64 {
        self.truncated_record + self.unknown_kind + self.bad_length + self.inconsistent
    }
}

/// Everything the capture stage counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Per kind, indexed like [`EventKind::ALL`].
    pub kinds: [KindCounters; EventKind::ALL.len()],
    /// Decoder rejects.
    pub decode_rejects: DecodeRejects,
}

/// The statistics as shared between the app loop (writer) and readers such as metrics.
pub type SharedStats = Arc<Mutex<CaptureStats>>;

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|&k| k == kind)
        .unwrap_or_default()
}

impl CaptureStats {
    /// The counters of `kind`.
    pub fn kind(&self, kind: EventKind) -> &KindCounters {
        &self.kinds[kind_index(kind)]
    }

    /// Mutable counters of `kind`.
    pub fn kind_mut(&mut self, kind: EventKind) -> &mut KindCounters {
        &mut self.kinds[kind_index(kind)]
    }

    /// Records received, all kinds.
    pub fn received(&self) -> u64 {
        self.kinds.iter().map(|k| k.received).sum()
    }

    /// Kernel drops, all kinds.
    pub fn kernel_drops(&self) -> u64 {
        self.kinds.iter().map(|k| k.kernel_drops).sum()
    }

    /// Events filtered in the kernel, all kinds and reasons.
    pub fn filtered(&self) -> u64 {
        self.kinds.iter().flat_map(|k| k.filtered).sum()
    }
}

/// The kernel side's per-CPU counter maps.
pub struct KernelCounters {
    drops: PerCpuArray<MapData, u64>,
    filtered: PerCpuArray<MapData, u64>,
}

impl KernelCounters {
    /// Wraps the `DROPS` and `FILTERED` maps.
    pub fn new(drops: PerCpuArray<MapData, u64>, filtered: PerCpuArray<MapData, u64>) -> Self {
        KernelCounters { drops, filtered }
    }

    /// Copies the current kernel counts (summed over CPUs) into `stats`.
    pub fn read_into(&self, stats: &mut CaptureStats) {
        let sum = |map: &PerCpuArray<MapData, u64>, index: u32| -> Option<u64> {
            map.get(&index, 0).ok().map(|v| v.iter().sum())
        };
        for kind in EventKind::ALL {
            let counters = stats.kind_mut(kind);
            if let Some(drops) = sum(&self.drops, kind as u32) {
                counters.kernel_drops = drops;
            }
            for (slot, reason) in counters.filtered.iter_mut().zip(FilterReason::ALL) {
                let index = kind as u32 * FilterReason::SLOTS + reason as u32;
                if let Some(n) = sum(&self.filtered, index) {
                    *slot = n;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_per_kind_and_reason() {
        let mut stats = CaptureStats::default();
        stats.kind_mut(EventKind::Open).received = 3;
        stats.kind_mut(EventKind::Exec).received = 2;
        stats.kind_mut(EventKind::Open).kernel_drops = 5;
        stats.kind_mut(EventKind::Open).filtered[2] = 7;
        assert_eq!(stats.received(), 5);
        assert_eq!(stats.kernel_drops(), 5);
        assert_eq!(stats.filtered(), 7);
        assert_eq!(
            stats
                .kind(EventKind::Open)
                .filtered(FilterReason::Collapsed),
            7
        );
        stats.decode_rejects.count(&DecodeError::Inconsistent("x"));
        assert_eq!(stats.decode_rejects.total(), 1);
    }
}
