//! Rendered related processes (parent, leaders, ancestors), acting processes and host, reused
//! from event to event.
//!
//! Every event of a process repeats the same parent and ancestor chain, and siblings share it:
//! at high exec rates those objects were most of each line's bytes and of the renderer's time.
//! A [`ProcessInfo`] is never changed in place once shared (the process table replaces the
//! whole `Arc` when a process execs or exits), so the address of a live `Arc` names one
//! rendering; each entry keeps its `Arc`, so that address cannot be reused while cached.

use std::collections::HashMap;
use std::sync::Arc;

use super::context::{host, related};
use super::escaped::Depth;
use crate::context::model::{EnrichedEvent, HostInfo, Lineage, ProcessInfo};
use crate::output::json::Writer;

/// Entries kept at most; the cache starts over when full (a working set of busy parents and
/// their chains is small, and a miss only costs a rendering).
const MAX_ENTRIES: usize = 512;

/// A rendered process object and whether rendering it escaped untrusted bytes.
struct Entry {
    /// Keeps the address in the key from being reused while the entry exists.
    _info: Arc<ProcessInfo>,
    json: Vec<u8>,
    escaped: bool,
}

/// Renderings of related processes by `Arc` address and depth.
#[derive(Default)]
pub(super) struct RelatedCache {
    /// aHash rather than SipHash: the keys are our own addresses, nothing an attacker picks,
    /// and SipHash was a twentieth of the daemon's time at high exec rates.
    entries: HashMap<(usize, Depth), Entry, ahash::RandomState>,
}

impl RelatedCache {
    /// Writes `p` at `depth` as the next value of `w`, exactly as [`related`] would.
    pub(super) fn write(
        &mut self,
        w: &mut Writer<'_>,
        p: &Arc<ProcessInfo>,
        depth: Depth,
        scratch: &mut Vec<u8>,
    ) {
        let key = (Arc::as_ptr(p) as usize, depth);
        if let Some(entry) = self.entries.get(&key) {
            w.raw_value(&entry.json);
            w.escaped |= entry.escaped;
            return;
        }
        let mut json = Vec::new();
        let mut own = Writer::new(&mut json);
        related(&mut own, p, depth, scratch);
        let escaped = own.escaped;
        w.raw_value(&json);
        w.escaped |= escaped;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(
            key,
            Entry {
                _info: Arc::clone(p),
                json,
                escaped,
            },
        );
    }

    /// Entries held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The acting process's object after `thread` (and the related processes it embeds), by the
/// process record's `Arc` address.
///
/// An open or connect storm repeats one process's object, about 3 KiB with its ancestors, on
/// every line; rendering it again was most of an open event's cost. The rendering depends on
/// the event only through the thread id, which stays outside, and through lifecycle bodies and
/// nameless images, which the caller does not cache. An entry holds every `Arc` it was
/// rendered from and is used only when the event carries the very same ones.
#[derive(Default)]
pub(super) struct ProcessCache {
    /// aHash: the keys are our own addresses.
    entries: HashMap<usize, ProcessEntry, ahash::RandomState>,
}

/// A rendered acting process and what it was rendered from.
struct ProcessEntry {
    process: Arc<ProcessInfo>,
    lineage: Arc<Lineage>,
    json: Vec<u8>,
    escaped: bool,
}

impl ProcessCache {
    /// Writes what `render` writes for `e` into `w`, from the cache when `e` has the same
    /// records as a cached rendering. `render` must depend on nothing else of `e`.
    pub(super) fn write(
        &mut self,
        w: &mut Writer<'_>,
        e: &EnrichedEvent,
        render: impl FnOnce(&mut Writer<'_>),
    ) {
        let key = Arc::as_ptr(&e.process) as usize;
        // The same lineage value, or an equal one: the enricher shares one value per record
        // only while the process table is unchanged.
        if let Some(entry) = self.entries.get(&key)
            && Arc::ptr_eq(&entry.process, &e.process)
            && (Arc::ptr_eq(&entry.lineage, &e.lineage) || same_lineage(&entry.lineage, &e.lineage))
        {
            w.raw_tokens(&entry.json);
            w.escaped |= entry.escaped;
            return;
        }
        let escaped_before = std::mem::take(&mut w.escaped);
        let mark = w.mark();
        render(w);
        let escaped = w.escaped;
        w.escaped |= escaped_before;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.clear();
        }
        self.entries.insert(
            key,
            ProcessEntry {
                process: Arc::clone(&e.process),
                lineage: Arc::clone(&e.lineage),
                json: w.since(mark).to_vec(),
                escaped,
            },
        );
    }

    /// Entries held (for tests).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Whether two lineages hold the very same records.
fn same_lineage(a: &Lineage, b: &Lineage) -> bool {
    fn same(a: &Option<Arc<ProcessInfo>>, b: &Option<Arc<ProcessInfo>>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
    same(&a.parent, &b.parent)
        && same(&a.group_leader, &b.group_leader)
        && same(&a.session_leader, &b.session_leader)
        && a.ancestors.len() == b.ancestors.len()
        && a.ancestors
            .iter()
            .zip(&b.ancestors)
            .all(|(a, b)| Arc::ptr_eq(a, b))
}

/// The `host` object of the last host seen (the same `Arc` for every event of a run).
#[derive(Default)]
pub(super) struct HostCache {
    last: Option<(Arc<HostInfo>, Vec<u8>)>,
}

impl HostCache {
    /// Writes the `host` object of `h` as the next value of `w`.
    pub(super) fn write(&mut self, w: &mut Writer<'_>, h: &Arc<HostInfo>) {
        if let Some((cached, json)) = &self.last
            && Arc::ptr_eq(cached, h)
        {
            w.raw_value(json);
            return;
        }
        let mut json = Vec::new();
        host(&mut Writer::new(&mut json), h);
        w.raw_value(&json);
        self.last = Some((Arc::clone(h), json));
    }
}
