//! A file of JSON lines with size-based rotation.
//!
//! Before a line would take the file past `max_bytes`, the file is rotated: `PATH.N-1` becomes
//! `PATH.N` (the oldest, `PATH.keep`, is deleted), ..., `PATH` becomes `PATH.1`, and a fresh
//! `PATH` is opened. So at most `keep` rotated files exist beside the live one, and every line
//! is whole in exactly one file. A single line larger than `max_bytes` still gets written, into
//! a file of its own. `max_bytes = 0` disables rotation.
//!
//! Only regular files are rotated. A character device, FIFO or socket (`/dev/null`,
//! `/dev/stdout`, a named pipe read by a shipper) is written as it is: renaming `/dev/null` to
//! `/dev/null.1` and creating a regular file in its place would break every program on the host.

use std::fs::{self, File};
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Doc, OutputError, Sink, SinkFailure};

/// Rotation settings of a file sink.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    /// Rotate before the live file would exceed this many bytes (0: never rotate).
    pub max_bytes: u64,
    /// Rotated files kept (`PATH.1` .. `PATH.keep`); 0 truncates instead of keeping any.
    pub keep: u32,
}

/// Appends lines to a file and rotates it.
///
/// Each batch (or each part of it between rotations) is written with one `writev` call per
/// [`LINES_PER_WRITE`] lines on an `O_APPEND` file, so lines are never torn even when another
/// writer appends to the same file. The lines are handed to the kernel where they are, not
/// copied into a buffer first: that copy was a twentieth of the daemon's time at high exec
/// rates.
pub struct FileSink {
    path: PathBuf,
    rotation: Rotation,
    file: File,
    size: u64,
}

/// Lines per `writev`: two slices each (the line and its newline) within the kernel's limit of
/// 1024.
const LINES_PER_WRITE: usize = 512;

impl FileSink {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path, rotation: Rotation) -> Result<FileSink, OutputError> {
        let file = open_append(path)?;
        let metadata = file
            .metadata()
            .map_err(|e| OutputError::io(format!("inspecting {}", path.display()), e))?;
        let rotation = if metadata.is_file() {
            rotation
        } else {
            Rotation {
                max_bytes: 0,
                ..rotation
            }
        };
        let size = metadata.len();
        Ok(FileSink {
            path: path.to_owned(),
            rotation,
            file,
            size,
        })
    }

    fn rotate(&mut self) -> Result<(), OutputError> {
        let keep = self.rotation.keep;
        if keep == 0 {
            let _ = fs::remove_file(&self.path);
        } else {
            let _ = fs::remove_file(numbered(&self.path, keep));
            for n in (1..keep).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, n + 1))
                        .map_err(|e| OutputError::io(format!("rotating {}", from.display()), e))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))
                .map_err(|e| OutputError::io(format!("rotating {}", self.path.display()), e))?;
        }
        self.file = open_append(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// Writes `docs` as lines, [`LINES_PER_WRITE`] per call.
    fn write_lines(&mut self, docs: &[Doc]) -> Result<(), OutputError> {
        let mut slices = Vec::with_capacity(2 * docs.len().min(LINES_PER_WRITE));
        for group in docs.chunks(LINES_PER_WRITE) {
            slices.clear();
            for doc in group {
                slices.push(IoSlice::new(&doc.json));
                slices.push(IoSlice::new(b"\n"));
            }
            write_all_vectored(&mut self.file, &mut slices)
                .map_err(|e| OutputError::io(format!("writing {}", self.path.display()), e))?;
        }
        Ok(())
    }
}

/// Writes every byte of `slices`, continuing after a short write (`Write::write_all_vectored`
/// is not stable yet).
fn write_all_vectored(file: &mut File, mut slices: &mut [IoSlice<'_>]) -> std::io::Result<()> {
    IoSlice::advance_slices(&mut slices, 0);
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn open_append(path: &Path) -> Result<File, OutputError> {
    File::options()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| OutputError::io(format!("opening {}", path.display()), e))
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl Sink for FileSink {
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure> {
        // Lines from `pending` on are not written yet.
        let mut pending = 0;
        for (i, doc) in docs.iter().enumerate() {
            let len = u64::try_from(doc.json.len())
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let max = self.rotation.max_bytes;
            if max > 0 && self.size > 0 && self.size.saturating_add(len) > max {
                let rotated = self
                    .write_lines(&docs[pending..i])
                    .and_then(|()| self.rotate());
                if let Err(error) = rotated {
                    return Err(SinkFailure {
                        written: pending,
                        reason: "write_error",
                        error,
                    });
                }
                pending = i;
            }
            self.size = self.size.saturating_add(len);
        }
        self.write_lines(&docs[pending..])
            .map_err(|error| SinkFailure {
                written: pending,
                reason: "write_error",
                error,
            })?;
        Ok(0)
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), OutputError> {
        // Nothing is buffered here: every batch reached the kernel before write_batch returned.
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use crate::output::Stream;
    use bytes::Bytes;

    fn doc(i: usize) -> Doc {
        // 9 bytes + newline = 10 bytes per line.
        Doc {
            stream: Stream::Events,
            priority: 0,
            json: Bytes::from(format!("{{\"n\":{i:03}}}")),
        }
    }

    /// A sink that rotates every 3 lines of [`doc`] and keeps 2 files.
    fn small_rotating(path: &Path) -> FileSink {
        FileSink::open(
            path,
            Rotation {
                max_bytes: 30,
                keep: 2,
            },
        )
        .unwrap()
    }

    #[test]
    fn rotation_keeps_n_files_with_whole_lines() {
        let dir = crate::output::spool::tests::temp_dir("rotate");
        let path = dir.join("events.json");
        let mut sink = small_rotating(&path);
        let docs: Vec<Doc> = (0..10).map(doc).collect();
        sink.write_batch(&docs).unwrap();
        let read = |p: PathBuf| fs::read_to_string(p).unwrap();
        // 10 lines of 10 bytes, 3 per file: 000-002, 003-005, 006-008 rotated out, 009 live.
        assert_eq!(read(path.clone()), "{\"n\":009}\n");
        assert_eq!(
            read(numbered(&path, 1)),
            "{\"n\":006}\n{\"n\":007}\n{\"n\":008}\n"
        );
        assert_eq!(
            read(numbered(&path, 2)),
            "{\"n\":003}\n{\"n\":004}\n{\"n\":005}\n"
        );
        assert!(!numbered(&path, 3).exists());
        // Reopening continues from the live file's size.
        drop(sink);
        let mut sink = small_rotating(&path);
        sink.write_batch(&[doc(10), doc(11), doc(12)]).unwrap();
        assert_eq!(read(path.clone()), "{\"n\":012}\n");
        assert_eq!(
            read(numbered(&path, 1)),
            "{\"n\":009}\n{\"n\":010}\n{\"n\":011}\n"
        );
        assert_eq!(
            read(numbered(&path, 2)),
            "{\"n\":006}\n{\"n\":007}\n{\"n\":008}\n"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn zero_max_never_rotates() {
        let dir = crate::output::spool::tests::temp_dir("norotate");
        let path = dir.join("e.json");
        let mut sink = FileSink::open(
            &path,
            Rotation {
                max_bytes: 0,
                keep: 2,
            },
        )
        .unwrap();
        sink.write_batch(&(0..50).map(doc).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(fs::read(&path).unwrap().len(), 500);
        assert!(!numbered(&path, 1).exists());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_fifo_is_never_rotated() {
        use std::os::unix::ffi::OsStrExt as _;
        use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
        let dir = crate::output::spool::tests::temp_dir("fifo");
        let path = dir.join("events.fifo");
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // A reader must exist before a writer can open a FIFO without blocking.
        let _reader = File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let mut sink = small_rotating(&path);
        sink.write_batch(&(0..10).map(doc).collect::<Vec<_>>())
            .unwrap();
        assert!(fs::metadata(&path).unwrap().file_type().is_fifo());
        assert!(!numbered(&path, 1).exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
