//! Issue 9: SIGTERM under load exits 0 within the bound (10 s), after flushing events and
//! printing the shutdown statistics, with every program detached.

mod harden_support;

use std::time::{Duration, Instant};

use harden_support::{Storm, tempdir};
use sensor_tests::{Sensor, require_root};

#[test]
fn sigterm_under_load_exits_zero_within_bound() -> anyhow::Result<()> {
    if !require_root("sigterm_under_load_exits_zero_within_bound") {
        return Ok(());
    }
    let dir = tempdir("shutdown-")?;
    let mut sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    let storm = Storm::start(3, &dir, 0)?;
    std::thread::sleep(Duration::from_secs(5));
    let log_before = sensor.drain()?.len();
    assert!(log_before > 0, "no events under load");
    let started = Instant::now();
    let status = sensor_stop_keep_log(&mut sensor)?;
    let took = started.elapsed();
    drop(storm);
    assert!(
        status.0.success(),
        "exit status {:?}; log:\n{}",
        status.0,
        status.1
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    for needle in [
        "SIGTERM received",
        "capture statistics",
        "detaching eBPF programs",
    ] {
        assert!(
            status.1.contains(needle),
            "no {needle:?} in log:\n{}",
            status.1
        );
    }
    eprintln!("SIGTERM under load: exited in {took:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// SIGTERM and wait (10 s bound), returning the status and the log.
fn sensor_stop_keep_log(sensor: &mut Sensor) -> anyhow::Result<(std::process::ExitStatus, String)> {
    harden_support::signal(sensor, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = sensor.try_wait()? {
            // Let the log reader catch the last lines.
            std::thread::sleep(Duration::from_millis(200));
            return Ok((status, sensor.log()));
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no exit within 10 s; log:\n{}",
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
