//! Issue 9, end to end: the webhook receiver is down for 30 s (`SENSOR_OUTAGE_SECS`) while
//! the real sensor produces alerts; after it returns, every alert arrives exactly once (after
//! de-duplication by `event.id`), in order, and nothing is left in the spool after SIGTERM.
//!
//! Until the detection engine is merged the alerts come from the hidden
//! `--synthetic-alert-ms` flag, which sends numbered alerts through the real alert path.
//! Loopback only.

use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sensor_tests::{Sensor, require_root, unique};
use serde_json::Value;

/// `(event.id, sensor.synthetic.seq)` in arrival order.
type Seen = Arc<Mutex<Vec<(String, u64)>>>;

fn receive(listener: TcpListener, seen: Seen, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).expect("nonblocking");
    while !stop.load(Ordering::Relaxed) {
        let Ok((mut conn, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        conn.set_nonblocking(false).expect("blocking");
        conn.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        if let Some(body) = read_body(&mut conn) {
            let docs: Vec<Value> = serde_json::from_slice(&body).expect("a JSON array");
            let mut seen = seen.lock().expect("lock");
            for doc in docs {
                let id = doc["event"]["id"].as_str().expect("event.id").to_owned();
                // Real detections on this host's activity share the stream: every alert has an
                // id, only the synthetic ones are numbered.
                if let Some(seq) = doc["sensor"]["synthetic"]["seq"].as_u64() {
                    seen.push((id, seq));
                }
            }
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    }
}

fn read_body(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))?
                .trim()
                .parse()
                .ok()?;
            if buf.len() >= end + len {
                return Some(buf[end..end + len].to_vec());
            }
        }
        let n = conn.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Undelivered bytes left in a spool directory (segments past the committed position).
fn spool_pending(dir: &Path) -> u64 {
    let committed = std::fs::read_to_string(dir.join("committed")).unwrap_or_default();
    let mut parts = committed
        .split_whitespace()
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (seq, offset) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let mut pending = 0;
    for entry in std::fs::read_dir(dir).expect("spool dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(n) = name
            .strip_suffix(".seg")
            .and_then(|d| d.parse::<u64>().ok())
        else {
            continue;
        };
        let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
        pending += match n.cmp(&seq) {
            std::cmp::Ordering::Less => 0,
            std::cmp::Ordering::Equal => len.saturating_sub(offset),
            std::cmp::Ordering::Greater => len,
        };
    }
    pending
}

#[test]
fn webhook_outage_every_alert_once_in_order() -> anyhow::Result<()> {
    if !require_root("webhook_outage_every_alert_once_in_order") {
        return Ok(());
    }
    let outage: u64 = std::env::var("SENSOR_OUTAGE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let work = std::env::temp_dir().join(unique("sensor-webhook-"));
    std::fs::create_dir_all(&work)?;
    let events = work.join("events.json");
    let spool = work.join("spool");
    let url = format!("http://127.0.0.1:{port}/hook");
    let sensor = Sensor::start(&[
        "run",
        "--events",
        events.to_str().expect("utf-8 path"),
        "--alerts",
        &url,
        "--spool-dir",
        spool.to_str().expect("utf-8 path"),
        "--synthetic-alert-ms",
        "20",
        "--webhook-max-backoff-ms",
        "2000",
        "--metrics-addr",
        "127.0.0.1:0",
    ])?;
    std::thread::sleep(Duration::from_secs(outage));
    let seen: Seen = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let receiver = {
        let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || receive(listener, seen, stop))
    };
    // The backlog of the outage (~50 alerts a second) arrives, then new alerts keep flowing.
    let outage_alerts = outage * 1000 / 20;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let max = seen
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, s)| *s)
            .max()
            .unwrap_or(0);
        if max > outage_alerts + 50 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = sensor.stop_with(libc::SIGTERM, Duration::from_secs(20))?;
    assert!(status.success(), "sensor exited with {status}");
    stop.store(true, Ordering::Relaxed);
    receiver.join().expect("receiver thread");

    let seen = seen.lock().expect("lock").clone();
    let mut ids = HashSet::new();
    let unique: Vec<u64> = seen
        .iter()
        .filter(|(id, _)| ids.insert(id.clone()))
        .map(|(_, seq)| *seq)
        .collect();
    let expected: Vec<u64> = (1..=unique.len() as u64).collect();
    assert!(
        unique.len() as u64 > outage_alerts,
        "only {} alerts arrived",
        unique.len()
    );
    assert_eq!(unique, expected, "every alert exactly once, in order");
    assert_eq!(
        spool_pending(&spool.join("webhook-alerts")),
        0,
        "alerts left in the spool"
    );
    std::fs::remove_dir_all(&work)?;
    Ok(())
}
