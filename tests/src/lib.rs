//! Harness for the privileged integration tests: start the real `sensor` binary against the real
//! kernel, wait for the JSON lines it writes, stop it with a signal.
//!
//! The binary is `$SENSOR_BIN` (set by `cargo xtask test`), else `target/debug/sensor`. Tests
//! that need root call [`require_root`] first, which prints a skip reason and returns false when
//! they cannot run.

pub mod scenario;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Value;

/// The sensor binary under test.
pub fn sensor_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SENSOR_BIN") {
        return PathBuf::from(bin);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/sensor")
}

/// Every BPF program loaded in the kernel, by id (`bpftool --json prog list`); empty when
/// bpftool is missing or its output is not understood.
pub fn loaded_prog_ids() -> Vec<u32> {
    let Ok(output) = Command::new("bpftool")
        .args(["--json", "prog", "list"])
        .output()
    else {
        return Vec::new();
    };
    serde_json::from_slice::<Value>(&output.stdout)
        .ok()
        .and_then(|list| {
            list.as_array().map(|progs| {
                progs
                    .iter()
                    .filter_map(|p| p.get("id").and_then(Value::as_u64))
                    .filter_map(|id| u32::try_from(id).ok())
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// True when the test can load eBPF (root with BTF); otherwise prints why it is skipped.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED {test}: needs root to load eBPF programs");
        return false;
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("SKIPPED {test}: the kernel has no BTF (/sys/kernel/btf/vmlinux)");
        return false;
    }
    true
}

/// A unique token for naming test artefacts, so assertions match only this test's events.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}{}x{nanos:08x}", std::process::id())
}

/// The longest [`Sensor::drain`] keeps reading.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(10);

/// A running sensor whose stdout (events) is collected line by line.
pub struct Sensor {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
}

impl Sensor {
    /// Starts `sensor <args>` and waits until it reports that it is attached.
    pub fn start(args: &[&str]) -> anyhow::Result<Sensor> {
        let mut command = Command::new(sensor_bin());
        command.args(args);
        // Tests never contend for the default metrics port (another sensor may hold it).
        if args.first() == Some(&"run") && !args.iter().any(|a| a.starts_with("--metrics-addr")) {
            command.args(["--metrics-addr", "127.0.0.1:0"]);
        }
        // Nor do they share correlation state through the default state directory (a window
        // left open by one test would complete in the next): tests that want it name one.
        if args.first() == Some(&"run") && !args.iter().any(|a| a.starts_with("--state-")) {
            command.args(["--state-max-age-secs", "0"]);
        }
        Sensor::start_command(command)
    }

    /// Like [`Sensor::start`], for a command that ends by executing the sensor (through
    /// `setpriv`, `chroot`, ...), so that its pid is the sensor's.
    pub fn start_command(mut command: Command) -> anyhow::Result<Sensor> {
        // A test run that is killed (timeout, ^C) must not leave sensors attached: the kernel
        // sends SIGTERM to the child when the thread that forked it dies. A thread, not the
        // process: tests run on threads of their own, each of which ends after its Sensor is
        // stopped, so this never fires on a sensor that is still wanted.
        // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated in the child.
        unsafe {
            use std::os::unix::process::CommandExt as _;
            let parent = libc::getpid();
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("test process exited during spawn"));
                }
                Ok(())
            });
        }
        let mut child = command
            .env("SENSOR_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready) = channel();
        let log_writer = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("sensor attached") {
                    let _ = ready_tx.send(());
                }
                if let Ok(mut log) = log_writer.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let mut sensor = Sensor {
            child,
            lines,
            seen: Vec::new(),
            stderr: log,
        };
        match ready.recv_timeout(Duration::from_secs(30)) {
            Ok(()) => Ok(sensor),
            Err(_) => {
                // Let the stderr reader catch up so the log below says why.
                std::thread::sleep(Duration::from_millis(300));
                let status = sensor.child.try_wait().ok().flatten();
                let _ = sensor.child.kill();
                bail!(
                    "sensor did not attach (within 30 s, or it exited: {status:?}); log:\n{}",
                    sensor.log()
                )
            }
        }
    }

    /// Everything the sensor wrote to stderr so far.
    pub fn log(&self) -> String {
        self.stderr.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits up to `timeout` for a JSON line matching `pred` and returns it. Lines seen earlier
    /// (also by previous calls) are searched first.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        self.wait_for_any(timeout, |v| !is_alert(v) && pred(v))
    }

    /// Like [`Sensor::wait_for`], for alert documents (`event.kind: alert`) only.
    pub fn wait_for_alert(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        self.wait_for_any(timeout, |v| is_alert(v) && pred(v))
    }

    /// Waits for any line (event or alert) matching `pred`.
    pub fn wait_for_any(
        &mut self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return Ok(v.clone());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let value: Value = serde_json::from_str(&line).with_context(|| {
                        format!("sensor wrote a line that is not JSON: {line:?}")
                    })?;
                    let hit = pred(&value);
                    self.seen.push(value);
                    if hit {
                        return Ok(self.seen.last().cloned().unwrap_or(Value::Null));
                    }
                }
                Err(RecvTimeoutError::Timeout) => bail!(
                    "no matching line within {timeout:?} ({} lines seen); log:\n{}",
                    self.seen.len(),
                    self.log()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("sensor output ended; log:\n{}", self.log())
                }
            }
        }
    }

    /// Every JSON line received so far (after draining what is pending, for at most
    /// [`DRAIN_BUDGET`]: a sensor under a storm can write lines faster than a debug-built test
    /// parses them, and the pending queue would then never be empty).
    pub fn drain(&mut self) -> anyhow::Result<&[Value]> {
        let deadline = Instant::now() + DRAIN_BUDGET;
        while Instant::now() < deadline
            && let Ok(line) = self.lines.try_recv()
        {
            let value: Value = serde_json::from_str(&line)
                .with_context(|| format!("sensor wrote a line that is not JSON: {line:?}"))?;
            self.seen.push(value);
        }
        Ok(&self.seen)
    }

    /// The exit status if the sensor has exited (the log stays readable afterwards).
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// The sensor's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` and waits up to `timeout` for the sensor to exit.
    pub fn stop_with(mut self, signal: i32, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let pid = i32::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(pid, signal) };
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                bail!(
                    "sensor did not exit within {timeout:?} of signal {signal}; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then wait up to 10 s.
    pub fn stop(self) -> anyhow::Result<ExitStatus> {
        self.stop_with(libc::SIGTERM, Duration::from_secs(10))
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

/// True for alert documents (`event.kind: alert`), which share stdout with events.
pub fn is_alert(doc: &Value) -> bool {
    field_str(doc, "event.kind") == Some("alert")
}

/// A JSON value at a dotted path (`process.parent.pid`), following nested objects.
pub fn field<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// `field` as a string.
pub fn field_str<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    field(doc, path).and_then(Value::as_str)
}
