//! Building process records: from `/proc`, from an event header alone, at fork (a copy of the
//! parent) and at exec (the new image over the old record).

use std::sync::Arc;

use super::Enricher;
use crate::context::model::ProcessInfo;
use crate::context::proc_seed::Snapshot;
use crate::context::process_table::entity_id;
use crate::event::{ExecEvent, Header};

impl Enricher {
    /// A record from a `/proc` snapshot.
    pub(super) fn snapshot_record(&mut self, s: Snapshot) -> ProcessInfo {
        let start_boot_ns = s.stat.start_ticks.saturating_mul(self.procfs.tick_ns());
        let (uid, euid) = s.uids.unwrap_or_default();
        let (gid, egid) = s.gids.unwrap_or_default();
        let container = s
            .cgroup
            .as_deref()
            .and_then(|content| self.container_for(s.pid, 0, Some(content)));
        let mut info = ProcessInfo {
            pid: s.pid,
            ppid: s.stat.ppid,
            entity_id: entity_id(&self.host_key, s.pid, start_boot_ns, self.procfs.tick_ns()),
            start_unix_ns: self.clock.to_unix_ns(start_boot_ns),
            executable: s.executable.unwrap_or_default(),
            argc: u32::try_from(s.args.len()).unwrap_or(u32::MAX),
            args_truncated: s.args_truncated,
            args: s.args,
            working_directory: s.cwd,
            comm: s.stat.comm,
            uid,
            gid,
            euid,
            egid,
            loginuid: s.loginuid,
            pgid: Some(s.stat.pgid),
            sid: Some(s.stat.sid),
            container,
            ..ProcessInfo::default()
        };
        self.name_users(&mut info);
        info
    }

    /// A record from what the event header says, for a pid `/proc` no longer has. Its start
    /// time is unknown; the event time stands in for it (so the id is unique, not reproducible).
    pub(super) fn header_record(&mut self, h: &Header) -> ProcessInfo {
        let container = if h.cgroup_id == 0 {
            None
        } else {
            self.containers.get(h.cgroup_id).flatten()
        };
        let mut info = ProcessInfo {
            pid: h.pid,
            entity_id: entity_id(&self.host_key, h.pid, h.ktime_ns, self.procfs.tick_ns()),
            start_unix_ns: self.clock.to_unix_ns(h.ktime_ns),
            comm: h.comm.clone(),
            uid: h.uid,
            gid: h.gid,
            euid: h.uid,
            egid: h.gid,
            cgroup_id: if container.is_some() { h.cgroup_id } else { 0 },
            container,
            ..ProcessInfo::default()
        };
        self.name_users(&mut info);
        info
    }

    /// A new process: a copy of its parent (fork duplicates the image, credentials, cwd and
    /// cgroup) with its own identity. Replaces whatever the table had for the pid.
    pub(super) fn forked(
        &mut self,
        h: &Header,
        parent_pid: u32,
        child_pid: u32,
    ) -> Arc<ProcessInfo> {
        self.missing.remove(&child_pid);
        let parent = self.lookup(parent_pid);
        let mut child = match &parent {
            Some(parent) => ProcessInfo::clone(parent),
            None => match self.procfs.snapshot(child_pid) {
                Some(snapshot) => self.snapshot_record(snapshot),
                None => self.header_record(h),
            },
        };
        child.pid = child_pid;
        child.ppid = parent_pid;
        child.entity_id = entity_id(&self.host_key, child_pid, h.ktime_ns, self.procfs.tick_ns());
        child.start_unix_ns = self.clock.to_unix_ns(h.ktime_ns);
        child.exited = false;
        child.end_unix_ns = None;
        child.exit_code = None;
        child.exec_count = 0;
        child.previous_executable = None;
        self.table.insert(Arc::new(child))
    }

    /// The process after an exec: the new image over its record. A failed exec changes
    /// nothing.
    pub(super) fn execed(&mut self, h: &Header, exec: &ExecEvent) -> Arc<ProcessInfo> {
        // Fork and exit events can be lost (ring buffer full) or not captured: a record whose
        // start time is not the one /proc has belongs to an earlier process with this pid.
        // The kernel reports group, session and start time with the exec; /proc is read only
        // when it could not (older kernels without those members).
        let from_kernel = exec.pgid.is_some() && exec.sid.is_some();
        let stat = match self.gone {
            Some(pid) if pid == h.pid => None,
            _ if from_kernel && exec.start_boottime_ns.is_some() => None,
            _ => self.procfs.stat(h.pid),
        };
        let tick = i128::from(self.procfs.tick_ns());
        let started = exec.start_boottime_ns.or_else(|| {
            stat.as_ref()
                .map(|s| s.start_ticks.saturating_mul(self.procfs.tick_ns()))
        });
        let known = self.table.get(h.pid).filter(|p| {
            !p.exited
                && started.is_none_or(|boot| {
                    (p.start_unix_ns - self.clock.to_unix_ns(boot)).abs() <= 2 * tick
                })
        });
        let from_table = known.is_some();
        let base = match known {
            Some(p) => p,
            None => self.fresh(h, h.pid),
        };
        if exec.result != 0 {
            return base;
        }
        // `base` is the table's record of this pid: out of the table, it is usually the only
        // reference, and the new image is written over it without copying the old one.
        drop(self.table.take(h.pid));
        let mut info = Arc::unwrap_or_clone(base);
        if from_table {
            info.exec_count = info.exec_count.saturating_add(1);
            info.previous_executable = Some(std::mem::take(&mut info.executable));
        }
        info.executable.clone_from(&exec.executable);
        if !exec.args_missing || info.args.is_empty() {
            info.args.clone_from(&exec.args);
            info.command_line.clear();
            info.argc = exec.argc;
            info.args_truncated = exec.args_truncated;
        }
        info.comm.clone_from(&h.comm);
        if let Some(cwd) = &exec.cwd {
            info.working_directory = Some(cwd.clone());
        }
        info.stdio = exec.stdio;
        info.uid = h.uid;
        info.gid = h.gid;
        if let Some(ppid) = exec.ppid {
            info.ppid = ppid;
        }
        if exec.loginuid.is_some() {
            info.loginuid = exec.loginuid;
        }
        // Group and session may have changed since fork (setsid, setpgid are not traced): the
        // kernel's values at exec, else one stat read; the effective ids after a setuid exec
        // are only in /proc when the kernel does not report them.
        if let Some(stat) = stat {
            info.ppid = exec.ppid.unwrap_or(stat.ppid);
            info.pgid = Some(stat.pgid);
            info.sid = Some(stat.sid);
        } else if from_kernel {
            info.pgid = exec.pgid;
            info.sid = exec.sid;
        }
        match (exec.euid, exec.egid) {
            (Some(euid), Some(egid)) => (info.euid, info.egid) = (euid, egid),
            _ => {
                let ids = self.procfs.effective_ids(h.pid);
                info.euid = exec.euid.or(ids.map(|i| i.0)).unwrap_or(h.uid);
                info.egid = exec.egid.or(ids.map(|i| i.1)).unwrap_or(h.gid);
            }
        }
        if h.cgroup_id != 0 && h.cgroup_id != info.cgroup_id {
            info.container = self.container_for(h.pid, h.cgroup_id, None);
            info.cgroup_id = h.cgroup_id;
        }
        self.name_users(&mut info);
        self.table.insert(Arc::new(info))
    }

    /// Resolves the user and group names of a record.
    pub(super) fn name_users(&mut self, info: &mut ProcessInfo) {
        self.users.refresh();
        info.user_name = self.users.user(info.uid);
        info.group_name = self.users.group(info.gid);
        info.effective_user_name = (info.euid != info.uid)
            .then(|| self.users.user(info.euid))
            .flatten();
        info.effective_group_name = (info.egid != info.gid)
            .then(|| self.users.group(info.egid))
            .flatten();
    }
}
