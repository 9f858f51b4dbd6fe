//! Issue 4: containers from cgroup paths on the real kernel. A shell moves itself into a cgroup
//! shaped like a containerd pod's (systemd driver) and execs a program: its exec event must
//! carry the container id and the pod uid from that path, with no runtime and no API.

mod context_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use context_support::{copy_program, tempdir, wait_exec};
use sensor_tests::{Sensor, field_str, require_root};

/// The cgroup2 mount (`/sys/fs/cgroup` on pure v2 hosts, `/sys/fs/cgroup/unified` on hybrid).
fn cgroup2_mount() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

#[test]
fn a_run_in_a_containerd_pod_cgroup_yields_container_id_and_pod_uid() -> anyhow::Result<()> {
    if !require_root("a_run_in_a_containerd_pod_cgroup_yields_container_id_and_pod_uid") {
        return Ok(());
    }
    let Some(mount) = cgroup2_mount() else {
        eprintln!("SKIPPED: no cgroup2 mount");
        return Ok(());
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos();
    let uid = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        std::process::id(),
        nanos & 0xffff,
        (nanos >> 16) & 0xfff,
        (nanos >> 28) & 0xfff,
        (nanos >> 40) & 0xffff_ffff_ffff
    );
    let container_id = format!("{:032x}{:032x}", nanos, u128::from(std::process::id()));
    let levels = [
        "kubepods.slice".to_owned(),
        "kubepods-besteffort.slice".to_owned(),
        format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_")),
        format!("cri-containerd-{container_id}.scope"),
    ];
    let mut created = Vec::new();
    let mut path = mount.clone();
    for level in &levels {
        path.push(level);
        if !path.exists() {
            std::fs::create_dir(&path)?;
            created.push(path.clone());
        }
    }
    let scope = path;

    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-pod-")?;
    // Exits at once: by the time its event is read, /proc may have no cgroup for it and the
    // sensor must find the cgroup by its id.
    let quick = copy_program(&dir, "/bin/true", "ctx-pod-quick-")?;
    let result = (|| -> anyhow::Result<()> {
        let mut sensor = Sensor::start(&["run", "--events", "-"])?;
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec {prog} 0.3",
            scope.display()
        );
        let quick_script = format!("echo $$ > {}/cgroup.procs && exec {quick}", scope.display());
        let status = Command::new("/bin/sh")
            .arg("-c")
            .arg(&quick_script)
            .status()?;
        assert!(status.success());
        let event = wait_exec(&mut sensor, &quick)?;
        assert_eq!(
            field_str(&event, "container.id"),
            Some(container_id.as_str())
        );
        assert_eq!(field_str(&event, "kubernetes.pod.uid"), Some(uid.as_str()));

        let status = Command::new("/bin/sh").arg("-c").arg(&script).status()?;
        assert!(status.success());
        let event = wait_exec(&mut sensor, &prog)?;
        assert_eq!(
            field_str(&event, "container.id"),
            Some(container_id.as_str())
        );
        assert_eq!(field_str(&event, "container.runtime"), Some("containerd"));
        assert_eq!(field_str(&event, "kubernetes.pod.uid"), Some(uid.as_str()));
        assert_eq!(field_str(&event, "orchestrator.type"), Some("kubernetes"));
        assert_eq!(field_str(&event, "orchestrator.resource.type"), Some("pod"));
        assert_eq!(
            field_str(&event, "orchestrator.resource.id"),
            Some(uid.as_str())
        );
        // The process ran in its own cgroup; the test process did not move.
        let own = std::fs::read_to_string("/proc/self/cgroup")?;
        assert!(!own.contains(&container_id));
        sensor.stop()?;
        Ok(())
    })();

    // Empty by now (the program exited); remove deepest first, only what this test created.
    std::thread::sleep(Duration::from_millis(100));
    for dir in created.iter().rev() {
        std::fs::remove_dir(dir)?;
    }
    std::fs::remove_dir_all(dir)?;
    result
}
