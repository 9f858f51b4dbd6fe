//! Issue 3: overload. With the smallest ring buffer and a storm of opens of unique paths, the
//! sensor keeps running, drops are counted in the kernel, and for the storm's events
//! generated − received equals the drop counter exactly.

mod capture_support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use capture_support::{stat, tempdir, terminate_and_read_stats};
use sensor_tests::{Sensor, field_str, require_root, unique};

const STORM: usize = 20_000;

#[test]
fn storm_drops_are_counted_exactly() -> anyhow::Result<()> {
    if !require_root("storm_drops_are_counted_exactly") {
        return Ok(());
    }
    let dir = tempdir()?;
    let prefix = format!("{}/{}", dir.to_string_lossy(), unique("storm-"));
    for i in 0..STORM {
        std::fs::write(format!("{prefix}{i}"), b"")?;
    }
    // The shell waits on stdin until the sensor is attached, then opens each path once with a
    // builtin (no fork, no other opens): exactly STORM open events from this one process.
    let mut storm = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "read _; i=0; while [ $i -lt {STORM} ]; do : < '{prefix}'$i; i=$((i+1)); done"
        ))
        .stdin(Stdio::piped())
        .spawn()?;
    let pid = storm.id().to_string();
    // One page of ring buffer; only the storm's process; no collapsing (paths are unique
    // anyway) so that every open is either received or counted as dropped.
    let mut sensor = Sensor::start(&[
        "run",
        "--events",
        "-",
        "--ringbuf-kib",
        "4",
        "--only-pid",
        &pid,
        "--open-collapse-ms",
        "0",
    ])?;
    storm
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"go\n")?;
    let status = storm.wait()?;
    assert!(status.success());
    let stats = terminate_and_read_stats(&sensor)?;
    let received = sensor
        .drain()?
        .iter()
        .filter(|e| {
            field_str(e, "event.action") == Some("open")
                && field_str(e, "file.path").is_some_and(|p| p.starts_with(&prefix))
        })
        .count();
    let exit = sensor.stop()?;
    assert!(exit.success(), "sensor exited with {exit:?}");
    let dropped = stat(&stats, "dropped_open").ok_or_else(|| anyhow::anyhow!("{stats}"))?;
    eprintln!("storm: generated {STORM}, received {received}, dropped {dropped}");
    assert!(dropped > 0, "no drops with a one-page ring: {stats}");
    assert_eq!(
        STORM as u64 - received as u64,
        dropped,
        "generated - received must equal the kernel drop counter: {stats}"
    );
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
