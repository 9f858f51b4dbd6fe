//! Tracepoint record layouts, read from tracefs `format` files so that field offsets are never
//! hard-coded and one binary runs on kernels whose layouts differ.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where tracefs is usually mounted, newest location first.
const TRACEFS_ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// A tracepoint format could not be read or lacks a field the sensor needs.
#[derive(Debug, Error)]
pub enum TracefsError {
    /// No tracefs mount was found.
    #[error(
        "tracefs is not mounted (looked in /sys/kernel/tracing and /sys/kernel/debug/tracing); \
         mount it with `mount -t tracefs tracefs /sys/kernel/tracing`"
    )]
    NotMounted,
    /// tracefs is there but this process may not read it.
    #[error(
        "permission denied reading tracefs at {0}: run as root or grant CAP_DAC_READ_SEARCH \
         (tracefs is mode 0700) in addition to CAP_BPF and CAP_PERFMON"
    )]
    PermissionDenied(PathBuf),
    /// The format file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The format file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The format lacks a field.
    #[error("tracepoint {tracepoint} has no field `{field}` in this kernel")]
    MissingField {
        /// `category/name`.
        tracepoint: String,
        /// The field's name.
        field: String,
    },
}

/// The tracefs mount point.
pub fn root() -> Result<PathBuf, TracefsError> {
    TRACEFS_ROOTS
        .iter()
        .map(Path::new)
        .find(|p| p.join("events").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            let denied = TRACEFS_ROOTS.iter().map(Path::new).find(|p| {
                std::fs::read_dir(p)
                    .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
            });
            denied.map_or(TracefsError::NotMounted, |p| {
                TracefsError::PermissionDenied(p.to_path_buf())
            })
        })
}

/// The fields of one tracepoint record.
#[derive(Debug, Clone)]
pub struct Format {
    tracepoint: String,
    fields: Vec<Field>,
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name, without array brackets.
    pub name: String,
    /// Byte offset from the start of the record.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

impl Format {
    /// Reads `events/<category>/<name>/format` under the tracefs root.
    pub fn read(category: &str, name: &str) -> Result<Format, TracefsError> {
        let path = root()?
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        let text =
            std::fs::read_to_string(&path).map_err(|source| TracefsError::Read { path, source })?;
        Ok(Format::parse(&format!("{category}/{name}"), &text))
    }

    /// Parses the text of a format file. Lines that are not field descriptions are skipped.
    pub fn parse(tracepoint: &str, text: &str) -> Format {
        let fields = text.lines().filter_map(parse_field_line).collect();
        Format {
            tracepoint: tracepoint.to_owned(),
            fields,
        }
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Result<&Field, TracefsError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| TracefsError::MissingField {
                tracepoint: self.tracepoint.clone(),
                field: name.to_owned(),
            })
    }

    /// The offset of the field called `name`.
    pub fn offset(&self, name: &str) -> Result<u32, TracefsError> {
        self.field(name).map(|f| f.offset)
    }
}

/// Parses `\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;`.
fn parse_field_line(line: &str) -> Option<Field> {
    let mut decl = None;
    let mut offset = None;
    let mut size = None;
    for part in line.split(';') {
        let part = part.trim();
        if let Some(d) = part.strip_prefix("field:") {
            decl = Some(d.trim());
        } else if let Some(o) = part.strip_prefix("offset:") {
            offset = o.trim().parse().ok();
        } else if let Some(s) = part.strip_prefix("size:") {
            size = s.trim().parse().ok();
        }
    }
    let decl = decl?;
    // The name is the last identifier once array brackets are removed: both `char comm[16]`
    // and `__data_loc char[] filename` occur.
    let mut without_arrays = String::with_capacity(decl.len());
    let mut depth = 0u32;
    for c in decl.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if depth == 0 => without_arrays.push(c),
            _ => {}
        }
    }
    let name = without_arrays
        .trim_end()
        .rsplit(|c: char| c.is_whitespace() || c == '*')
        .next()
        .filter(|n| !n.is_empty())?;
    Some(Field {
        name: name.to_owned(),
        offset: offset?,
        size: size?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXEC_FORMAT: &str = "name: sched_process_exec\nID: 311\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \n\
        \tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
        \tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\
        \tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\
        \nprint fmt: \"filename=%s pid=%d old_pid=%d\"\n";

    #[test]
    fn reads_fields_and_offsets() {
        let format = Format::parse("sched/sched_process_exec", EXEC_FORMAT);
        assert_eq!(format.offset("filename").ok(), Some(8));
        assert_eq!(format.offset("old_pid").ok(), Some(16));
        let pointer = parse_field_line("\tfield:const char *const * argv;\toffset:24;\tsize:8;");
        assert_eq!(
            pointer.map(|f| (f.name, f.offset)),
            Some(("argv".into(), 24))
        );
        let array = parse_field_line("\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;");
        assert_eq!(array.map(|f| f.name), Some("comm".into()));
    }

    #[test]
    fn missing_field_names_the_tracepoint() {
        let format = Format::parse("sched/sched_process_exec", EXEC_FORMAT);
        let err = format.offset("nope").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("tracepoint sched/sched_process_exec has no field `nope` in this kernel")
        );
    }
}
