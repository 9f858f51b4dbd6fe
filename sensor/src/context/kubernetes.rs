//! Pod and container names from the kubelet's `/pods` or the API server's pod list.
//!
//! Pod uids and container ids come from cgroup paths with no API access (see
//! [`super::container`]); this module only adds names. A background thread fetches the pod list
//! (the kubelet and the API server both answer with a `PodList`) every
//! [`REFRESH_INTERVAL`] and publishes it; enrichment reads the latest copy and never waits on
//! the network. When the source is unreachable the sensor goes on without names and says so
//! once (and once more when it recovers).
//!
//! Plain `http://` URLs (kubelet read-only port, `kubectl proxy`) are fetched directly;
//! `https://` URLs (API server, kubelet 10250) go through `curl`, with the bearer token passed
//! on its stdin so that it never appears in a command line.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde_json::Value;
use thiserror::Error;
use tracing::{info, warn};

use super::model::ContainerInfo;

/// How often the pod list is fetched.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Largest pod list accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why the pod list could not be fetched.
#[derive(Debug, Error)]
pub enum KubeError {
    /// Network or process I/O failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The URL is not `http://host[:port]/path` or `https://...`.
    #[error("unsupported URL {0:?}")]
    Url(String),
    /// The server answered with something other than 200.
    #[error("HTTP status {0}")]
    Status(String),
    /// `curl` failed.
    #[error("curl failed: {0}")]
    Curl(String),
    /// The body is not a PodList.
    #[error("not a pod list: {0}")]
    Json(#[from] serde_json::Error),
    /// A kubeconfig could not be used.
    #[error("kubeconfig {0}")]
    Kubeconfig(String),
}

/// Where pod names come from.
#[derive(Debug, Clone)]
pub struct Source {
    /// Pod list URL (`.../pods` of a kubelet, `.../api/v1/pods?fieldSelector=...` of an API
    /// server).
    pub url: String,
    /// Bearer token.
    pub token: Option<String>,
    /// CA bundle for https.
    pub ca: Option<PathBuf>,
}

impl Source {
    /// The in-cluster API server of the sensor's own pod (service-account token), listing
    /// the pods of `node` only. None outside a pod.
    pub fn in_cluster(node: Option<&str>) -> Option<Source> {
        let host = std::env::var("KUBERNETES_SERVICE_HOST").ok()?;
        let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
        let dir = PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount");
        let token = std::fs::read_to_string(dir.join("token")).ok()?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host
        };
        Some(Source {
            url: api_url(&format!("https://{host}:{port}"), node),
            token: Some(token.trim().to_owned()),
            ca: Some(dir.join("ca.crt")),
        })
    }

    /// The current cluster of a kubeconfig: its `server`, and a `token` and
    /// `certificate-authority` file when present (client certificates are not supported).
    pub fn from_kubeconfig(
        path: &std::path::Path,
        node: Option<&str>,
    ) -> Result<Source, KubeError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KubeError::Kubeconfig(format!("{}: {e}", path.display())))?;
        let value = |key: &str| {
            text.lines().find_map(|l| {
                let v = l.trim().trim_start_matches("- ").strip_prefix(key)?.trim();
                Some(v.trim_matches(['"', '\'']).to_owned()).filter(|v| !v.is_empty())
            })
        };
        let server = value("server:")
            .ok_or_else(|| KubeError::Kubeconfig(format!("{}: no server", path.display())))?;
        Ok(Source {
            url: api_url(&server, node),
            token: value("token:"),
            ca: value("certificate-authority:").map(PathBuf::from),
        })
    }
}

fn api_url(server: &str, node: Option<&str>) -> String {
    let base = format!("{}/api/v1/pods", server.trim_end_matches('/'));
    match node {
        Some(node) => format!("{base}?fieldSelector=spec.nodeName%3D{node}"),
        None => base,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct PodMeta {
    name: String,
    namespace: String,
    node: Option<String>,
    /// Container id (without the `containerd://` scheme) → container name.
    containers: HashMap<String, String>,
}

/// The latest pod list, shared between the fetching thread and enrichment.
#[derive(Debug, Clone, Default)]
pub struct PodNames {
    pods: Arc<RwLock<HashMap<String, PodMeta>>>,
    node_name: Option<Arc<str>>,
}

impl PodNames {
    /// Names for `node_name` (reported on every pod container), with no source yet.
    pub fn new(node_name: Option<String>) -> PodNames {
        PodNames {
            pods: Arc::default(),
            node_name: node_name.map(Arc::from),
        }
    }

    /// Starts the fetching thread.
    pub fn start(node_name: Option<String>, source: Source) -> PodNames {
        let names = PodNames::new(node_name);
        let publish = names.clone();
        let spawned = std::thread::Builder::new()
            .name("pod-names".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    match fetch(&source).and_then(|body| publish.update(&body)) {
                        Ok(pods) if failing || pods == 0 => {
                            info!(pods, url = %source.url, "pod names available");
                            failing = false;
                        }
                        Ok(_) => {}
                        Err(err) if !failing => {
                            warn!(%err, url = %source.url,
                                "pod names unavailable; continuing without them (uids and \
                                 container ids still come from cgroups)");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                    std::thread::sleep(REFRESH_INTERVAL);
                }
            });
        if let Err(err) = spawned {
            warn!(%err, "cannot start the pod-name thread; continuing without pod names");
        }
        names
    }

    /// Replaces the pod list with the one in `body` (a PodList JSON); returns the pod count.
    pub fn update(&self, body: &[u8]) -> Result<usize, KubeError> {
        let pods = parse_pod_list(body)?;
        let count = pods.len();
        if let Ok(mut slot) = self.pods.write() {
            *slot = pods;
        }
        Ok(count)
    }

    /// `container` with its pod's name, namespace, node and container name, when any of them
    /// is known and missing.
    pub fn fill(&self, container: &ContainerInfo) -> Option<ContainerInfo> {
        let pod = container.pod.as_ref()?;
        let mut out = container.clone();
        let slot = out.pod.as_mut()?;
        if let Ok(pods) = self.pods.read()
            && let Some(meta) = pods.get(&pod.uid)
        {
            slot.name = Some(meta.name.clone());
            slot.namespace = Some(meta.namespace.clone());
            slot.container_name = meta.containers.get(&container.id).cloned();
            slot.node_name.clone_from(&meta.node);
        }
        if slot.node_name.is_none() {
            slot.node_name = self.node_name.as_deref().map(str::to_owned);
        }
        (out != *container).then_some(out)
    }
}

/// Pods by uid from a PodList.
fn parse_pod_list(body: &[u8]) -> Result<HashMap<String, PodMeta>, KubeError> {
    let list: Value = serde_json::from_slice(body)?;
    let text = |v: &Value, path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut pods = HashMap::new();
    for item in list
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(uid) = text(item, &["metadata", "uid"]) else {
            continue;
        };
        let mut containers = HashMap::new();
        for kind in [
            "containerStatuses",
            "initContainerStatuses",
            "ephemeralContainerStatuses",
        ] {
            let statuses = item.get("status").and_then(|s| s.get(kind));
            for status in statuses.and_then(Value::as_array).into_iter().flatten() {
                if let (Some(name), Some(id)) =
                    (text(status, &["name"]), text(status, &["containerID"]))
                {
                    let id = id.split_once("://").map_or(id.as_str(), |(_, id)| id);
                    containers.insert(id.to_owned(), name);
                }
            }
        }
        pods.insert(
            uid,
            PodMeta {
                name: text(item, &["metadata", "name"]).unwrap_or_default(),
                namespace: text(item, &["metadata", "namespace"]).unwrap_or_default(),
                node: text(item, &["spec", "nodeName"]),
                containers,
            },
        );
    }
    Ok(pods)
}

/// GETs the pod list.
fn fetch(source: &Source) -> Result<Vec<u8>, KubeError> {
    if let Some(rest) = source.url.strip_prefix("http://") {
        http_get(rest, source.token.as_deref())
    } else if source.url.starts_with("https://") {
        curl_get(source)
    } else {
        Err(KubeError::Url(source.url.clone()))
    }
}

/// HTTP/1.0 GET (no chunked encoding to undo), body read to EOF.
fn http_get(rest: &str, token: Option<&str>) -> Result<Vec<u8>, KubeError> {
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let timeout = Some(Duration::from_secs(10));
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&addr)?
        .next()
        .ok_or_else(|| KubeError::Url(rest.to_owned()))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET /{path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n{auth}\r\n"
    )?;
    let mut response = Vec::new();
    stream.take(MAX_BODY as u64).read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| KubeError::Status("no HTTP header".into()))?;
    let status_line = response
        .split(|&b| b == b'\r')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(KubeError::Status(status_line));
    }
    Ok(response.split_off(split + 4))
}

fn curl_get(source: &Source) -> Result<Vec<u8>, KubeError> {
    let mut cmd = Command::new("curl");
    cmd.args(["--silent", "--show-error", "--fail", "--max-time", "15"])
        .args(["--max-filesize", &MAX_BODY.to_string()])
        .args(["-H", "Accept: application/json", "-H", "@-"]);
    if let Some(ca) = &source.ca {
        cmd.arg("--cacert").arg(ca);
    }
    let mut child = cmd
        .arg(&source.url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take()
        && let Some(token) = &source.token
    {
        writeln!(stdin, "Authorization: Bearer {token}")?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(KubeError::Curl(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests;
