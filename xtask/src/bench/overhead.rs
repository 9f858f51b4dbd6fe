//! The overhead rounds: every configuration in turn, its order rotated each round, the four
//! loops under each; medians over rounds and medians of per-round ratios to no monitor.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;

use super::report::{ConfigResult, OverheadRow};
use super::workload::{Runner, Workload};
use super::{audit, interrupt, sensor};

/// One monitor configuration of the overhead rounds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// No monitor.
    None,
    /// `sensor run --events /dev/null`.
    Sensor,
    /// auditd with the equivalent syscall rules.
    Auditd,
}

impl Config {
    /// Name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Config::None => "none",
            Config::Sensor => "sensor",
            Config::Auditd => "auditd",
        }
    }
}

/// Runs `rounds` rounds; returns the table rows and the sensor's lost events per round.
pub fn rounds(
    configs: &[Config],
    rounds: u32,
    runner: &Runner,
    sensor_bin: &Path,
    sensor_args: &[String],
    guard: Option<&audit::AuditGuard>,
) -> anyhow::Result<(Vec<OverheadRow>, Vec<Option<u64>>)> {
    let mut samples: Samples = BTreeMap::new();
    let mut lost_per_round = Vec::new();
    for round in 0..rounds {
        let mut order = configs.to_vec();
        order.rotate_left(round as usize % configs.len());
        for config in order {
            interrupt::check()?;
            eprintln!("bench: round {}/{rounds}: {}", round + 1, config.name());
            let monitor = Monitor::start(config, sensor_bin, sensor_args, runner, guard)?;
            for (w, workload) in Workload::ALL.iter().enumerate() {
                let sample = runner.run(*workload)?;
                samples
                    .entry(config.name())
                    .or_default()
                    .entry(w)
                    .or_default()
                    .push((
                        sample.ns_per_op(),
                        sample.cpu_ns_per_op().unwrap_or(f64::NAN),
                    ));
            }
            if let Some(lost) = monitor.stop()? {
                lost_per_round.push(lost);
            }
        }
    }
    Ok((overhead_rows(&samples), lost_per_round))
}

/// (wall ns/op, CPU ns/op) per round, by configuration name, then by workload index.
type Samples<'a> = BTreeMap<&'a str, BTreeMap<usize, Vec<(f64, f64)>>>;

/// A running monitor of one configuration.
enum Monitor {
    None,
    Sensor(sensor::Sensor),
    Auditd(audit::Auditd),
}

impl Monitor {
    fn start(
        config: Config,
        sensor_bin: &Path,
        sensor_args: &[String],
        runner: &Runner,
        guard: Option<&audit::AuditGuard>,
    ) -> anyhow::Result<Self> {
        let monitor = match config {
            Config::None => Monitor::None,
            Config::Sensor => Monitor::Sensor(sensor::Sensor::start(sensor_bin, sensor_args)?),
            Config::Auditd => {
                let guard = guard.context("auditd configuration without the audit guard")?;
                Monitor::Auditd(audit::Auditd::start(&runner.scratch, guard)?)
            }
        };
        // Start-up work (loading, seeding) should not land in the first loop.
        std::thread::sleep(Duration::from_millis(300));
        Ok(monitor)
    }

    /// Stops it; for the sensor, the events it lost (`Some(None)`: it did not say).
    fn stop(self) -> anyhow::Result<Option<Option<u64>>> {
        match self {
            Monitor::None => Ok(None),
            Monitor::Sensor(s) => Ok(Some(s.stop()?.lost)),
            Monitor::Auditd(a) => a.stop().map(|()| None),
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn overhead_rows(samples: &Samples) -> Vec<OverheadRow> {
    let empty = Vec::new();
    let ratios = |values: &[(f64, f64)], base: &[(f64, f64)], cpu: bool| -> Vec<f64> {
        values
            .iter()
            .zip(base)
            .map(|(v, b)| if cpu { v.1 / b.1 } else { v.0 / b.0 })
            .collect()
    };
    Workload::ALL
        .iter()
        .enumerate()
        .map(|(w, workload)| {
            let base = samples
                .get("none")
                .and_then(|m| m.get(&w))
                .unwrap_or(&empty);
            let configs = samples
                .iter()
                .filter_map(|(name, by_workload)| {
                    let values = by_workload.get(&w)?;
                    let wall: Vec<f64> = values.iter().map(|v| v.0).collect();
                    let cpu: Vec<f64> = values.iter().map(|v| v.1).collect();
                    let wall_ratios = ratios(values, base, false);
                    Some((
                        name.to_string(),
                        ConfigResult {
                            median_ns_per_op: median(&wall),
                            median_ratio: median(&wall_ratios),
                            ns_per_op: wall,
                            ratios: wall_ratios,
                            median_cpu_ratio: median(&ratios(values, base, true)),
                            cpu_ns_per_op: cpu,
                        },
                    ))
                })
                .collect();
            OverheadRow {
                workload: *workload,
                label: workload.label().to_string(),
                configs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let mut samples: Samples = BTreeMap::new();
        samples
            .entry("none")
            .or_default()
            .insert(0, vec![(100.0, 10.0), (110.0, 10.0), (90.0, 10.0)]);
        samples
            .entry("sensor")
            .or_default()
            .insert(0, vec![(120.0, 20.0), (121.0, 30.0), (117.0, 10.0)]);
        let rows = overhead_rows(&samples);
        let sensor = &rows[0].configs["sensor"];
        assert_eq!(sensor.median_ns_per_op, 120.0);
        // per-round ratios 1.2, 1.1, 1.3 -> 1.2
        assert!((sensor.median_ratio - 1.2).abs() < 1e-9);
        assert!((sensor.median_cpu_ratio - 2.0).abs() < 1e-9);
        assert!((sensor.median_cpu_ratio - 2.0).abs() < 1e-9);
        assert!(rows[1].configs.is_empty());
    }
}
