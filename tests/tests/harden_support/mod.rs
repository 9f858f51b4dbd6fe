//! Helpers shared by the hardening tests (issue 9).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sensor_tests::Sensor;

/// A fresh directory under the system temp dir, removed by the caller.
pub fn tempdir(tag: &str) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(sensor_tests::unique(tag));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A Sigma rule firing on process creations whose command line contains `token`.
pub fn rule_yaml(id: &str, token: &str) -> String {
    format!(
        "title: Hardening test rule {id}\nid: {id}\nstatus: test\nlogsource:\n  product: linux\n  \
         category: process_creation\ndetection:\n  selection:\n    CommandLine|contains: '{token}'\n  \
         condition: selection\nlevel: high\n"
    )
}

/// Sends `signal` to the sensor.
pub fn signal(sensor: &Sensor, signal: i32) {
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(sensor.pid() as i32, signal) };
}

/// Waits until the sensor's log contains `needle` at least `count` times.
pub fn wait_log(
    sensor: &Sensor,
    needle: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while sensor.log().matches(needle).count() < count {
        anyhow::ensure!(
            Instant::now() < deadline,
            "log never had {count} x {needle:?}; log:\n{}",
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Background load: `n` shells looping fork/exec + opens + loopback connects until killed.
pub struct Storm(Vec<Child>);

impl Storm {
    /// Starts the storm; `connect_port` must be a listening loopback TCP port (or 0 for none).
    pub fn start(n: usize, dir: &Path, connect_port: u16) -> anyhow::Result<Storm> {
        Storm::start_paced(n, dir, connect_port, "")
    }

    /// Like [`Storm::start`], running `pause` (a shell command, e.g. `sleep 0.01`) per round.
    pub fn start_paced(
        n: usize,
        dir: &Path,
        connect_port: u16,
        pause: &str,
    ) -> anyhow::Result<Storm> {
        let mut children = Vec::new();
        for i in 0..n {
            let script = format!(
                "i=0; while :; do /bin/true; : > '{d}/s{i}-'$((i%64)); : < /etc/hostname; \
                 if [ {p} -ne 0 ]; then (exec 3<>/dev/tcp/127.0.0.1/{p}) 2>/dev/null; fi; i=$((i+1)); {pause}; done",
                d = dir.display(),
                p = connect_port,
                pause = if pause.is_empty() { ":" } else { pause }
            );
            children.push(
                Command::new("/bin/bash")
                    .arg("-c")
                    .arg(script)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()?,
            );
        }
        Ok(Storm(children))
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// VmRSS of `pid` in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// GET `path` from the sensor's metrics server, as text.
pub fn http_get(addr: &str, path: &str) -> anyhow::Result<String> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut out = String::new();
    stream.read_to_string(&mut out)?;
    Ok(out)
}

/// A free loopback port for the metrics server.
pub fn free_addr() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.to_string())
}

/// A correlation rule `id` firing when three execs whose command line contains `token` run
/// within two minutes (its base rule is `<id>-base`), for the state-carry-over tests.
pub fn correlation_yaml(id: &str, token: &str) -> String {
    format!(
        "title: Hardening correlation {id}\nid: {id}\ncorrelation:\n  type: event_count\n  \
         rules:\n    - {id}-base\n  group-by:\n    - Image\n  timespan: 120s\n  condition:\n    \
         gte: 3\nlevel: high\n---\ntitle: Hardening correlation base {id}\nid: {id}-base\n\
         status: test\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  \
         selection:\n    CommandLine|contains: '{token}'\n  condition: selection\nlevel: low\n"
    )
}

/// Runs `/bin/echo <token>-<i>` and waits until the sensor reported its exec (so the engine
/// has seen it: events are written before they are evaluated, in the same batch).
pub fn exec_seen(sensor: &mut Sensor, token: &str, i: usize) -> anyhow::Result<()> {
    let arg = format!("{token}-{i}");
    Command::new("/bin/echo")
        .arg(&arg)
        .stdout(Stdio::null())
        .status()?;
    sensor.wait_for(Duration::from_secs(60), |d| {
        sensor_tests::field_str(d, "event.action") == Some("exec")
            && sensor_tests::field_str(d, "process.command_line").is_some_and(|c| c.contains(&arg))
    })?;
    Ok(())
}

/// Whether any correlation alert of rule `id` was written so far.
pub fn correlation_fired(sensor: &mut Sensor, id: &str) -> anyhow::Result<bool> {
    Ok(sensor
        .drain()?
        .iter()
        .any(|d| sensor_tests::is_alert(d) && sensor_tests::field_str(d, "rule.id") == Some(id)))
}
