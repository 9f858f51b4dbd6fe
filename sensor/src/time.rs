//! Turning kernel boot-clock timestamps into wall-clock time.

use std::cell::Cell;
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

/// The boot clock now, in the units of `bpf_ktime_get_boot_ns()`.
pub fn boot_now_ns() -> u64 {
    u64::try_from(clock_ns(libc::CLOCK_BOOTTIME)).unwrap_or(0)
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

/// Writes [`rfc3339`] of `unix_ns` into `out` without going through `fmt` (years 0-9999; others
/// take the `fmt` path). The date and time of day are kept for the last second written: events
/// come in time order, so most lines only need their fraction formatted.
pub fn write_rfc3339(out: &mut Vec<u8>, unix_ns: i128) {
    thread_local! {
        static LAST_SECOND: Cell<Option<(i64, [u8; 19])>> = const { Cell::new(None) };
    }
    let secs = unix_ns.div_euclid(1_000_000_000);
    let (Ok(secs), Ok(nanos)) = (
        i64::try_from(secs),
        u32::try_from(unix_ns.rem_euclid(1_000_000_000)),
    ) else {
        out.extend_from_slice(rfc3339(unix_ns).as_bytes());
        return;
    };
    let head = match LAST_SECOND.get() {
        Some((second, head)) if second == secs => head,
        _ => {
            let Some(head) = date_time(secs) else {
                out.extend_from_slice(rfc3339(unix_ns).as_bytes());
                return;
            };
            LAST_SECOND.set(Some((secs, head)));
            head
        }
    };
    out.extend_from_slice(&head);
    let mut fraction = *b".000000000Z";
    let mut v = nanos;
    for slot in fraction[1..10].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&fraction);
}

/// `YYYY-MM-DDTHH:MM:SS` of `secs` since the epoch; `None` outside years 0-9999.
fn date_time(secs: i64) -> Option<[u8; 19]> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(i128::from(days));
    let year = u32::try_from(year).ok().filter(|y| *y <= 9999)?;
    let mut buf = *b"0000-00-00T00:00:00";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            if let Some(slot) = buf.get_mut(i) {
                *slot = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    Some(buf)
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
        for ns in [
            0,
            1_795_667_052_123_456_789,
            951_782_400_000_000_000,
            -1,
            -62_135_596_800_000_000_000,
            253_402_300_800_000_000_000,
        ] {
            let mut out = Vec::new();
            write_rfc3339(&mut out, ns);
            assert_eq!(out, rfc3339(ns).as_bytes(), "{ns}");
        }
    }

    #[test]
    fn the_kept_second_never_leaks_into_another() {
        // Within a second, across second and day boundaries, backwards, and out of range in
        // between: each must match the formatting from scratch.
        let base = 1_795_679_999_000_000_000_i128; // 2026-11-26T23:59:59Z
        for ns in [
            base,
            base + 999_999_999,
            base + 1_000_000_000,
            base + 1,
            253_402_300_800_000_000_000,
            base + 86_400_000_000_123,
            base,
        ] {
            let mut out = Vec::new();
            write_rfc3339(&mut out, ns);
            assert_eq!(out, rfc3339(ns).as_bytes(), "{ns}");
        }
    }
}
