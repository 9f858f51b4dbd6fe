//! One JSON document per line, to stdout or a file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// A buffered line sink. Lines are flushed per batch, not per event.
pub struct JsonLines {
    out: BufWriter<Box<dyn Write + Send>>,
}

impl JsonLines {
    /// Opens `path` for appending, or stdout when `path` is `-`.
    pub fn open(path: &Path) -> io::Result<JsonLines> {
        let out: Box<dyn Write + Send> = if path == Path::new("-") {
            Box::new(io::stdout())
        } else {
            Box::new(File::options().create(true).append(true).open(path)?)
        };
        Ok(JsonLines {
            out: BufWriter::with_capacity(64 * 1024, out),
        })
    }

    /// Writes one document and a newline.
    pub fn write(&mut self, doc: &serde_json::Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, doc)?;
        self.out.write_all(b"\n")
    }

    /// Writes already rendered lines (each document followed by its newline) straight to the
    /// destination, after anything still buffered: the caller batches, so a copy through the
    /// buffer would only cost.
    pub fn write_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.out.flush()?;
        self.out.get_mut().write_all(lines)
    }

    /// Pushes buffered lines to the destination.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
