//! The context stage: keeps the process table current from fork/exec/exit events and turns
//! every [`Event`] into an [`EnrichedEvent`].
//!
//! Identity: a process is a pid plus its start time (`process.entity_id`). The id stays the same
//! across exec (ECS: one entity per process, not per program image); the record is replaced by
//! an updated copy at each exec (`exec_count`, `previous_executable` keep the history).
//!
//! Unknown pids (the ring buffer dropped a fork, or the process predates the sensor and the seed
//! missed it) are read from `/proc` on demand, at most [`EXTRA_READS`] plus the ancestor depth
//! per event, and pids that were not there are not retried for [`MISSING_RETRY_NS`]. A pid whose
//! `/proc` entry is gone gets a record built from the event header alone.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::cgroupfs::CgroupIndex;
use super::container::ContainerCache;
use super::host;
use super::kubernetes::PodNames;
use super::model::{ContainerInfo, EnrichedEvent, HostInfo, Lineage, ProcessInfo};
use super::proc_seed::Procfs;
use super::process_table::{ProcessTable, TableStats};
use super::users::Users;
use crate::event::{Event, EventBody, Header};
use crate::time::BootClock;

mod records;

/// Lazy `/proc` reads allowed per event beyond the ancestor depth (process, parent, leaders).
pub const EXTRA_READS: usize = 4;
/// How long a pid that had no `/proc` entry is not looked up again.
pub const MISSING_RETRY_NS: u64 = 2_000_000_000;
const MAX_MISSING: usize = 4096;

/// Settings of the context stage.
#[derive(Debug, Clone)]
pub struct EnricherConfig {
    /// Most processes tracked (LRU eviction above).
    pub max_processes: usize,
    /// Most entries in the ancestor chain, the parent included.
    pub ancestor_depth: usize,
    /// How long exited processes are kept.
    pub exited_retention: Duration,
    /// Where the host's `/proc` is.
    pub proc_root: PathBuf,
    /// Where the host's root filesystem is (for `/etc/passwd`, machine-id, os-release).
    pub host_root: PathBuf,
}

impl Default for EnricherConfig {
    fn default() -> Self {
        EnricherConfig {
            max_processes: 65_536,
            ancestor_depth: 8,
            exited_retention: Duration::from_secs(60),
            proc_root: PathBuf::from("/proc"),
            host_root: PathBuf::from("/"),
        }
    }
}

/// The context stage's state. Owned by one task; not shared.
#[derive(Debug)]
pub struct Enricher {
    table: ProcessTable,
    procfs: Procfs,
    users: Users,
    containers: ContainerCache,
    cgroups: CgroupIndex,
    pods: Option<PodNames>,
    host: Arc<HostInfo>,
    host_key: String,
    clock: BootClock,
    depth: usize,
    missing: HashMap<u32, u64>,
    budget: usize,
    now_ns: u64,
    /// The pid of the event being enriched when it is known to have exited already.
    gone: Option<u32>,
    /// Lineages computed from the current version of the table.
    lineages: LineageCache,
    /// Calls of `load`, to tell a lineage answered by the table alone.
    loads_tried: u64,
}

/// Lineages by the acting record's `Arc` address, valid for one version of the process table.
/// An open or connect storm asks for the same lineage on every event, and resolving it (a
/// table lookup per related process and a reference to each) was a tenth of the daemon's time
/// there. Each entry keeps its record, so that the address cannot be reused while cached.
#[derive(Debug, Default)]
struct LineageCache {
    version: u64,
    entries: HashMap<usize, (Arc<ProcessInfo>, Arc<Lineage>), ahash::RandomState>,
}

/// Lineages kept at most for one version of the table (it changes with every fork and exec, so
/// only a quiet table lets the cache grow).
const MAX_LINEAGES: usize = 1024;

impl Enricher {
    /// A stage with an empty table; call [`Enricher::seed`] once the probes are attached.
    pub fn new(config: &EnricherConfig, clock: BootClock) -> Enricher {
        let host = host::detect(&config.host_root);
        let host_key = host.id.clone().unwrap_or_else(|| host.name.clone());
        Enricher {
            table: ProcessTable::new(
                config.max_processes,
                u64::try_from(config.exited_retention.as_nanos()).unwrap_or(u64::MAX),
            ),
            procfs: Procfs::new(&config.proc_root),
            users: Users::load(&config.host_root),
            containers: ContainerCache::default(),
            cgroups: CgroupIndex::new(&config.proc_root),
            pods: None,
            host: Arc::new(host),
            host_key,
            clock,
            depth: config.ancestor_depth.max(1),
            missing: HashMap::new(),
            budget: 0,
            now_ns: 0,
            gone: None,
            lineages: LineageCache::default(),
            loads_tried: 0,
        }
    }

    /// Adds pod names from the kubelet or API server.
    pub fn with_pods(mut self, pods: PodNames) -> Enricher {
        self.pods = Some(pods);
        self
    }

    /// Counters for the metrics stage.
    pub fn stats(&self) -> Arc<TableStats> {
        self.table.stats()
    }

    /// The host description.
    pub fn host(&self) -> Arc<HostInfo> {
        Arc::clone(&self.host)
    }

    /// Number of tracked processes.
    pub fn tracked(&self) -> usize {
        self.table.len()
    }

    /// Reads every process from `/proc` that the table does not know yet. Run it after the
    /// probes are attached, so a process started in between is seen by one or the other.
    pub fn seed(&mut self) -> usize {
        let mut seeded = 0;
        for pid in self.procfs.pids() {
            if self.table.peek(pid).is_some() {
                continue;
            }
            if let Some(snapshot) = self.procfs.snapshot(pid) {
                let info = self.snapshot_record(snapshot);
                self.table.insert(Arc::new(info));
                seeded += 1;
            }
        }
        self.stats()
            .seeded
            .fetch_add(seeded as u64, std::sync::atomic::Ordering::Relaxed);
        info!(
            processes = seeded,
            "process table seeded from {}",
            self.procfs.root().display()
        );
        seeded
    }

    /// The current record of `pid`, without touching its recency or reading `/proc`.
    pub fn known(&self, pid: u32) -> Option<&Arc<ProcessInfo>> {
        self.table.peek(pid)
    }

    /// Every process the table holds now.
    pub fn processes(&self) -> impl Iterator<Item = &Arc<ProcessInfo>> {
        self.table.iter()
    }

    /// [`Enricher::enrich`] for an event whose process has exited already (the caller saw its
    /// exit further down the same batch): `/proc` reads about that pid could only fail, so none
    /// is made, and the result is what those failed reads would have given. At high exec rates
    /// most programs are short-lived and this was one failing path walk per exec.
    pub fn enrich_exited(&mut self, event: Event) -> EnrichedEvent {
        self.gone = Some(event.header.pid);
        let enriched = self.enrich(event);
        self.gone = None;
        enriched
    }

    /// Updates the table from `event` and attaches its context.
    pub fn enrich(&mut self, event: Event) -> EnrichedEvent {
        self.now_ns = event.header.ktime_ns;
        self.budget = self.depth + EXTRA_READS;
        self.table.expire(self.now_ns);
        if matches!(
            event.body,
            EventBody::Fork(_) | EventBody::Exec(_) | EventBody::Exit(_)
        ) {
            // These change the table anyway. Dropping the cached lineages first lets exec and
            // exit update a record in place, where a cached reference would force a copy.
            self.lineages.entries.clear();
        }
        let h = &event.header;
        let process = match &event.body {
            EventBody::Fork(fork) => {
                if fork.child_tid != fork.child_pid && fork.child_tid != 0 {
                    // A new thread: same process.
                    self.acting(h, fork.child_pid)
                } else {
                    self.forked(h, fork.parent_pid, fork.child_pid)
                }
            }
            EventBody::Exec(exec) => self.execed(h, exec),
            EventBody::Exit(exit) => match self.table.get(h.pid).filter(|p| !p.exited) {
                Some(_) => {
                    let end = self.clock.to_unix_ns(h.ktime_ns);
                    self.table
                        .mark_exited(h.pid, h.ktime_ns, end, exit.exit_code)
                        .unwrap_or_else(|| Arc::new(self.header_record(h)))
                }
                None => {
                    let mut info = self.header_record(h);
                    info.exited = true;
                    info.exit_code = Some(exit.exit_code);
                    Arc::new(info)
                }
            },
            EventBody::Connect(_)
            | EventBody::Accept(_)
            | EventBody::Open(_)
            | EventBody::ExeDeleted(_) => self.acting(h, h.pid),
        };
        let process = self.refresh_container(process, h);
        let lineage = self.lineage(&process);
        EnrichedEvent {
            event,
            process,
            lineage,
            host: Arc::clone(&self.host),
        }
    }

    /// The processes related to `process`: the one computed for an earlier event of the same
    /// record while the table has not changed since, else computed now.
    fn lineage(&mut self, process: &Arc<ProcessInfo>) -> Arc<Lineage> {
        let version = self.table.version();
        if self.lineages.version != version {
            self.lineages.version = version;
            self.lineages.entries.clear();
        }
        let key = Arc::as_ptr(process) as usize;
        if let Some((cached, lineage)) = self.lineages.entries.get(&key)
            && Arc::ptr_eq(cached, process)
        {
            return Arc::clone(lineage);
        }
        let loads_before = self.loads_tried;
        let parent = self.parent_of(process);
        let ancestors = self.ancestors(process, parent.as_ref());
        let group_leader = self.leader(process, process.pgid);
        let session_leader = self.leader(process, process.sid);
        let lineage = Arc::new(Lineage {
            parent,
            ancestors,
            group_leader,
            session_leader,
        });
        // Only what the table alone answered: a `/proc` read (or a skipped retry of one)
        // depends on the moment, not on the table.
        if self.loads_tried == loads_before && self.table.version() == version {
            if self.lineages.entries.len() >= MAX_LINEAGES {
                self.lineages.entries.clear();
            }
            self.lineages
                .entries
                .insert(key, (Arc::clone(process), Arc::clone(&lineage)));
        }
        lineage
    }

    /// The live record of `pid`, read from `/proc` or built from the header when unknown.
    fn acting(&mut self, h: &Header, pid: u32) -> Arc<ProcessInfo> {
        if let Some(p) = self.table.get(pid).filter(|p| !p.exited) {
            return p;
        }
        // Unknown, or an exited entry whose pid is in use again (its fork was not seen).
        self.fresh(h, pid)
    }

    /// A new record for `pid` from `/proc`, else from the header; replaces the table's.
    fn fresh(&mut self, h: &Header, pid: u32) -> Arc<ProcessInfo> {
        if let Some(p) = self.load(pid) {
            return p;
        }
        let mut info = self.header_record(h);
        info.pid = pid;
        self.table.insert(Arc::new(info))
    }

    /// A record from the table, else from `/proc` within the per-event budget.
    fn lookup(&mut self, pid: u32) -> Option<Arc<ProcessInfo>> {
        if pid == 0 {
            return None;
        }
        if let Some(p) = self.table.get(pid) {
            return Some(p);
        }
        self.load(pid)
    }

    fn load(&mut self, pid: u32) -> Option<Arc<ProcessInfo>> {
        self.loads_tried += 1;
        if self.budget == 0 || self.gone == Some(pid) {
            return None;
        }
        if self
            .missing
            .get(&pid)
            .is_some_and(|&t| self.now_ns.saturating_sub(t) < MISSING_RETRY_NS)
        {
            return None;
        }
        self.budget -= 1;
        let Some(snapshot) = self.procfs.snapshot(pid) else {
            if self.missing.len() >= MAX_MISSING {
                self.missing.clear();
            }
            self.missing.insert(pid, self.now_ns);
            return None;
        };
        self.stats()
            .lazy_loads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let info = self.snapshot_record(snapshot);
        Some(self.table.insert(Arc::new(info)))
    }

    /// `candidate` can be `child`'s parent (or leader) only if it started no later; a younger
    /// process holding the pid is a reuse, not the ancestor. One tick of slack covers `/proc`'s
    /// start-time resolution.
    fn started_before(&self, candidate: &ProcessInfo, child: &ProcessInfo) -> bool {
        candidate.start_unix_ns <= child.start_unix_ns + i128::from(self.procfs.tick_ns())
    }

    fn parent_of(&mut self, process: &ProcessInfo) -> Option<Arc<ProcessInfo>> {
        if process.ppid == process.pid {
            return None;
        }
        self.lookup(process.ppid)
            .filter(|p| self.started_before(p, process))
    }

    fn leader(&mut self, process: &Arc<ProcessInfo>, id: Option<u32>) -> Option<Arc<ProcessInfo>> {
        let id = id.filter(|&id| id != 0)?;
        if id == process.pid {
            return Some(Arc::clone(process));
        }
        self.lookup(id).filter(|p| self.started_before(p, process))
    }

    /// Grandparent upward, nearest first: stops after pid 1, after a container's init, or when
    /// the chain (parent included) reaches the configured depth.
    fn ancestors(
        &mut self,
        process: &Arc<ProcessInfo>,
        parent: Option<&Arc<ProcessInfo>>,
    ) -> Vec<Arc<ProcessInfo>> {
        let mut chain = Vec::with_capacity(self.depth);
        let mut current = parent.cloned();
        if current
            .as_ref()
            .is_some_and(|p| is_container_init(process, p))
        {
            return chain;
        }
        while let Some(node) = current {
            if node.pid <= 1 || chain.len() + 1 >= self.depth {
                break;
            }
            let Some(next) = self.parent_of(&node) else {
                break;
            };
            // `node` is its container's init: the runtime above it is not the container's.
            if is_container_init(&node, &next) {
                break;
            }
            chain.push(Arc::clone(&next));
            current = Some(next);
        }
        chain
    }

    /// Re-resolves the container when the process's cgroup changed, and fills pod names that
    /// became known since.
    fn refresh_container(&mut self, process: Arc<ProcessInfo>, h: &Header) -> Arc<ProcessInfo> {
        let moved = h.cgroup_id != 0 && h.cgroup_id != process.cgroup_id && h.pid == process.pid;
        let unnamed = self.pods.is_some()
            && process
                .container
                .as_ref()
                .and_then(|c| c.pod.as_ref())
                .is_some_and(|p| p.name.is_none());
        if !moved && !unnamed {
            return process;
        }
        let container = if moved {
            self.container_for(process.pid, h.cgroup_id, None)
        } else {
            process
                .container
                .as_ref()
                .map(|c| self.named(h.cgroup_id, c))
        };
        if container == process.container && !moved {
            return process;
        }
        let mut info = ProcessInfo::clone(&process);
        info.container = container;
        info.cgroup_id = h.cgroup_id;
        if process.exited {
            return Arc::new(info);
        }
        self.table.insert(Arc::new(info))
    }

    fn container_for(
        &mut self,
        pid: u32,
        cgroup_id: u64,
        content: Option<&str>,
    ) -> Option<Arc<ContainerInfo>> {
        if cgroup_id != 0
            && let Some(hit) = self.containers.get(cgroup_id)
        {
            return hit.map(|c| self.named(cgroup_id, &c));
        }
        let found = match content {
            Some(content) => self.containers.resolve(cgroup_id, content),
            None => match self.procfs.cgroup(pid) {
                Some(content) => self.containers.resolve(cgroup_id, &content),
                // Gone already (a short-lived process): find the cgroup by its id.
                None if cgroup_id != 0 => {
                    let path = self.cgroups.path_of(cgroup_id)?;
                    self.containers.resolve_path(cgroup_id, &path)
                }
                None => None,
            },
        };
        found.map(|c| self.named(cgroup_id, &c))
    }

    /// The container with pod names filled in, when the pod list has them.
    fn named(&mut self, cgroup_id: u64, container: &Arc<ContainerInfo>) -> Arc<ContainerInfo> {
        let (Some(pods), Some(pod)) = (&self.pods, &container.pod) else {
            return Arc::clone(container);
        };
        if pod.name.is_some() {
            return Arc::clone(container);
        }
        let Some(named) = pods.fill(container) else {
            return Arc::clone(container);
        };
        let named = Arc::new(named);
        self.containers.update(cgroup_id, Arc::clone(&named));
        named
    }
}

fn is_container_init(child: &ProcessInfo, parent: &ProcessInfo) -> bool {
    match (&child.container, &parent.container) {
        (Some(c), Some(p)) => c.id != p.id,
        (Some(_), None) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
