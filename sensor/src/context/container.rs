//! Containers and Kubernetes pod uids from cgroup paths, with no runtime or API access.
//!
//! Every container runtime leaves its container id in the cgroup path of the container's
//! processes, in a few shapes that depend on the runtime and on the cgroup driver:
//!
//! | runtime    | systemd driver                     | cgroupfs driver                  |
//! |------------|------------------------------------|----------------------------------|
//! | docker     | `.../docker-<id>.scope`            | `/docker/<id>`                   |
//! | containerd | `.../cri-containerd-<id>.scope`    | `/kubepods/<qos>/pod<uid>/<id>`  |
//! | CRI-O      | `.../crio-<id>.scope`              | `/kubepods/<qos>/pod<uid>/<id>`  |
//! | podman     | `.../libpod-<id>.scope[/container]`| `/libpod_parent/libpod-<id>`     |
//!
//! Kubernetes pods add a `kubepods[-<qos>]-pod<uid>.slice` (systemd; the uid's dashes written as
//! underscores) or `pod<uid>` (cgroupfs) component. Nested setups (kind, docker-in-docker) have
//! several container components: the innermost (last) one is the process's own container.
//! Runtime helpers (`crio-conmon-`, `libpod-conmon-`) are not containers.
//!
//! `/proc/PID/cgroup` has one line per hierarchy (`0::/path` for v2, `N:controllers:/path` for
//! v1); on hybrid hosts with the cgroupfs driver only the v1 lines carry the container.

use std::collections::HashMap;
use std::sync::Arc;

use super::model::{ContainerInfo, PodInfo};

/// A container runtime, as named in ECS `container.runtime`.
pub mod runtime {
    /// Docker (moby).
    pub const DOCKER: &str = "docker";
    /// containerd (CRI plugin or nerdctl).
    pub const CONTAINERD: &str = "containerd";
    /// CRI-O.
    pub const CRIO: &str = "cri-o";
    /// Podman (libpod).
    pub const PODMAN: &str = "podman";
    /// A Kubernetes container whose cgroupfs-driver path does not name its runtime.
    pub const CRI: &str = "cri";
}

/// The container named by one cgroup path, if any.
pub fn parse_path(path: &str) -> Option<ContainerInfo> {
    let mut found: Option<(String, &'static str)> = None;
    let mut pod_uid = None;
    let mut kubepods = false;
    let mut previous = "";
    for component in path.split('/').filter(|c| !c.is_empty()) {
        if component.contains("kubepods") {
            kubepods = true;
        }
        if let Some(uid) = pod_uid_of(component) {
            pod_uid = Some(uid);
        }
        if let Some(hit) = container_of(component, previous, kubepods) {
            found = Some(hit);
        }
        previous = component;
    }
    let (id, runtime) = found?;
    Some(ContainerInfo {
        id,
        runtime: runtime.to_owned(),
        pod: pod_uid.map(|uid| PodInfo {
            uid,
            ..PodInfo::default()
        }),
    })
}

/// The container named by a `/proc/PID/cgroup` file, if any. The v2 line is tried first, then
/// the v1 lines in file order.
pub fn parse_proc_cgroup(content: &str) -> Option<ContainerInfo> {
    let mut v1 = Vec::new();
    for line in content.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(hierarchy), Some(_controllers), Some(path)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if hierarchy == "0" {
            if let Some(found) = parse_path(path) {
                return Some(found);
            }
        } else {
            v1.push(path);
        }
    }
    v1.into_iter().find_map(parse_path)
}

/// Whether a `/proc/PID/cgroup` file has v1 lines (a hybrid or legacy host), in which case the
/// v2 cgroup id alone does not determine the container.
pub fn has_v1_lines(content: &str) -> bool {
    content
        .lines()
        .any(|l| !l.is_empty() && !l.starts_with("0:"))
}

/// The path of the `0::` (cgroup v2) line.
pub fn v2_path(content: &str) -> Option<&str> {
    content.lines().find_map(|l| l.strip_prefix("0::"))
}

fn container_of(component: &str, previous: &str, kubepods: bool) -> Option<(String, &'static str)> {
    let name = component.strip_suffix(".scope").unwrap_or(component);
    const PREFIXES: [(&str, &str); 4] = [
        ("cri-containerd-", runtime::CONTAINERD),
        ("docker-", runtime::DOCKER),
        ("crio-", runtime::CRIO),
        ("libpod-", runtime::PODMAN),
    ];
    for (prefix, runtime) in PREFIXES {
        if let Some(id) = name.strip_prefix(prefix)
            && is_container_id(id)
        {
            return Some((id.to_owned(), runtime));
        }
    }
    if !is_container_id(name) {
        return None;
    }
    let runtime = match previous {
        "docker" => runtime::DOCKER,
        "libpod_parent" => runtime::PODMAN,
        _ if kubepods => runtime::CRI,
        // containerd's cgroupfs layout is `/<namespace>/<id>` (`/default/<id>`, `/moby/<id>`).
        _ => runtime::CONTAINERD,
    };
    Some((name.to_owned(), runtime))
}

/// The pod uid (with dashes) in a `pod<uid>` or `kubepods-...-pod<uid_with_underscores>.slice`
/// component.
fn pod_uid_of(component: &str) -> Option<String> {
    let name = component.strip_suffix(".slice").unwrap_or(component);
    let uid = if let Some(uid) = name.strip_prefix("pod") {
        uid
    } else if name.contains("kubepods") {
        let at = name.rfind("-pod")?;
        name.get(at + 4..)?
    } else {
        return None;
    };
    let uid = uid.replace('_', "-");
    is_uid(&uid).then_some(uid)
}

/// 64 lowercase hex digits: the id docker, containerd, CRI-O and podman generate.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An RFC 4122 uid: `8-4-4-4-12` hex digits.
fn is_uid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Containers by cgroup v2 id, so that a process's `/proc/PID/cgroup` is read once per cgroup,
/// not once per process. Only answers that the v2 id determines are cached (see
/// [`has_v1_lines`]).
#[derive(Debug, Default)]
pub struct ContainerCache {
    by_cgroup: HashMap<u64, Option<Arc<ContainerInfo>>>,
}

/// Bound on cached cgroup ids; the cache is cleared when it is reached (cgroups come and go
/// with containers, and re-reading a few files is cheap).
const MAX_CACHED_CGROUPS: usize = 16 * 1024;

impl ContainerCache {
    /// The cached answer for a cgroup id: `None` when unknown, `Some(None)` for "no container".
    pub fn get(&self, cgroup_id: u64) -> Option<Option<Arc<ContainerInfo>>> {
        self.by_cgroup.get(&cgroup_id).cloned()
    }

    /// Resolves from a `/proc/PID/cgroup` file's content, caching when the v2 id decides.
    pub fn resolve(&mut self, cgroup_id: u64, content: &str) -> Option<Arc<ContainerInfo>> {
        let from_v2 = v2_path(content).and_then(parse_path);
        let v2_decides = from_v2.is_some() || !has_v1_lines(content);
        let found = from_v2.or_else(|| parse_proc_cgroup(content)).map(Arc::new);
        if cgroup_id != 0 && v2_decides {
            if self.by_cgroup.len() >= MAX_CACHED_CGROUPS {
                self.by_cgroup.clear();
            }
            self.by_cgroup.insert(cgroup_id, found.clone());
        }
        found
    }

    /// Resolves from a cgroup v2 path (found by id), caching a container it names.
    pub fn resolve_path(&mut self, cgroup_id: u64, path: &str) -> Option<Arc<ContainerInfo>> {
        let found = parse_path(path).map(Arc::new)?;
        if self.by_cgroup.len() >= MAX_CACHED_CGROUPS {
            self.by_cgroup.clear();
        }
        self.by_cgroup.insert(cgroup_id, Some(Arc::clone(&found)));
        Some(found)
    }

    /// Replaces a cached container (used when pod names arrive).
    pub fn update(&mut self, cgroup_id: u64, info: Arc<ContainerInfo>) {
        if let Some(slot) = self.by_cgroup.get_mut(&cgroup_id) {
            *slot = Some(info);
        }
    }
}

#[cfg(test)]
mod tests;
