//! Issue 7: the exposition of a running sensor and the shipped Prometheus files pass
//! `promtool` (Debian package `prometheus`, installed by scripts/setup.sh).

mod metrics_support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use metrics_support::{get, produce_execs, repo, start_sensor};
use sensor_tests::require_root;

#[test]
fn promtool_check_metrics_on_a_real_scrape_is_clean() -> anyhow::Result<()> {
    if !require_root("promtool_check_metrics_on_a_real_scrape_is_clean") {
        return Ok(());
    }
    let (sensor, addr) = start_sensor()?;
    produce_execs(5)?;
    std::thread::sleep(Duration::from_millis(1500));
    let (status, body) = get(addr, "/metrics")?;
    assert_eq!(status, 200, "{body}");
    for family in [
        "sensor_events_total",
        "sensor_events_dropped_total",
        "sensor_build_info",
        "sensor_detection_latency_seconds",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
    ] {
        assert!(
            body.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{body}"
        );
    }
    let exec_count: f64 = body
        .lines()
        .find_map(|l| l.strip_prefix("sensor_events_total{type=\"exec\"} "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(exec_count >= 5.0, "exec events not counted:\n{body}");

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())?;
    let output = promtool.wait_with_output()?;
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool check metrics: {report}");
    assert!(
        report.trim().is_empty(),
        "promtool reported problems: {report}"
    );
    sensor.stop()?;
    Ok(())
}

#[test]
fn promtool_check_rules_and_config_are_clean() -> anyhow::Result<()> {
    let prometheus = repo().join("deploy/prometheus");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["check", "config", "scrape.yml"],
        ["test", "rules", "alerts_test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(&prometheus)
            .output()?;
        assert!(
            output.status.success(),
            "promtool {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
