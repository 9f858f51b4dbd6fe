//! Dropping capabilities with `capset` and `prctl`.
//!
//! Capabilities belong to threads, not processes: `capset` changes the calling thread only, and
//! threads started later inherit the caller's sets. So the main thread drops to the run-time set
//! once everything is attached (every thread it starts afterwards has no more than that), and a
//! helper thread started earlier drops everything itself ([`drop_all_in_this_thread`]).

use std::fmt;

use super::PrivilegeError;
use super::{CAP_BPF, CAP_DAC_READ_SEARCH, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_PTRACE};

/// `_LINUX_CAPABILITY_VERSION_3`: two 32-bit words per set.
const CAP_VERSION_3: u32 = 0x2008_0522;
const CAP_SETPCAP: u32 = 8;

/// Kept after attach when the process has them: reading `/proc/PID/exe` and `cwd` of processes
/// that belong to other users (a ptrace-mode read check) for process enrichment.
const RUN_TIME: [u32; 1] = [CAP_SYS_PTRACE];

/// Names of the capabilities this module reports by name; others print as `cap_N`.
const NAMES: [(u32, &str); 7] = [
    (CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"),
    (CAP_SETPCAP, "CAP_SETPCAP"),
    (CAP_SYS_PTRACE, "CAP_SYS_PTRACE"),
    (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
    (CAP_PERFMON, "CAP_PERFMON"),
    (CAP_BPF, "CAP_BPF"),
    (12, "CAP_NET_ADMIN"),
];

/// A set of capabilities, one bit per capability number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSet(pub u64);

impl CapSet {
    /// The set holding exactly `caps`.
    pub fn of(caps: &[u32]) -> CapSet {
        CapSet(caps.iter().fold(0, |set, &cap| set | bit(cap)))
    }

    /// Whether `cap` is in the set.
    pub fn has(self, cap: u32) -> bool {
        self.0 & bit(cap) != 0
    }
}

impl fmt::Display for CapSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let mut first = true;
        for cap in (0..64).filter(|&cap| self.has(cap)) {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            match NAMES.iter().find(|&&(n, _)| n == cap) {
                Some((_, name)) => f.write_str(name)?,
                None => write!(f, "cap_{cap}")?,
            }
        }
        Ok(())
    }
}

fn bit(cap: u32) -> u64 {
    1u64.checked_shl(cap).unwrap_or(0)
}

#[repr(C)]
struct Header {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Data {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's (effective, permitted) sets.
fn current() -> Result<(CapSet, CapSet), PrivilegeError> {
    let mut header = Header {
        version: CAP_VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: version 3 takes a header and an array of two data structs, both valid here.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    if rc != 0 {
        return Err(sys_error("capget"));
    }
    let join = |lo: u32, hi: u32| CapSet(u64::from(lo) | (u64::from(hi) << 32));
    let [low, high] = data;
    Ok((
        join(low.effective, high.effective),
        join(low.permitted, high.permitted),
    ))
}

/// Sets the calling thread's effective and permitted sets to `keep` and its inheritable set
/// (and so its ambient set) to nothing.
fn set(keep: CapSet) -> Result<(), PrivilegeError> {
    let mut header = Header {
        version: CAP_VERSION_3,
        pid: 0,
    };
    // The sets are split into their low and high 32-bit words, as the kernel wants them.
    let low = keep.0 as u32;
    let high = (keep.0 >> 32) as u32;
    let data = [
        Data {
            effective: low,
            permitted: low,
            inheritable: 0,
        },
        Data {
            effective: high,
            permitted: high,
            inheritable: 0,
        },
    ];
    // SAFETY: as in `current`; the kernel only reads `data`.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
    if rc != 0 {
        return Err(sys_error("capset"));
    }
    Ok(())
}

fn prctl(
    option: libc::c_int,
    arg: libc::c_ulong,
    call: &'static str,
) -> Result<(), PrivilegeError> {
    // SAFETY: these prctl options take integer arguments only.
    let rc = unsafe {
        libc::prctl(
            option,
            arg,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc != 0 {
        return Err(sys_error(call));
    }
    Ok(())
}

fn sys_error(call: &'static str) -> PrivilegeError {
    PrivilegeError::Drop {
        call,
        source: std::io::Error::last_os_error(),
    }
}

/// Reduces the calling thread to the run-time set (CAP_SYS_PTRACE if it has it, else nothing)
/// and returns what it kept.
pub fn drop_after_attach() -> Result<CapSet, PrivilegeError> {
    let (_, permitted) = current()?;
    let keep = CapSet(permitted.0 & CapSet::of(&RUN_TIME).0);
    reduce_to(keep)?;
    Ok(keep)
}

/// Drops every capability of the calling thread: for threads that need none (the HTTP server)
/// and may start before the main thread reduces its own.
pub fn drop_all_in_this_thread() -> Result<(), PrivilegeError> {
    reduce_to(CapSet::default())
}

/// Sets no-new-privileges (the sensor never executes anything), empties the bounding set of
/// everything but `keep` when it may (CAP_SETPCAP, i.e. as root) so that no `execve` could
/// regain a capability, and reduces the effective and permitted sets to `keep`.
fn reduce_to(keep: CapSet) -> Result<(), PrivilegeError> {
    let (effective, _) = current()?;
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, "prctl(PR_SET_NO_NEW_PRIVS)")?;
    if effective.has(CAP_SETPCAP) {
        for cap in (0..64).filter(|&cap| !keep.has(cap)) {
            // Numbers past the kernel's last capability fail with EINVAL: nothing to drop.
            let _ = prctl(
                libc::PR_CAPBSET_DROP,
                libc::c_ulong::from(cap),
                "prctl(PR_CAPBSET_DROP)",
            );
        }
    }
    set(keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sets() {
        assert_eq!(CapSet::default().to_string(), "none");
        let set = CapSet::of(&[CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH, 40]);
        assert_eq!(
            set.to_string(),
            "CAP_DAC_READ_SEARCH,CAP_PERFMON,CAP_BPF,cap_40"
        );
        assert!(set.has(CAP_BPF) && !set.has(CAP_SYS_PTRACE));
        assert_eq!(
            CapSet::of(&[64, 200]),
            CapSet(0),
            "out-of-range numbers are ignored"
        );
    }

    #[test]
    fn a_thread_drops_only_its_own_capabilities() {
        let (_, before) = current().expect("capget");
        let in_thread = std::thread::spawn(|| {
            drop_all_in_this_thread().expect("drop");
            current().expect("capget")
        })
        .join()
        .expect("thread");
        assert_eq!(in_thread, (CapSet(0), CapSet(0)));
        assert_eq!(
            current().expect("capget").1,
            before,
            "other threads keep theirs"
        );
    }

    #[test]
    fn drop_after_attach_keeps_at_most_the_run_time_set() {
        let kept = std::thread::spawn(|| {
            let kept = drop_after_attach().expect("drop");
            (kept, current().expect("capget"))
        })
        .join()
        .expect("thread");
        let (kept, (effective, permitted)) = kept;
        assert_eq!(kept.0 & !CapSet::of(&RUN_TIME).0, 0);
        assert_eq!(effective, kept);
        assert_eq!(permitted, kept);
    }
}
