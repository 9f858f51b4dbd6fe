//! The enriched event: an [`Event`] plus everything known about who caused it.
//!
//! Shared pieces (process records, container and host descriptions) are behind `Arc` so that
//! enrichment clones pointers, not strings, on the hot path.

use std::sync::{Arc, OnceLock};

use crate::event::Event;

/// What the sensor knows about one process (one exec image of one pid).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Parent process id (0 when unknown).
    pub ppid: u32,
    /// Host-unique identity across pid reuse (ECS `process.entity_id`).
    pub entity_id: String,
    /// Start time in nanoseconds since the Unix epoch.
    pub start_unix_ns: i128,
    /// Executable path; untrusted bytes.
    pub executable: Vec<u8>,
    /// Arguments, `argv[0]` first; untrusted bytes. Whoever changes them in place clears
    /// `command_line`.
    pub args: Vec<Vec<u8>>,
    /// `args` escaped and joined for rules (`process.command_line`), built on first use.
    pub command_line: CommandLineCache,
    /// How many arguments the program was started with (may exceed `args.len()` when the
    /// capture cut them; 0 when only `args` is known).
    pub argc: u32,
    /// `args` is incomplete (too many or too long arguments for the capture).
    pub args_truncated: bool,
    /// Working directory, when known; untrusted bytes.
    pub working_directory: Option<Vec<u8>>,
    /// Task name; untrusted bytes.
    pub comm: Vec<u8>,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Audit login uid, when set.
    pub loginuid: Option<u32>,
    /// Real user name, when it resolves.
    pub user_name: Option<Arc<str>>,
    /// Real group name, when it resolves.
    pub group_name: Option<Arc<str>>,
    /// Effective user name, when it differs from the real one and resolves.
    pub effective_user_name: Option<Arc<str>>,
    /// Effective group name, when it differs from the real one and resolves.
    pub effective_group_name: Option<Arc<str>>,
    /// Process group id.
    pub pgid: Option<u32>,
    /// Session id.
    pub sid: Option<u32>,
    /// What fds 0, 1 and 2 were at the last exec.
    pub stdio: [crate::event::FdKind; 3],
    /// The process has exited (kept for late events and alerts).
    pub exited: bool,
    /// The container this process runs in, if any.
    pub container: Option<Arc<ContainerInfo>>,
    /// cgroup v2 id the container was resolved from (0 when unknown).
    pub cgroup_id: u64,
    /// Exit time in nanoseconds since the Unix epoch, once exited.
    pub end_unix_ns: Option<i128>,
    /// Exit status as `wait()` reports it, once exited.
    pub exit_code: Option<i32>,
    /// How many execs this process made since the sensor knew it (0: still the image it was
    /// seeded or forked with).
    pub exec_count: u32,
    /// The executable this process ran before its last exec, when known; untrusted bytes.
    pub previous_executable: Option<Vec<u8>>,
}

/// A process record's command line as rules read it, built once per record instead of once per
/// event: escaping and joining the arguments of every open a process made was 3-5% of the
/// daemon's time in an open storm. A cache, not part of the record: a clone starts empty (the
/// copy may get other arguments), and it never makes two records differ.
#[derive(Default)]
pub struct CommandLineCache(OnceLock<Box<str>>);

impl CommandLineCache {
    /// The cached text, built by `build` if there is none yet.
    pub fn get_or_init(&self, build: impl FnOnce() -> String) -> &str {
        self.0.get_or_init(|| build().into_boxed_str())
    }

    /// Forgets the cached text (the arguments changed).
    pub fn clear(&mut self) {
        self.0 = OnceLock::new();
    }
}

impl Clone for CommandLineCache {
    fn clone(&self) -> Self {
        CommandLineCache::default()
    }
}

impl PartialEq for CommandLineCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for CommandLineCache {}

impl std::fmt::Debug for CommandLineCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CommandLineCache")
    }
}

/// A container, as derived from a cgroup path (and the kubelet/API for names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Container id (64 hex characters for the common runtimes).
    pub id: String,
    /// `docker`, `containerd`, `cri-o` or `podman`.
    pub runtime: String,
    /// The Kubernetes pod, when the container belongs to one.
    pub pod: Option<PodInfo>,
}

/// A Kubernetes pod.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInfo {
    /// Pod uid, from the cgroup path (always known for pods).
    pub uid: String,
    /// Pod name, when the kubelet or API server told us.
    pub name: Option<String>,
    /// Namespace, when known.
    pub namespace: Option<String>,
    /// Container name within the pod, when known.
    pub container_name: Option<String>,
    /// Node name, when known.
    pub node_name: Option<String>,
}

/// The host the sensor runs on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInfo {
    /// Host name.
    pub name: String,
    /// `/etc/machine-id`.
    pub id: Option<String>,
    /// OS name and version from os-release (`Debian GNU/Linux`, `12`, ...).
    pub os_name: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// OS id (`debian`, `ubuntu`, `rhel`; os-release `ID`), ECS `host.os.platform`.
    pub os_platform: Option<String>,
    /// OS family (os-release `ID_LIKE`, else `ID`), ECS `host.os.family`.
    pub os_family: Option<String>,
    /// Full OS description (os-release `PRETTY_NAME`), ECS `host.os.full`.
    pub os_full: Option<String>,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// CPU architecture.
    pub architecture: String,
}

/// An [`Event`] with its process context.
#[derive(Debug, Clone)]
pub struct EnrichedEvent {
    /// The kernel event.
    pub event: Event,
    /// The acting process.
    pub process: Arc<ProcessInfo>,
    /// The processes related to it.
    pub lineage: Arc<Lineage>,
    /// The host.
    pub host: Arc<HostInfo>,
}

/// The processes related to an acting process. One value is shared by all the events of that
/// process while the process table stays unchanged, so an event carries one reference
/// instead of one per related process.
#[derive(Debug, Clone, Default)]
pub struct Lineage {
    /// The parent, when known.
    pub parent: Option<Arc<ProcessInfo>>,
    /// Ancestors from the grandparent upward, nearest first, up to (and including) pid 1 or the
    /// process's container init, or until parent plus ancestors reach the configured depth
    /// (`--ancestor-depth`, default 8). ECS output (`process.ancestors`) lists the parent first,
    /// then these.
    pub ancestors: Vec<Arc<ProcessInfo>>,
    /// The process group leader, when known.
    pub group_leader: Option<Arc<ProcessInfo>>,
    /// The session leader, when known.
    pub session_leader: Option<Arc<ProcessInfo>>,
}
