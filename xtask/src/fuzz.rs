//! The cargo-fuzz step of `cargo xtask test`: every target of `fuzz/` runs for `FUZZ_SECONDS`
//! (default 60) under libFuzzer with AddressSanitizer, starting from its kept corpus.
//!
//! cargo-fuzz needs nightly compiler flags (`-Z sanitizer`, coverage passes); the pinned
//! stable toolchain accepts them with `RUSTC_BOOTSTRAP=1`, so no other toolchain is fetched.
//! The kept corpus `fuzz/corpus/<target>` is only read: libFuzzer writes what it finds to its
//! first corpus folder, which is `fuzz/target/corpus/<target>` (kept between local runs, never
//! committed by accident). A crash, leak or timeout fails the step and its input's path is
//! printed, with the command that replays it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, bail};

/// The targets of `fuzz/Cargo.toml`, each with its extra libFuzzer options.
const TARGETS: [(&str, &[&str]); 3] = [
    ("decode", &[]),
    // Rule files are larger than libFuzzer's default length bound (the largest seed).
    ("rules", &["-max_len=65536"]),
    ("config", &[]),
];

/// Seconds per target when `FUZZ_SECONDS` is not set.
const DEFAULT_SECONDS: u64 = 60;
/// One input taking longer than this is reported as a hang (libFuzzer's default is 20 min).
const INPUT_TIMEOUT_SECS: u64 = 10;

/// Builds and runs every fuzz target, returning how many passed and how many failed.
pub fn run(root: &Path, cargo: &str) -> anyhow::Result<(u64, u64)> {
    let seconds = match std::env::var("FUZZ_SECONDS") {
        Ok(s) => s
            .parse::<u64>()
            .with_context(|| format!("FUZZ_SECONDS={s:?} is not a number of seconds"))?,
        Err(_) => DEFAULT_SECONDS,
    };
    if seconds == 0 {
        println!("fuzz: skipped (FUZZ_SECONDS=0)");
        return Ok((0, 0));
    }
    let fuzz_dir = root.join("fuzz");
    let tools = tools_bin(root)?;
    if !tools.join("cargo-fuzz").is_file() {
        bail!(
            "cargo-fuzz is not in {}: run scripts/setup.sh (./x does)",
            tools.display()
        );
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path =
        std::env::join_paths(std::iter::once(tools.clone()).chain(std::env::split_paths(&path)))?;
    let fuzz = |args: &[&str]| {
        let mut cmd = Command::new(cargo);
        cmd.arg("fuzz")
            .args(args)
            .current_dir(&fuzz_dir)
            .env("PATH", &path)
            .env("RUSTC_BOOTSTRAP", "1")
            // The targets never load eBPF programs.
            .env("AYA_BUILD_SKIP", "1");
        cmd
    };

    let started = Instant::now();
    let status = fuzz(&["build"])
        .status()
        .context("running cargo fuzz build")?;
    if !status.success() {
        bail!("cargo fuzz build failed");
    }
    println!("fuzz: targets built in {:.0?}", started.elapsed());

    let (mut passed, mut failed) = (0, 0);
    for (target, extra) in TARGETS {
        let kept = format!("corpus/{target}");
        let found = format!("target/corpus/{target}");
        std::fs::create_dir_all(fuzz_dir.join(&found))
            .with_context(|| format!("creating fuzz/{found}"))?;
        let mut args = vec![
            "run".to_owned(),
            target.to_owned(),
            found,
            kept,
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            format!("-timeout={INPUT_TIMEOUT_SECS}"),
            "-print_final_stats=1".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if run_target(fuzz(&args), target, &fuzz_dir)? {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    println!(
        "fuzz: {passed} targets ok, {failed} failed, {:.0?} with the build",
        started.elapsed()
    );
    Ok((passed, failed))
}

/// Runs one target; libFuzzer's progress lines are summarised, its report of a failure is
/// printed whole.
fn run_target(mut cmd: Command, target: &str, fuzz_dir: &Path) -> anyhow::Result<bool> {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running cargo fuzz run {target}"))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut log = Vec::new();
    let mut artifacts = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line?;
        // libFuzzer: "artifact_prefix='...'; Test unit written to fuzz/artifacts/decode/crash-..."
        if let Some(at) = line.find("Test unit written to ") {
            artifacts.push(line[at + "Test unit written to ".len()..].trim().to_owned());
        }
        log.push(line);
    }
    let status = child.wait()?;
    let stat = |name: &str| {
        log.iter()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.trim().trim_start_matches(':').trim())
            })
            .unwrap_or("?")
            .to_owned()
    };
    if status.success() && artifacts.is_empty() {
        println!(
            "fuzz {target}: ok, {} runs, {} coverage edges, {} new inputs, {:.0?}",
            stat("stat::number_of_executed_units"),
            log.iter()
                .rev()
                .find_map(|l| l.split_once(" cov: ").map(|(_, r)| r
                    .split(' ')
                    .next()
                    .unwrap_or("?")
                    .to_owned()))
                .unwrap_or_else(|| "?".to_owned()),
            stat("stat::new_units_added"),
            started.elapsed()
        );
        return Ok(true);
    }
    // The report (stack trace, sanitizer output) is at the end of the log.
    let from = log.len().saturating_sub(80);
    for line in log.get(from..).unwrap_or_default() {
        eprintln!("{line}");
    }
    eprintln!("fuzz {target}: FAILED ({status})");
    for artifact in &artifacts {
        let path = absolute(fuzz_dir, artifact);
        eprintln!("fuzz {target}: failing input: {}", path.display());
        eprintln!(
            "  replay: cd fuzz && RUSTC_BOOTSTRAP=1 AYA_BUILD_SKIP=1 cargo fuzz run {target} {}",
            path.display()
        );
    }
    Ok(false)
}

fn absolute(dir: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_owned()
    } else {
        dir.join(p)
    }
}

/// Where scripts/setup.sh installs the tools: `$SENSOR_TOOLS_DIR` (default
/// `~/.cache/sensor-dev`) `/rust-<pinned channel>/bin`.
fn tools_bin(root: &Path) -> anyhow::Result<PathBuf> {
    let toml = std::fs::read_to_string(root.join("rust-toolchain.toml"))
        .context("reading rust-toolchain.toml")?;
    let channel = toml
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "channel").then(|| value.trim().trim_matches('"').to_owned())
        })
        .context("no channel in rust-toolchain.toml")?;
    let base = match std::env::var_os("SENSOR_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cache/sensor-dev"),
    };
    Ok(base.join(format!("rust-{channel}/bin")))
}
