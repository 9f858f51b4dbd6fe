//! Helpers shared by the `capture_*` kernel tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use sensor_tests::{Sensor, field, field_str, unique};

/// A fresh directory under the system temp dir.
pub fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(unique("sensor-capture-"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `field` as an i64.
pub fn int(doc: &Value, path: &str) -> Option<i64> {
    field(doc, path).and_then(Value::as_i64)
}

/// `field` as a list of strings.
pub fn strings<'a>(doc: &'a Value, path: &str) -> Vec<&'a str> {
    field(doc, path)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// An event of `action` by process `pid`.
pub fn is_action_of(doc: &Value, action: &str, pid: u32) -> bool {
    field_str(doc, "event.action") == Some(action)
        && int(doc, "process.pid") == Some(i64::from(pid))
}

/// Sends SIGTERM and waits for the shutdown statistics line, which it returns. Events written
/// before it can still be drained; then call `stop` to reap the sensor.
pub fn terminate_and_read_stats(sensor: &Sensor) -> anyhow::Result<String> {
    let pid = i32::try_from(sensor.pid())?;
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(15);
    let line = loop {
        if let Some(line) = sensor
            .log()
            .lines()
            .find(|l| l.contains("capture statistics"))
        {
            break line.to_owned();
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no statistics line; log:\n{}",
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // The events were flushed before the statistics line; give the reader thread a moment.
    std::thread::sleep(Duration::from_millis(300));
    Ok(line)
}

/// The value of `key=N` in a log line.
pub fn stat(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}
