//! Turning kernel boot-clock timestamps into wall-clock time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Converts `bpf_ktime_get_boot_ns()` values to wall-clock time, using the offset between the
/// two clocks measured once at start.
#[derive(Debug, Clone, Copy)]
pub struct BootClock {
    realtime_minus_boot_ns: i128,
}

impl BootClock {
    /// Measures the offset now.
    pub fn new() -> BootClock {
        let boot = clock_ns(libc::CLOCK_BOOTTIME);
        let real = clock_ns(libc::CLOCK_REALTIME);
        BootClock {
            realtime_minus_boot_ns: real - boot,
        }
    }

    /// Wall-clock nanoseconds since the Unix epoch for a boot-clock timestamp.
    pub fn to_unix_ns(self, boot_ns: u64) -> i128 {
        i128::from(boot_ns) + self.realtime_minus_boot_ns
    }
}

impl Default for BootClock {
    fn default() -> Self {
        BootClock::new()
    }
}

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; both clocks exist on every supported kernel.
    unsafe { libc::clock_gettime(clock, &raw mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Wall-clock nanoseconds since the Unix epoch, now.
pub fn now_unix_ns() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos()
        .try_into()
        .unwrap_or(0)
}

/// Formats Unix-epoch nanoseconds as RFC 3339 UTC with nanoseconds
/// (`2026-11-26T04:24:12.123456789Z`), the form ECS `@timestamp` takes.
pub fn rfc3339(unix_ns: i128) -> String {
    Rfc3339(unix_ns).to_string()
}

/// [`rfc3339`] as a `Display` value, to write a timestamp without allocating a string.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub i128);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unix_ns = self.0;
        let secs = unix_ns.div_euclid(1_000_000_000);
        let nanos = unix_ns.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i128) -> (i128, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_795_667_052_123_456_789),
            "2026-11-26T04:24:12.123456789Z"
        );
        assert_eq!(
            rfc3339(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
    }
}
