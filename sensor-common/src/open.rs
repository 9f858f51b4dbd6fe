//! File open records.

use crate::EventHeader;

/// Bytes of an opened path captured (as the program passed it, NUL included).
pub const OPEN_PATH_CAP: usize = 512;

/// Set in [`OpenArgs::flags2`] when the path did not fit in [`OPEN_PATH_CAP`].
pub const OPEN_PATH_TRUNCATED: u32 = 1 << 0;
/// Set in [`OpenArgs::flags2`] for `creat()` (whose flags are implied).
pub const OPEN_VIA_CREAT: u32 = 1 << 1;
/// Set in [`OpenArgs::flags2`] for `openat2()`.
pub const OPEN_VIA_OPENAT2: u32 = 1 << 2;
/// Set in [`OpenArgs::flags2`] when the kernel made a relative path absolute: `path` is then
/// the directory (its first [`OpenArgs::dir_len`] bytes), a `/`, and the path as passed.
pub const OPEN_DIR_RESOLVED: u32 = 1 << 3;

/// Longest directory path (dirfd or working directory) the kernel resolves, in bytes.
pub const OPEN_DIR_CAP: usize = 256;

/// `dfd` value for "relative to the working directory" (`AT_FDCWD`), also used for `open()`.
pub const AT_FDCWD: i32 = -100;

/// An open's arguments, read at syscall entry and staged per thread until it returns.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenArgs {
    /// The fd on success, otherwise the negative errno (filled at exit).
    pub result: i32,
    /// The directory fd the path is relative to ([`AT_FDCWD`] for the working directory).
    pub dfd: i32,
    /// `O_*` flags as passed (for `creat`: `O_CREAT|O_WRONLY|O_TRUNC`).
    pub flags: u32,
    /// Mode for creates.
    pub mode: u32,
    /// Bytes used in `path`, without the NUL.
    pub path_len: u32,
    /// `OPEN_*` bits.
    pub flags2: u32,
    /// Identical opens suppressed since the previous reported one (filled at exit).
    pub collapsed: u32,
    /// With [`OPEN_DIR_RESOLVED`]: bytes of `path` that are the directory (0 for `/`).
    pub dir_len: u32,
    /// The path as passed (or resolved, see [`OPEN_DIR_RESOLVED`]), NUL-terminated.
    pub path: [u8; OPEN_PATH_CAP],
}

/// One open, emitted at `sys_exit_open*`/`sys_exit_creat`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenRecord {
    /// Common header; `kind` is [`crate::EventKind::Open`].
    pub header: EventHeader,
    /// The staged arguments and the result.
    pub args: OpenArgs,
}

const _: () = assert!(core::mem::size_of::<OpenArgs>() == 32 + OPEN_PATH_CAP);
const _: () = assert!(core::mem::size_of::<OpenRecord>() == 56 + 32 + OPEN_PATH_CAP);
