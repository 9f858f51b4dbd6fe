//! Loading the embedded eBPF object, configuring it and attaching its programs.

use aya::{
    Ebpf, EbpfLoader,
    maps::{Array, MapData},
    programs::{RawTracePoint, TracePoint},
};
use sensor_common::{OPEN_PREFIX_LEN, OPEN_PREFIX_MAX, OpenPrefix, SensorConfig};
use thiserror::Error;

use super::btf::Btf;
use super::offsets::{self, OffsetsError};

/// The eBPF object built by `build.rs` from `sensor-ebpf`.
static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/sensor"));

/// Each classic-tracepoint program, and the tracepoint it attaches to.
const TRACEPOINTS: [(&str, &str, &str); 12] = [
    ("sys_exit_execve", "syscalls", "sys_exit_execve"),
    ("sys_exit_execveat", "syscalls", "sys_exit_execveat"),
    ("sched_process_exec", "sched", "sched_process_exec"),
    ("sched_process_exit", "sched", "sched_process_exit"),
    ("sys_exit_connect", "syscalls", "sys_exit_connect"),
    ("sys_exit_accept", "syscalls", "sys_exit_accept"),
    ("sys_exit_accept4", "syscalls", "sys_exit_accept4"),
    ("sys_exit_open", "syscalls", "sys_exit_open"),
    ("sys_exit_openat", "syscalls", "sys_exit_openat"),
    ("sys_exit_openat2", "syscalls", "sys_exit_openat2"),
    ("sys_exit_creat", "syscalls", "sys_exit_creat"),
    ("sys_exit_bpf", "syscalls", "sys_exit_bpf"),
];

/// Raw-tracepoint programs (they see the tracepoint's task pointers), and their tracepoint.
const RAW_TRACEPOINTS: [(&str, &str); 1] = [("sched_process_fork", "sched_process_fork")];

/// What can go wrong while loading or attaching.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The binary was built with `AYA_BUILD_SKIP` and has no eBPF object.
    #[error("this sensor binary was built without its eBPF object (AYA_BUILD_SKIP); rebuild it")]
    NoObject,
    /// A tracepoint or kernel struct layout could not be read.
    #[error(transparent)]
    Offsets(#[from] OffsetsError),
    /// The kernel refused the object or a map.
    #[error("loading the eBPF object failed: {0}")]
    Load(#[from] aya::EbpfError),
    /// A program or map is missing from the object (a build mismatch).
    #[error("eBPF program or map `{0}` is missing from the object")]
    Missing(&'static str),
    /// A configured open-filter prefix is unusable.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
    /// Writing the prefix map failed.
    #[error("cannot fill the open prefix map: {0}")]
    Map(#[from] aya::maps::MapError),
    /// The kernel refused a program or its attachment.
    #[error("cannot load or attach `{program}` to {category}:{name}: {source}")]
    Attach {
        /// The program.
        program: &'static str,
        /// Tracepoint category.
        category: &'static str,
        /// Tracepoint name.
        name: &'static str,
        /// The kernel's answer (boxed: it is large and this path is cold).
        source: Box<aya::programs::ProgramError>,
    },
}

/// Options that shape the loaded object.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Size of the event ring buffer in bytes (a power of two multiple of the page size).
    pub ringbuf_bytes: u32,
    /// Report only this process id (0: everyone but the sensor).
    pub only_pid: u32,
    /// Path prefixes whose read-only opens are not reported.
    pub open_prefixes: Vec<Vec<u8>>,
    /// Window in which identical opens collapse, in nanoseconds (0: never).
    pub open_collapse_ns: u64,
    /// Wake the reader only when this many bytes are waiting (0: for every record).
    pub wakeup_bytes: u64,
    /// At most one such early wake-up per this many nanoseconds (0: no limit).
    pub wakeup_gap_ns: u64,
}

/// Reads tracepoint and kernel layouts, loads the object with them and attaches every program.
/// Dropping the returned [`Ebpf`] detaches and unloads everything.
pub fn load(options: &LoadOptions) -> Result<Ebpf, LoadError> {
    if EBPF_OBJECT.is_empty() {
        return Err(LoadError::NoObject);
    }
    let prefixes = options
        .open_prefixes
        .iter()
        .map(|p| open_prefix(p))
        .collect::<Result<Vec<_>, _>>()?;
    if prefixes.len() > OPEN_PREFIX_MAX as usize {
        return Err(PrefixError::TooMany(prefixes.len()).into());
    }
    let btf = Btf::from_sys_fs().map_err(OffsetsError::from)?;
    let config = SensorConfig {
        self_pid: std::process::id(),
        only_pid: options.only_pid,
        open_prefix_count: u32::try_from(prefixes.len()).unwrap_or(0),
        _pad: 0,
        open_collapse_jiffies: to_jiffies(options.open_collapse_ns, jiffy_ns()),
        wakeup_bytes: options.wakeup_bytes,
        wakeup_gap_jiffies: to_jiffies(options.wakeup_gap_ns, jiffy_ns()),
        tp: offsets::tracepoints()?,
        k: offsets::kernel(&btf)?,
        regs: offsets::syscall_regs(&btf)?,
    };
    let mut ebpf = EbpfLoader::new()
        .override_global("CONFIG", &config, true)
        .map_max_entries("EVENTS", options.ringbuf_bytes)
        .load(EBPF_OBJECT)?;
    {
        let map = ebpf
            .map_mut("OPEN_PREFIXES")
            .ok_or(LoadError::Missing("OPEN_PREFIXES"))?;
        let mut array: Array<&mut MapData, OpenPrefix> = Array::try_from(map)?;
        for (index, prefix) in (0u32..).zip(&prefixes) {
            array.set(index, prefix, 0)?;
        }
    }
    for (program, category, name) in TRACEPOINTS {
        if offsets::LEGACY_SYSCALLS.contains(&name) && !offsets::has_syscall_tracepoint(name) {
            tracing::debug!(name, "tracepoint absent on this architecture; not attached");
            continue;
        }
        let attach_error = |source| LoadError::Attach {
            program,
            category,
            name,
            source: Box::new(source),
        };
        let tracepoint: &mut TracePoint = ebpf
            .program_mut(program)
            .ok_or(LoadError::Missing(program))?
            .try_into()
            .map_err(attach_error)?;
        tracepoint
            .load()
            .and_then(|()| tracepoint.attach(category, name).map(drop))
            .map_err(attach_error)?;
    }
    for (program, name) in RAW_TRACEPOINTS {
        let attach_error = |source| LoadError::Attach {
            program,
            category: "raw",
            name,
            source: Box::new(source),
        };
        let raw: &mut RawTracePoint = ebpf
            .program_mut(program)
            .ok_or(LoadError::Missing(program))?
            .try_into()
            .map_err(attach_error)?;
        raw.load()
            .and_then(|()| raw.attach(name).map(drop))
            .map_err(attach_error)?;
    }
    Ok(ebpf)
}

/// An unusable open-filter prefix.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PrefixError {
    /// Empty, or longer than the kernel compares.
    #[error("open filter prefix must be 1 to {OPEN_PREFIX_LEN} bytes, got {0}")]
    Length(usize),
    /// Only absolute prefixes can match (the kernel sees paths as passed).
    #[error("open filter prefix must be absolute (start with /): {0:?}")]
    Relative(String),
    /// More prefixes than the map holds.
    #[error("at most {OPEN_PREFIX_MAX} open filter prefixes, got {0}")]
    TooMany(usize),
}

/// Encodes a prefix as the kernel compares it: native-endian words and per-word byte masks.
pub fn open_prefix(prefix: &[u8]) -> Result<OpenPrefix, PrefixError> {
    if prefix.is_empty() || prefix.len() > OPEN_PREFIX_LEN {
        return Err(PrefixError::Length(prefix.len()));
    }
    if prefix.first() != Some(&b'/') {
        return Err(PrefixError::Relative(
            String::from_utf8_lossy(prefix).into_owned(),
        ));
    }
    let mut out = OpenPrefix {
        len: u32::try_from(prefix.len()).unwrap_or(0),
        words: u32::try_from(prefix.len().div_ceil(8)).unwrap_or(0),
        bytes: [0; OPEN_PREFIX_LEN / 8],
        mask: [0; OPEN_PREFIX_LEN / 8],
    };
    for ((chunk, word), mask) in prefix
        .chunks(8)
        .zip(out.bytes.iter_mut())
        .zip(out.mask.iter_mut())
    {
        let mut b = [0u8; 8];
        let mut m = [0u8; 8];
        for ((dst, mdst), src) in b.iter_mut().zip(m.iter_mut()).zip(chunk) {
            *dst = *src;
            *mdst = 0xff;
        }
        *word = u64::from_ne_bytes(b);
        *mask = u64::from_ne_bytes(m);
    }
    Ok(out)
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

/// Nanoseconds per jiffy (kernel timer tick) when the kernel does not say: the longest tick of
/// the usual configurations (HZ=100). Assuming too long a tick only shortens the collapse window,
/// so more opens are reported, never fewer.
const FALLBACK_JIFFY_NS: u64 = 10_000_000;

/// The kernel's tick length: the resolution of `CLOCK_MONOTONIC_COARSE`, which is one jiffy
/// (`TICK_NSEC`), so `CONFIG_HZ` need not be found in a kernel config file.
fn jiffy_ns() -> u64 {
    let mut res = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `res` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut res) };
    let ns = u64::try_from(res.tv_sec)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|s| s.checked_add(u64::try_from(res.tv_nsec).ok()?));
    match ns {
        Some(ns) if rc == 0 && ns > 0 && ns <= FALLBACK_JIFFY_NS => ns,
        _ => FALLBACK_JIFFY_NS,
    }
}

/// A duration in jiffies of `jiffy_ns`: rounded up, so that a collapse window or a wake-up gap
/// shorter than a tick still lasts a tick; 0 stays 0 (off).
fn to_jiffies(ns: u64, jiffy_ns: u64) -> u64 {
    ns.div_ceil(jiffy_ns.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_collapse_window_is_counted_in_ticks() {
        assert_eq!(to_jiffies(0, 4_000_000), 0);
        assert_eq!(to_jiffies(1_000_000_000, 4_000_000), 250);
        assert_eq!(to_jiffies(1_000_000, 4_000_000), 1);
        assert_eq!(to_jiffies(1_000_000_000, 0), 1_000_000_000);
        let tick = jiffy_ns();
        assert!((1_000_000..=FALLBACK_JIFFY_NS).contains(&tick), "{tick}");
    }

    #[test]
    fn ringbuf_size_is_a_power_of_two_of_pages() {
        assert_eq!(ringbuf_bytes(0), 4096);
        assert_eq!(ringbuf_bytes(3), 4096);
        assert_eq!(ringbuf_bytes(1000), 1 << 20);
        assert_eq!(ringbuf_bytes(1024), 1 << 20);
        assert_eq!(ringbuf_bytes(u32::MAX), 1 << 31);
    }

    #[test]
    fn prefixes_become_words_and_masks() {
        let p = open_prefix(b"/usr/lib/").expect("valid");
        assert_eq!((p.len, p.words), (9, 2));
        assert_eq!(p.bytes[0], u64::from_ne_bytes(*b"/usr/lib"));
        assert_eq!(p.mask[0], u64::MAX);
        assert_eq!(p.bytes[1], u64::from_ne_bytes([b'/', 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(p.mask[1], u64::from_ne_bytes([0xff, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(open_prefix(b""), Err(PrefixError::Length(0)));
        assert_eq!(open_prefix(&[b'/'; 65]), Err(PrefixError::Length(65)));
        assert!(matches!(
            open_prefix(b"lib/"),
            Err(PrefixError::Relative(_))
        ));
    }
}
