//! The exec-rate sweep and the search for the highest exec rate with zero loss.
//!
//! Each rate gets a fresh sensor, so its lost-event count (read from the shutdown line) and its
//! peak RSS belong to that rate alone.

use std::path::Path;
use std::time::{Duration, Instant};

use super::bpfstats::{self, StatsGuard};
use super::detection::{self, ShellScenario};
use super::report::{MaxRate, SweepRow};
use super::sensor::{self, Sensor};
use super::workload::Runner;

/// Sweep settings.
pub struct SweepConfig<'a> {
    /// The sensor binary.
    pub sensor: &'a Path,
    /// Extra `sensor run` arguments.
    pub sensor_args: &'a [String],
    /// Seconds per rate.
    pub secs: u64,
    /// Folder for the alerts file of each rate.
    pub scratch: &'a Path,
}

/// Threads that issue execs: one fork+exec of /bin/true takes ~0.7 ms here, so one thread tops
/// out near 1400/s; more threads keep the schedule at higher rates.
fn threads_for(rate: u64) -> u64 {
    if rate == 0 {
        4
    } else {
        (rate / 400).clamp(1, 8)
    }
}

/// One measured interval under a fresh sensor.
fn measure(cfg: &SweepConfig, runner: &Runner, rate: u64) -> anyhow::Result<SweepRow> {
    let alerts = cfg.scratch.join(format!("alerts-{rate}.json"));
    let _ = std::fs::remove_file(&alerts);
    let mut args = cfg.sensor_args.to_vec();
    args.push(format!("--alerts={}", alerts.display()));
    let sensor = Sensor::start(cfg.sensor, &args)?;
    let pid = sensor.pid();
    // Let the start-up work (seeding, first reads) finish before the clock starts.
    std::thread::sleep(Duration::from_millis(300));
    // First the execs alone: the sensor's cost of the rate itself, without the probes' shells,
    // connections and alerts.
    let quiet_before = sensor::cpu_ticks(pid);
    let quiet_start = Instant::now();
    runner.exec_rate(rate, cfg.secs, threads_for(rate))?;
    std::thread::sleep(Duration::from_millis(200));
    let execs_only = cpu_percent(quiet_before, sensor::cpu_ticks(pid), quiet_start);

    let stats = StatsGuard::enable();
    let progs_before = bpfstats::snapshot(pid);
    let cpu_before = sensor::cpu_ticks(pid);
    let start = Instant::now();
    // Reverse shells alongside the exec loop: their alerts give the detection latency at this
    // rate (a few per second, next to hundreds of execs).
    let shells = ShellScenario::start()?;
    let sample = runner.exec_rate(rate, cfg.secs, threads_for(rate))?;
    let port = shells.port();
    drop(shells);
    // The sensor drains what the last execs produced just after the loop ends.
    std::thread::sleep(Duration::from_millis(200));
    let cpu_after = sensor::cpu_ticks(pid);
    let cpu = cpu_percent(cpu_before, cpu_after, start);
    let wall = start.elapsed().as_secs_f64();
    let progs_after = bpfstats::snapshot(pid);
    drop(stats);
    let rss = sensor::peak_rss(pid);
    let stopped = sensor.stop()?;
    let latencies = detection::latencies_ms(&alerts, port).unwrap_or_default();
    let _ = std::fs::remove_file(&alerts);

    let execs = sample.ops as f64;
    let bpf_ns: u64 = bpfstats::diff(&progs_before, &progs_after)
        .iter()
        .map(|h| h.total_ns)
        .sum();
    Ok(SweepRow {
        target_rate: rate,
        achieved_rate: execs / (sample.elapsed_ns as f64 / 1e9).max(1e-9),
        sensor_cpu_percent: cpu,
        sensor_cpu_percent_execs_only: execs_only,
        bpf_ns_per_exec: (execs > 0.0 && bpf_ns > 0).then(|| bpf_ns as f64 / execs),
        bpf_cpu_percent: (bpf_ns > 0).then(|| bpf_ns as f64 / 1e9 / wall * 100.0),
        lost: stopped.lost,
        peak_rss_bytes: rss,
        detection_latency_p50_ms: detection::quantile(&latencies, 0.5),
        detection_latency_p99_ms: detection::quantile(&latencies, 0.99),
        detection_alerts: latencies.len(),
    })
}

/// The sensor's user+sys time between two tick readings, as % of one core since `start`.
fn cpu_percent(before: Option<u64>, after: Option<u64>, start: Instant) -> Option<f64> {
    let wall = start.elapsed().as_secs_f64();
    match (before, after) {
        (Some(b), Some(a)) => {
            Some(a.saturating_sub(b) as f64 / sensor::ticks_per_second() / wall * 100.0)
        }
        _ => None,
    }
}

/// Runs the sweep at `rates`.
pub fn sweep(cfg: &SweepConfig, runner: &Runner, rates: &[u64]) -> anyhow::Result<Vec<SweepRow>> {
    rates
        .iter()
        .map(|&rate| {
            super::interrupt::check()?;
            eprintln!("bench: sweep at {rate} exec/s for {} s", cfg.secs);
            measure(cfg, runner, rate)
        })
        .collect()
}

/// The highest exec rate with zero loss: first unpaced (as fast as the machine can); if that
/// loses nothing, the machine is the limit and the achieved rate is a lower bound. Otherwise a
/// bisection between the best clean sweep rate and the unpaced rate.
pub fn max_rate(cfg: &SweepConfig, runner: &Runner, sweep: &[SweepRow]) -> anyhow::Result<MaxRate> {
    eprintln!("bench: unpaced exec storm for {} s", cfg.secs);
    let storm = measure(cfg, runner, 0)?;
    if storm.lost == Some(0) {
        return Ok(MaxRate {
            rate: storm.achieved_rate,
            limited_by: "workload".into(),
        });
    }
    let mut lo = sweep
        .iter()
        .filter(|r| r.lost == Some(0))
        .map(|r| r.achieved_rate)
        .fold(0.0, f64::max);
    let mut hi = storm.achieved_rate;
    for _ in 0..4 {
        if hi - lo < hi * 0.05 {
            break;
        }
        let mid = ((lo + hi) / 2.0) as u64;
        eprintln!("bench: exec storm at {mid}/s");
        let row = measure(cfg, runner, mid)?;
        if row.lost == Some(0) {
            lo = row.achieved_rate;
        } else {
            hi = mid as f64;
        }
    }
    Ok(MaxRate {
        rate: lo,
        limited_by: "loss".into(),
    })
}
