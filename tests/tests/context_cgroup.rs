//! Issue 4: containers and pods on the real kernel. A shell moves itself into a cgroup shaped
//! like a containerd pod's (systemd driver) and execs a program: its exec event must carry the
//! container id and the pod uid from that path, with no runtime and no API; names come from a
//! kubelet-style pod list when one is configured, and an unreachable one is reported once.

mod context_support;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
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

/// `kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/
/// cri-containerd-<id>.scope` under the cgroup2 mount, removed (what this created) on drop.
struct PodCgroup {
    uid: String,
    container_id: String,
    scope: PathBuf,
    created: Vec<PathBuf>,
}

impl PodCgroup {
    fn create() -> anyhow::Result<Option<PodCgroup>> {
        let Some(mount) = cgroup2_mount() else {
            return Ok(None);
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
        let mut path = mount;
        for level in &levels {
            path.push(level);
            if !path.exists() {
                std::fs::create_dir(&path)?;
                created.push(path.clone());
            }
        }
        Ok(Some(PodCgroup {
            uid,
            container_id,
            scope: path,
            created,
        }))
    }

    /// Runs `program args` in the cgroup (the shell moves itself, then execs).
    fn run(&self, program: &str, args: &str) -> anyhow::Result<()> {
        let script = format!(
            "echo $$ > {}/cgroup.procs && exec {program} {args}",
            self.scope.display()
        );
        let status = Command::new("/bin/sh").arg("-c").arg(&script).status()?;
        anyhow::ensure!(status.success(), "{script}: {status}");
        Ok(())
    }
}

impl Drop for PodCgroup {
    fn drop(&mut self) {
        // Empty once the programs exited; deepest first.
        std::thread::sleep(Duration::from_millis(100));
        for dir in self.created.iter().rev() {
            if let Err(err) = std::fs::remove_dir(dir) {
                eprintln!("could not remove {}: {err}", dir.display());
            }
        }
    }
}

#[test]
fn a_run_in_a_containerd_pod_cgroup_yields_container_id_and_pod_uid() -> anyhow::Result<()> {
    if !require_root("a_run_in_a_containerd_pod_cgroup_yields_container_id_and_pod_uid") {
        return Ok(());
    }
    let Some(pod) = PodCgroup::create()? else {
        eprintln!("SKIPPED: no cgroup2 mount");
        return Ok(());
    };
    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-pod-")?;
    // Exits at once: by the time its event is read, /proc may have no cgroup for it and the
    // sensor must find the cgroup by its id.
    let quick = copy_program(&dir, "/bin/true", "ctx-pod-quick-")?;
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    pod.run(&quick, "")?;
    let event = wait_exec(&mut sensor, &quick)?;
    assert_eq!(
        field_str(&event, "container.id"),
        Some(pod.container_id.as_str())
    );
    assert_eq!(
        field_str(&event, "kubernetes.pod.uid"),
        Some(pod.uid.as_str())
    );

    pod.run(&prog, "0.3")?;
    let event = wait_exec(&mut sensor, &prog)?;
    assert_eq!(
        field_str(&event, "container.id"),
        Some(pod.container_id.as_str())
    );
    assert_eq!(field_str(&event, "container.runtime"), Some("containerd"));
    assert_eq!(
        field_str(&event, "kubernetes.pod.uid"),
        Some(pod.uid.as_str())
    );
    assert_eq!(field_str(&event, "orchestrator.type"), Some("kubernetes"));
    assert_eq!(field_str(&event, "orchestrator.resource.type"), Some("pod"));
    assert_eq!(
        field_str(&event, "orchestrator.resource.id"),
        Some(pod.uid.as_str())
    );
    assert_eq!(
        field_str(&event, "kubernetes.pod.name"),
        None,
        "no pod list configured"
    );
    // The test process itself stayed on the host.
    let own = std::fs::read_to_string("/proc/self/cgroup")?;
    assert!(!own.contains(&pod.container_id));

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// Serves `body` as the answer to every GET on a loopback port, in a thread.
fn serve(body: String) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(stream, "HTTP/1.0 200 OK\r\n\r\n{body}");
        }
    });
    Ok(port)
}

#[test]
fn pod_names_come_from_the_pod_list_and_an_unreachable_one_is_reported_once() -> anyhow::Result<()>
{
    if !require_root("pod_names_come_from_the_pod_list") {
        return Ok(());
    }
    let Some(pod) = PodCgroup::create()? else {
        eprintln!("SKIPPED: no cgroup2 mount");
        return Ok(());
    };
    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-named-")?;
    let list = format!(
        r#"{{"kind":"PodList","items":[{{"metadata":{{"name":"web-1","namespace":"shop","uid":"{}"}},
            "spec":{{"nodeName":"node-a"}},"status":{{"containerStatuses":[
            {{"name":"nginx","containerID":"containerd://{}"}}]}}}}]}}"#,
        pod.uid, pod.container_id
    );
    let port = serve(list)?;
    let url = format!("http://127.0.0.1:{port}/pods");
    let mut sensor = Sensor::start(&["run", "--events", "-", "--kubelet-url", &url])?;
    std::thread::sleep(Duration::from_millis(500));
    pod.run(&prog, "0.3")?;
    let event = wait_exec(&mut sensor, &prog)?;
    assert_eq!(field_str(&event, "kubernetes.pod.name"), Some("web-1"));
    assert_eq!(field_str(&event, "kubernetes.namespace"), Some("shop"));
    assert_eq!(field_str(&event, "kubernetes.node.name"), Some("node-a"));
    assert_eq!(field_str(&event, "container.name"), Some("nginx"));
    assert_eq!(
        field_str(&event, "orchestrator.resource.name"),
        Some("web-1")
    );
    assert_eq!(field_str(&event, "orchestrator.namespace"), Some("shop"));
    sensor.stop()?;

    // Nothing listens there: events still flow, without names, and the log says so once.
    let closed = TcpListener::bind("127.0.0.1:0")?;
    let dead = format!("http://127.0.0.1:{}/pods", closed.local_addr()?.port());
    drop(closed);
    let mut sensor = Sensor::start(&["run", "--events", "-", "--kubelet-url", &dead])?;
    std::thread::sleep(Duration::from_millis(500));
    pod.run(&prog, "0.2")?;
    let event = sensor.wait_for(Duration::from_secs(15), |e| {
        field_str(e, "process.executable") == Some(prog.as_str())
            && field_str(e, "kubernetes.pod.name").is_none()
    })?;
    assert_eq!(
        field_str(&event, "kubernetes.pod.uid"),
        Some(pod.uid.as_str())
    );
    pod.run(&prog, "0.1")?;
    std::thread::sleep(Duration::from_millis(500));
    let log = sensor.log();
    assert_eq!(log.matches("pod names unavailable").count(), 1, "{log}");

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
