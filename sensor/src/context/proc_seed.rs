//! Reading processes from `/proc`: the seed at start (processes that were running before the
//! sensor) and lazy look-ups of pids the event stream has not introduced.
//!
//! Every read is bounded (argv is capped at [`MAX_CMDLINE`] bytes and [`MAX_ARGS`] arguments)
//! and every field is optional: processes exit while they are read, kernel threads have no
//! executable, and hidepid mounts refuse some files.

use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// Most bytes of `/proc/PID/cmdline` read.
pub const MAX_CMDLINE: usize = 32 * 1024;
/// Most arguments kept from `/proc/PID/cmdline`.
pub const MAX_ARGS: usize = 256;

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// Task name (between the first `(` and the last `)`); untrusted bytes.
    pub comm: Vec<u8>,
    /// Parent pid.
    pub ppid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Session id.
    pub sid: u32,
    /// Start time in clock ticks since boot.
    pub start_ticks: u64,
}

/// Everything read about one process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Process id.
    pub pid: u32,
    /// From `stat`.
    pub stat: Stat,
    /// `exe` link target, `" (deleted)"` removed; None for kernel threads.
    pub executable: Option<Vec<u8>>,
    /// The executable had been deleted.
    pub exe_deleted: bool,
    /// `cmdline` split at NULs.
    pub args: Vec<Vec<u8>>,
    /// `cmdline` was longer than [`MAX_CMDLINE`] or had more than [`MAX_ARGS`] arguments.
    pub args_truncated: bool,
    /// `cwd` link target.
    pub cwd: Option<Vec<u8>>,
    /// Real, effective uid.
    pub uids: Option<(u32, u32)>,
    /// Real, effective gid.
    pub gids: Option<(u32, u32)>,
    /// Audit login uid, None when unset.
    pub loginuid: Option<u32>,
    /// `cgroup` file content.
    pub cgroup: Option<String>,
}

/// Where `/proc` is (a different mount when the sensor runs in a container with the host's
/// `/proc` mounted elsewhere).
#[derive(Debug, Clone)]
pub struct Procfs {
    root: PathBuf,
    tick_ns: u64,
}

impl Procfs {
    /// `/proc` at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Procfs {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100);
        Procfs {
            root: root.into(),
            tick_ns: 1_000_000_000 / ticks,
        }
    }

    /// Nanoseconds per clock tick (10 ms at the usual USER_HZ of 100).
    pub fn tick_ns(&self) -> u64 {
        self.tick_ns
    }

    /// The pids of all processes (thread-group leaders), in directory order.
    pub fn pids(&self) -> Vec<u32> {
        let Ok(dir) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        dir.filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// Only `/proc/PID/stat`: the cheap read done to refresh a known process.
    pub fn stat(&self, pid: u32) -> Option<Stat> {
        let bytes = read_small(&self.path(pid, "stat")).ok()?;
        parse_stat(&bytes)
    }

    /// Everything about `pid`, or None when it does not exist (anymore).
    pub fn snapshot(&self, pid: u32) -> Option<Snapshot> {
        let stat = self.stat(pid)?;
        let link = |name| {
            std::fs::read_link(self.path(pid, name))
                .ok()
                .map(|p| p.as_os_str().as_bytes().to_vec())
        };
        let (executable, exe_deleted) = match link("exe") {
            Some(exe) => match exe.strip_suffix(b" (deleted)") {
                Some(stripped) => (Some(stripped.to_vec()), true),
                None => (Some(exe), false),
            },
            None => (None, false),
        };
        let status = read_small_string(&self.path(pid, "status")).unwrap_or_default();
        let (args, args_truncated) = self.cmdline(pid);
        Some(Snapshot {
            pid,
            stat,
            executable,
            exe_deleted,
            args,
            args_truncated,
            cwd: link("cwd"),
            uids: status_ids(&status, "Uid:"),
            gids: status_ids(&status, "Gid:"),
            loginuid: read_small_string(&self.path(pid, "loginuid"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .filter(|&id| id != u32::MAX),
            cgroup: read_small_string(&self.path(pid, "cgroup")).ok(),
        })
    }

    /// The effective uid and gid of a pid (from `status`).
    pub fn effective_ids(&self, pid: u32) -> Option<(u32, u32)> {
        let status = read_small_string(&self.path(pid, "status")).ok()?;
        Some((
            status_ids(&status, "Uid:")?.1,
            status_ids(&status, "Gid:")?.1,
        ))
    }

    /// The cgroup file of a pid.
    pub fn cgroup(&self, pid: u32) -> Option<String> {
        read_small_string(&self.path(pid, "cgroup")).ok()
    }

    fn cmdline(&self, pid: u32) -> (Vec<Vec<u8>>, bool) {
        let mut buf = Vec::with_capacity(PROC_READ_CAPACITY);
        if let Ok(file) = std::fs::File::open(self.path(pid, "cmdline")) {
            // One byte more than kept tells whether there was more.
            let _ = file.take(MAX_CMDLINE as u64 + 1).read_to_end(&mut buf);
        }
        let mut truncated = buf.len() > MAX_CMDLINE;
        buf.truncate(MAX_CMDLINE);
        let buf = buf.strip_suffix(b"\0").unwrap_or(&buf);
        if buf.is_empty() {
            return (Vec::new(), truncated);
        }
        let mut args: Vec<Vec<u8>> = buf
            .split(|&b| b == 0)
            .take(MAX_ARGS + 1)
            .map(<[u8]>::to_vec)
            .collect();
        if args.len() > MAX_ARGS {
            args.truncate(MAX_ARGS);
            truncated = true;
        }
        (args, truncated)
    }

    fn path(&self, pid: u32, file: &str) -> PathBuf {
        self.root.join(pid.to_string()).join(file)
    }

    /// The root this reads from.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Parses `/proc/PID/stat`. The command name may contain spaces and parentheses, so fields
/// resume after the last `)`.
pub fn parse_stat(bytes: &[u8]) -> Option<Stat> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    let comm = bytes.get(open + 1..close)?.to_vec();
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    // After the name: state(3) ppid(4) pgrp(5) session(6) ... starttime(22).
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    let num = |field: usize| fields.get(field - 3)?.parse().ok();
    Some(Stat {
        comm,
        ppid: num(4)?,
        pgid: num(5)?,
        sid: num(6)?,
        start_ticks: fields.get(22 - 3)?.parse().ok()?,
    })
}

/// The real and effective id of a `Uid:`/`Gid:` line of `/proc/PID/status`.
fn status_ids(status: &str, key: &str) -> Option<(u32, u32)> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    let mut ids = line.split_ascii_whitespace().map(str::parse);
    Some((ids.next()?.ok()?, ids.next()?.ok()?))
}

/// Room for a whole `/proc/PID/{stat,status,cgroup}` in one read.
const PROC_READ_CAPACITY: usize = 4096;

/// Reads a small /proc file with one `read` for the usual sizes (and one more to see the end).
/// procfs files report a size of 0, so `std::fs::read` would stat the file and then grow its
/// buffer from 32 bytes, one syscall per doubling: six for a `stat` line, on every exec.
fn read_small(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(PROC_READ_CAPACITY);
    std::fs::File::open(path)?.read_to_end(&mut buf)?;
    Ok(buf)
}

/// [`read_small`] of a text file.
fn read_small_string(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_small(path)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_hostile_comm() {
        let stat = b"4242 (a) b (c)) S 17 4242 17 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0 \
                     123456 4325376 200 18446744073709551615";
        let s = parse_stat(stat).expect("parses");
        assert_eq!(s.comm, b"a) b (c)");
        assert_eq!(
            (s.ppid, s.pgid, s.sid, s.start_ticks),
            (17, 4242, 17, 123_456)
        );
        assert_eq!(parse_stat(b"1 (x) S 0"), None);
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b")("), None);
    }

    #[test]
    fn reads_this_process() {
        let proc = Procfs::new("/proc");
        let me = proc.snapshot(std::process::id()).expect("self");
        assert!(me.executable.is_some());
        assert!(!me.args.is_empty());
        assert!(me.uids.is_some() && me.gids.is_some());
        assert!(me.stat.start_ticks > 0);
        assert!(proc.pids().contains(&std::process::id()));
        assert_eq!(proc.snapshot(u32::MAX), None);
    }

    #[test]
    fn parses_status_ids() {
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
        assert_eq!(status_ids(status, "Uid:"), Some((1000, 0)));
        assert_eq!(status_ids(status, "Gid:"), Some((100, 100)));
        assert_eq!(status_ids("Uid:\tx\n", "Uid:"), None);
    }
}
