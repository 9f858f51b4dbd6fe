//! Pod list parsing, name filling and the plain-HTTP fetch against a loopback server.

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;

use super::*;
use crate::context::model::PodInfo;

const LIST: &[u8] = include_bytes!("../fixtures/podlist.json");
const ID: &str = "3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const POD: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

fn container(uid: &str) -> ContainerInfo {
    ContainerInfo {
        id: ID.into(),
        runtime: "containerd".into(),
        pod: Some(PodInfo {
            uid: uid.into(),
            ..PodInfo::default()
        }),
    }
}

#[test]
fn parses_a_pod_list() {
    let pods = parse_pod_list(LIST).expect("parses");
    assert_eq!(pods.len(), 2);
    let web = pods.get(POD).expect("web");
    assert_eq!(web.name, "web-7d4b9c6f5-x2x9q");
    assert_eq!(web.namespace, "shop");
    assert_eq!(web.node.as_deref(), Some("node-a"));
    assert_eq!(web.containers.get(ID).map(String::as_str), Some("nginx"));
    assert_eq!(web.containers.len(), 3);
    assert!(parse_pod_list(b"{not json").is_err());
    assert!(parse_pod_list(b"[]").expect("empty").is_empty());
}

#[test]
fn fills_names_and_falls_back_to_the_node_name() {
    let names = PodNames::new(Some("node-b".into()));
    // Before any list: only the configured node name.
    let early = names.fill(&container(POD)).expect("node name");
    let pod = early.pod.expect("pod");
    assert_eq!((pod.name, pod.node_name.as_deref()), (None, Some("node-b")));

    assert_eq!(names.update(LIST).expect("update"), 2);
    let filled = names.fill(&container(POD)).expect("names");
    let pod = filled.pod.expect("pod");
    assert_eq!(pod.name.as_deref(), Some("web-7d4b9c6f5-x2x9q"));
    assert_eq!(pod.namespace.as_deref(), Some("shop"));
    assert_eq!(pod.container_name.as_deref(), Some("nginx"));
    assert_eq!(pod.node_name.as_deref(), Some("node-a"));
    // Unknown pods keep what the cgroup path gave; non-pod containers are untouched.
    let other = names.fill(&container("99999999-9999-9999-9999-999999999999"));
    assert_eq!(other.and_then(|c| c.pod).and_then(|p| p.name), None);
    let mut plain = container(POD);
    plain.pod = None;
    assert!(names.fill(&plain).is_none());
}

/// A one-request loopback server answering with the pod list; returns the port and the
/// request's lines.
fn one_shot_server() -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        let mut request = Vec::new();
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("read");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            request.push(line);
        }
        write!(
            stream,
            "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"
        )
        .expect("w");
        stream.write_all(LIST).expect("w");
        request
    });
    (port, server)
}

#[test]
fn fetches_over_plain_http_with_the_token() {
    let (port, server) = one_shot_server();
    let source = Source {
        url: format!("http://127.0.0.1:{port}/pods"),
        token: Some("s3cret".into()),
        ca: None,
    };
    let body = fetch(&source).expect("fetch");
    let request = server.join().expect("server");
    assert_eq!(
        request.first().map(String::as_str),
        Some("GET /pods HTTP/1.0\r\n")
    );
    assert!(
        request
            .iter()
            .any(|l| l == "Authorization: Bearer s3cret\r\n")
    );
    assert_eq!(parse_pod_list(&body).expect("list").len(), 2);
}

#[test]
fn unreachable_and_refused_sources_are_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let refused = Source {
        url: format!("http://127.0.0.1:{port}/pods"),
        token: None,
        ca: None,
    };
    assert!(matches!(fetch(&refused), Err(KubeError::Io(_))));
    let bad = Source {
        url: "ftp://x/pods".into(),
        token: None,
        ca: None,
    };
    assert!(matches!(fetch(&bad), Err(KubeError::Url(_))));
}

#[test]
fn reads_a_kubeconfig() {
    let path = std::env::temp_dir().join(format!("sensor-kubeconfig-{}", std::process::id()));
    std::fs::write(
        &path,
        "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority: /etc/k/ca.crt\n    \
         server: https://10.0.0.1:6443\n  name: c\nusers:\n- name: u\n  user:\n    token: \"abc\"\n",
    )
    .expect("write");
    let source = Source::from_kubeconfig(&path, Some("node-a")).expect("source");
    assert_eq!(
        source.url,
        "https://10.0.0.1:6443/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a"
    );
    assert_eq!(source.token.as_deref(), Some("abc"));
    assert_eq!(source.ca, Some(PathBuf::from("/etc/k/ca.crt")));
    std::fs::remove_file(&path).expect("cleanup");
    assert!(Source::from_kubeconfig(&path, None).is_err());
}

#[test]
fn curl_gets_the_token_on_stdin_not_in_its_command_line() {
    if Command::new("curl").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no curl");
        return;
    }
    let (port, server) = one_shot_server();
    let source = Source {
        url: format!("http://127.0.0.1:{port}/api/v1/pods"),
        token: Some("t0ken".into()),
        ca: None,
    };
    let body = curl_get(&source).expect("curl");
    let request = server.join().expect("server");
    assert!(
        request
            .iter()
            .any(|l| l == "Authorization: Bearer t0ken\r\n"),
        "{request:?}"
    );
    assert_eq!(parse_pod_list(&body).expect("list").len(), 2);
}
