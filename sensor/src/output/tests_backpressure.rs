//! Backpressure at the router: a destination that stops reading never blocks the producer,
//! and what is shed is counted, events before alerts.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::file::Rotation;
use super::webhook::Format;
use super::{Destination, Doc, Router, RouterConfig};
use crate::metrics::{BuildInfo, Metrics};

#[test]
fn a_stuck_output_never_blocks_and_sheds_events_first() {
    // A syslog collector that accepts and then never reads: the sink blocks in send.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dest = Destination::parse(&format!("syslog:tcp:{addr}")).unwrap();
    let rotation = Rotation {
        max_bytes: 0,
        keep: 0,
    };
    let config = RouterConfig {
        events: vec![dest.clone()],
        alerts: vec![dest],
        queue_capacity: 1000,
        events_rotation: rotation,
        alerts_rotation: rotation,
        spool_dir: std::env::temp_dir(),
        events_spool_bytes: 1 << 20,
        alerts_spool_bytes: 1 << 20,
        webhook_format: Format::Array,
        webhook_timeout: Duration::from_secs(1),
        webhook_max_backoff: Duration::from_secs(1),
        webhook_tls: Default::default(),
    };
    let metrics = Arc::new(Metrics::new(&BuildInfo::current()).unwrap());
    let router = Router::start(&config, Arc::clone(&metrics)).unwrap();
    // Connections are accepted (and kept, unread) on the side: the sinks connect lazily.
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        while let Ok((conn, _)) = listener.accept() {
            kept.push(conn);
        }
    });
    // Rendered once: this measures the router, not JSON serialisation in a debug build.
    let event = Doc::event(&json!({"pad": "x".repeat(2000)}));
    let alert = Doc::alert(&mut json!({"rule": {"level": "critical"}}));
    let start = Instant::now();
    for i in 0..100_000u32 {
        router.submit(event.clone());
        if i % 1000 == 0 {
            router.submit(alert.clone());
        }
    }
    let took = start.elapsed();
    // 100k pushes with a dead consumer: bounded by the queue work, not by the output.
    assert!(
        took < Duration::from_secs(5),
        "producer blocked for {took:?}"
    );
    assert!(router.queued() <= 2000);
    // The stuck output cannot flush within the shutdown budget: shutdown still returns in
    // time, and what was left queued is counted.
    let start = Instant::now();
    assert!(!router.shutdown(Duration::from_millis(300)));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(metrics.output_dropped_count("syslog", "events", "shutdown") > 0);
    let shed_events = metrics.output_dropped_count("syslog", "events", "queue_full");
    let shed_alerts = metrics.output_dropped_count("syslog_2", "alerts", "queue_full");
    assert!(shed_events > 90_000, "events shed: {shed_events}");
    // 100 critical alerts fit in their own queue: none shed.
    assert_eq!(shed_alerts, 0);
}
