//! Standard output: one JSON document per line.
//!
//! Events and alerts may both go to stdout from two output threads, so each batch is built in
//! memory and written with one `write_all` under the stdout lock: lines of the two streams
//! never interleave mid-line.

use std::io::{self, Write};
use std::time::Instant;

use super::{Doc, OutputError, Sink, SinkFailure};

/// Writes documents as lines to stdout.
#[derive(Default)]
pub struct StdoutSink {
    buf: Vec<u8>,
}

impl StdoutSink {
    /// A sink on this process' stdout.
    pub fn new() -> StdoutSink {
        StdoutSink::default()
    }
}

impl Sink for StdoutSink {
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure> {
        self.buf.clear();
        for doc in docs {
            self.buf.extend_from_slice(&doc.json);
            self.buf.push(b'\n');
        }
        let mut out = io::stdout().lock();
        out.write_all(&self.buf)
            .and_then(|()| out.flush())
            .map_err(|err| SinkFailure {
                written: 0,
                reason: "write_error",
                error: OutputError::io("writing to stdout", err),
            })?;
        // A burst's buffer is not kept around once it is much larger than usual.
        if self.buf.capacity() > 4 << 20 {
            self.buf = Vec::new();
        }
        Ok(0)
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), OutputError> {
        io::stdout()
            .flush()
            .map_err(|err| OutputError::io("flushing stdout", err))
    }
}
