//! Shared by the `metrics_*` tests: a raw HTTP client, the address a sensor serves metrics on,
//! a throwaway Prometheus server, and the PromQL expressions of the shipped dashboard.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use sensor_tests::{Sensor, unique};
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Starts a sensor serving metrics on a free loopback port; returns it and that address.
pub fn start_sensor() -> anyhow::Result<(Sensor, SocketAddr)> {
    let sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    let log = sensor.log();
    let addr = log
        .split_whitespace()
        .find_map(|w| w.strip_prefix("metrics_addr="))
        .with_context(|| format!("no metrics_addr in the log:\n{log}"))?
        .parse()?;
    Ok((sensor, addr))
}

/// A raw HTTP exchange: sends `request` as is and returns (status code, headers, body).
pub fn exchange(addr: SocketAddr, request: &[u8]) -> anyhow::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("no header end in {text:?}"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no status in {head:?}"))?;
    Ok((status, head.to_owned(), body.to_owned()))
}

/// `GET path` with HTTP/1.0, so the peer answers without chunking and closes.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let (status, _, body) = exchange(addr, request.as_bytes())?;
    Ok((status, body))
}

/// A free loopback port (bound then released; good enough for a test).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Runs `/bin/true` `n` times, producing exec events.
pub fn produce_execs(n: usize) -> anyhow::Result<()> {
    for _ in 0..n {
        Command::new("/bin/true").status()?;
    }
    Ok(())
}

/// A Prometheus server in a temporary folder, scraping `target` every second and loading the
/// shipped alert rules. Killed and cleaned up on drop.
pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    /// Its HTTP API address.
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Starts it and waits until it answers /-/ready.
    pub fn start(target: SocketAddr) -> anyhow::Result<Prometheus> {
        let dir = std::env::temp_dir().join(unique("sensor-prometheus-"));
        std::fs::create_dir_all(dir.join("data"))?;
        let rules = repo().join("deploy/prometheus/alerts.yml").canonicalize()?;
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules:?}\n\
             scrape_configs:\n  - job_name: sensor\n    scrape_interval: 1s\n    \
             scrape_timeout: 1s\n    static_configs:\n      - targets: [\"{target}\"]\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let log = std::fs::File::create(dir.join("prometheus.log"))?;
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting prometheus (scripts/setup.sh installs the Debian package)")?;
        let prometheus = Prometheus { child, dir, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(get(addr, "/-/ready"), Ok((200, _))) {
            if Instant::now() > deadline {
                bail!("prometheus not ready in 30 s; log:\n{}", prometheus.log());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(prometheus)
    }

    /// Prometheus' own log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// GET on the API; the parsed JSON body, whatever its status.
    pub fn api(&self, path_and_query: &str) -> anyhow::Result<Value> {
        let (_, body) = get(self.addr, path_and_query)?;
        serde_json::from_str(&body).with_context(|| format!("not JSON: {body}"))
    }

    /// An instant query: Ok(result array) on success, Err with Prometheus' error otherwise.
    pub fn query(&self, promql: &str) -> anyhow::Result<Vec<Value>> {
        let reply = self.api(&format!("/api/v1/query?query={}", percent_encode(promql)))?;
        if reply["status"] != "success" {
            bail!("query {promql:?} failed: {reply}");
        }
        Ok(reply["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A PromQL expression of the dashboard, with where it came from.
#[derive(Debug)]
pub struct DashboardExpr {
    /// Panel title or variable name.
    pub origin: String,
    /// The expression, with Grafana's variables replaced by concrete values.
    pub promql: String,
}

/// Every PromQL expression of the shipped dashboard: panel targets and variable queries
/// (`label_values(selector, label)` becomes `group by (label) (selector)`). Grafana variables
/// are replaced: `$host` by `host`, `$job`/`$namespace` by `.*`, intervals by fixed durations.
pub fn dashboard_exprs(host: &str) -> anyhow::Result<Vec<DashboardExpr>> {
    let path = repo().join("deploy/grafana/sensor-dashboard.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let substitute = |expr: &str| {
        expr.replace("$__rate_interval", "15s")
            .replace("$__interval", "5s")
            .replace("$__range", "5m")
            .replace("$host", &regex_quote(host))
            .replace("$job", ".*")
            .replace("$namespace", ".*")
    };
    let mut out = Vec::new();
    let mut panels: Vec<&Value> = Vec::new();
    collect_panels(&dashboard["panels"], &mut panels);
    for panel in panels {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(DashboardExpr {
                    origin: format!("panel {title:?} {}", target["refId"]),
                    promql: substitute(expr),
                });
            }
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if var["type"] != "query" {
            continue;
        }
        let query = var["query"]["query"]
            .as_str()
            .or_else(|| var["query"].as_str())
            .context("variable without a query")?;
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .with_context(|| format!("unsupported variable query {query:?}"))?;
        let (selector, label) = inner
            .rsplit_once(',')
            .with_context(|| format!("label_values without a label: {query:?}"))?;
        out.push(DashboardExpr {
            origin: format!("variable {}", var["name"]),
            promql: substitute(&format!(
                "group by ({}) ({})",
                label.trim(),
                selector.trim()
            )),
        });
    }
    if out.len() < 10 {
        bail!("only {} expressions found in the dashboard", out.len());
    }
    Ok(out)
}

fn collect_panels<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
    for panel in panels.as_array().into_iter().flatten() {
        out.push(panel);
        collect_panels(&panel["panels"], out);
    }
}

/// Escapes regex metacharacters (an instance is `127.0.0.1:port`; dots must stay literal).
fn regex_quote(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = "\\.+*?()|[]{}^$".contains(c);
            escape.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect::<String>()
        .replace('\\', "\\\\")
}
