//! Synthetic alerts for end-to-end output tests (`--synthetic-alert-ms`): one alert document
//! per interval, numbered, sent through the real alert path, so that delivery guarantees can be
//! checked with the real binary before (and independently of) the detection rules.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Emits numbered alerts at a fixed interval.
pub struct SyntheticAlerts {
    every: Duration,
    next: Instant,
    seq: u64,
}

impl SyntheticAlerts {
    /// One alert every `every` (at least 1 ms), the first one now.
    pub fn new(every: Duration) -> SyntheticAlerts {
        SyntheticAlerts {
            every: every.max(Duration::from_millis(1)),
            next: Instant::now(),
            seq: 0,
        }
    }

    /// The alerts due by now (none, one, or several after a stall), in order.
    pub fn due(&mut self) -> Vec<Value> {
        let now = Instant::now();
        let mut out = Vec::new();
        while self.next <= now {
            self.seq += 1;
            self.next += self.every;
            out.push(json!({
                "@timestamp": crate::time::rfc3339(crate::time::now_unix_ns()),
                "event": { "kind": "alert", "category": ["intrusion_detection"], "severity": 21 },
                "rule": { "name": "synthetic output test", "level": "informational" },
                "sensor": { "synthetic": { "seq": self.seq } },
            }));
        }
        out
    }
}
