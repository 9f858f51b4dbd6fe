//! Log lines that cannot be forged.
//!
//! Log fields carry untrusted text (rule files, paths, error messages that quote input). A
//! newline inside a field would start what looks like a new, genuine log line; an ANSI escape
//! could rewrite the operator's terminal. [`SafeStderr`] sits between the `tracing` formatter
//! and stderr: the formatter writes each event as one buffer ending in `\n`, and every other
//! control character in it is escaped (`\n` → `\x0a`), so one event is always exactly one line.
//! When colours are on (stderr is a terminal) the formatter's own SGR sequences pass; any other
//! escape sequence is neutralised.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// A `MakeWriter` for stderr that escapes control characters inside log lines.
#[derive(Debug, Clone, Copy)]
pub struct SafeStderr {
    /// The formatter emits colour codes (keep `ESC [ ... m`).
    pub ansi: bool,
}

/// The writer [`SafeStderr`] makes: escapes into a buffer, then writes stderr once.
pub struct SafeWriter<W: Write> {
    inner: W,
    ansi: bool,
}

impl<W: Write> SafeWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W, ansi: bool) -> Self {
        SafeWriter { inner, ansi }
    }
}

impl<'a> MakeWriter<'a> for SafeStderr {
    type Writer = SafeWriter<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        SafeWriter::new(io::stderr(), self.ansi)
    }
}

/// `line` with every control character except a final newline (and, when `ansi`, colour
/// sequences `ESC [ digits;... m`) written as `\xNN`.
pub fn escape_line(line: &[u8], ansi: bool) -> Vec<u8> {
    let (body, newline) = match line.strip_suffix(b"\n") {
        Some(body) => (body, true),
        None => (line, false),
    };
    let mut out = Vec::with_capacity(line.len() + 8);
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if ansi && b == 0x1b {
            let sgr_len = sgr_length(body.get(i..).unwrap_or_default());
            if sgr_len > 0 {
                out.extend_from_slice(body.get(i..i + sgr_len).unwrap_or_default());
                i += sgr_len;
                continue;
            }
        }
        if b < 0x20 && b != b'\t' || b == 0x7f {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
        i += 1;
    }
    if newline {
        out.push(b'\n');
    }
    out
}

/// Length of a colour sequence (`ESC [ [0-9;]* m`) at the start of `s`, or 0.
fn sgr_length(s: &[u8]) -> usize {
    if !s.starts_with(b"\x1b[") {
        return 0;
    }
    for (n, b) in s.iter().enumerate().skip(2) {
        match b {
            b'0'..=b'9' | b';' => {}
            b'm' => return n + 1,
            _ => return 0,
        }
    }
    0
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_all(&escape_line(buf, self.ansi))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn escapes_newlines_and_escapes_but_keeps_the_line_end() {
        let line = b"WARN rule skipped file=a\nINFO forged \x1b[2J\r x\n";
        let out = escape_line(line, false);
        assert_eq!(
            out,
            b"WARN rule skipped file=a\\x0aINFO forged \\x1b[2J\\x0d x\n".to_vec()
        );
        // Colours of the formatter survive, a clear-screen does not.
        let out = escape_line(b"\x1b[33mWARN\x1b[0m \x1b[2J\x1b]0;t\x07\n", true);
        assert_eq!(
            out,
            b"\x1b[33mWARN\x1b[0m \\x1b[2J\\x1b]0;t\\x07\n".to_vec()
        );
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_hostile_field_cannot_forge_a_log_line() {
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || SafeWriter::new(sink.clone(), false))
            .finish();
        let hostile = "x.yml\n2026-01-01T00:00:00Z  INFO sensor attached; reporting events\x1b[2K";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(file = %hostile, problem = ?hostile, "rule skipped");
            tracing::info!("second");
        });
        let text = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("rule skipped") && lines[0].contains("\\x0a"));
        assert!(!text.contains('\x1b'));
        assert!(lines[1].contains("second"));
    }
}
