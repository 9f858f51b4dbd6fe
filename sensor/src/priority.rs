//! The daemon's scheduling priority. The ring buffer is read on a timer, and on a host whose
//! CPUs are busy a reader that wakes at the same priority as the workloads it watches can queue
//! behind them for several milliseconds: that was the tail of the detection latency at 1600
//! exec/s (p99 13-16 ms at equal nice, 10.5 ms five steps higher). So, like auditd's
//! `priority_boost`, the sensor lowers its nice value at start, before it starts any thread,
//! so that every thread inherits it. It uses little CPU, so the boost takes little from others.

use thiserror::Error;

/// The lowest nice value (the highest priority) Linux allows.
const NICE_MIN: i32 = -20;

/// The priority could not be raised.
#[derive(Debug, Error)]
pub enum PriorityError {
    /// `setpriority` was refused or failed.
    #[error(
        "cannot lower the sensor's nice value from {from} to {to}: {source} (it needs \
         CAP_SYS_NICE, or root; or set Nice= in the systemd unit and --priority-boost 0)"
    )]
    Refused {
        /// The nice value the process has.
        from: i32,
        /// The nice value asked for.
        to: i32,
        /// The kernel's answer.
        source: std::io::Error,
    },
}

/// Lowers the calling thread's nice value by `boost` steps (not below -20) and returns the
/// (old, new) values; `Ok(None)` when there was nothing to do. Threads started afterwards
/// inherit the new value.
pub fn boost(boost: u8) -> Result<Option<(i32, i32)>, PriorityError> {
    if boost == 0 {
        return Ok(None);
    }
    // SAFETY: getpriority/setpriority take plain integers; `who = 0` is the calling thread.
    // getpriority may legitimately return -1, so errno tells failure apart (it cannot fail
    // for the calling thread anyway).
    let from = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let to = (from - i32::from(boost)).max(NICE_MIN);
    if to == from {
        return Ok(None);
    }
    // SAFETY: as above.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, to) } != 0 {
        return Err(PriorityError::Refused {
            from,
            to,
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(Some((from, to)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_leaves_the_priority_alone() {
        assert!(matches!(boost(0), Ok(None)));
    }

    #[test]
    fn a_refusal_names_the_remedy() {
        let err = PriorityError::Refused {
            from: 0,
            to: -4,
            source: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("CAP_SYS_NICE") && msg.contains("from 0 to -4"),
            "{msg}"
        );
    }
}
