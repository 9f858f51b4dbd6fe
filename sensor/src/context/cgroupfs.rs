//! cgroup v2 ids to paths, for processes that exited before their `/proc/PID/cgroup` could be
//! read. A cgroup v2 id is the inode number of the cgroup's directory in the cgroup2 mount
//! (`/sys/fs/cgroup` on pure v2 hosts, `/sys/fs/cgroup/unified` on hybrid ones), so one walk of
//! the mount maps every id to its path. Walks are bounded ([`MAX_DIRS`], [`MAX_DEPTH`]) and
//! happen at most once per [`RESCAN_INTERVAL`].

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Minimum time between two walks of the hierarchy.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(1);
/// Most directories visited per walk.
pub const MAX_DIRS: usize = 100_000;
/// Deepest directory level visited.
pub const MAX_DEPTH: usize = 16;

/// The cgroup2 hierarchy's id → path map.
#[derive(Debug)]
pub struct CgroupIndex {
    mount: Option<PathBuf>,
    paths: HashMap<u64, String>,
    scanned: Option<Instant>,
}

impl CgroupIndex {
    /// The index of the cgroup2 mount named in `<proc_root>/mounts` (none: every look-up
    /// misses).
    pub fn new(proc_root: &Path) -> CgroupIndex {
        let mounts = std::fs::read_to_string(proc_root.join("mounts")).unwrap_or_default();
        CgroupIndex {
            mount: cgroup2_mount(&mounts),
            paths: HashMap::new(),
            scanned: None,
        }
    }

    /// The path (relative to the mount, `/`-rooted as in `/proc/PID/cgroup`) of a cgroup id.
    pub fn path_of(&mut self, id: u64) -> Option<String> {
        if let Some(path) = self.paths.get(&id) {
            return Some(path.clone());
        }
        if self.scanned.is_some_and(|t| t.elapsed() < RESCAN_INTERVAL) {
            return None;
        }
        self.scanned = Some(Instant::now());
        let mount = self.mount.clone()?;
        self.paths.clear();
        let mut stack = vec![(mount.clone(), 0usize)];
        let mut visited = 0;
        while let Some((dir, depth)) = stack.pop() {
            visited += 1;
            if visited > MAX_DIRS {
                break;
            }
            if let Ok(meta) = std::fs::metadata(&dir)
                && let Ok(rel) = dir.strip_prefix(&mount)
            {
                self.paths
                    .insert(meta.ino(), format!("/{}", rel.to_string_lossy()));
            }
            if depth >= MAX_DEPTH {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.filter_map(Result::ok) {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push((entry.path(), depth + 1));
                }
            }
        }
        self.paths.get(&id).cloned()
    }
}

/// The mount point of the cgroup2 filesystem in a `/proc/mounts` listing.
pub fn cgroup2_mount(mounts: &str) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let mut fields = line.split_ascii_whitespace();
        let (_, point, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        // Mount points escape spaces as \040; cgroup2 mounts do not have any in practice.
        (fstype == "cgroup2").then(|| PathBuf::from(point))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount() {
        let hybrid = "cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n\
                      cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
        assert_eq!(
            cgroup2_mount(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_mount("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"),
            Some(PathBuf::from("/sys/fs/cgroup"))
        );
        assert_eq!(cgroup2_mount("proc /proc proc rw 0 0\n"), None);
    }

    #[test]
    fn maps_this_process_cgroup_id_to_its_path() {
        let mut index = CgroupIndex::new(Path::new("/proc"));
        let Some(mount) = index.mount.clone() else {
            eprintln!("SKIPPED: no cgroup2 mount");
            return;
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
        let Some(path) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
            return;
        };
        let dir = mount.join(path.trim_start_matches('/'));
        let id = std::fs::metadata(&dir).expect("dir").ino();
        assert_eq!(index.path_of(id).as_deref(), Some(path));
        assert_eq!(index.path_of(u64::MAX), None);
    }
}
