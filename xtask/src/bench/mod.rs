//! `cargo xtask bench`: host overhead of the sensor next to no monitor and auditd, kernel-side
//! cost per hook, an exec-rate sweep and the highest loss-free exec rate (issue 10).
//!
//! Configurations are interleaved round by round (and their order rotated each round) so that
//! drift of a shared machine hits them all alike; figures are medians over rounds, and ratios
//! are medians of per-round ratios to no monitor.

mod audit;
mod bpfstats;
mod detection;
mod engine;
mod eventrate;
mod host;
mod interrupt;
mod overhead;
mod report;
mod sensor;
mod sweep;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use report::{Report, WorkloadHooks};
use workload::{Runner, Workload};

/// Arguments of `cargo xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Interleaved rounds of the overhead table.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// Short smoke run: 1 round, loops a tenth as long, 1 s per sweep rate.
    #[arg(long)]
    quick: bool,
    /// Where to write the JSON report (relative to the workspace root).
    #[arg(long, default_value = "target/bench/latest.json")]
    json: PathBuf,
    /// Exec rates of the sweep, per second.
    #[arg(long, value_delimiter = ',', default_value = "100,400,1600,6400")]
    rates: Vec<u64>,
    /// Seconds per sweep rate (default 5; 1 with --quick).
    #[arg(long)]
    sweep_secs: Option<u64>,
    /// Leave out the auditd configuration (for a machine without auditd).
    #[arg(long)]
    no_auditd: bool,
    /// Run the loops and the monitors at this nice value (they inherit it from the bench), so
    /// that other work on a shared machine disturbs them less; -10 is a good choice there.
    /// Kernel threads such as kauditd keep their own priority.
    #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
    nice: i32,
    /// Extra argument for `sensor run` (repeatable), e.g. `--sensor-arg=--ringbuf-kib=256`.
    #[arg(long = "sensor-arg", allow_hyphen_values = true)]
    sensor_args: Vec<String>,
    /// Measure this sensor binary instead of the tree's `target/release/sensor` (e.g. a copy
    /// of a baseline build, for a before/after comparison in the same conditions).
    #[arg(long)]
    sensor_bin: Option<PathBuf>,
}
/// Runs the whole bench.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the bench loads eBPF programs and audit rules: run it as root");
    }
    if !args.no_auditd {
        audit::check_installed()?;
    }
    // Two benches at once would fight over audit rules and measure each other.
    let _lock = host::exclusive_lock()?;
    let root = crate::workspace_root();
    host::build(&root)?;
    let sensor_bin = args
        .sensor_bin
        .clone()
        .unwrap_or_else(|| root.join("target/release/sensor"));
    let tag = format!("sensor-bench-{}", std::process::id());
    let shm = std::path::Path::new("/dev/shm");
    let runner = Runner {
        binary: root.join("target/release/bench-workload"),
        files: if shm.is_dir() {
            shm.join(&tag)
        } else {
            PathBuf::from("/tmp").join(&tag)
        },
        scratch: PathBuf::from("/tmp").join(&tag),
        many_count: if args.quick { 10_000 } else { 100_000 },
        divisor: if args.quick { 10 } else { 1 },
    };
    interrupt::install();
    eprintln!(
        "bench: creating {} files in {}",
        runner.many_count,
        runner.files.display()
    );
    if args.nice != 0 {
        // SAFETY: setpriority on our own process.
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, args.nice) } != 0 {
            return Err(std::io::Error::last_os_error()).context("setting the nice value");
        }
    }
    let result = runner
        .prepare()
        .and_then(|()| measure_all(args, &runner, &sensor_bin));
    runner.cleanup();
    let report = result?;

    print!("{}", report.table());
    let json_path = root.join(&args.json);
    if let Some(dir) = json_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    eprintln!("bench: JSON written to {}", json_path.display());
    Ok(ExitCode::SUCCESS)
}
fn measure_all(
    args: &BenchArgs,
    runner: &Runner,
    sensor_bin: &std::path::Path,
) -> anyhow::Result<Report> {
    let date = host::utc_now();
    let commit = host::git_describe();
    let load_start = host::load_average();
    let sensor_args = host::sensor_args(sensor_bin, &args.sensor_args);
    let rounds = if args.quick { 1 } else { args.rounds.max(1) };
    let mut configs = vec![overhead::Config::None, overhead::Config::Sensor];
    if !args.no_auditd {
        configs.push(overhead::Config::Auditd);
    }
    // Loaded before any workload process is forked; restored (dropped) at the very end.
    let audit_guard = if args.no_auditd {
        None
    } else {
        Some(audit::AuditGuard::install()?)
    };

    // One untimed pass of each loop: warms the dentry cache of the file set and the binaries,
    // which would otherwise land on whichever configuration happens to run first.
    eprintln!("bench: warm-up");
    for workload in Workload::ALL {
        runner.run(workload)?;
    }

    let (overhead, lost_per_round) = overhead::rounds(
        &configs,
        rounds,
        runner,
        sensor_bin,
        &sensor_args,
        audit_guard.as_ref(),
    )?;

    eprintln!("bench: kernel time per hook");
    let hook_costs = hook_costs(sensor_bin, &sensor_args, runner)?;

    let cfg = sweep::SweepConfig {
        sensor: sensor_bin,
        sensor_args: &sensor_args,
        secs: args.sweep_secs.unwrap_or(if args.quick { 1 } else { 5 }),
        scratch: &runner.scratch,
    };
    interrupt::check()?;
    let sweep_rows = sweep::sweep(&cfg, runner, &args.rates)?;
    interrupt::check()?;
    let max_rate = sweep::max_rate(&cfg, runner, &sweep_rows)?;
    interrupt::check()?;
    let max_open_rate = eventrate::max_open_rate(&cfg, runner)?;
    let peak_rss_bytes = sweep_rows.iter().filter_map(|r| r.peak_rss_bytes).max();
    interrupt::check()?;
    eprintln!("bench: engine throughput (recording a mixed stream, then sensor replay)");
    let mut engine_notes = Vec::new();
    let engine = match engine::measure(
        sensor_bin,
        &sensor_args,
        runner,
        &crate::workspace_root(),
        &mut engine_notes,
    ) {
        Ok(run) => Some(run),
        Err(e) => {
            engine_notes.push(format!("engine throughput not measured: {e:#}"));
            None
        }
    };
    drop(audit_guard);

    let mut notes = vec![
        "shared 2-core VM: other engineers' builds and tests run alongside, so single figures \
         are noisy; compare ratios from the same run"
            .to_string(),
        "events lost come from the sensor's shutdown log line (kernel_drops or lost_in_kernel); n/a when it \
         does not report one"
            .to_string(),
    ];
    notes.extend(engine_notes);
    notes.push(
        "detection latency: reverse shells to a loopback listener every 100 ms during each \
         sweep rate; alert event.created minus @timestamp (the event's kernel time)"
            .to_string(),
    );
    if args.rates.iter().any(|r| {
        sweep_rows
            .iter()
            .any(|row| row.target_rate == *r && row.achieved_rate < *r as f64 * 0.95)
    }) {
        notes.push(
            "some sweep rates were not reached: fork+exec of /bin/true is machine-bound here"
                .to_string(),
        );
    }
    Ok(Report {
        date,
        commit,
        load_average: [load_start, host::load_average()],
        command: std::iter::once("cargo xtask".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        machine: host::machine(),
        rounds,
        quick: args.quick,
        nice: args.nice,
        sensor_args: args.sensor_args.clone(),
        overhead,
        overhead_lost_per_round: lost_per_round,
        hook_costs,
        sweep: sweep_rows,
        max_rate: Some(max_rate),
        max_open_rate: Some(max_open_rate),
        peak_rss_bytes,
        engine,
        notes,
    })
}
/// One run of each loop under a sensor with `bpf_stats` on.
fn hook_costs(
    sensor_bin: &std::path::Path,
    sensor_args: &[String],
    runner: &Runner,
) -> anyhow::Result<Vec<WorkloadHooks>> {
    let sensor = sensor::Sensor::start(sensor_bin, sensor_args)?;
    let stats = bpfstats::StatsGuard::enable();
    let mut out = Vec::new();
    for workload in Workload::ALL {
        let before = bpfstats::snapshot(sensor.pid());
        runner.run(workload)?;
        let after = bpfstats::snapshot(sensor.pid());
        out.push(WorkloadHooks {
            workload,
            hooks: bpfstats::diff(&before, &after),
        });
    }
    drop(stats);
    sensor.stop()?;
    Ok(out)
}
