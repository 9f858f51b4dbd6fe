//! Making relative paths absolute from /proc, after decoding.
//!
//! The kernel hands over a path as the program passed it, plus the directory fd it is relative
//! to. Resolving it reads `/proc/PID/task/TID/cwd` or `/proc/PID/fd/DIRFD` when the event is
//! processed, which is racy: if the process has exited, changed directory or closed the fd in
//! the meantime (milliseconds), the path stays relative (or is resolved against the new
//! directory) and `path_resolved` says false in the former case. Absolute paths need no lookup.

use std::os::unix::ffi::OsStrExt as _;

use sensor_common::AT_FDCWD;

use crate::event::{ExecEvent, Header, OpenEvent};

/// Resolves `open.path` against the opener's working directory or dirfd when it is relative.
pub fn open_path(header: &Header, open: &mut OpenEvent) {
    if open.path_resolved || open.path.is_empty() {
        return;
    }
    let base = if open.dfd == AT_FDCWD {
        cwd(header.pid, header.tid)
    } else if open.dfd >= 0 {
        readlink(&format!("/proc/{}/fd/{}", header.pid, open.dfd))
    } else {
        None
    };
    if let Some(base) = base {
        open.path = join(&base, &open.path);
        open.path_resolved = true;
    }
}

/// Fills the working directory of a successful exec, and makes a relative failed-exec filename
/// absolute.
pub fn exec(header: &Header, exec: &mut ExecEvent) {
    // The kernel resolved it at exec (successful execs): nothing to look up.
    if exec.cwd.is_some() {
        return;
    }
    let dir = cwd(header.pid, header.tid);
    if exec.result != 0
        && exec.executable.first() != Some(&b'/')
        && !exec.executable.is_empty()
        && let Some(dir) = &dir
    {
        exec.executable = join(dir, &exec.executable);
    }
    exec.cwd = dir;
}

fn cwd(pid: u32, tid: u32) -> Option<Vec<u8>> {
    if tid == pid || tid == 0 {
        // The thread-group leader's directory: one lookup (after a successful exec the caller
        // is always the leader, and short-lived programs are often gone by now, which made
        // the second, identical lookup a wasted syscall).
        return readlink(&format!("/proc/{pid}/cwd"));
    }
    readlink(&format!("/proc/{pid}/task/{tid}/cwd"))
        .or_else(|| readlink(&format!("/proc/{pid}/cwd")))
}

fn readlink(path: &str) -> Option<Vec<u8>> {
    let target = std::fs::read_link(path).ok()?;
    let bytes = target.as_os_str().as_bytes();
    // The kernel marks unreachable or deleted directories; they are not usable bases.
    if bytes.first() != Some(&b'/') || bytes.ends_with(b" (deleted)") {
        return None;
    }
    Some(bytes.to_vec())
}

/// `base/rel`, dropping `.` components of `rel` (`..` is kept: it may cross a symlink).
pub fn join(base: &[u8], rel: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for part in rel.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." {
            continue;
        }
        if out.last() != Some(&b'/') {
            out.push(b'/');
        }
        out.extend_from_slice(part);
    }
    if rel.ends_with(b"/") && out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_paths() {
        assert_eq!(join(b"/tmp/d", b"f"), b"/tmp/d/f");
        assert_eq!(join(b"/", b"./a/./b"), b"/a/b");
        assert_eq!(join(b"/x", b"../y"), b"/x/../y");
        assert_eq!(join(b"/x/", b"y/"), b"/x/y/");
    }

    #[test]
    fn resolves_against_our_own_cwd() {
        let header = Header {
            pid: std::process::id(),
            tid: std::process::id(),
            ..Header::default()
        };
        let mut open = OpenEvent {
            path: b"some-file".to_vec(),
            dfd: AT_FDCWD,
            ..OpenEvent::default()
        };
        open_path(&header, &mut open);
        let cwd = std::env::current_dir().expect("cwd");
        assert!(open.path_resolved);
        assert_eq!(open.path, join(cwd.as_os_str().as_bytes(), b"some-file"));
    }
}
