//! Segment files: naming, recovery after a crash, and reading whole lines.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// One segment file.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) seq: u64,
    pub(super) len: u64,
}

impl Segment {
    /// Opens an existing segment after a restart, cutting a torn last line (a crash while it
    /// was appended), so only whole documents are ever read.
    pub(super) fn recover(path: &Path, seq: u64) -> io::Result<Segment> {
        let data = fs::read(path)?;
        let whole = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole < data.len() {
            File::options()
                .write(true)
                .open(path)?
                .set_len(whole as u64)?;
        }
        Ok(Segment {
            seq,
            len: whole as u64,
        })
    }
}

/// The file of segment `seq`.
pub(super) fn seg_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.seg"))
}

/// The sequence number of a segment file name.
pub(super) fn parse_name(name: &OsStr) -> Option<u64> {
    let name = name.to_str()?;
    let digits = name.strip_suffix(".seg")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

/// Reads whole lines from `offset`: at most `max_docs`, stopping once `max_bytes` are read (at
/// least one line). Returns the lines and the offset after the last one.
pub(super) fn read_lines(
    path: &Path,
    offset: u64,
    max_docs: usize,
    max_bytes: usize,
) -> io::Result<(Vec<Bytes>, u64)> {
    let mut file = BufReader::with_capacity(64 * 1024, File::open(path)?);
    file.seek(SeekFrom::Start(offset))?;
    let mut lines = Vec::new();
    let mut pos = offset;
    let mut bytes = 0usize;
    while lines.len() < max_docs && (bytes < max_bytes || lines.is_empty()) {
        let mut line = Vec::new();
        let n = file.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        line.pop();
        pos += n as u64;
        bytes += n;
        lines.push(Bytes::from(line));
    }
    Ok((lines, pos))
}

/// Counts the lines of `path` from `offset` (the documents lost when it is deleted).
pub(super) fn count_lines_from(path: &Path, offset: u64) -> io::Result<u64> {
    let data = fs::read(path)?;
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    Ok(data.get(start..).map_or(0, |tail| {
        tail.iter().filter(|b| **b == b'\n').count() as u64
    }))
}
