//! `cargo xtask test`: the whole suite, in the order that fails fastest.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};
use clap::Args;

#[derive(Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and `cargo clippy` (they also run in CI).
    #[arg(long)]
    no_lint: bool,
    /// Only run tests whose name contains this string.
    filter: Option<String>,
}

/// Counts read from `test result:` lines.
#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let root = crate::workspace_root();
    let cargo = env!("CARGO");
    if !args.no_lint {
        step(
            Command::new(cargo)
                .args(["fmt", "--all", "--check"])
                .current_dir(&root),
            "cargo fmt --check",
        )?;
        step(
            Command::new(cargo)
                .args([
                    "clippy",
                    "--workspace",
                    "--exclude",
                    "sensor-ebpf",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ])
                .current_dir(&root),
            "cargo clippy",
        )?;
    }
    // The kernel tests run the real binary, so it is built first.
    step(
        Command::new(cargo)
            .args(["build", "--package", "sensor"])
            .current_dir(&root),
        "cargo build",
    )?;
    let binary = root.join("target/debug/sensor");

    let mut totals = Totals::default();
    let filter: Vec<&str> = args.filter.as_deref().into_iter().collect();
    let mut unit = Command::new(cargo);
    unit.args([
        "test",
        "--workspace",
        "--exclude",
        "sensor-ebpf",
        "--exclude",
        "sensor-tests",
        "--no-fail-fast",
        "--",
    ])
    .args(&filter)
    .current_dir(&root);
    let unit_ok = counted(&mut unit, &mut totals)?;

    // Coverage-guided fuzzing, FUZZ_SECONDS per target (a filter selects it with "fuzz").
    if args.filter.as_deref().is_none_or(|f| f.contains("fuzz")) {
        let (passed, failed) = crate::fuzz::run(&root, cargo)?;
        totals.passed += passed;
        totals.failed += failed;
    }

    // Kernel tests load eBPF programs and check global kernel state (nothing left attached),
    // so they run one at a time.
    let mut kernel = Command::new(cargo);
    kernel
        .args([
            "test",
            "--package",
            "sensor-tests",
            // Every test binary runs even after one failed: one run shows every failure.
            "--no-fail-fast",
            "--",
            "--test-threads=1",
        ])
        .args(&filter)
        .env("SENSOR_BIN", &binary)
        .current_dir(&root);
    let kernel_ok = counted(&mut kernel, &mut totals)?;

    println!(
        "\ntests: {} passed, {} failed, {} skipped",
        totals.passed, totals.failed, totals.ignored
    );
    Ok(if unit_ok && kernel_ok && totals.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn step(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed");
    }
    Ok(())
}

/// Runs a `cargo test`, echoing its output and adding up its `test result:` lines.
fn counted(cmd: &mut Command, totals: &mut Totals) -> anyhow::Result<bool> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo test")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut out = std::io::stdout().lock();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        writeln!(out, "{line}")?;
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split([';', '.']) {
                let mut words = part.split_whitespace();
                if let (Some(n), Some(what)) = (words.next(), words.next())
                    && let Ok(n) = n.parse::<u64>()
                {
                    match what {
                        "passed" => totals.passed += n,
                        "failed" => totals.failed += n,
                        "ignored" => totals.ignored += n,
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(child.wait()?.success())
}
