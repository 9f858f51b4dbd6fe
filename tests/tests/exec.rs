//! Issue 2: the pipe end to end. A uniquely named program is executed and its exec event must
//! come out with the right executable and argv; the sensor must stop cleanly on SIGTERM and
//! leave nothing attached; an unprivileged start must fail with one clear line.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::Duration;

use sensor_tests::{Sensor, field, field_str, loaded_prog_ids, require_root, sensor_bin, unique};

#[test]
fn exec_of_a_unique_program_is_reported_and_sigterm_detaches() -> anyhow::Result<()> {
    if !require_root("exec_of_a_unique_program_is_reported_and_sigterm_detaches") {
        return Ok(());
    }
    let dir = tempdir()?;
    let name = unique("uniq-true-");
    let program = dir.join(&name);
    std::fs::copy("/bin/true", &program)?;
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755))?;
    let arg = unique("arg-");

    let mut sensor = Sensor::start(&["run", "--events", "-"])?;
    let sensor_pid = sensor.pid();
    let status = Command::new(&program)
        .arg(&arg)
        .arg("with space")
        .status()?;
    assert!(status.success());

    let program_str = program.to_string_lossy().into_owned();
    let event = sensor.wait_for(Duration::from_secs(10), |e| {
        field_str(e, "process.executable") == Some(program_str.as_str())
    })?;
    assert_eq!(field_str(&event, "event.action"), Some("exec"));
    let args: Vec<&str> = field(&event, "process.args")
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    assert_eq!(args, vec![program_str.as_str(), arg.as_str(), "with space"]);
    assert!(
        field(&event, "process.pid")
            .and_then(|p| p.as_u64())
            .is_some_and(|p| p > 0)
    );

    let ids_before = sensor_prog_ids(sensor_pid);
    assert!(
        !ids_before.is_empty(),
        "the running sensor should own BPF programs"
    );
    let status = sensor.stop()?;
    assert!(status.success(), "sensor exited with {status:?}");
    // The kernel frees a detached program (and its id) after an RCU grace period, which can end
    // a moment after the process that held it has exited.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let remaining = loop {
        let remaining: Vec<u32> = loaded_prog_ids()
            .into_iter()
            .filter(|id| ids_before.contains(id))
            .collect();
        if remaining.is_empty() || std::time::Instant::now() > deadline {
            break remaining;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        remaining.is_empty(),
        "programs still loaded after exit: {remaining:?}"
    );
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn unprivileged_start_fails_with_one_clear_line() -> anyhow::Result<()> {
    if !require_root("unprivileged_start_fails_with_one_clear_line") {
        return Ok(());
    }
    // Drop to nobody with no capabilities at all.
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(sensor_bin())
        .args(["run"])
        .env("RUST_BACKTRACE", "1")
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(
        lines[0].contains("CAP_BPF") && lines[0].contains("CAP_PERFMON"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("backtrace") && !stderr.contains("panicked"),
        "{stderr}"
    );
    Ok(())
}

/// IDs of the BPF programs that the process `pid` holds open (from /proc/PID/fdinfo).
fn sensor_prog_ids(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|info| info.contains("prog_type:"))
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("prog_id:"))
                .and_then(|id| id.trim().parse().ok())
        })
        .collect()
}

fn tempdir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(unique("sensor-test-"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
