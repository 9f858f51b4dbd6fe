//! Issue 9: restart. A process started while the sensor was down is known after the restart
//! (the process table is seeded from /proc), so when it execs its event carries its ancestry.

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
