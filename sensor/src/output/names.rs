//! Symbolic names for numbers the kernel reports: errno values, open flags, fd kinds.

use crate::event::FdKind;

/// The symbolic name of a (positive) errno, for the common ones; `None` for others.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        6 => "ENXIO",
        7 => "E2BIG",
        8 => "ENOEXEC",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        17 => "EEXIST",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        24 => "EMFILE",
        26 => "ETXTBSY",
        30 => "EROFS",
        36 => "ENAMETOOLONG",
        40 => "ELOOP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        101 => "ENETUNREACH",
        104 => "ECONNRESET",
        106 => "EISCONN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        114 => "EALREADY",
        115 => "EINPROGRESS",
        _ => return None,
    })
}

/// `O_*` flag bits (x86-64/generic values), in the order they are listed.
const OPEN_FLAGS: [(u32, &str); 16] = [
    // O_SYNC includes the O_DSYNC bit, so it is matched first.
    (0o4010000, "O_SYNC"),
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];
const O_TMPFILE: u32 = 0o20000000;

/// The access mode of open flags: `read`, `write` or `read_write`.
pub fn open_access(flags: u32) -> &'static str {
    match flags & 0o3 {
        0 => "read",
        1 => "write",
        _ => "read_write",
    }
}

/// Open flags as names (`O_RDONLY`, `O_CREAT`, ...); unknown bits as one hex entry.
pub fn open_flags(flags: u32) -> Vec<String> {
    let mut names = vec![
        match flags & 0o3 {
            0 => "O_RDONLY",
            1 => "O_WRONLY",
            2 => "O_RDWR",
            _ => "O_ACCMODE",
        }
        .to_owned(),
    ];
    let mut rest = flags & !0o3;
    if rest & O_TMPFILE != 0 {
        names.push("O_TMPFILE".into());
        rest &= !(O_TMPFILE | 0o200000);
    }
    for (bit, name) in OPEN_FLAGS {
        if rest & bit == bit {
            names.push(name.into());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names
}

/// The name of what a standard fd refers to, as in `sensor.stdio`.
pub fn fd_kind(kind: FdKind) -> &'static str {
    match kind {
        FdKind::Unknown => "unknown",
        FdKind::Socket => "socket",
        FdKind::UnixSocket => "unix_socket",
        FdKind::Pipe => "pipe",
        FdKind::Tty => "tty",
        FdKind::File => "file",
        FdKind::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_open_flags() {
        assert_eq!(open_flags(0), vec!["O_RDONLY"]);
        assert_eq!(
            open_flags(0o1101 | 0o2000000),
            vec!["O_WRONLY", "O_CREAT", "O_TRUNC", "O_CLOEXEC"]
        );
        assert_eq!(open_flags(0o4010002), vec!["O_RDWR", "O_SYNC"]);
        assert_eq!(open_flags(0o20200002), vec!["O_RDWR", "O_TMPFILE"]);
        assert_eq!(open_flags(1 << 30), vec!["O_RDONLY", "0x40000000"]);
        assert_eq!(open_access(0o102), "read_write");
    }

    #[test]
    fn names_errnos() {
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_name(111), Some("ECONNREFUSED"));
        assert_eq!(errno_name(4242), None);
    }
}
