//! Issue 9: restart. A process started while the sensor was down is known after the restart
//! (the process table is seeded from /proc), so when it execs its event carries its ancestry.
//! A correlation half-way through its window when the sensor stops completes after the
//! restart (state saved at SIGTERM in `--state-dir`).

mod harden_support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use sensor_tests::{Sensor, field, field_str, require_root, unique};

#[test]
fn process_started_while_down_has_ancestry_after_restart() -> anyhow::Result<()> {
    if !require_root("process_started_while_down_has_ancestry_after_restart") {
        return Ok(());
    }
    let token = unique("restart");
    // First run, then stop: the gap starts.
    let first = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    assert!(first.stop()?.success());
    // Started in the gap: a shell that waits, then execs echo.
    let mut gap = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!("read _; exec /bin/echo {token}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    let gap_pid = gap.id();
    let mut sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    gap.stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"go\n")?;
    gap.wait()?;
    let doc = sensor.wait_for(Duration::from_secs(60), |d| {
        field_str(d, "event.action") == Some("exec")
            && field_str(d, "process.command_line").is_some_and(|c| c.contains(&token))
    })?;
    assert_eq!(
        field(&doc, "process.pid").and_then(|v| v.as_u64()),
        Some(u64::from(gap_pid))
    );
    // The parent is this test process, known only from the /proc seed.
    assert_eq!(
        field(&doc, "process.parent.pid").and_then(|v| v.as_u64()),
        Some(u64::from(std::process::id())),
        "{doc}"
    );
    let ancestors = field(&doc, "process.ancestors")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    assert!(ancestors > 0, "no ancestors: {doc}");
    assert!(sensor.stop()?.success());
    Ok(())
}

#[test]
fn a_correlation_half_way_through_its_window_survives_a_restart() -> anyhow::Result<()> {
    if !require_root("a_correlation_half_way_through_its_window_survives_a_restart") {
        return Ok(());
    }
    let dir = harden_support::tempdir("restart-corr-")?;
    let state = harden_support::tempdir("restart-state-")?;
    let token = unique("corrtok");
    std::fs::write(
        dir.join("corr.yml"),
        harden_support::correlation_yaml("harden-corr-restart", &token),
    )?;
    let args = [
        "run",
        "--events",
        "-",
        "--open-ignore-prefix",
        "/",
        "--state-dir",
        state.to_str().unwrap_or_default(),
        "--rules",
        dir.to_str().unwrap_or_default(),
    ];
    let mut first = Sensor::start(&args)?;
    harden_support::exec_seen(&mut first, &token, 0)?;
    harden_support::exec_seen(&mut first, &token, 1)?;
    assert!(!harden_support::correlation_fired(
        &mut first,
        "harden-corr-restart"
    )?);
    assert!(first.stop()?.success());
    let file = state.join("correlation-state.json");
    assert!(file.exists(), "no state file written at SIGTERM");

    let mut second = Sensor::start(&args)?;
    assert!(
        second.log().contains("correlation state restored"),
        "{}",
        second.log()
    );
    assert!(!file.exists(), "the state file is used once");
    harden_support::exec_seen(&mut second, &token, 2)?;
    second.wait_for_alert(Duration::from_secs(30), |a| {
        field_str(a, "rule.id") == Some("harden-corr-restart")
    })?;
    assert!(second.stop()?.success());

    // Without the saved state (the second run saved its own: start from an empty directory),
    // one more exec alone does not fire.
    let empty = harden_support::tempdir("restart-empty-")?;
    let mut fresh = args;
    fresh[6] = empty.to_str().unwrap_or_default();
    let mut third = Sensor::start(&fresh)?;
    harden_support::exec_seen(&mut third, &token, 3)?;
    std::thread::sleep(Duration::from_secs(1));
    assert!(!harden_support::correlation_fired(
        &mut third,
        "harden-corr-restart"
    )?);
    assert!(third.stop()?.success());
    std::fs::remove_dir_all(&dir)?;
    std::fs::remove_dir_all(&state)?;
    std::fs::remove_dir_all(&empty)?;
    Ok(())
}
