//! Loading the embedded eBPF object, configuring it and attaching its programs.

use aya::{Ebpf, EbpfLoader, programs::TracePoint};
use sensor_common::SensorConfig;
use thiserror::Error;

use super::tracefs::{Format, TracefsError};

/// The eBPF object built by `build.rs` from `sensor-ebpf`.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor"));

/// Each program, and the tracepoint it attaches to.
const TRACEPOINTS: [(&str, &str, &str); 5] = [
    ("sys_enter_execve", "syscalls", "sys_enter_execve"),
    ("sys_enter_execveat", "syscalls", "sys_enter_execveat"),
    ("sys_exit_execve", "syscalls", "sys_exit_execve"),
    ("sys_exit_execveat", "syscalls", "sys_exit_execveat"),
    ("sched_process_exec", "sched", "sched_process_exec"),
];

/// What can go wrong while loading or attaching.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The binary was built with `AYA_BUILD_SKIP` and has no eBPF object.
    #[error("this sensor binary was built without its eBPF object (AYA_BUILD_SKIP); rebuild it")]
    NoObject,
    /// A tracepoint layout could not be read.
    #[error(transparent)]
    Tracefs(#[from] TracefsError),
    /// The kernel refused the object or a map.
    #[error("loading the eBPF object failed: {0}")]
    Load(#[from] aya::EbpfError),
    /// A program is missing from the object (a build mismatch).
    #[error("eBPF program `{0}` is missing from the object")]
    MissingProgram(&'static str),
    /// The kernel refused a program or its attachment.
    #[error("cannot load or attach `{program}` to {category}:{name}: {source}")]
    Attach {
        /// The program.
        program: &'static str,
        /// Tracepoint category.
        category: &'static str,
        /// Tracepoint name.
        name: &'static str,
        /// The kernel's answer (boxed: it carries the verifier log).
        source: Box<aya::programs::ProgramError>,
    },
}

/// Options that shape the loaded object.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Size of the event ring buffer in bytes (a power of two multiple of the page size).
    pub ringbuf_bytes: u32,
}

/// Reads tracepoint layouts, loads the object with them and attaches every program. Dropping
/// the returned [`Ebpf`] detaches and unloads everything.
pub fn load(options: &LoadOptions) -> Result<Ebpf, LoadError> {
    if EBPF_OBJECT.is_empty() {
        return Err(LoadError::NoObject);
    }
    let config = sensor_config()?;
    let mut ebpf = EbpfLoader::new()
        .override_global("CONFIG", &config, true)
        .map_max_entries("EVENTS", options.ringbuf_bytes)
        .load(EBPF_OBJECT)?;
    for (program, category, name) in TRACEPOINTS {
        let attach_error = |source| LoadError::Attach {
            program,
            category,
            name,
            source: Box::new(source),
        };
        let tracepoint: &mut TracePoint = ebpf
            .program_mut(program)
            .ok_or(LoadError::MissingProgram(program))?
            .try_into()
            .map_err(attach_error)?;
        tracepoint
            .load()
            .and_then(|()| tracepoint.attach(category, name).map(drop))
            .map_err(attach_error)?;
    }
    Ok(ebpf)
}

fn sensor_config() -> Result<SensorConfig, TracefsError> {
    let exec = Format::read("sched", "sched_process_exec")?;
    let execve = Format::read("syscalls", "sys_enter_execve")?;
    let execveat = Format::read("syscalls", "sys_enter_execveat")?;
    Ok(SensorConfig {
        self_pid: std::process::id(),
        exec_filename_loc: exec.offset("filename")?,
        exec_old_pid: exec.offset("old_pid")?,
        execve_argv: execve.offset("argv")?,
        execveat_argv: execveat.offset("argv")?,
        _pad: 0,
    })
}

/// Rounds a requested ring-buffer size up to what the kernel accepts: a power of two, at least
/// one page.
pub fn ringbuf_bytes(kib: u32) -> u32 {
    let page = 4096u32;
    kib.saturating_mul(1024)
        .max(page)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringbuf_size_is_a_power_of_two_of_pages() {
        assert_eq!(ringbuf_bytes(0), 4096);
        assert_eq!(ringbuf_bytes(3), 4096);
        assert_eq!(ringbuf_bytes(1000), 1 << 20);
        assert_eq!(ringbuf_bytes(1024), 1 << 20);
        assert_eq!(ringbuf_bytes(u32::MAX), 1 << 31);
    }
}
