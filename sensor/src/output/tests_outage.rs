//! Webhook outage, in process: the receiver is down while alerts are produced (and the router
//! restarts in the middle); once it is back, every alert arrives exactly once, in order.
//!
//! `webhook_outage_30s` is the scenario (30 s; `cargo test -p sensor --lib
//! webhook_outage -- --ignored`); `webhook_outage_short` runs the same path in 2 s on every
//! test run.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::file::Rotation;
use super::webhook::Format;
use super::{Destination, Router, RouterConfig};
use crate::metrics::{BuildInfo, Metrics};

/// A loopback HTTP receiver recording the `event.id` of every document it is POSTed.
struct Receiver {
    ids: Arc<Mutex<Vec<String>>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Listens on `port`; the first `slow` requests are answered only after `delay` (longer
    /// than the sender's timeout, so it retries a batch the receiver did get).
    fn start(port: u16, slow: usize, delay: Duration) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ids2, req2, stop2) = (Arc::clone(&ids), Arc::clone(&requests), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let Some(body) = read_request(&mut conn) else {
                    continue;
                };
                let n = req2.fetch_add(1, Ordering::Relaxed);
                let docs: Vec<Value> = serde_json::from_slice(&body).unwrap();
                ids2.lock().unwrap().extend(
                    docs.iter()
                        .map(|d| d["event"]["id"].as_str().unwrap().to_owned()),
                );
                if n < slow {
                    std::thread::sleep(delay);
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Receiver {
            ids,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// The body of one `POST /hook` read from `conn` (plain or TLS).
pub(super) fn read_request(conn: &mut impl Read) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    assert!(head.starts_with("post /hook http/1.1\r\n"), "{head}");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf[head_end..head_end + len].to_vec())
}

pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(super) fn config(port: u16, spool_dir: &std::path::Path) -> RouterConfig {
    let rotation = Rotation {
        max_bytes: 0,
        keep: 0,
    };
    RouterConfig {
        events: vec![],
        alerts: vec![Destination::parse(&format!("http://127.0.0.1:{port}/hook")).unwrap()],
        queue_capacity: 1024,
        events_rotation: rotation,
        alerts_rotation: rotation,
        spool_dir: spool_dir.to_owned(),
        events_spool_bytes: 1 << 20,
        alerts_spool_bytes: 16 << 20,
        webhook_format: Format::Array,
        webhook_timeout: Duration::from_millis(500),
        webhook_max_backoff: Duration::from_secs(1),
        webhook_tls: Default::default(),
    }
}

pub(super) fn metrics() -> Arc<Metrics> {
    Arc::new(Metrics::new(&BuildInfo::current()).unwrap())
}

/// Produces `n` alerts over `outage` with the receiver down, restarting the router half-way,
/// then brings the receiver up and checks the delivery.
fn outage(outage: Duration, n: usize, slow: usize) {
    let dir = super::spool::tests::temp_dir("outage");
    let port = free_port();
    let levels = ["low", "critical", "medium", "high", "informational"];
    let mut sent = Vec::new();
    let mut router = Some(Router::start(&config(port, &dir), metrics()).unwrap());
    let start = Instant::now();
    for i in 0..n {
        let at = start + outage.mul_f64(i as f64 / n as f64);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        if i == n / 2 {
            // A restart while the receiver is down: what was spooled must survive it.
            assert!(router.take().unwrap().shutdown(Duration::from_secs(2)));
            router = Some(Router::start(&config(port, &dir), metrics()).unwrap());
        }
        let mut doc =
            json!({"event": {"kind": "alert"}, "rule": {"level": levels[i % 5]}, "seq": i});
        router.as_ref().unwrap().alert(&mut doc);
        sent.push(doc["event"]["id"].as_str().unwrap().to_owned());
    }
    std::thread::sleep(outage.saturating_sub(start.elapsed()));
    let receiver = Receiver::start(port, slow, Duration::from_millis(800));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut unique = Vec::new();
    while Instant::now() < deadline {
        // Receiver-side de-duplication by id, first arrival wins.
        unique.clear();
        let mut seen = std::collections::HashSet::new();
        unique.extend(
            receiver
                .ids()
                .into_iter()
                .filter(|id| seen.insert(id.clone())),
        );
        if unique.len() >= n {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let router = router.unwrap();
    assert!(router.shutdown(Duration::from_secs(5)));
    assert_eq!(unique, sent, "every alert exactly once, in order");
    let raw = receiver.ids();
    if slow == 0 {
        assert_eq!(raw, sent, "no retries expected without timeouts");
    } else {
        // A batch that timed out is sent again whole; nothing confirmed is ever resent.
        assert!(raw.len() > n, "the slow answer should have caused a retry");
        assert!(receiver.requests.load(Ordering::Relaxed) > slow);
    }
    // Nothing is left to deliver: a new router finds an empty spool and sends nothing.
    let before = receiver.requests.load(Ordering::Relaxed);
    let again = Router::start(&config(port, &dir), metrics()).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(again.shutdown(Duration::from_secs(2)));
    assert_eq!(receiver.requests.load(Ordering::Relaxed), before);
    drop(receiver);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn webhook_outage_short() {
    outage(Duration::from_secs(2), 200, 0);
}

#[test]
fn webhook_timeout_retries_are_deduplicated_by_id() {
    outage(Duration::from_millis(300), 50, 1);
}

#[test]
#[ignore = "takes 30 s; the issue's scenario: run with --ignored"]
fn webhook_outage_30s() {
    outage(Duration::from_secs(30), 3000, 0);
}
