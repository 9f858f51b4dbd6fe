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

    /// Writes one already rendered document and a newline.
    pub fn write_raw(&mut self, doc: &[u8]) -> io::Result<()> {
        self.out.write_all(doc)?;
        self.out.write_all(b"\n")
    }

    /// Pushes buffered lines to the destination.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
