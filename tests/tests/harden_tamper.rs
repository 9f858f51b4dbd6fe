//! Issue 9: self-protection. Opening the sensor's /proc memory or maps, or writing tracefs
//! controls, raises a tamper alert; a process that names itself after the sensor is still seen.

mod harden_support;

use std::process::Command;
use std::time::Duration;

use sensor_tests::{Sensor, field, field_str, require_root};

fn tamper_alert(sensor: &mut Sensor, rule: &str, pid: u32) -> anyhow::Result<serde_json::Value> {
    sensor.wait_for_alert(Duration::from_secs(30), |a| {
        field_str(a, "rule.id") == Some(rule)
            && field(a, "process.pid").and_then(serde_json::Value::as_u64) == Some(u64::from(pid))
    })
}

#[test]
fn opening_sensor_memory_or_tracing_controls_raises_tamper_alerts() -> anyhow::Result<()> {
    if !require_root("opening_sensor_memory_or_tracing_controls_raises_tamper_alerts") {
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    let me = sensor.pid();

    let cat = Command::new("/bin/cat")
        .arg(format!("/proc/{me}/maps"))
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let cat_pid = cat.id();
    cat.wait_with_output()?;
    let alert = tamper_alert(&mut sensor, "sensor-tamper-proc-access", cat_pid)?;
    assert_eq!(field_str(&alert, "event.kind"), Some("alert"));
    assert_eq!(field_str(&alert, "rule.ruleset"), Some("self-protection"));
    assert_eq!(
        field_str(&alert, "threat.technique.0.id").or_else(|| alert
            .pointer("/threat/technique/0/id")
            .and_then(serde_json::Value::as_str)),
        Some("T1562.001")
    );

    // Evasion attempt: the reader renames itself after the sensor (comm "sensor") before
    // opening /proc/<sensor>/mem from a shell builtin. Only the real pid is filtered.
    let shell = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "printf sensor > /proc/$$/comm; read -r x < /proc/{me}/mem 2>/dev/null; true"
        ))
        .spawn()?;
    let shell_pid = shell.id();
    shell.wait_with_output()?;
    // (Its `process.name` in the alert is the exec-time name from the process table.)
    tamper_alert(&mut sensor, "sensor-tamper-proc-access", shell_pid)?;

    // Writing tracing_on (its current value, so nothing changes for anyone).
    let tracing_on = [
        "/sys/kernel/tracing/tracing_on",
        "/sys/kernel/debug/tracing/tracing_on",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists());
    if let Some(path) = tracing_on {
        let writer = Command::new("/bin/bash")
            .arg("-c")
            .arg(format!("v=$(cat {path}); echo $v > {path}"))
            .spawn()?;
        let writer_pid = writer.id();
        writer.wait_with_output()?;
        tamper_alert(&mut sensor, "sensor-tamper-tracing-control", writer_pid)?;
    }
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}
