//! Capabilities: checks, before touching the kernel, that the process may load and attach eBPF
//! programs (so an unprivileged start fails with one clear line instead of an EPERM deep in the
//! loader), and gives up, once everything is attached, what the daemon no longer needs.
//!
//! Loading needs CAP_BPF and CAP_PERFMON, and CAP_DAC_READ_SEARCH when not root because tracefs
//! (mode 0700) holds the tracepoint layouts and ids. After attach the ring buffers and maps are
//! read through file descriptors already open, which needs no capability; only enrichment keeps
//! CAP_SYS_PTRACE, to read `/proc/PID/exe` and `cwd` of other users' processes.

use thiserror::Error;

mod reduce;

pub use reduce::{CapSet, drop_after_attach, drop_all_in_this_thread};

const CAP_DAC_READ_SEARCH: u32 = 2;
const CAP_SYS_PTRACE: u32 = 19;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The process lacks what loading eBPF needs.
#[derive(Debug, Error)]
pub enum PrivilegeError {
    /// Effective capabilities are missing.
    #[error(
        "insufficient privileges: missing {missing}; run as root or grant CAP_BPF and CAP_PERFMON"
    )]
    Missing {
        /// The missing capability names, comma-separated.
        missing: String,
    },
    /// `/proc/self/status` could not be read or parsed.
    #[error("cannot read the process capabilities from /proc/self/status: {0}")]
    Unreadable(String),
    /// A capability system call failed.
    #[error("cannot drop capabilities ({call}): {source}")]
    Drop {
        /// The call (`capget`, `capset`, `prctl(...)`).
        call: &'static str,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

/// Returns an error naming the missing capabilities unless the effective set has CAP_BPF and
/// CAP_PERFMON, or CAP_SYS_ADMIN (which implies both on kernels before 5.8 and still suffices).
pub fn check() -> Result<(), PrivilegeError> {
    let status = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| PrivilegeError::Unreadable(e.to_string()))?;
    let effective = effective_caps(&status)
        .ok_or_else(|| PrivilegeError::Unreadable("no CapEff line".into()))?;
    missing_caps(effective).map_or(Ok(()), |missing| Err(PrivilegeError::Missing { missing }))
}

fn effective_caps(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    u64::from_str_radix(hex, 16).ok()
}

fn missing_caps(effective: u64) -> Option<String> {
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return None;
    }
    let names: Vec<&str> = [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|&(cap, _)| !has(cap))
        .map(|(_, name)| name)
        .collect();
    Some(names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cap_eff() {
        let status = "Name:\tx\nCapEff:\t000001ffffffffff\n";
        assert_eq!(effective_caps(status), Some(0x1ff_ffff_ffff));
    }

    #[test]
    fn names_missing_caps() {
        assert_eq!(missing_caps(0).as_deref(), Some("CAP_BPF, CAP_PERFMON"));
        assert_eq!(missing_caps(1 << CAP_BPF).as_deref(), Some("CAP_PERFMON"));
        assert_eq!(missing_caps((1 << CAP_BPF) | (1 << CAP_PERFMON)), None);
        assert_eq!(missing_caps(1 << CAP_SYS_ADMIN), None);
    }
}
