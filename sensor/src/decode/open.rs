//! File open records. A relative path comes either resolved by the kernel
//! ([`OPEN_DIR_RESOLVED`]: directory, `/`, path as passed) or as passed, in which case
//! [`super::resolve`] makes it absolute from /proc.

use core::mem::offset_of;

use sensor_common::{
    OPEN_DIR_RESOLVED, OPEN_PATH_CAP, OPEN_PATH_TRUNCATED, OPEN_VIA_CREAT, OPEN_VIA_OPENAT2,
    OpenArgs, OpenRecord,
};

use super::{DecodeError, reader::Reader, resolve::join};
use crate::event::{OpenEvent, OpenSyscall};

pub(super) fn decode(r: &Reader<'_>) -> Result<OpenEvent, DecodeError> {
    let at = |field: usize| offset_of!(OpenRecord, args) + field;
    // The kernel sends only the used bytes of the path: the record ends after them.
    r.require(at(offset_of!(OpenArgs, path)))?;
    let path_len = r.len(at(offset_of!(OpenArgs, path_len)), "path", OPEN_PATH_CAP)?;
    let raw = r.bytes(at(offset_of!(OpenArgs, path)), path_len)?;
    let flags2 = r.u32(at(offset_of!(OpenArgs, flags2)))?;
    let (path, requested_path) =
        split_resolved(raw, flags2, r.u32(at(offset_of!(OpenArgs, dir_len)))?);
    let collapsed = r.u32(at(offset_of!(OpenArgs, collapsed)))?;
    let syscall = if flags2 & OPEN_VIA_CREAT != 0 {
        OpenSyscall::Creat
    } else if flags2 & OPEN_VIA_OPENAT2 != 0 {
        OpenSyscall::OpenAt2
    } else {
        OpenSyscall::OpenAt
    };
    let path_resolved = path.first() == Some(&b'/');
    Ok(OpenEvent {
        requested_path,
        path,
        flags: r.u32(at(offset_of!(OpenArgs, flags)))?,
        mode: r.u32(at(offset_of!(OpenArgs, mode)))?,
        result: r.i32(at(offset_of!(OpenArgs, result)))?,
        path_truncated: flags2 & OPEN_PATH_TRUNCATED != 0,
        count: collapsed.saturating_add(1),
        dfd: r.i32(at(offset_of!(OpenArgs, dfd)))?,
        path_resolved,
        syscall,
    })
}

/// `(path, requested_path)`: with [`OPEN_DIR_RESOLVED`], `raw` is `DIR/REQUESTED` and `path`
/// joins the two (dropping `.` components as the /proc fallback does); otherwise both are `raw`.
/// A `dir_len` that does not fit is treated as unresolved rather than trusted.
fn split_resolved(raw: &[u8], flags2: u32, dir_len: u32) -> (Vec<u8>, Vec<u8>) {
    let dir_len = dir_len as usize;
    if flags2 & OPEN_DIR_RESOLVED != 0
        && raw.first() == Some(&b'/')
        && raw.get(dir_len) == Some(&b'/')
        && let (Some(dir), Some(requested)) = (raw.get(..dir_len), raw.get(dir_len + 1..))
    {
        let base: &[u8] = if dir.is_empty() { b"/" } else { dir };
        return (join(base, requested), requested.to_vec());
    }
    (raw.to_vec(), raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_resolved_paths_are_split_into_absolute_and_requested() {
        let (path, requested) = split_resolved(b"/home/u/.ssh/id_rsa", OPEN_DIR_RESOLVED, 12);
        assert_eq!(path, b"/home/u/.ssh/id_rsa");
        assert_eq!(requested, b"id_rsa");
        let (path, requested) = split_resolved(b"/./etc/passwd", OPEN_DIR_RESOLVED, 0);
        assert_eq!(path, b"/etc/passwd");
        assert_eq!(requested, b"./etc/passwd");
    }

    #[test]
    fn inconsistent_resolution_is_kept_as_passed() {
        for (raw, dir_len) in [(&b"/a/b"[..], 9), (b"/ab", 1), (b"ab/c", 2)] {
            let (path, requested) = split_resolved(raw, OPEN_DIR_RESOLVED, dir_len);
            assert_eq!((path.as_slice(), requested.as_slice()), (raw, raw));
        }
        let (path, _) = split_resolved(b"rel", 0, 0);
        assert_eq!(path, b"rel");
    }
}
