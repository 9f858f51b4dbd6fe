//! `cargo xtask run`: build the release binary and start it.

use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};

pub fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let root = crate::workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--package", "sensor"])
        .current_dir(&root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let binary = root.join("target/release/sensor");
    // exec: signals reach the sensor directly and its exit code becomes ours.
    let err = Command::new(&binary).arg("run").args(args).exec();
    Err(err).with_context(|| format!("starting {}", binary.display()))
}
