//! `bpf()` calls of other processes that name one of the sensor's own programs, maps or links.
//!
//! The kernel side reports the watched commands of every process but the sensor (by pid, so a
//! process named after the sensor is still reported), with the first fields of `bpf_attr`.
//! Here the id (or the caller's fd, resolved through `/proc/<pid>/fdinfo`) is compared with the
//! sensor's [`Inventory`]; anyone else's objects are ignored. Repeats of one command by one
//! process are reported once per [`REPEAT_WINDOW`] (a map dump touches a map once per key).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sensor_common::{BPF_CMD_KIND, BpfCmdRecord, EventHeader, bpf::cmd, is_batch};

use super::inventory::{Inventory, Object, resolve_fd};

/// One alert per process and command in this window.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(60);
/// Bound on the repeat table (entries older than the window are evicted first).
const REPEAT_MAX: usize = 4096;

/// A decoded [`BpfCmdRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BpfCall {
    /// Boot-clock time of the call.
    pub ktime_ns: u64,
    /// Caller's process id.
    pub pid: u32,
    /// Caller's thread id.
    pub tid: u32,
    /// Caller's real user id.
    pub uid: u32,
    /// Caller's task name (raw bytes, not necessarily UTF-8).
    pub comm: Vec<u8>,
    /// The `bpf_cmd`.
    pub cmd: u32,
    /// First 32-bit field of `bpf_attr`.
    pub first: u32,
    /// `attach_bpf_fd` / `batch.map_fd` (see [`BpfCmdRecord::second`]).
    pub second: u32,
    /// `bpf_attr` could not be read.
    pub unreadable: bool,
}

/// Why a tamper record was not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BpfRecordError {
    /// Shorter than a [`BpfCmdRecord`].
    #[error("bpf record of {0} bytes is too short")]
    TooShort(usize),
    /// The header names another kind.
    #[error("record kind {0} on the tamper ring")]
    Kind(u32),
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    bytes
        .get(offset..offset + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

impl BpfCall {
    /// Decodes a record read from the `TAMPER` ring.
    pub fn decode(bytes: &[u8]) -> Result<BpfCall, BpfRecordError> {
        use core::mem::offset_of;
        if bytes.len() < size_of::<BpfCmdRecord>() {
            return Err(BpfRecordError::TooShort(bytes.len()));
        }
        let kind = u32_at(bytes, offset_of!(EventHeader, kind));
        if kind != BPF_CMD_KIND {
            return Err(BpfRecordError::Kind(kind));
        }
        let ktime = offset_of!(EventHeader, ktime_ns);
        let comm_at = offset_of!(EventHeader, comm);
        let comm = bytes
            .get(comm_at..comm_at + sensor_common::COMM_LEN)
            .unwrap_or_default();
        Ok(BpfCall {
            ktime_ns: bytes
                .get(ktime..ktime + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_ne_bytes),
            pid: u32_at(bytes, offset_of!(EventHeader, pid)),
            tid: u32_at(bytes, offset_of!(EventHeader, tid)),
            uid: u32_at(bytes, offset_of!(EventHeader, uid)),
            comm: crate::text::until_nul(comm).to_vec(),
            cmd: u32_at(bytes, offset_of!(BpfCmdRecord, cmd)),
            first: u32_at(bytes, offset_of!(BpfCmdRecord, first)),
            second: u32_at(bytes, offset_of!(BpfCmdRecord, second)),
            unreadable: u32_at(bytes, offset_of!(BpfCmdRecord, unreadable)) != 0,
        })
    }

    /// The command's name, as in `enum bpf_cmd`.
    pub fn command_name(&self) -> &'static str {
        match self.cmd {
            cmd::MAP_UPDATE_ELEM => "BPF_MAP_UPDATE_ELEM",
            cmd::MAP_DELETE_ELEM => "BPF_MAP_DELETE_ELEM",
            cmd::PROG_DETACH => "BPF_PROG_DETACH",
            cmd::PROG_GET_FD_BY_ID => "BPF_PROG_GET_FD_BY_ID",
            cmd::MAP_GET_FD_BY_ID => "BPF_MAP_GET_FD_BY_ID",
            cmd::MAP_LOOKUP_AND_DELETE_ELEM => "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
            cmd::MAP_FREEZE => "BPF_MAP_FREEZE",
            cmd::MAP_LOOKUP_AND_DELETE_BATCH => "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
            cmd::MAP_UPDATE_BATCH => "BPF_MAP_UPDATE_BATCH",
            cmd::MAP_DELETE_BATCH => "BPF_MAP_DELETE_BATCH",
            cmd::LINK_UPDATE => "BPF_LINK_UPDATE",
            cmd::LINK_GET_FD_BY_ID => "BPF_LINK_GET_FD_BY_ID",
            cmd::LINK_DETACH => "BPF_LINK_DETACH",
            _ => "unknown",
        }
    }

    /// A handle only (`*_GET_FD_BY_ID`), as opposed to a change.
    pub fn is_handle(&self) -> bool {
        matches!(
            self.cmd,
            cmd::PROG_GET_FD_BY_ID | cmd::MAP_GET_FD_BY_ID | cmd::LINK_GET_FD_BY_ID
        )
    }

    /// The object the call names, when it can be told: ids directly, fds through `resolve`
    /// (`pid`, `fd` → object; `None` when the fd is closed or the caller is gone).
    pub fn target(&self, resolve: impl Fn(u32, u32) -> Option<Object>) -> Option<Object> {
        if self.unreadable {
            return None;
        }
        match self.cmd {
            cmd::PROG_GET_FD_BY_ID => Some(Object::Prog(self.first)),
            cmd::MAP_GET_FD_BY_ID => Some(Object::Map(self.first)),
            cmd::LINK_GET_FD_BY_ID => Some(Object::Link {
                id: self.first,
                prog: 0,
            }),
            // The program being detached is the second fd (`attach_bpf_fd`).
            cmd::PROG_DETACH => resolve(self.pid, self.second),
            c if is_batch(c) => resolve(self.pid, self.second),
            _ => resolve(self.pid, self.first),
        }
    }
}

/// Matches `bpf()` calls against the sensor's objects.
pub struct BpfWatch {
    own: Inventory,
    proc_root: PathBuf,
    /// (pid, cmd) → when it was last reported.
    recent: HashMap<(u32, u32), Instant>,
}

impl BpfWatch {
    /// A watch over `own`, resolving fds under `proc_root` (`/proc`).
    pub fn new(own: Inventory, proc_root: PathBuf) -> BpfWatch {
        BpfWatch {
            own,
            proc_root,
            recent: HashMap::new(),
        }
    }

    /// The sensor's objects as recorded at start.
    pub fn inventory(&self) -> &Inventory {
        &self.own
    }

    /// The sensor's object that `call` names, unless the same process already had the same
    /// command reported within [`REPEAT_WINDOW`].
    pub fn check(&mut self, call: &BpfCall, now: Instant) -> Option<Object> {
        let key = (call.pid, call.cmd);
        if self
            .recent
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < REPEAT_WINDOW)
        {
            return None;
        }
        let root = &self.proc_root;
        let target = call.target(|pid, fd| resolve_fd(root, pid, fd))?;
        if !self.own.owns(target) {
            return None;
        }
        if self.recent.len() >= REPEAT_MAX {
            self.recent
                .retain(|_, t| now.duration_since(*t) < REPEAT_WINDOW);
            if self.recent.len() >= REPEAT_MAX {
                self.recent.clear();
            }
        }
        self.recent.insert(key, now);
        Some(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pid: u32, command: u32, first: u32, second: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; size_of::<BpfCmdRecord>()];
        let mut put = |offset: usize, value: u32| {
            bytes[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
        };
        put(core::mem::offset_of!(EventHeader, kind), BPF_CMD_KIND);
        put(core::mem::offset_of!(EventHeader, pid), pid);
        put(core::mem::offset_of!(EventHeader, tid), pid + 1);
        put(core::mem::offset_of!(BpfCmdRecord, cmd), command);
        put(core::mem::offset_of!(BpfCmdRecord, first), first);
        put(core::mem::offset_of!(BpfCmdRecord, second), second);
        let comm = core::mem::offset_of!(EventHeader, comm);
        bytes[comm..comm + 7].copy_from_slice(b"bpf\x1btoo");
        bytes
    }

    fn own() -> Inventory {
        Inventory {
            progs: [41].into(),
            maps: [7].into(),
            links: [(3, 41)].into(),
        }
    }

    #[test]
    fn records_decode_and_bad_ones_are_refused() {
        let call = BpfCall::decode(&record(9, cmd::MAP_GET_FD_BY_ID, 7, 0)).expect("decodes");
        assert_eq!((call.pid, call.tid, call.first), (9, 10, 7));
        assert_eq!(call.comm, b"bpf\x1btoo");
        assert_eq!(call.command_name(), "BPF_MAP_GET_FD_BY_ID");
        assert!(call.is_handle());
        let bytes = record(9, cmd::MAP_GET_FD_BY_ID, 7, 0);
        assert_eq!(
            BpfCall::decode(&bytes[..20]),
            Err(BpfRecordError::TooShort(20))
        );
        let mut other = bytes.clone();
        other[..4].copy_from_slice(&40u32.to_ne_bytes());
        assert_eq!(BpfCall::decode(&other), Err(BpfRecordError::Kind(40)));
    }

    #[test]
    fn ids_of_our_objects_match_and_others_are_ignored() {
        let mut watch = BpfWatch::new(own(), PathBuf::from("/nonexistent"));
        let now = Instant::now();
        let decode = |pid, c, first| BpfCall::decode(&record(pid, c, first, 0)).expect("ok");
        assert_eq!(
            watch.check(&decode(1, cmd::PROG_GET_FD_BY_ID, 41), now),
            Some(Object::Prog(41))
        );
        assert_eq!(
            watch.check(&decode(2, cmd::PROG_GET_FD_BY_ID, 42), now),
            None
        );
        assert_eq!(
            watch.check(&decode(2, cmd::MAP_GET_FD_BY_ID, 41), now),
            None
        );
        assert!(matches!(
            watch.check(&decode(2, cmd::LINK_GET_FD_BY_ID, 3), now),
            Some(Object::Link { id: 3, .. })
        ));
        // fd-based commands whose fd cannot be resolved are not guessed at.
        assert_eq!(watch.check(&decode(2, cmd::MAP_UPDATE_ELEM, 5), now), None);
    }

    #[test]
    fn repeats_are_reported_once_per_window() {
        let mut watch = BpfWatch::new(own(), PathBuf::from("/nonexistent"));
        let t0 = Instant::now();
        let call = BpfCall::decode(&record(1, cmd::PROG_GET_FD_BY_ID, 41, 0)).expect("ok");
        assert!(watch.check(&call, t0).is_some());
        assert!(watch.check(&call, t0 + Duration::from_secs(1)).is_none());
        assert!(watch.check(&call, t0 + REPEAT_WINDOW).is_some());
    }

    #[test]
    fn fds_resolve_through_the_callers_fdinfo() {
        let root = std::env::temp_dir().join(format!("protect-fdinfo-{}", std::process::id()));
        let fdinfo = root.join("55/fdinfo");
        std::fs::create_dir_all(&fdinfo).expect("dir");
        std::fs::write(fdinfo.join("4"), "map_type:\t1\nmap_id:\t7\n").expect("write");
        std::fs::write(
            fdinfo.join("6"),
            "link_type:\tperf\nlink_id:\t3\nprog_id:\t41\n",
        )
        .expect("write");
        let mut watch = BpfWatch::new(own(), root.clone());
        let now = Instant::now();
        let call =
            |c, first, second| BpfCall::decode(&record(55, c, first, second)).expect("decodes");
        assert_eq!(
            watch.check(&call(cmd::MAP_DELETE_ELEM, 4, 0), now),
            Some(Object::Map(7))
        );
        assert_eq!(
            watch.check(&call(cmd::MAP_DELETE_BATCH, 0, 4), now),
            Some(Object::Map(7))
        );
        // fd -1 (another sensor's liveness canary) is never looked up, whatever is there.
        std::fs::write(fdinfo.join("4294967295"), "map_type:\t1\nmap_id:\t7\n").expect("write");
        assert_eq!(watch.check(&call(cmd::MAP_FREEZE, u32::MAX, 0), now), None);
        assert!(matches!(
            watch.check(&call(cmd::LINK_DETACH, 6, 0), now),
            Some(Object::Link { id: 3, .. })
        ));
        let change = call(cmd::LINK_UPDATE, 6, 0);
        assert!(!change.is_handle());
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
