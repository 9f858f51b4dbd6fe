//! Event lines gathered in shared chunks ([`Router::event_line`]) reach the file whole and in
//! order, across chunk boundaries and for lines larger than a chunk.

use std::sync::Arc;
use std::time::Duration;

use super::file::Rotation;
use super::webhook::Format;
use super::{Destination, Router, RouterConfig};
use crate::metrics::{BuildInfo, Metrics};

#[test]
fn event_lines_in_shared_chunks_are_written_whole_and_in_order() {
    let dir = std::env::temp_dir().join(format!("sensor-lines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.json");
    let dest = Destination::parse(path.to_str().unwrap()).unwrap();
    let rotation = Rotation {
        max_bytes: 0,
        keep: 0,
    };
    let config = RouterConfig {
        events: vec![dest],
        alerts: Vec::new(),
        queue_capacity: 10_000,
        events_rotation: rotation,
        alerts_rotation: rotation,
        spool_dir: dir.clone(),
        events_spool_bytes: 1 << 20,
        alerts_spool_bytes: 1 << 20,
        webhook_format: Format::Array,
        webhook_timeout: Duration::from_secs(1),
        webhook_max_backoff: Duration::from_secs(1),
        webhook_tls: Default::default(),
    };
    let metrics = Arc::new(Metrics::new(&BuildInfo::current()).unwrap());
    let mut router = Router::start(&config, metrics).unwrap();
    // Sizes from tiny to several chunks, so lines straddle and exceed chunk boundaries.
    let lines: Vec<String> = (0..400usize)
        .map(|i| {
            let pad = match i % 7 {
                0 => 3 * 64 * 1024 + i,
                _ => (i * 997) % 9000,
            };
            format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(pad))
        })
        .collect();
    for line in &lines {
        router.event_line(|buf| buf.extend_from_slice(line.as_bytes()));
    }
    router.flush();
    assert!(router.shutdown(Duration::from_secs(10)));
    let written = std::fs::read_to_string(&path).unwrap();
    let got: Vec<&str> = written.lines().collect();
    assert_eq!(got.len(), lines.len());
    for (i, (got, want)) in got.iter().zip(&lines).enumerate() {
        assert!(got == want, "line {i} differs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
