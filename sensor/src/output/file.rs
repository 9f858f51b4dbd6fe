//! A file of JSON lines with size-based rotation.
//!
//! Before a line would take the file past `max_bytes`, the file is rotated: `PATH.N-1` becomes
//! `PATH.N` (the oldest, `PATH.keep`, is deleted), ..., `PATH` becomes `PATH.1`, and a fresh
//! `PATH` is opened. So at most `keep` rotated files exist beside the live one, and every line
//! is whole in exactly one file. A single line larger than `max_bytes` still gets written, into
//! a file of its own. `max_bytes = 0` disables rotation.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
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
pub struct FileSink {
    path: PathBuf,
    rotation: Rotation,
    out: BufWriter<File>,
    size: u64,
}

impl FileSink {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path, rotation: Rotation) -> Result<FileSink, OutputError> {
        let file = open_append(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(FileSink {
            path: path.to_owned(),
            rotation,
            out: BufWriter::with_capacity(64 * 1024, file),
            size,
        })
    }

    fn rotate(&mut self) -> Result<(), OutputError> {
        self.out
            .flush()
            .map_err(|e| OutputError::io(format!("flushing {}", self.path.display()), e))?;
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
        self.out = BufWriter::with_capacity(64 * 1024, open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), OutputError> {
        let len = u64::try_from(line.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let max = self.rotation.max_bytes;
        if max > 0 && self.size > 0 && self.size.saturating_add(len) > max {
            self.rotate()?;
        }
        self.out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| OutputError::io(format!("writing {}", self.path.display()), e))?;
        self.size = self.size.saturating_add(len);
        Ok(())
    }
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
        for (written, doc) in docs.iter().enumerate() {
            if let Err(error) = self.write_line(&doc.json) {
                return Err(SinkFailure {
                    written,
                    reason: "write_error",
                    error,
                });
            }
        }
        self.flush(Instant::now()).map_err(|error| SinkFailure {
            written: docs.len(),
            reason: "write_error",
            error,
        })?;
        Ok(0)
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), OutputError> {
        self.out
            .flush()
            .map_err(|e| OutputError::io(format!("flushing {}", self.path.display()), e))
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

    #[test]
    fn rotation_keeps_n_files_with_whole_lines() {
        let dir = crate::output::spool::tests::temp_dir("rotate");
        let path = dir.join("events.json");
        let mut sink = FileSink::open(
            &path,
            Rotation {
                max_bytes: 30,
                keep: 2,
            },
        )
        .unwrap();
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
        let mut sink = FileSink::open(
            &path,
            Rotation {
                max_bytes: 30,
                keep: 2,
            },
        )
        .unwrap();
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
}
