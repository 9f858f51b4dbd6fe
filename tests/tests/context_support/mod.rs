//! Helpers shared by the context tests (issue 4).

#![allow(dead_code, reason = "each test crate uses a subset")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sensor_tests::{Sensor, field, field_str, unique};
use serde_json::Value;

/// A fresh directory under the temp dir, readable by everyone.
pub fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(unique("sensor-ctx-"));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

/// Copies `program` into `dir` under a unique name, so its events are this test's alone.
pub fn copy_program(dir: &Path, program: &str, prefix: &str) -> anyhow::Result<String> {
    let path = dir.join(unique(prefix));
    std::fs::copy(program, &path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path.to_string_lossy().into_owned())
}

/// Waits for the exec event of `executable`.
pub fn wait_exec(sensor: &mut Sensor, executable: &str) -> anyhow::Result<Value> {
    // Generous: debug builds on a loaded machine with every open reported.
    sensor.wait_for(Duration::from_secs(40), |e| {
        field_str(e, "event.action") == Some("exec")
            && field_str(e, "process.executable") == Some(executable)
    })
}

/// The pid of a JSON process object.
pub fn pid_of(v: &Value) -> Option<u64> {
    v.get("pid").and_then(Value::as_u64)
}

/// `process.ancestors` as a list.
pub fn ancestors(event: &Value) -> Vec<Value> {
    field(event, "process.ancestors")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The string items of an args array.
pub fn args(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
