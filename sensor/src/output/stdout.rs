//! Standard output: one JSON document per line, flushed per batch.

use std::io::{self, BufWriter, Write};
use std::time::Instant;

use super::{Doc, OutputError, Sink, SinkFailure};

/// Writes documents as lines to stdout.
pub struct StdoutSink {
    out: BufWriter<io::Stdout>,
}

impl StdoutSink {
    /// A sink on this process' stdout.
    pub fn new() -> StdoutSink {
        StdoutSink {
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
        }
    }
}

impl Default for StdoutSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for StdoutSink {
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure> {
        for (written, doc) in docs.iter().enumerate() {
            let line = self
                .out
                .write_all(&doc.json)
                .and_then(|()| self.out.write_all(b"\n"));
            if let Err(err) = line {
                return Err(SinkFailure {
                    written,
                    reason: "write_error",
                    error: OutputError::io("writing to stdout", err),
                });
            }
        }
        self.out.flush().map_err(|err| SinkFailure {
            written: docs.len(),
            reason: "write_error",
            error: OutputError::io("flushing stdout", err),
        })?;
        Ok(0)
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), OutputError> {
        self.out
            .flush()
            .map_err(|err| OutputError::io("flushing stdout", err))
    }
}
