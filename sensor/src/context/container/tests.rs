//! Cgroup path samples for each runtime, driver and cgroup version (see `fixtures/cgroup/`).

use super::*;

const ID: &str = "3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const POD: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../fixtures/cgroup/", $name, ".txt"))
    };
}

fn check(content: &str, runtime: &str, pod: Option<&str>) {
    let found = parse_proc_cgroup(content).expect("a container");
    assert_eq!(found.id, ID, "{content}");
    assert_eq!(found.runtime, runtime, "{content}");
    assert_eq!(found.pod.as_ref().map(|p| p.uid.as_str()), pod, "{content}");
}

#[test]
fn docker() {
    check(fixture!("docker-cgroupfs-v1"), runtime::DOCKER, None);
    check(fixture!("docker-systemd-v1"), runtime::DOCKER, None);
    check(fixture!("docker-systemd-v2"), runtime::DOCKER, None);
    // docker-in-docker: the inner container is the process's own.
    check(fixture!("docker-dind-v2"), runtime::DOCKER, None);
}

#[test]
fn containerd_kubernetes() {
    check(
        fixture!("containerd-k8s-systemd-v2"),
        runtime::CONTAINERD,
        Some(POD),
    );
    check(
        fixture!("containerd-k8s-guaranteed-systemd-v2"),
        runtime::CONTAINERD,
        Some(POD),
    );
    check(
        fixture!("containerd-k8s-cgroupfs-v1"),
        runtime::CRI,
        Some(POD),
    );
    check(
        fixture!("containerd-k8s-cgroupfs-v2"),
        runtime::CRI,
        Some(POD),
    );
    // kind: pods inside a docker container that is the node.
    check(fixture!("kind-nested-v2"), runtime::CONTAINERD, Some(POD));
}

#[test]
fn crio() {
    check(fixture!("crio-k8s-systemd-v2"), runtime::CRIO, Some(POD));
    check(fixture!("crio-k8s-systemd-v1"), runtime::CRIO, Some(POD));
}

#[test]
fn podman() {
    check(fixture!("podman-rootful-v2"), runtime::PODMAN, None);
    check(fixture!("podman-rootless-v2"), runtime::PODMAN, None);
    check(fixture!("podman-cgroupfs-v1"), runtime::PODMAN, None);
}

#[test]
fn runtime_helpers_and_host_processes_are_not_containers() {
    for content in [
        fixture!("crio-conmon-v2"),
        fixture!("podman-conmon-v2"),
        fixture!("host-systemd-hybrid"),
        fixture!("host-user-session-v2"),
    ] {
        assert_eq!(parse_proc_cgroup(content), None, "{content}");
    }
}

#[test]
fn hostile_paths_do_not_match_or_panic() {
    for path in [
        "",
        "/",
        "//docker//",
        "/docker/XYZ",
        &format!("/docker/{}", &ID[..63]),
        &format!("/docker/{ID}0"),
        &format!("/docker/{}", ID.to_uppercase()),
        "/kubepods.slice/kubepods-pod.slice",
        "/kubepods/podnot-a-uid/",
        "/kubepods-besteffort-pod\u{e9}\u{e9}.slice",
        ":::",
    ] {
        assert_eq!(parse_path(path), None, "{path:?}");
    }
    assert_eq!(parse_proc_cgroup("garbage\n0\n::\n\u{0}"), None);
}

#[test]
fn pod_uid_without_container_is_not_a_container() {
    // The pod's own slice (e.g. the sandbox's parent) has a uid but no container id.
    assert_eq!(
        parse_path("/kubepods/besteffort/pod0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        None
    );
}

#[test]
fn cache_keys_only_on_what_the_v2_id_decides() {
    let mut cache = ContainerCache::default();
    // Hybrid host, cgroupfs docker: the v2 line is containerd's service, the v1 lines name the
    // container. Caching "container" under that v2 id would mislabel host processes.
    let found = cache.resolve(7, fixture!("docker-cgroupfs-v1"));
    assert_eq!(found.map(|c| c.id.clone()), Some(ID.to_owned()));
    assert_eq!(cache.get(7), None);
    // Pure v2: cached, positive and negative.
    assert!(cache.resolve(8, fixture!("docker-systemd-v2")).is_some());
    assert!(cache.get(8).is_some_and(|c| c.is_some()));
    assert!(cache.resolve(9, fixture!("host-user-session-v2")).is_none());
    assert_eq!(cache.get(9), Some(None));
    // Hybrid host but the v2 path itself names the container: cached.
    let hybrid = format!("1:name=systemd:/x\n0::/system.slice/docker-{ID}.scope\n");
    assert!(cache.resolve(10, &hybrid).is_some());
    assert!(cache.get(10).is_some_and(|c| c.is_some()));
}
