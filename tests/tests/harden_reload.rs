//! Issue 9: SIGHUP reload under load. A broken rule set is rejected and the old rules keep
//! alerting; a fixed one is taken; across reloads every event is evaluated exactly once, and a
//! correlation half-way through its window keeps its state.

mod harden_support;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use harden_support::{
    Storm, correlation_fired, correlation_yaml, exec_seen, rule_yaml, signal, tempdir, wait_log,
};
use sensor_tests::{Sensor, field_str, require_root, unique};

fn alerts_for(
    sensor: &mut Sensor,
    rule: &str,
    token: &str,
) -> anyhow::Result<HashMap<String, usize>> {
    let mut seen = HashMap::new();
    for doc in sensor.drain()? {
        if field_str(doc, "event.kind") == Some("alert") && field_str(doc, "rule.id") == Some(rule)
        {
            let line = field_str(doc, "process.command_line").unwrap_or_default();
            if let Some(seq) = line.split_whitespace().find(|w| w.starts_with(token)) {
                *seen.entry(seq.to_string()).or_insert(0) += 1;
            }
        }
    }
    Ok(seen)
}

/// Execs whose alerts are counted across the reloads.
const EXECS: usize = 150;

#[test]
fn reload_rejects_broken_rules_keeps_old_and_takes_fixed_exactly_once() -> anyhow::Result<()> {
    if !require_root("reload_rejects_broken_rules_keeps_old_and_takes_fixed_exactly_once") {
        return Ok(());
    }
    let dir = tempdir("reload-rules-")?;
    let load = tempdir("reload-load-")?;
    let old_token = unique("oldtok");
    let new_token = unique("newtok");
    std::fs::write(dir.join("a.yml"), rule_yaml("harden-old", &old_token))?;
    // Read-only opens are not reported (`/` prefix): the host is shared with builds whose opens
    // would otherwise bury this test's execs under a debug build's backlog.
    let mut sensor = Sensor::start(&[
        "run",
        "--metrics-addr",
        "127.0.0.1:0",
        "--events",
        "-",
        "--open-ignore-prefix",
        "/",
        "--rules",
        dir.to_str().unwrap_or_default(),
    ])?;
    // Steady background load (the sensor is a debug build on a shared machine: a flat-out
    // storm is the overload test's job, not this one's).
    let _storm = Storm::start_paced(2, &load, 0, "sleep 0.2")?;

    // Execs of `echo <old_token>-<i>` while the rule set is reloaded three times (broken,
    // then fixed, then the same again): each must alert exactly once.
    let runner = {
        let token = old_token.clone();
        std::thread::spawn(move || {
            for i in 0..EXECS {
                let _ = Command::new("/bin/echo")
                    .arg(format!("{token}-{i}"))
                    .output();
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    std::fs::write(
        dir.join("b.yml"),
        "title: broken\nlogsource: [\ndetection:\n  x: {\n",
    )?;
    signal(&sensor, libc::SIGHUP);
    wait_log(&sensor, "reload rejected", 1, Duration::from_secs(20))?;
    let log = sensor.log();
    assert!(
        log.contains("rule rejected by reload") && log.contains("b.yml"),
        "{log}"
    );

    std::fs::write(dir.join("b.yml"), rule_yaml("harden-new", &new_token))?;
    signal(&sensor, libc::SIGHUP);
    wait_log(&sensor, "reload accepted", 1, Duration::from_secs(20))?;
    signal(&sensor, libc::SIGHUP);
    wait_log(&sensor, "reload accepted", 2, Duration::from_secs(20))?;
    runner
        .join()
        .map_err(|_| anyhow::anyhow!("runner panicked"))?;

    Command::new("/bin/echo")
        .arg(format!("{new_token}-0"))
        .output()?;
    sensor.wait_for_alert(Duration::from_secs(60), |a| {
        field_str(a, "rule.id") == Some("harden-new")
    })?;
    // The last old-token exec is in; let the pipeline settle before counting.
    sensor.wait_for_alert(Duration::from_secs(60), |a| {
        field_str(a, "process.command_line")
            .is_some_and(|c| c.contains(&format!("{old_token}-{}", EXECS - 1)))
    })?;
    std::thread::sleep(Duration::from_millis(500));
    let seen = alerts_for(&mut sensor, "harden-old", &old_token)?;
    let missing: Vec<usize> = (0..EXECS)
        .filter(|i| !seen.contains_key(&format!("{old_token}-{i}")))
        .collect();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    let events: Vec<String> = sensor
        .drain()?
        .iter()
        .filter(|d| field_str(d, "event.kind") != Some("alert"))
        .filter_map(|d| field_str(d, "process.command_line"))
        .filter(|c| c.contains(&old_token))
        .map(String::from)
        .collect();
    assert!(
        missing.is_empty(),
        "old rule missed execs {missing:?}; {} exec events seen: {:?}",
        events.len(),
        events.iter().take(5).collect::<Vec<_>>()
    );
    assert!(twice.is_empty(), "alerts not exactly once: {twice:?}");
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    std::fs::remove_dir_all(&dir)?;
    std::fs::remove_dir_all(&load)?;
    Ok(())
}

#[test]
fn a_correlation_half_way_through_its_window_survives_a_reload() -> anyhow::Result<()> {
    if !require_root("a_correlation_half_way_through_its_window_survives_a_reload") {
        return Ok(());
    }
    let dir = tempdir("reload-corr-")?;
    let state = tempdir("reload-state-")?;
    let token = unique("corrtok");
    std::fs::write(
        dir.join("corr.yml"),
        correlation_yaml("harden-corr", &token),
    )?;
    let mut sensor = Sensor::start(&[
        "run",
        "--events",
        "-",
        "--open-ignore-prefix",
        "/",
        "--state-dir",
        state.to_str().unwrap_or_default(),
        "--rules",
        dir.to_str().unwrap_or_default(),
    ])?;
    exec_seen(&mut sensor, &token, 0)?;
    exec_seen(&mut sensor, &token, 1)?;
    // An unrelated rule joins, so the reload really builds a different engine.
    std::fs::write(
        dir.join("other.yml"),
        rule_yaml("harden-other", &unique("x")),
    )?;
    signal(&sensor, libc::SIGHUP);
    wait_log(
        &sensor,
        "correlation state carried over",
        1,
        Duration::from_secs(30),
    )?;
    assert!(!correlation_fired(&mut sensor, "harden-corr")?);
    exec_seen(&mut sensor, &token, 2)?;
    let alert = sensor.wait_for_alert(Duration::from_secs(30), |a| {
        field_str(a, "rule.id") == Some("harden-corr")
    })?;
    let events = alert
        .pointer("/sensor/correlation/events")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(
        events, 3,
        "evidence from before the reload is kept: {alert}"
    );
    assert!(sensor.stop()?.success());
    std::fs::remove_dir_all(&dir)?;
    std::fs::remove_dir_all(&state)?;
    Ok(())
}
