//! The sensor under test: started as `sensor run --events /dev/null`, ready once it logs
//! "sensor attached", observed through /proc, and stopped with SIGTERM.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long the sensor may take to load and attach its programs.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

/// A running sensor. Killed on drop if it was not stopped.
pub struct Sensor {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// What the sensor said when it stopped.
pub struct Stopped {
    /// Events lost in the kernel, from its shutdown log line; `None` when it did not say.
    pub lost: Option<u64>,
}

/// CPU time consumed so far, in clock ticks (utime + stime of every thread).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and ')'; the fields resume after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    // After ')': state(3) ... utime is field 14, stime 15 (1-based over the whole line).
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// Peak resident set size in bytes (VmHWM).
pub fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Sensor {
    /// Starts `binary run --events /dev/null <extra>` and waits until it has attached.
    pub fn start(binary: &Path, extra: &[String]) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            // Rotation off: past 100 MiB the sink would otherwise rename /dev/null itself
            // away (sensors built before output::file skipped non-regular files did).
            .args(["run", "--events", "/dev/null", "--events-max-bytes", "0"])
            .args(extra)
            .env("SENSOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stderr = child.stderr.take().context("no stderr pipe")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("sensor attached") {
                    let _ = ready_tx.send(());
                }
                if let Ok(mut log) = sink.lock() {
                    log.push(line);
                }
            }
        });
        let mut sensor = Sensor { child, log };
        let deadline = Instant::now() + ATTACH_TIMEOUT;
        loop {
            if ready_rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                return Ok(sensor);
            }
            if let Some(status) = sensor.child.try_wait()? {
                bail!(
                    "the sensor exited ({status}) before attaching:\n{}",
                    sensor.log_text()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "the sensor did not log \"sensor attached\" within {ATTACH_TIMEOUT:?}:\n{}",
                    sensor.log_text()
                );
            }
        }
    }

    /// The sensor's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_text(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Stops it with SIGTERM and reads its shutdown line.
    pub fn stop(mut self) -> anyhow::Result<Stopped> {
        // SAFETY: signalling our own child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the sensor did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Let the reader thread take the last lines.
        std::thread::sleep(Duration::from_millis(50));
        let text = self.log_text();
        if !status.success() {
            bail!("the sensor failed ({status}):\n{text}");
        }
        Ok(Stopped {
            lost: parse_lost(&text),
        })
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Events lost in the kernel, from the last log line that carries a count: `kernel_drops=N` (the
/// sensor's "capture statistics" line) or `lost_in_kernel=N`; any other `*lost*=N` field
/// (summed per line) if it gets renamed or split per kind.
fn parse_lost(log: &str) -> Option<u64> {
    log.lines().rev().find_map(|line| {
        let fields: BTreeMap<&str, u64> = line
            .split_whitespace()
            .filter_map(|f| f.split_once('='))
            .filter_map(|(k, v)| Some((k, v.trim_matches('"').parse().ok()?)))
            .collect();
        if let Some(n) = fields
            .get("kernel_drops")
            .or_else(|| fields.get("lost_in_kernel"))
        {
            return Some(*n);
        }
        let lost: Vec<u64> = fields
            .iter()
            .filter(|(k, _)| k.contains("lost"))
            .map(|(_, v)| *v)
            .collect();
        (!lost.is_empty()).then(|| lost.iter().sum())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shutdown_line() {
        let log = "2026 INFO sensor attached; reporting events ringbuf_bytes=1048576\n\
                   2026 INFO detaching eBPF programs lost_in_kernel=7 rejected=0\n";
        assert_eq!(parse_lost(log), Some(7));
        assert_eq!(parse_lost("x lost_exec=2 lost_open=3 rejected=1"), Some(5));
        assert_eq!(parse_lost("INFO detaching eBPF programs rejected=0"), None);
        assert_eq!(parse_lost("lost_in_kernel=notanumber"), None);
        let current = "2026 INFO capture statistics received=187 kernel_drops=4 dropped_exec=4\n\
                       2026 INFO detaching eBPF programs\n";
        assert_eq!(parse_lost(current), Some(4));
    }

    #[test]
    fn reads_our_own_cpu_and_memory() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_some());
        assert!(peak_rss(pid).expect("VmHWM") > 0);
    }
}
