//! Shared by the deployment tests: where the repository and the linters are, and the parts of
//! the shipped manifests that the tests compare with what the sensor needs.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use yaml_serde::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The venv that scripts/setup.sh fills with kubernetes-validate and hadolint.
pub fn venv_bin(tool: &str) -> anyhow::Result<PathBuf> {
    let tools = std::env::var_os("SENSOR_TOOLS_DIR").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/sensor-dev"),
        PathBuf::from,
    );
    let bin = tools.join("venv/bin").join(tool);
    if !bin.exists() {
        bail!(
            "{} is missing: run scripts/setup.sh (as root)",
            bin.display()
        );
    }
    Ok(bin)
}

/// Every YAML document of a file under deploy/kubernetes.
pub fn manifest(name: &str) -> anyhow::Result<Vec<Value>> {
    let path = repo().join("deploy/kubernetes").join(name);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut docs = Vec::new();
    for doc in yaml_serde::Deserializer::from_str(&text) {
        docs.push(serde::Deserialize::deserialize(doc).with_context(|| name.to_owned())?);
    }
    Ok(docs)
}

/// The one document of a single-document manifest.
pub fn single(name: &str) -> anyhow::Result<Value> {
    manifest(name)?
        .into_iter()
        .next()
        .with_context(|| format!("{name} is empty"))
}

/// `doc` at a path of keys (strings) and indices (numbers as strings).
pub fn at<'a>(doc: &'a Value, path: &[&str]) -> anyhow::Result<&'a Value> {
    let mut v = doc;
    for key in path {
        v = match key.parse::<usize>() {
            Ok(i) => v.get(i),
            Err(_) => v.get(*key),
        }
        .with_context(|| format!("no {} in the manifest", path.join(".")))?;
    }
    Ok(v)
}

/// A list of strings at `path`.
pub fn strings(doc: &Value, path: &[&str]) -> anyhow::Result<Vec<String>> {
    at(doc, path)?
        .as_sequence()
        .with_context(|| format!("{} is not a list", path.join(".")))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .with_context(|| format!("{} holds a non-string", path.join(".")))
        })
        .collect()
}

/// The sensor container of the DaemonSet.
pub fn sensor_container() -> anyhow::Result<Value> {
    let ds = single("daemonset.yaml")?;
    Ok(at(&ds, &["spec", "template", "spec", "containers", "0"])?.clone())
}

/// The DaemonSet's added capabilities, in `setpriv` spelling (`+bpf,+perfmon,...`).
pub fn daemonset_caps() -> anyhow::Result<Vec<String>> {
    let c = sensor_container()?;
    let drop = strings(&c, &["securityContext", "capabilities", "drop"])?;
    if drop != ["ALL"] {
        bail!("the DaemonSet must drop ALL capabilities, drops {drop:?}");
    }
    Ok(strings(&c, &["securityContext", "capabilities", "add"])?
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect())
}

/// The capabilities named on a line `Key=CAP_A CAP_B` of the systemd unit, lowercase without
/// the `cap_` prefix.
pub fn unit_caps(key: &str) -> anyhow::Result<Vec<String>> {
    let path = repo().join("deploy/systemd/sensor.service");
    let text = std::fs::read_to_string(&path)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .with_context(|| format!("no {key}= in {}", path.display()))?;
    Ok(line
        .split_whitespace()
        .map(|c| c.to_ascii_lowercase().trim_start_matches("cap_").to_owned())
        .collect())
}

/// The capabilities the sensor keeps after attach, out of `granted`.
pub fn run_time_caps(granted: &[String]) -> Vec<String> {
    granted
        .iter()
        .filter(|c| *c == "sys_ptrace")
        .cloned()
        .collect()
}

/// The bit of a capability in /proc/PID/status masks.
pub fn cap_bit(name: &str) -> anyhow::Result<u64> {
    let n = match name {
        "dac_read_search" => 2,
        "sys_ptrace" => 19,
        "sys_admin" => 21,
        "sys_nice" => 23,
        "perfmon" => 38,
        "bpf" => 39,
        other => bail!("capability {other} unknown to the test"),
    };
    Ok(1 << n)
}
