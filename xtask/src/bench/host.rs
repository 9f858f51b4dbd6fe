//! Facts about the host and the tree, and the bench's build and lock.

use std::process::Command;

use anyhow::{Context as _, bail};

use super::report::Machine;

/// Holds `/run/sensor-bench.lock` (flock) for the life of the returned file.
pub fn exclusive_lock() -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd as _;
    let path = "/run/sensor-bench.lock";
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {path}"))?;
    // SAFETY: flock on a fd we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        bail!("another `cargo xtask bench` is running (it holds {path})");
    }
    Ok(file)
}

/// Builds the release sensor and the loop binary.
pub fn build(root: &std::path::Path) -> anyhow::Result<()> {
    for args in [
        &["build", "--quiet", "--release", "--package", "sensor"][..],
        &[
            "build",
            "--quiet",
            "--release",
            "--package",
            "xtask",
            "--bin",
            "bench-workload",
        ][..],
    ] {
        let status = Command::new(env!("CARGO"))
            .args(args)
            .current_dir(root)
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo {} failed", args.join(" "));
        }
    }
    Ok(())
}

/// The arguments every bench sensor gets: `extra`, plus `--metrics-addr=127.0.0.1:0` when the
/// sensor has a metrics server and `extra` does not place it, so that a sensor another test
/// runs on the default port does not stop the bench's from starting.
pub fn sensor_args(binary: &std::path::Path, extra: &[String]) -> Vec<String> {
    let mut args = extra.to_vec();
    let placed = extra.iter().any(|a| a.starts_with("--metrics-addr"));
    let help = Command::new(binary).args(["run", "--help"]).output();
    let has_metrics =
        help.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--metrics-addr"));
    if has_metrics && !placed {
        args.push("--metrics-addr=127.0.0.1:0".to_string());
    }
    args
}

/// nproc, kernel release and CPU model.
pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown", |(_, v)| v.trim())
        .to_string();
    Machine {
        nproc: std::thread::available_parallelism().map_or(0, usize::from),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        cpu_model,
    }
}

/// The 1, 5 and 15 min load averages.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `git describe --always --dirty` of the workspace.
pub fn git_describe() -> String {
    Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .current_dir(crate::workspace_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The current UTC time, ISO 8601.
pub fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
