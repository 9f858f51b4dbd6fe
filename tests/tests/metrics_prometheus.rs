//! Issue 7, end to end: a real Prometheus server scrapes a running sensor and evaluates the
//! shipped alert rules; every PromQL expression of the Grafana dashboard and of the alert rules
//! must parse, and those fed by activity this test produced must return data.

mod metrics_support;

use std::time::{Duration, Instant};

use metrics_support::{Prometheus, dashboard_exprs, produce_execs, start_sensor};
use sensor_tests::require_root;
use serde_json::Value;

/// Metrics whose producers are not wired into the binary yet; expressions over them are only
/// checked to parse. Every producer is wired now.
const NOT_YET_PRODUCED: &[&str] = &[];

/// Alert rules that must stay silent on a healthy, idle sensor.
const QUIET_WHEN_HEALTHY: &[&str] = &[
    "SensorDown",
    "SensorNotReady",
    "SensorEventsDropped",
    "SensorDetectionLatencyHigh",
    "SensorCaptureHookSilenced",
];

/// Alert rules that a detection makes fire (see [`NOT_YET_PRODUCED`]).
const FIRE_ON_DETECTION: &[&str] = &["SensorHighSeverityDetection"];

fn produced(promql: &str) -> bool {
    !NOT_YET_PRODUCED.iter().any(|m| promql.contains(m))
}

#[test]
fn prometheus_scrapes_the_sensor_and_every_dashboard_and_alert_expression_works()
-> anyhow::Result<()> {
    if !require_root("prometheus_scrapes_the_sensor_and_every_dashboard_and_alert_expression_works")
    {
        return Ok(());
    }
    let (sensor, addr) = start_sensor()?;
    let prometheus = Prometheus::start(addr)?;
    let instance = addr.to_string();

    // Activity for the panels: execs, spread over a few scrapes so rates have two samples.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        produce_execs(5)?;
        let counted = prometheus.query(&format!(
            "sensor_events_total{{job=\"sensor\", instance=\"{instance}\", type=\"exec\"}} > 0"
        ))?;
        let rated = prometheus.query("sum(rate(sensor_events_total{type=\"exec\"}[15s])) > 0")?;
        if !counted.is_empty() && !rated.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus saw no exec events in 30 s; its log:\n{}\nsensor log:\n{}",
            prometheus.log(),
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // A high-severity detection, twice and a few scrapes apart, so that the alert counter has
    // two samples and `increase()` over it (dashboard and alert rule) is non-zero.
    for _ in 0..2 {
        let status = std::process::Command::new("cat")
            .arg("/etc/shadow")
            .stdout(std::process::Stdio::null())
            .status()?;
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(2500));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while prometheus
        .query(&format!(
            "sum(sensor_alerts_total{{instance=\"{instance}\", severity=\"high\"}}) >= 2"
        ))?
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "Prometheus saw no high-severity alerts in 30 s; sensor log:\n{}",
            sensor.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_millis(2500));
    // On a loaded machine the kernel may really drop events; then SensorEventsDropped must fire
    // rather than stay quiet.
    let dropped = !prometheus
        .query("sum(rate(sensor_events_dropped_total{job=\"sensor\"}[5m])) > 0")?
        .is_empty();

    // The dashboard.
    let mut failures = Vec::new();
    let exprs = dashboard_exprs(&instance)?;
    for expr in &exprs {
        match prometheus.query(&expr.promql) {
            Err(err) => failures.push(format!("{}: does not evaluate: {err:#}", expr.origin)),
            Ok(result) if result.is_empty() && produced(&expr.promql) => {
                failures.push(format!("{}: no data for {}", expr.origin, expr.promql))
            }
            Ok(_) => {}
        }
    }

    // The alert rules, as Prometheus loaded them from deploy/prometheus/alerts.yml.
    let rules = loaded_alert_rules(&prometheus)?;
    assert_eq!(
        rules.len(),
        QUIET_WHEN_HEALTHY.len() + FIRE_ON_DETECTION.len(),
        "alert rules changed: classify the new ones in this test: {rules:?}"
    );
    for (name, promql) in &rules {
        let result = match prometheus.query(promql) {
            Ok(result) => result,
            Err(err) => {
                failures.push(format!("alert {name}: does not evaluate: {err:#}"));
                continue;
            }
        };
        if name == "SensorEventsDropped" && dropped {
            if result.is_empty() {
                failures.push(format!(
                    "alert {name} is silent although events were dropped"
                ));
            }
        } else if QUIET_WHEN_HEALTHY.contains(&name.as_str()) {
            if !result.is_empty() {
                failures.push(format!(
                    "alert {name} fires on a healthy sensor: {result:?}"
                ));
            }
        } else if FIRE_ON_DETECTION.contains(&name.as_str()) {
            if produced(promql) && result.is_empty() {
                failures.push(format!("alert {name} did not fire after a detection"));
            }
        } else {
            failures.push(format!("alert {name} is not classified by this test"));
        }
        // The series an alert compares must exist, or the alert could never fire.
        if let Some(series) = compared_series(promql)
            && produced(series)
            && prometheus.query(series)?.is_empty()
        {
            failures.push(format!("alert {name}: no data for its series {series}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} dashboard expressions and {} alert rules failed:\n{}",
        failures.len(),
        exprs.len(),
        rules.len(),
        failures.join("\n")
    );

    // A stopped sensor makes SensorDown's expression true at the next scrape.
    sensor.stop()?;
    let down = rules
        .iter()
        .find(|(name, _)| name == "SensorDown")
        .map(|(_, promql)| promql.clone())
        .expect("SensorDown rule");
    let deadline = Instant::now() + Duration::from_secs(15);
    while prometheus.query(&down)?.is_empty() {
        assert!(
            Instant::now() < deadline,
            "SensorDown's expression stayed empty after the sensor stopped"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

/// (name, expression) of every alerting rule Prometheus loaded, once each was evaluated
/// without error.
fn loaded_alert_rules(prometheus: &Prometheus) -> anyhow::Result<Vec<(String, String)>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = prometheus.api("/api/v1/rules?type=alert")?;
        let rules: Vec<&Value> = reply["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let evaluated = !rules.is_empty() && rules.iter().all(|r| r["health"] != "unknown");
        if evaluated {
            let broken: Vec<String> = rules
                .iter()
                .filter(|r| r["health"] != "ok")
                .map(|r| format!("{}: {}", r["name"], r["lastError"]))
                .collect();
            assert!(broken.is_empty(), "alert rules in error: {broken:?}");
            return Ok(rules
                .iter()
                .map(|r| {
                    (
                        r["name"].as_str().unwrap_or_default().to_owned(),
                        r["query"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect());
        }
        assert!(
            Instant::now() < deadline,
            "alert rules not loaded/evaluated: {reply}; log:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The left side of an alert expression of the form `<series> <op> <number>`.
fn compared_series(promql: &str) -> Option<&str> {
    let trimmed = promql.trim();
    ["==", "!=", ">=", "<=", ">", "<"].iter().find_map(|op| {
        let (left, right) = trimmed.rsplit_once(op)?;
        right.trim().parse::<f64>().ok()?;
        Some(left.trim())
    })
}
