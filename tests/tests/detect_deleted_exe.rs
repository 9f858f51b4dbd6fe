//! Issue 6 (T1070.004): a program run from a dropper location whose file is deleted while it
//! runs raises one `executable-deleted` event and one alert, attributed to that process with its
//! ancestry; the same done from a system-like location raises nothing.

mod context_support;
mod metrics_support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use context_support::{ancestors, pid_of, wait_exec};
use sensor_tests::{Sensor, field, field_str, require_root, unique};
use serde_json::Value;

const RULE: &str = "806b111e-c7de-44aa-8af1-f9f72df64dd7";

/// Copies /usr/bin/sleep into `dir` (created, mode 0755) and returns the copy's path.
fn drop_sleep(dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    let path = dir.join(unique("sysupd-"));
    std::fs::copy("/usr/bin/sleep", &path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path.to_string_lossy().into_owned())
}

/// Runs `program 4` under `bash -c` (so that it has a parent and grandparent to check),
/// waits for its exec event, deletes the file and returns (bash, exec event).
fn run_and_delete(
    sensor: &mut Sensor,
    program: &str,
) -> anyhow::Result<(std::process::Child, Value)> {
    // `; true` keeps bash from exec'ing the program in its own place.
    let bash = Command::new("/bin/bash")
        .args(["-c", "\"$0\" 4; true", program])
        .stdout(Stdio::null())
        .spawn()?;
    let exec = wait_exec(sensor, program)?;
    std::fs::remove_file(program)?;
    Ok((bash, exec))
}

/// Removes the test's directories however the test ends.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for dir in &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn is_deleted_event(doc: &Value, pid: u64) -> bool {
    field_str(doc, "event.action") == Some("executable-deleted")
        && field(doc, "process.pid").and_then(Value::as_u64) == Some(pid)
}

#[test]
fn deleted_dropper_alerts_once_and_system_path_stays_quiet() -> anyhow::Result<()> {
    if !require_root("deleted_dropper_alerts_once_and_system_path_stays_quiet") {
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "-", "--exe-watch-ms", "250"])?;
    let base = std::env::temp_dir().join(unique("sensor-dx-"));
    let payload = drop_sleep(&base.join(".cache-x"))?;
    // Not a dropper location: /var/lib is root's, mode 0755, no hidden component.
    let quiet_dir = Path::new("/var/lib").join(unique("sensor-dx-"));
    let _cleanup = Cleanup(vec![base.clone(), quiet_dir.clone()]);
    let quiet = drop_sleep(&quiet_dir)?;

    let (mut bash, exec) = run_and_delete(&mut sensor, &payload)?;
    let pid = field(&exec, "process.pid")
        .and_then(Value::as_u64)
        .expect("exec pid");
    let entity = field_str(&exec, "process.entity_id").expect("entity id");
    let alert = sensor.wait_for_alert(Duration::from_secs(20), |a| {
        field_str(a, "rule.id") == Some(RULE)
            && field(a, "process.pid").and_then(Value::as_u64) == Some(pid)
    })?;
    assert_eq!(field_str(&alert, "process.entity_id"), Some(entity));
    assert_eq!(
        field_str(&alert, "process.executable"),
        Some(payload.as_str())
    );
    assert_eq!(field_str(&alert, "sigma.level"), Some("high"));
    assert_eq!(
        field(&alert, "process.parent.pid").and_then(Value::as_u64),
        Some(u64::from(bash.id()))
    );
    let chain = ancestors(&alert);
    assert_eq!(
        chain.first().and_then(pid_of),
        Some(u64::from(bash.id())),
        "{chain:?}"
    );
    assert_eq!(
        chain.get(1).and_then(pid_of),
        Some(u64::from(std::process::id())),
        "{chain:?}"
    );
    let techniques: Vec<&str> = field(&alert, "threat.technique")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|t| t["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(techniques.contains(&"T1070.004"), "{techniques:?}");
    // The event behind it is in the event stream too, in ECS form.
    let event = sensor.wait_for(Duration::from_secs(5), |e| is_deleted_event(e, pid))?;
    assert_eq!(
        field(&event, "event.category"),
        Some(&serde_json::json!(["process"]))
    );
    assert_eq!(
        field(&event, "event.type"),
        Some(&serde_json::json!(["change"]))
    );
    assert_eq!(
        field_str(&event, "sensor.exe_deleted.link"),
        Some(payload.as_str())
    );
    assert_eq!(field_str(&event, "process.entity_id"), Some(entity));

    let (mut quiet_bash, quiet_exec) = run_and_delete(&mut sensor, &quiet)?;
    let quiet_pid = field(&quiet_exec, "process.pid")
        .and_then(Value::as_u64)
        .expect("exec pid");
    // Both keep running for 4 s: many checks (every 250 ms) happen meanwhile.
    bash.wait()?;
    quiet_bash.wait()?;
    std::thread::sleep(Duration::from_millis(500));
    let seen = sensor.drain()?;
    let reports = seen.iter().filter(|d| is_deleted_event(d, pid)).count();
    assert_eq!(reports, 1, "one executable-deleted event per process");
    let alerts = seen
        .iter()
        .filter(|d| {
            field_str(d, "rule.id") == Some(RULE)
                && field(d, "process.pid").and_then(Value::as_u64) == Some(pid)
        })
        .count();
    assert_eq!(alerts, 1, "one alert per process");
    assert!(
        !seen.iter().any(|d| is_deleted_event(d, quiet_pid)),
        "a program deleted from /var/lib is not reported"
    );
    // The checks and the finding are counted.
    let log = sensor.log();
    let addr: std::net::SocketAddr = log
        .split_whitespace()
        .find_map(|w| w.strip_prefix("metrics_addr="))
        .expect("metrics_addr in the log")
        .parse()?;
    let (status, body) = metrics_support::get(addr, "/metrics")?;
    assert_eq!(status, 200);
    let counter = |result: &str| -> u64 {
        let key = format!("sensor_exe_watch_total{{result=\"{result}\"}} ");
        body.lines()
            .find_map(|l| l.strip_prefix(key.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(counter("checked") >= 2, "{body}");
    assert!(counter("deleted") >= 1, "{body}");

    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}
