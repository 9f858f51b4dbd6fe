//! Issue 8: the capabilities, mounts and config shipped in deploy/ are exactly what the sensor
//! needs. The real binary starts with the DaemonSet's capability set (read from
//! daemonset.yaml) inside an otherwise empty root holding only the DaemonSet's mounts and the
//! ConfigMap's config, and with the systemd unit's set as an unprivileged user; each must
//! attach, report an exec, and drop to the run-time set. Fewer capabilities degrade or fail
//! with a message that names what is missing.

mod deploy_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use deploy_support::{
    at, cap_bit, daemonset_caps, repo, run_time_caps, sensor_container, single, unit_caps,
};
use sensor_tests::{Sensor, require_root, sensor_bin, unique};

/// The uid the systemd unit's dynamic user stands in for (and distroless' `nonroot`).
const UNPRIVILEGED: &str = "65532";

fn setpriv_args(uid: &str, caps: &[String], ambient: bool) -> Vec<String> {
    let list = |caps: &[String]| {
        std::iter::once("-all".to_owned())
            .chain(caps.iter().map(|c| format!("+{c}")))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut args = vec![
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".into(),
        format!("--inh-caps={}", list(caps)),
        format!("--bounding-set={}", list(caps)),
        "--no-new-privs".into(),
    ];
    if ambient {
        args.push(format!("--ambient-caps={}", list(caps)));
    }
    args
}

/// Runs a marker command as root in [`MARKER_CWD`] and waits for its exec event; then checks
/// the capabilities of every thread of the sensor. Returns the event.
fn assert_attached_and_reduced(
    mut sensor: Sensor,
    granted: &[String],
    uid: &str,
    root: Option<&Path>,
) -> anyhow::Result<serde_json::Value> {
    let proc_dir = PathBuf::from(format!("/proc/{}", sensor.pid()));
    let status = std::fs::read_to_string(proc_dir.join("status"))?;
    let uids = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .context("Uid")?;
    ensure!(
        uids.split_whitespace().all(|u| u == uid),
        "runs as uids {uids}, expected {uid}"
    );
    if let Some(root) = root {
        ensure!(
            std::fs::read_link(proc_dir.join("root"))? == root,
            "not in the empty root"
        );
    }
    let marker = unique("deploycaps");
    // Root's process, alive for a second so its /proc entry can be read when the event is.
    let mut marked = Command::new("/bin/sh")
        .args(["-c", "sleep 1", &marker])
        .current_dir(MARKER_CWD)
        .spawn()?;
    let event = sensor.wait_for(Duration::from_secs(10), |v| {
        v["process"]["args"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(marker.as_str())))
    })?;
    ensure!(event["event"]["action"] == "exec", "{event}");
    let expected = run_time_caps(granted)
        .iter()
        .map(|c| cap_bit(c))
        .sum::<anyhow::Result<u64>>()?;
    let tasks = PathBuf::from(format!("/proc/{}/task", sensor.pid()));
    let mut threads = 0;
    for task in std::fs::read_dir(&tasks)? {
        let status = std::fs::read_to_string(task?.path().join("status"))?;
        let eff = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .context("CapEff")?;
        let eff = u64::from_str_radix(eff.trim(), 16)?;
        let name = status.lines().next().unwrap_or_default().to_owned();
        if name.ends_with("\tsensor") {
            ensure!(
                eff == expected,
                "main thread CapEff {eff:x}, expected {expected:x}"
            );
        } else {
            ensure!(
                eff & !expected == 0,
                "{name}: CapEff {eff:x} beyond {expected:x}"
            );
        }
        threads += 1;
    }
    ensure!(threads >= 2, "expected the main and HTTP threads");
    // --priority-boost (default 4) takes effect with CAP_SYS_NICE, and is reported without it.
    let own = nice_of("self")?;
    let sensor_nice = nice_of(&sensor.pid().to_string())?;
    if granted.iter().any(|c| c == "sys_nice") {
        ensure!(
            sensor_nice == (own - 4).max(-20),
            "nice {sensor_nice}, expected {} (ours is {own})",
            (own - 4).max(-20)
        );
    } else {
        ensure!(
            sensor_nice == own,
            "nice {sensor_nice} without CAP_SYS_NICE"
        );
        ensure!(
            sensor
                .log()
                .contains("cannot lower the sensor's nice value"),
            "no word of the missing boost:\n{}",
            sensor.log()
        );
    }
    ensure!(
        sensor
            .log()
            .contains("dropped the capabilities needed only to load")
    );
    ensure!(marked.wait()?.success());
    let status = sensor.stop()?;
    ensure!(status.success(), "exit {status:?}");
    Ok(event)
}

/// The working directory of the marker command: the sensor reads it from
/// `/proc/PID/cwd`, which for another user's process needs CAP_SYS_PTRACE.
const MARKER_CWD: &str = "/usr/share";

fn working_directory(event: &serde_json::Value) -> Option<&str> {
    event["process"]["working_directory"].as_str()
}

/// An empty directory tree standing for the container: the sensor binary and its libraries,
/// setpriv and its libraries, the ConfigMap's config and mount points for the DaemonSet's
/// volumes.
struct Root {
    dir: PathBuf,
}

impl Root {
    fn new() -> anyhow::Result<Root> {
        let dir = std::env::temp_dir().join(unique("sensor-root-"));
        std::fs::create_dir_all(&dir)?;
        Ok(Root { dir })
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.dir.join(inside.trim_start_matches('/'))
    }

    /// Copies `bin` to `inside`, with the shared libraries `ldd` names at their own paths.
    fn install(&self, bin: &Path, inside: &str) -> anyhow::Result<()> {
        let target = self.path(inside);
        std::fs::create_dir_all(target.parent().context("parent")?)?;
        std::fs::copy(bin, &target)?;
        let ldd = Command::new("ldd").arg(bin).output()?;
        for word in String::from_utf8_lossy(&ldd.stdout).split_whitespace() {
            if word.starts_with('/') && Path::new(word).exists() {
                let lib = self.path(word);
                std::fs::create_dir_all(lib.parent().context("parent")?)?;
                std::fs::copy(word, lib)?;
            }
        }
        Ok(())
    }

    fn mount_point(&self, inside: &str, file: bool) -> anyhow::Result<()> {
        let p = self.path(inside);
        if file {
            std::fs::create_dir_all(p.parent().context("parent")?)?;
            std::fs::write(p, "")?;
        } else {
            std::fs::create_dir_all(p)?;
        }
        Ok(())
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        // The mounts lived in the test's private mount namespace and are gone with it.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The shell script that sets up the DaemonSet's mounts in a private mount namespace and runs
/// the sensor inside the root with the DaemonSet's user and capabilities.
fn daemonset_command(root: &Root) -> anyhow::Result<Command> {
    let ds = single("daemonset.yaml")?;
    let pod = at(&ds, &["spec", "template", "spec"])?;
    ensure!(
        at(pod, &["hostPID"])?.as_bool() == Some(true),
        "the sensor needs hostPID"
    );
    let c = sensor_container()?;
    let sc = at(&c, &["securityContext"])?;
    ensure!(at(sc, &["privileged"])?.as_bool() == Some(false));
    ensure!(at(sc, &["allowPrivilegeEscalation"])?.as_bool() == Some(false));
    ensure!(at(sc, &["readOnlyRootFilesystem"])?.as_bool() == Some(true));
    let uid = at(sc, &["runAsUser"])?
        .as_u64()
        .context("runAsUser")?
        .to_string();

    // What the container runtime provides: /proc of the (host) pid namespace, a read-only
    // sysfs; then the DaemonSet's own volumes.
    let r = root.dir.display();
    let mut script = vec![
        format!("mount -t proc proc {r}/proc"),
        format!("mount -t sysfs -o ro sysfs {r}/sys"),
    ];
    root.mount_point("/proc", false)?;
    root.mount_point("/sys", false)?;
    let volumes = at(pod, &["volumes"])?.as_sequence().context("volumes")?;
    for mount in at(&c, &["volumeMounts"])?
        .as_sequence()
        .context("volumeMounts")?
    {
        let name = at(mount, &["name"])?.as_str().context("name")?;
        let inside = at(mount, &["mountPath"])?.as_str().context("mountPath")?;
        let volume = volumes
            .iter()
            .find(|v| v.get("name").and_then(|n| n.as_str()) == Some(name))
            .with_context(|| format!("volume {name} is not declared"))?;
        ensure!(
            at(mount, &["readOnly"])?.as_bool() == Some(true),
            "{name} must be read-only"
        );
        if let Some(host) = volume.get("hostPath") {
            let path = at(host, &["path"])?.as_str().context("path")?;
            let file = at(host, &["type"])?.as_str() == Some("File");
            if !inside.starts_with("/sys/") {
                root.mount_point(inside, file)?;
            }
            script.push(format!("mount --bind {path} {r}{inside}"));
            script.push(format!("mount -o remount,bind,ro {r}{inside}"));
        } else if volume.get("configMap").is_some() {
            root.mount_point(inside, false)?;
        } else {
            bail!("volume {name}: the test knows hostPath and configMap only");
        }
    }
    // The ConfigMap's files, as the kubelet would project them.
    let cm = single("configmap.yaml")?;
    let config = at(&cm, &["data", "config.yaml"])?
        .as_str()
        .context("config.yaml")?;
    std::fs::write(root.path("/etc/sensor/config.yaml"), config)?;

    let command = strings_of(&c, "command")?;
    let args = strings_of(&c, "args")?;
    root.install(&sensor_bin(), command.first().context("command")?)?;
    root.install(Path::new("/usr/bin/setpriv"), "/bin/setpriv")?;
    let caps = daemonset_caps()?;
    let mut exec = vec![format!("exec chroot {r} /bin/setpriv")];
    exec.extend(setpriv_args(&uid, &caps, false));
    exec.push("--".into());
    exec.extend(command);
    exec.extend(args);
    // Loopback and a free port instead of the pod's 0.0.0.0:9760: the command line overrides
    // the file.
    exec.push("--metrics-addr=127.0.0.1:0".into());
    script.push(exec.join(" "));

    let mut cmd = Command::new("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-ec",
    ])
    .arg(script.join("\n"));
    Ok(cmd)
}

/// The nice value of process `pid` (`self` for the test), field 19 of its stat line.
fn nice_of(pid: &str) -> anyhow::Result<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_comm = stat.rsplit_once(')').context("stat line")?.1;
    Ok(after_comm
        .split_whitespace()
        .nth(16)
        .context("nice field")?
        .parse()?)
}

fn strings_of(c: &yaml_serde::Value, key: &str) -> anyhow::Result<Vec<String>> {
    deploy_support::strings(c, &[key])
}

#[test]
fn daemonset_capabilities_and_mounts_suffice_in_an_empty_root() -> anyhow::Result<()> {
    if !require_root("daemonset_capabilities_and_mounts_suffice_in_an_empty_root") {
        return Ok(());
    }
    let caps = daemonset_caps()?;
    ensure!(
        !caps.iter().any(|c| c == "sys_admin"),
        "CAP_SYS_ADMIN must not be needed"
    );
    let root = Root::new()?;
    let sensor = Sensor::start_command(daemonset_command(&root)?)?;
    let c = sensor_container()?;
    let uid = at(&c, &["securityContext", "runAsUser"])?
        .as_u64()
        .context("uid")?;
    // The ConfigMap says 0.0.0.0:9760; the command line's loopback address wins.
    ensure!(
        sensor.log().contains("metrics_addr=127.0.0.1:"),
        "the command line did not override the config file:\n{}",
        sensor.log()
    );
    let event = assert_attached_and_reduced(sensor, &caps, &uid.to_string(), Some(&root.dir))?;
    ensure!(working_directory(&event) == Some(MARKER_CWD), "{event}");
    drop(root);
    Ok(())
}

fn start_unprivileged(caps: &[String]) -> anyhow::Result<Sensor> {
    start_as(UNPRIVILEGED, caps)
}

/// Starts the sensor as `uid` with `caps` (ambient for a non-root uid).
fn start_as(uid: &str, caps: &[String]) -> anyhow::Result<Sensor> {
    let mut cmd = Command::new("setpriv");
    cmd.args(setpriv_args(uid, caps, uid != "0"))
        .arg("--")
        .arg(sensor_bin())
        .args(["run", "--config"])
        .arg(repo().join("deploy/config.example.yaml"))
        .arg("--metrics-addr=127.0.0.1:0");
    Sensor::start_command(cmd)
}

#[test]
fn systemd_unit_capabilities_suffice_for_an_unprivileged_user() -> anyhow::Result<()> {
    if !require_root("systemd_unit_capabilities_suffice_for_an_unprivileged_user") {
        return Ok(());
    }
    let caps = unit_caps("AmbientCapabilities")?;
    ensure!(
        caps == unit_caps("CapabilityBoundingSet")?,
        "ambient and bounding sets differ"
    );
    // The DaemonSet runs as uid 0, which owns tracefs; an unprivileged user needs
    // CAP_DAC_READ_SEARCH to read it.
    let mut expected = daemonset_caps()?;
    expected.push("dac_read_search".into());
    expected.sort();
    let mut sorted = caps.clone();
    sorted.sort();
    ensure!(
        sorted == expected,
        "the unit grants {caps:?}, expected {expected:?}"
    );
    let sensor = start_unprivileged(&caps)?;
    let event = assert_attached_and_reduced(sensor, &caps, UNPRIVILEGED, None)?;
    // The kernel resolves an exec's working directory itself: no /proc read is needed.
    ensure!(working_directory(&event) == Some(MARKER_CWD), "{event}");
    Ok(())
}

#[test]
fn without_sys_ptrace_the_sensor_still_runs_with_nothing_left() -> anyhow::Result<()> {
    if !require_root("without_sys_ptrace_the_sensor_still_runs_with_nothing_left") {
        return Ok(());
    }
    let caps: Vec<String> = unit_caps("AmbientCapabilities")?
        .into_iter()
        .filter(|c| c != "sys_ptrace")
        .collect();
    let sensor = start_unprivileged(&caps)?;
    let event = assert_attached_and_reduced(sensor, &caps, UNPRIVILEGED, None)?;
    // Not even degraded for execs: their working directory comes from the kernel, which
    // CAP_SYS_PTRACE does not gate (other /proc reads of root's processes still fail).
    ensure!(working_directory(&event) == Some(MARKER_CWD), "{event}");
    Ok(())
}

#[test]
fn without_sys_nice_the_sensor_runs_at_its_inherited_priority() -> anyhow::Result<()> {
    if !require_root("without_sys_nice_the_sensor_runs_at_its_inherited_priority") {
        return Ok(());
    }
    let caps: Vec<String> = unit_caps("AmbientCapabilities")?
        .into_iter()
        .filter(|c| c != "sys_nice")
        .collect();
    let sensor = start_unprivileged(&caps)?;
    // Checks the nice value and the warning (no CAP_SYS_NICE in `caps`).
    assert_attached_and_reduced(sensor, &caps, UNPRIVILEGED, None)?;
    Ok(())
}

#[test]
fn each_load_capability_is_required_and_named_when_missing() -> anyhow::Result<()> {
    if !require_root("each_load_capability_is_required_and_named_when_missing") {
        return Ok(());
    }
    for missing in ["bpf", "perfmon", "dac_read_search"] {
        let caps: Vec<String> = unit_caps("AmbientCapabilities")?
            .into_iter()
            .filter(|c| c != missing)
            .collect();
        let Err(err) = start_unprivileged(&caps) else {
            bail!("the sensor attached without CAP_{}", missing.to_uppercase());
        };
        let msg = format!("{err:#}");
        let name = format!("CAP_{}", missing.to_uppercase());
        ensure!(msg.contains(&name), "without {name}: {msg}");
        ensure!(!msg.contains("not mounted"), "without {name}: {msg}");
    }
    // The DaemonSet's set (uid 0) is minimal too: each capability in it is needed to attach,
    // except SYS_PTRACE, which only enrichment uses, and SYS_NICE, which only the priority
    // boost uses (both tested on their own).
    for missing in daemonset_caps()?
        .iter()
        .filter(|c| *c != "sys_ptrace" && *c != "sys_nice")
    {
        let caps: Vec<String> = daemonset_caps()?
            .into_iter()
            .filter(|c| c != missing)
            .collect();
        let name = format!("CAP_{}", missing.to_uppercase());
        match start_as("0", &caps) {
            Ok(_) => bail!("uid 0 attached without {name}"),
            Err(err) => ensure!(
                format!("{err:#}").contains(&name),
                "without {name}: {err:#}"
            ),
        }
    }
    Ok(())
}
