//! The sensor's own BPF objects, as the kernel lists them in `/proc/self/fdinfo`.
//!
//! Reading fdinfo needs no `bpf()` call, so it works after the capability drop (with
//! `kernel.unprivileged_bpf_disabled` set, a process without CAP_BPF cannot call `bpf()` at
//! all). The same reader serves the start-up inventory and the periodic self-check, and, with
//! CAP_SYS_PTRACE, resolves the fd another process passed to `bpf()` to the object's id.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A BPF object an fd refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A program.
    Prog(u32),
    /// A map.
    Map(u32),
    /// A link, and the program it runs.
    Link {
        /// The link id.
        id: u32,
        /// The program attached through it (0 once detached).
        prog: u32,
    },
}

/// Which object an fdinfo text describes, if it is a BPF one.
pub fn parse_fdinfo(text: &str) -> Option<Object> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u32>().ok())
    };
    if text.contains("link_type:") {
        Some(Object::Link {
            id: field("link_id:")?,
            prog: field("prog_id:").unwrap_or(0),
        })
    } else if text.contains("prog_type:") {
        field("prog_id:").map(Object::Prog)
    } else if text.contains("map_type:") {
        field("map_id:").map(Object::Map)
    } else {
        None
    }
}

/// The object behind fd `fd` of process `pid`, if it is a BPF one that is still open.
pub fn resolve_fd(proc_root: &Path, pid: u32, fd: u32) -> Option<Object> {
    // A negative fd (the refused `bpf()` liveness canary of another sensor, say) names
    // nothing: no fdinfo lookup.
    if i32::try_from(fd).is_err() {
        return None;
    }
    let path = proc_root.join(format!("{pid}/fdinfo/{fd}"));
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| parse_fdinfo(&t))
}

/// Ids of the BPF objects a process holds open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Program ids.
    pub progs: BTreeSet<u32>,
    /// Map ids.
    pub maps: BTreeSet<u32>,
    /// Link id → program id.
    pub links: BTreeMap<u32, u32>,
}

/// Why the ids could not be handed to the kernel side.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The eBPF object has no `OWN_IDS` map (a build mismatch).
    #[error("OWN_IDS map missing from the eBPF object")]
    Missing,
    /// The map refused an entry.
    #[error("filling OWN_IDS: {0}")]
    Map(#[from] aya::maps::MapError),
}

/// Something the self-check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A program the sensor loaded is no longer held.
    ProgramGone(u32),
    /// A map the sensor created is no longer held.
    MapGone(u32),
    /// A link that attached a program is gone.
    LinkGone(u32),
    /// A link now runs another program (`BPF_LINK_UPDATE`) or none (detached).
    LinkChanged {
        /// The link.
        link: u32,
        /// The program it ran at start.
        was: u32,
        /// The program it runs now (0: none).
        now: u32,
    },
}

impl Problem {
    /// A short description for logs and alerts.
    pub fn describe(&self) -> String {
        match self {
            Problem::ProgramGone(id) => format!("BPF program {id} is no longer loaded"),
            Problem::MapGone(id) => format!("BPF map {id} is no longer held"),
            Problem::LinkGone(id) => format!("BPF link {id} is gone: its program is detached"),
            Problem::LinkChanged { link, was, now } => {
                format!("BPF link {link} ran program {was} and now runs {now}")
            }
        }
    }
}

impl Inventory {
    /// The BPF objects behind the fds in `fdinfo_dir` (e.g. `/proc/self/fdinfo`).
    pub fn read(fdinfo_dir: &Path) -> std::io::Result<Inventory> {
        let mut inventory = Inventory::default();
        for entry in std::fs::read_dir(fdinfo_dir)? {
            // An fd closed between listing and reading is simply not there any more.
            let Ok(text) = entry.and_then(|e| std::fs::read_to_string(e.path())) else {
                continue;
            };
            match parse_fdinfo(&text) {
                Some(Object::Prog(id)) => {
                    inventory.progs.insert(id);
                }
                Some(Object::Map(id)) => {
                    inventory.maps.insert(id);
                }
                Some(Object::Link { id, prog }) => {
                    inventory.links.insert(id, prog);
                }
                None => {}
            }
        }
        Ok(inventory)
    }

    /// The `OWN_IDS` keys of these objects (see `sensor_common::bpf::own_id_key`).
    pub fn kernel_keys(&self) -> impl Iterator<Item = u64> + '_ {
        use sensor_common::bpf::{cmd, own_id_key};
        let progs = self
            .progs
            .iter()
            .filter_map(|id| own_id_key(cmd::PROG_GET_FD_BY_ID, *id));
        let maps = self
            .maps
            .iter()
            .filter_map(|id| own_id_key(cmd::MAP_GET_FD_BY_ID, *id));
        let links = self
            .links
            .keys()
            .filter_map(|id| own_id_key(cmd::LINK_GET_FD_BY_ID, *id));
        progs.chain(maps).chain(links)
    }

    /// Writes the ids into the kernel side's `OWN_IDS` set, which reports handles taken on
    /// these objects only. Needs `bpf()`: call before the capability drop.
    pub fn publish(&self, ebpf: &mut aya::Ebpf) -> Result<usize, PublishError> {
        let map = ebpf.map_mut("OWN_IDS").ok_or(PublishError::Missing)?;
        let mut set: aya::maps::HashMap<&mut aya::maps::MapData, u64, u8> =
            aya::maps::HashMap::try_from(map)?;
        let mut n = 0;
        for key in self.kernel_keys() {
            set.insert(&key, &1, 0)?;
            n += 1;
        }
        Ok(n)
    }

    /// Whether `object` is one of ours.
    pub fn owns(&self, object: Object) -> bool {
        match object {
            Object::Prog(id) => self.progs.contains(&id),
            Object::Map(id) => self.maps.contains(&id),
            Object::Link { id, .. } => self.links.contains_key(&id),
        }
    }

    /// What is missing or changed in `now` compared with `self` (the start-up inventory).
    pub fn problems(&self, now: &Inventory) -> Vec<Problem> {
        let mut problems: Vec<Problem> = self
            .progs
            .difference(&now.progs)
            .map(|id| Problem::ProgramGone(*id))
            .collect();
        problems.extend(
            self.maps
                .difference(&now.maps)
                .map(|id| Problem::MapGone(*id)),
        );
        for (link, was) in &self.links {
            match now.links.get(link) {
                None => problems.push(Problem::LinkGone(*link)),
                Some(now) if now != was => problems.push(Problem::LinkChanged {
                    link: *link,
                    was: *was,
                    now: *now,
                }),
                Some(_) => {}
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_texts_name_their_objects() {
        let prog = "pos:\t0\nflags:\t02000002\nprog_type:\t5\nprog_jited:\t1\nprog_id:\t41\n";
        let map = "pos:\t0\nmap_type:\t27\nkey_size:\t0\nmap_id:\t7\n";
        let link = "link_type:\tperf\nlink_id:\t3\nprog_tag:\tab\nprog_id:\t41\n";
        assert_eq!(parse_fdinfo(prog), Some(Object::Prog(41)));
        assert_eq!(parse_fdinfo(map), Some(Object::Map(7)));
        assert_eq!(parse_fdinfo(link), Some(Object::Link { id: 3, prog: 41 }));
        assert_eq!(parse_fdinfo("pos:\t0\nflags:\t0\n"), None);
        assert_eq!(parse_fdinfo("prog_type:\t5\nprog_id:\tjunk\n"), None);
    }

    #[test]
    fn the_self_check_reports_what_disappeared_or_changed() {
        let start = Inventory {
            progs: [1, 2].into(),
            maps: [10].into(),
            links: [(100, 1), (101, 2)].into(),
        };
        assert!(start.problems(&start).is_empty());
        let now = Inventory {
            progs: [1].into(),
            maps: [10, 11].into(),
            links: [(100, 9)].into(),
        };
        assert_eq!(
            start.problems(&now),
            vec![
                Problem::ProgramGone(2),
                Problem::LinkChanged {
                    link: 100,
                    was: 1,
                    now: 9
                },
                Problem::LinkGone(101),
            ]
        );
        assert!(start.owns(Object::Link { id: 101, prog: 0 }));
        let keys: Vec<u64> = start.kernel_keys().collect();
        assert_eq!(
            keys,
            [
                1 << 32 | 1,
                1 << 32 | 2,
                2 << 32 | 10,
                3 << 32 | 100,
                3 << 32 | 101
            ]
        );
        assert!(!start.owns(Object::Map(11)));
    }

    #[test]
    fn our_own_fdinfo_is_readable_and_a_missing_directory_is_an_error() {
        assert!(Inventory::read(Path::new("/proc/self/fdinfo")).is_ok());
        assert!(Inventory::read(Path::new("/proc/self/no-such-fdinfo")).is_err());
    }
}
