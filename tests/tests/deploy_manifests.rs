//! Issue 8: the shipped deployment files are valid for the tools that consume them —
//! Kubernetes manifests against the OpenAPI schemas of 1.28 to 1.33 (kubernetes-validate,
//! strict), the Containerfile against hadolint, the systemd unit against `systemd-analyze
//! verify` — and agree with each other (image entrypoint and port, selectors, kustomization).

mod deploy_support;

use std::process::Command;

use anyhow::{Context as _, ensure};
use deploy_support::{at, manifest, repo, sensor_container, single, strings, venv_bin};

/// Kubernetes versions the manifests are claimed to work with.
const KUBERNETES_VERSIONS: [&str; 6] = ["1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0"];

/// Files that kubernetes-validate has no schema for.
const NOT_CORE: [(&str, &str); 3] = [
    ("kustomization.yaml", "a kustomize file, not a resource"),
    (
        "podmonitor.yaml",
        "a Prometheus Operator CRD (checked by monitors_select_the_sensor)",
    ),
    (
        "servicemonitor.yaml",
        "a Prometheus Operator CRD (checked by monitors_select_the_sensor)",
    ),
];

fn manifest_files() -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("deploy/kubernetes"))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    Ok(names)
}

#[test]
fn manifests_validate_against_kubernetes_1_28_to_1_33() -> anyhow::Result<()> {
    let validate = venv_bin("kubernetes-validate")?;
    let mut files = Vec::new();
    for name in manifest_files()? {
        match NOT_CORE.iter().find(|(n, _)| *n == name) {
            Some((_, why)) => eprintln!("not schema-validated: {name}: {why}"),
            None => files.push(repo().join("deploy/kubernetes").join(&name)),
        }
    }
    ensure!(
        files.len() >= 7,
        "expected the core manifests, found {files:?}"
    );
    for version in KUBERNETES_VERSIONS {
        let out = Command::new(&validate)
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .output()
            .context("running kubernetes-validate")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        ensure!(
            out.status.success() && !stdout.contains("ERROR") && !stdout.contains("WARN"),
            "kubernetes-validate {version} failed:\n{stdout}{stderr}"
        );
        // Every resource is reported as passed (one line each).
        ensure!(
            stdout.matches(" passed ").count() >= files.len(),
            "{version}: not every file passed:\n{stdout}"
        );
    }
    Ok(())
}

#[test]
fn kubernetes_validate_rejects_a_broken_daemonset() -> anyhow::Result<()> {
    // The validation above can fail: an unknown field in the security context is refused.
    let validate = venv_bin("kubernetes-validate")?;
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/daemonset.yaml"))?.replace(
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: true\n            privilegd: false",
    );
    let path = std::env::temp_dir().join(format!("sensor-ds-{}.yaml", std::process::id()));
    std::fs::write(&path, text)?;
    let out = Command::new(&validate)
        .args(["--strict", "--kubernetes-version", "1.33.0"])
        .arg(&path)
        .output()?;
    let _ = std::fs::remove_file(&path);
    ensure!(!out.status.success(), "a misspelled field was accepted");
    Ok(())
}

#[test]
fn kustomization_lists_every_resource() -> anyhow::Result<()> {
    let k = single("kustomization.yaml")?;
    let listed = strings(&k, &["resources"])?;
    for name in manifest_files()? {
        let optional = ["kustomization.yaml", "servicemonitor.yaml"].contains(&name.as_str());
        ensure!(
            optional || listed.contains(&name),
            "{name} is not in kustomization.yaml"
        );
    }
    for name in &listed {
        ensure!(
            repo().join("deploy/kubernetes").join(name).exists(),
            "kustomization.yaml lists a missing {name}"
        );
    }
    let image = at(&k, &["images", "0", "name"])?.as_str();
    ensure!(
        image == at(&sensor_container()?, &["image"])?.as_str(),
        "images[0] is not the DaemonSet's image"
    );
    Ok(())
}

#[test]
fn monitors_and_service_select_the_sensor() -> anyhow::Result<()> {
    let ds = single("daemonset.yaml")?;
    let labels = at(&ds, &["spec", "template", "metadata", "labels"])?;
    let port = at(&sensor_container()?, &["ports", "0"])?.clone();
    ensure!(at(&port, &["name"])?.as_str() == Some("metrics"));
    ensure!(at(&port, &["containerPort"])?.as_u64() == Some(9760));
    for (file, endpoints) in [
        ("podmonitor.yaml", "podMetricsEndpoints"),
        ("servicemonitor.yaml", "endpoints"),
    ] {
        let m = single(file)?;
        ensure!(at(&m, &["apiVersion"])?.as_str() == Some("monitoring.coreos.com/v1"));
        let selector = at(&m, &["spec", "selector", "matchLabels"])?;
        for (k, v) in selector.as_mapping().context("matchLabels")? {
            ensure!(
                labels.get(k) == Some(v),
                "{file}: selector {k:?} does not match the pods"
            );
        }
        ensure!(at(&m, &["spec", endpoints, "0", "port"])?.as_str() == Some("metrics"));
        ensure!(at(&m, &["spec", endpoints, "0", "path"])?.as_str() == Some("/metrics"));
    }
    let svc = single("service.yaml")?;
    for (k, v) in at(&svc, &["spec", "selector"])?
        .as_mapping()
        .context("selector")?
    {
        ensure!(
            labels.get(k) == Some(v),
            "service selector {k:?} does not match the pods"
        );
    }
    // Every resource is in the sensor's namespace, and the RBAC binds the DaemonSet's account.
    for name in manifest_files()? {
        for doc in manifest(&name)? {
            if let Ok(ns) = at(&doc, &["metadata", "namespace"]) {
                ensure!(
                    ns.as_str() == Some("sensor-system"),
                    "{name}: namespace {ns:?}"
                );
            }
        }
    }
    let binding = &manifest("rbac.yaml")?[1];
    let account = at(&ds, &["spec", "template", "spec", "serviceAccountName"])?;
    ensure!(at(binding, &["subjects", "0", "name"])? == account);
    Ok(())
}

#[test]
fn containerfile_is_hadolint_clean_and_matches_the_daemonset() -> anyhow::Result<()> {
    let file = repo().join("Containerfile");
    let out = Command::new(venv_bin("hadolint")?)
        .arg(&file)
        .output()
        .context("running hadolint")?;
    ensure!(
        out.status.success() && out.stdout.is_empty(),
        "hadolint:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file)?;
    let json_line = |key: &str| -> anyhow::Result<Vec<String>> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .with_context(|| format!("no {key} in the Containerfile"))?;
        Ok(serde_json::from_str(line.trim())?)
    };
    let c = sensor_container()?;
    ensure!(
        json_line("ENTRYPOINT")? == strings(&c, &["command"])?,
        "entrypoint differs from the DaemonSet's command"
    );
    ensure!(
        json_line("CMD")? == strings(&c, &["args"])?,
        "CMD differs from the DaemonSet's args"
    );
    ensure!(
        text.lines().any(|l| l.trim() == "EXPOSE 9760"),
        "the image does not expose 9760"
    );
    ensure!(
        text.contains("FROM scratch"),
        "the runtime stage must be empty"
    );
    Ok(())
}

/// `systemd-analyze verify` checks that ExecStart exists, so it runs on a copy whose ExecStart
/// is the built binary instead of the install path /usr/local/bin/sensor.
#[test]
fn systemd_unit_verifies_clean() -> anyhow::Result<()> {
    let unit = std::fs::read_to_string(repo().join("deploy/systemd/sensor.service"))?;
    let bin = sensor_tests::sensor_bin();
    ensure!(bin.exists(), "build the sensor first ({})", bin.display());
    ensure!(unit.contains("ExecStart=/usr/local/bin/sensor run --config /etc/sensor/config.yaml"));
    let copy = unit.replace(
        "ExecStart=/usr/local/bin/sensor",
        &format!("ExecStart={}", bin.display()),
    );
    let verify = |text: &str| -> anyhow::Result<(bool, String)> {
        let dir = std::env::temp_dir().join(format!("sensor-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("sensor.service");
        std::fs::write(&path, text)?;
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .context("running systemd-analyze (Debian package systemd)")?;
        let _ = std::fs::remove_dir_all(&dir);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success() && said.trim().is_empty(), said))
    };
    let (clean, said) = verify(&copy)?;
    ensure!(clean, "systemd-analyze verify:\n{said}");
    // And it does complain about a broken unit, so the check above means something.
    let (clean, _) = verify(&copy.replace("ProtectSystem=strict", "ProtectSystem=strickt"))?;
    ensure!(!clean, "systemd-analyze accepted a bad ProtectSystem value");
    Ok(())
}

#[test]
fn configmap_config_is_accepted_by_the_sensor() -> anyhow::Result<()> {
    let cm = single("configmap.yaml")?;
    let config = at(&cm, &["data", "config.yaml"])?
        .as_str()
        .context("config.yaml")?;
    let path = std::env::temp_dir().join(format!("sensor-cm-{}.yaml", std::process::id()));
    std::fs::write(&path, config)?;
    // A valid file followed by --help prints the help: the file is read before clap parses.
    let out = Command::new(sensor_tests::sensor_bin())
        .args(["run", "--config"])
        .arg(&path)
        .arg("--help")
        .output()?;
    let _ = std::fs::remove_file(&path);
    ensure!(
        out.status.success(),
        "the ConfigMap's config.yaml is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
