//! The highest rate of reported events the sensor sustains with zero loss on its default ring
//! buffer. Exec cannot find it here (one fork+exec of /bin/true takes ~0.7 ms, so the machine
//! runs out of execs first); opens of distinct files can: each is one event, none collapsed or
//! filtered, and a core issues several hundred thousand per second.

use std::time::Duration;

use super::interrupt;
use super::report::MaxRate;
use super::sensor::Sensor;
use super::sweep::SweepConfig;
use super::workload::Runner;

/// One interval of opens at `rate` (0: unpaced) under a fresh sensor: the achieved rate and the
/// events the sensor lost.
fn measure(cfg: &SweepConfig, runner: &Runner, rate: u64) -> anyhow::Result<(f64, Option<u64>)> {
    let sensor = Sensor::start(cfg.sensor, cfg.sensor_args)?;
    std::thread::sleep(Duration::from_millis(300));
    let sample = runner.open_rate(rate, cfg.secs)?;
    // What the last opens produced is read before the shutdown line counts losses.
    std::thread::sleep(Duration::from_millis(300));
    let stopped = sensor.stop()?;
    let achieved = sample.ops as f64 / (sample.elapsed_ns as f64 / 1e9).max(1e-9);
    eprintln!(
        "bench: open events at {achieved:.0}/s: lost {}",
        stopped.lost.map_or("n/a".into(), |l| l.to_string())
    );
    Ok((achieved, stopped.lost))
}

/// First unpaced: if that loses nothing, the workload is the limit and its rate a lower bound.
/// Otherwise a bisection between zero and the unpaced rate, to within 5%.
pub fn max_open_rate(cfg: &SweepConfig, runner: &Runner) -> anyhow::Result<MaxRate> {
    eprintln!("bench: unpaced distinct-file opens for {} s", cfg.secs);
    let (storm, lost) = measure(cfg, runner, 0)?;
    match lost {
        Some(0) => {
            return Ok(MaxRate {
                rate: storm,
                limited_by: "workload".into(),
            });
        }
        Some(_) => {}
        None => anyhow::bail!("the sensor did not report its lost events"),
    }
    let (mut lo, mut hi) = (0.0, storm);
    for _ in 0..6 {
        interrupt::check()?;
        if hi - lo < hi * 0.05 {
            break;
        }
        let mid = (lo + hi) / 2.0;
        let (achieved, lost) = measure(cfg, runner, mid as u64)?;
        if lost == Some(0) {
            lo = achieved.min(mid);
        } else {
            hi = mid;
        }
    }
    Ok(MaxRate {
        rate: lo,
        limited_by: "loss".into(),
    })
}
