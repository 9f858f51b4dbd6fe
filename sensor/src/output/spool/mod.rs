//! A bounded on-disk queue of JSON lines: what a webhook has not yet confirmed.
//!
//! Layout of a spool directory:
//! - `NNNNNNNNNNNNNNNNNNNN.seg` (20-digit sequence number): append-only segment files, one
//!   document per line. A new segment starts when the current one reaches the segment size, and
//!   at every start (so a line torn by a crash is never appended to).
//! - `committed`: `SEQ OFFSET\n`, the position just after the last document the receiver
//!   confirmed with a 2xx, replaced atomically (write, fsync, rename) on every commit.
//!
//! Reading starts at the committed position; a confirmed batch moves it forward and deletes
//! segments that are fully delivered. When appending would exceed the bound, the policy says
//! what goes: [`Full::DropOldest`] deletes the oldest segment (events), [`Full::RejectNew`]
//! refuses the new document (alerts: nothing already spooled is ever dropped).

mod segment;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
pub(crate) mod tests;

use std::collections::VecDeque;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::OutputError;
use segment::{Segment, count_lines_from, read_lines, seg_path};

/// What to do when the spool is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// Delete the oldest segment, counting its undelivered documents as dropped.
    DropOldest,
    /// Keep everything spooled and refuse the new document.
    RejectNew,
}

/// Spool settings.
#[derive(Debug, Clone, Copy)]
pub struct SpoolConfig {
    /// Most bytes of segment files kept on disk.
    pub max_bytes: u64,
    /// Size at which a new segment is started.
    pub segment_bytes: u64,
    /// What goes when full.
    pub full: Full,
    /// `fsync` the segment after every appended batch (survives a host crash, not just a
    /// process crash).
    pub sync: bool,
}

/// A read position: segment sequence number and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// Segment sequence number.
    pub seq: u64,
    /// Byte offset within the segment.
    pub offset: u64,
}

/// Documents read from the spool, not yet confirmed.
#[derive(Debug, Default)]
pub struct Batch {
    /// The documents, in spool order, without newlines.
    pub lines: Vec<Bytes>,
    /// Where reading continues once this batch is confirmed.
    pub end: Option<Position>,
}

/// The outcome of [`Spool::append`].
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Appended {
    /// Undelivered documents deleted to make room ([`Full::DropOldest`]).
    pub evicted: u64,
    /// The new document was refused: the spool is full under [`Full::RejectNew`].
    pub rejected: bool,
    /// The new document was refused: it is larger than the whole spool.
    pub too_large: bool,
}

/// An open spool directory.
pub struct Spool {
    dir: PathBuf,
    config: SpoolConfig,
    segments: VecDeque<Segment>,
    writer: Option<(u64, std::io::BufWriter<fs::File>)>,
    read: Position,
    next_seq: u64,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, resuming at its committed position.
    pub fn open(dir: &Path, config: SpoolConfig) -> Result<Spool, OutputError> {
        let err = |reason: String| OutputError::Spool {
            path: dir.display().to_string(),
            reason,
        };
        fs::create_dir_all(dir).map_err(|e| err(format!("creating: {e}")))?;
        let read = read_committed(dir);
        let mut seqs: Vec<u64> = fs::read_dir(dir)
            .map_err(|e| err(format!("listing: {e}")))?
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| segment::parse_name(&entry.file_name()))
            .collect();
        seqs.sort_unstable();
        let mut segments = VecDeque::new();
        for seq in seqs {
            let path = seg_path(dir, seq);
            if seq < read.seq {
                let _ = fs::remove_file(&path);
                continue;
            }
            segments.push_back(Segment::recover(&path, seq).map_err(|e| err(e.to_string()))?);
        }
        let next_seq = segments
            .back()
            .map_or(read.seq, |s| s.seq + 1)
            .max(read.seq);
        let mut spool = Spool {
            dir: dir.to_owned(),
            config,
            segments,
            writer: None,
            read,
            next_seq,
        };
        spool.normalise_read();
        Ok(spool)
    }

    /// Bytes of undelivered documents on disk.
    pub fn pending_bytes(&self) -> u64 {
        let total: u64 = self.segments.iter().map(|s| s.len).sum();
        let first_read = self
            .segments
            .front()
            .filter(|s| s.seq == self.read.seq)
            .map_or(0, |_| self.read.offset);
        total.saturating_sub(first_read)
    }

    /// The configured bound in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.config.max_bytes
    }

    /// True when every spooled document has been confirmed.
    pub fn is_empty(&self) -> bool {
        self.pending_bytes() == 0
    }

    /// Appends one document (a JSON line without its newline).
    pub fn append(&mut self, line: &[u8]) -> Result<Appended, OutputError> {
        let need = u64::try_from(line.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let mut outcome = Appended::default();
        if need > self.config.max_bytes {
            outcome.too_large = true;
            return Ok(outcome);
        }
        while self.disk_bytes().saturating_add(need) > self.config.max_bytes {
            if self.config.full == Full::RejectNew {
                outcome.rejected = true;
                return Ok(outcome);
            }
            match self.evict_oldest()? {
                Some(n) => outcome.evicted += n,
                None => break,
            }
        }
        let rolled = self.writer.as_ref().is_none_or(|(seq, _)| {
            self.segments
                .back()
                .is_none_or(|s| s.seq != *seq || s.len >= self.config.segment_bytes)
        });
        if rolled {
            self.start_segment()?;
        }
        let (seq, out) = match &mut self.writer {
            Some((seq, out)) => (*seq, out),
            None => return Err(self.error("no open segment")),
        };
        out.write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| {
                OutputError::io(
                    format!("appending to {}", seg_path(&self.dir, seq).display()),
                    e,
                )
            })?;
        if let Some(seg) = self.segments.back_mut() {
            seg.len += need;
        }
        Ok(outcome)
    }

    /// Pushes appended documents to the file (and to the disk when configured to sync).
    pub fn flush(&mut self) -> Result<(), OutputError> {
        if let Some((seq, out)) = &mut self.writer {
            let path = seg_path(&self.dir, *seq);
            out.flush()
                .map_err(|e| OutputError::io(format!("flushing {}", path.display()), e))?;
            if self.config.sync {
                out.get_ref()
                    .sync_data()
                    .map_err(|e| OutputError::io(format!("syncing {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    /// Reads up to `max_docs` documents (and about `max_bytes`, at least one document) from the
    /// committed position, without moving it.
    pub fn peek(&mut self, max_docs: usize, max_bytes: usize) -> Result<Batch, OutputError> {
        self.flush()?;
        let mut batch = Batch::default();
        let mut pos = self.read;
        let mut bytes = 0usize;
        for seg in &self.segments {
            if seg.seq < pos.seq {
                continue;
            }
            let start = if seg.seq == pos.seq { pos.offset } else { 0 };
            let want = max_docs.saturating_sub(batch.lines.len());
            let budget = max_bytes.saturating_sub(bytes);
            if want == 0 || (budget == 0 && !batch.lines.is_empty()) {
                break;
            }
            let path = seg_path(&self.dir, seg.seq);
            let (lines, end) = read_lines(&path, start, want, budget.max(1))
                .map_err(|e| OutputError::io(format!("reading {}", path.display()), e))?;
            bytes += lines.iter().map(|l| l.len() + 1).sum::<usize>();
            batch.lines.extend(lines);
            pos = Position {
                seq: seg.seq,
                offset: end,
            };
            if end < seg.len {
                break;
            }
        }
        if !batch.lines.is_empty() {
            batch.end = Some(pos);
        }
        Ok(batch)
    }

    /// Marks everything before `end` as delivered, persists it, and deletes finished segments.
    pub fn commit(&mut self, end: Position) -> Result<(), OutputError> {
        if end <= self.read {
            return Ok(());
        }
        self.read = end;
        self.normalise_read();
        let tmp = self.dir.join("committed.tmp");
        let text = format!("{} {}\n", self.read.seq, self.read.offset);
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()?;
            fs::rename(&tmp, self.dir.join("committed"))
        };
        write().map_err(|e| OutputError::io(format!("committing in {}", self.dir.display()), e))
    }

    /// Moves the read position past finished segments, deleting them (never the one being
    /// written).
    fn normalise_read(&mut self) {
        while let Some(first) = self.segments.front() {
            let writing = self
                .writer
                .as_ref()
                .is_some_and(|(seq, _)| *seq == first.seq);
            let done = first.seq < self.read.seq
                || (first.seq == self.read.seq && self.read.offset >= first.len);
            if !done || writing {
                break;
            }
            let _ = fs::remove_file(seg_path(&self.dir, first.seq));
            self.segments.pop_front();
        }
        if let Some(first) = self.segments.front()
            && self.read.seq < first.seq
        {
            self.read = Position {
                seq: first.seq,
                offset: 0,
            };
        }
    }

    fn disk_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// Deletes the oldest segment; returns how many undelivered documents it held, or `None`
    /// when there is nothing to delete.
    fn evict_oldest(&mut self) -> Result<Option<u64>, OutputError> {
        let Some(first) = self.segments.pop_front() else {
            return Ok(None);
        };
        let path = seg_path(&self.dir, first.seq);
        let from = if first.seq == self.read.seq {
            self.read.offset
        } else {
            0
        };
        let lost = count_lines_from(&path, from).unwrap_or(0);
        if self
            .writer
            .as_ref()
            .is_some_and(|(seq, _)| *seq == first.seq)
        {
            self.writer = None;
        }
        fs::remove_file(&path)
            .map_err(|e| OutputError::io(format!("deleting {}", path.display()), e))?;
        self.read = Position {
            seq: self.segments.front().map_or(self.next_seq, |s| s.seq),
            offset: 0,
        };
        Ok(Some(lost))
    }

    fn start_segment(&mut self) -> Result<(), OutputError> {
        self.flush()?;
        let seq = self.next_seq;
        let path = seg_path(&self.dir, seq);
        let file = fs::File::options()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| OutputError::io(format!("creating {}", path.display()), e))?;
        self.next_seq += 1;
        self.segments.push_back(Segment { seq, len: 0 });
        self.writer = Some((seq, std::io::BufWriter::with_capacity(64 * 1024, file)));
        if self.segments.len() == 1 {
            self.read = Position { seq, offset: 0 };
        }
        Ok(())
    }

    fn error(&self, reason: &str) -> OutputError {
        OutputError::Spool {
            path: self.dir.display().to_string(),
            reason: reason.to_owned(),
        }
    }
}

/// The committed position, or the very start when there is none (or it is unreadable).
fn read_committed(dir: &Path) -> Position {
    let text = fs::read_to_string(dir.join("committed")).unwrap_or_default();
    let mut parts = text.split_whitespace().map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(seq)), Some(Ok(offset))) => Position { seq, offset },
        _ => Position { seq: 0, offset: 0 },
    }
}
