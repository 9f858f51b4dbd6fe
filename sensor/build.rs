//! Builds `sensor-ebpf` for the bpf target with aya-build and leaves the object in `OUT_DIR`,
//! where `capture::loader` embeds it.
//!
//! The eBPF crate needs `core` built from source (`-Z build-std=core`, allowed on a stable
//! toolchain through `RUSTC_BOOTSTRAP=1`) and `bpf-linker` on `PATH`, built against this
//! toolchain's LLVM. `scripts/setup.sh` installs it under `$HOME/.cache/sensor-dev`; this script
//! looks there so that a plain `cargo build` works once setup has run.

use std::{env, ffi::OsString, path::PathBuf};

use anyhow::{Context as _, anyhow};
use cargo_metadata::{MetadataCommand, Package};

fn main() -> anyhow::Result<()> {
    println!("cargo::rerun-if-env-changed=SENSOR_TOOLS_DIR");
    println!("cargo::rerun-if-env-changed=AYA_BUILD_SKIP");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR not set")?);
    export_aya_version();

    if env::var_os("AYA_BUILD_SKIP").is_some_and(|v| v == "1" || v == "true") {
        // `cargo clippy`/`check` of the userspace code: embed an empty object; the loader then
        // refuses to start with a message saying the binary was built without eBPF.
        std::fs::write(out_dir.join("sensor"), [])?;
        return Ok(());
    }

    let metadata = MetadataCommand::new().no_deps().exec()?;
    let ebpf = metadata
        .packages
        .iter()
        .find(|Package { name, .. }| name.as_str() == "sensor-ebpf")
        .ok_or_else(|| anyhow!("sensor-ebpf package not found in the workspace"))?;
    let ebpf_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("sensor-ebpf has no manifest folder"))?;
    let common_dir = ebpf_dir
        .parent()
        .map(|root| root.join("sensor-common"))
        .ok_or_else(|| anyhow!("workspace root not found"))?;
    println!("cargo::rerun-if-changed={common_dir}");

    let toolchain = toolchain_channel(ebpf_dir.parent().map(|p| p.as_std_path()))?;
    put_bpf_linker_on_path(&toolchain)?;
    // SAFETY: build scripts are single-threaded; the child cargo inherits these.
    unsafe {
        env::set_var("RUSTC_BOOTSTRAP", "1");
    }

    aya_build::build_ebpf(
        [aya_build::Package {
            name: "sensor-ebpf",
            root_dir: ebpf_dir.as_str(),
            ..Default::default()
        }],
        aya_build::Toolchain::Custom(&toolchain),
    )
}

/// The channel pinned in `rust-toolchain.toml`, so eBPF builds with the same rustc (and LLVM)
/// that bpf-linker was built against.
fn toolchain_channel(root: Option<&std::path::Path>) -> anyhow::Result<String> {
    let root = root.ok_or_else(|| anyhow!("workspace root not found"))?;
    let path = root.join("rust-toolchain.toml");
    println!("cargo::rerun-if-changed={}", path.display());
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .find_map(|line| {
            let value = line
                .trim()
                .strip_prefix("channel")?
                .trim()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| anyhow!("no channel in {}", path.display()))
}

fn put_bpf_linker_on_path(toolchain: &str) -> anyhow::Result<()> {
    let tools = match env::var_os("SENSOR_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/sensor-dev"),
    };
    let bin = tools.join(format!("rust-{toolchain}")).join("bin");
    if !bin.join("bpf-linker").exists() {
        if which_on_path("bpf-linker").is_none() {
            return Err(anyhow!(
                "bpf-linker not found in {} or on PATH: run scripts/setup.sh first",
                bin.display()
            ));
        }
        return Ok(());
    }
    println!(
        "cargo::rerun-if-changed={}",
        bin.join("bpf-linker").display()
    );
    let mut path = OsString::from(bin.as_os_str());
    if let Some(old) = env::var_os("PATH") {
        path.push(":");
        path.push(old);
    }
    // SAFETY: build scripts are single-threaded.
    unsafe {
        env::set_var("PATH", path);
    }
    Ok(())
}

fn which_on_path(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.exists())
}

/// Exposes the aya version from `Cargo.lock` as `SENSOR_AYA_VERSION` for `sensor_build_info`.
/// A missing lock file only leaves the label at "unknown".
fn export_aya_version() {
    let Some(lock) = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .and_then(|dir| dir.parent().map(|root| root.join("Cargo.lock")))
    else {
        return;
    };
    println!("cargo::rerun-if-changed={}", lock.display());
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"aya\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            println!("cargo::rustc-env=SENSOR_AYA_VERSION={version}");
            return;
        }
    }
}
