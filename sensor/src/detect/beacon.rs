//! C2 beaconing: the analytic Sigma cannot express. An implant calling home connects to the same
//! destination again and again at a fixed interval (sleep + small jitter). Per (process entity,
//! destination ip, port) we keep the recent connect times; once there are at least
//! `min_connections` within `window_secs` and the coefficient of variation (standard deviation /
//! mean) of the intervals between them is at most `max_cv`, the flow is reported once.
//!
//! One connection can produce two connect events: a non-blocking connect (Perl's `Timeout`,
//! many HTTP clients) returns EINPROGRESS and the program calls connect again to learn the
//! outcome. Both calls report the socket's local port, so a connect from the same local port as
//! the flow's previous one is the same connection and is not counted again (otherwise the
//! intervals alternate between microseconds and the real period, and no flow looks regular).
//!
//! State is bounded: at most `max_flows` flows (the least recently seen is evicted first), at
//! most `2 * min_connections` timestamps per flow. Keys are 64-bit hashes of the triple, so the
//! hot path allocates nothing.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use super::rules::{BUILTIN_SOURCE, RuleMeta};

/// The id alerts of this analytic carry as `rule.id`.
pub const RULE_ID: &str = "4b7e2d10-8c3f-4a55-9e61-2f0d7b9c3a18";

/// Parameters (`--beacon-min-connections`, `--beacon-max-cv`, `--beacon-window-secs`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeaconConfig {
    /// Connections needed before a flow is judged (>= 3; 6 by default).
    pub min_connections: usize,
    /// Highest coefficient of variation of the intervals still called regular.
    pub max_cv: f64,
    /// Only connections within this many seconds of the latest count.
    pub window_secs: u64,
    /// Most flows tracked at once.
    pub max_flows: usize,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            min_connections: 6,
            max_cv: 0.2,
            window_secs: 3600,
            max_flows: 16_384,
        }
    }
}

/// What a regular flow looked like when it was reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeaconHit {
    /// Connections in the window.
    pub connections: usize,
    /// Mean interval in seconds.
    pub mean_interval_secs: f64,
    /// Coefficient of variation of the intervals.
    pub cv: f64,
}

#[derive(Debug, Default)]
struct Flow {
    times_ns: VecDeque<i128>,
    last_seen_ns: i128,
    /// Local port of the last counted connect (0: unknown).
    last_source_port: u64,
    reported: bool,
}

/// Tracks connect times per flow and reports regular ones.
#[derive(Debug)]
pub struct BeaconDetector {
    config: BeaconConfig,
    flows: HashMap<u64, Flow>,
    evictions: u64,
}

impl BeaconDetector {
    /// A detector with these parameters (`min_connections` is raised to 3: two intervals are
    /// the fewest a variation can be measured on).
    pub fn new(mut config: BeaconConfig) -> Self {
        config.min_connections = config.min_connections.max(3);
        config.max_flows = config.max_flows.max(1);
        BeaconDetector {
            config,
            flows: HashMap::new(),
            evictions: 0,
        }
    }

    /// Flows dropped to stay within `max_flows`.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Flows tracked now.
    pub fn flows(&self) -> usize {
        self.flows.len()
    }

    /// Records one outgoing connect from local port `source_port` (0 when unknown); returns a
    /// hit the first time its flow looks regular.
    pub fn observe(
        &mut self,
        entity: &str,
        ip: &str,
        port: u64,
        source_port: u64,
        time_ns: i128,
    ) -> Option<BeaconHit> {
        let mut hasher = DefaultHasher::new();
        (entity, ip, port).hash(&mut hasher);
        let key = hasher.finish();
        if !self.flows.contains_key(&key) && self.flows.len() >= self.config.max_flows {
            self.evict(time_ns);
        }
        let window_ns = i128::from(self.config.window_secs) * 1_000_000_000;
        let cap = self.config.min_connections * 2;
        let flow = self.flows.entry(key).or_default();
        flow.last_seen_ns = time_ns;
        if source_port != 0 && source_port == flow.last_source_port {
            // The second connect of a non-blocking connection.
            return None;
        }
        flow.last_source_port = source_port;
        flow.times_ns.push_back(time_ns);
        while flow.times_ns.len() > cap
            || flow
                .times_ns
                .front()
                .is_some_and(|&t| time_ns.saturating_sub(t) > window_ns)
        {
            flow.times_ns.pop_front();
        }
        if flow.reported || flow.times_ns.len() < self.config.min_connections {
            return None;
        }
        let hit = regularity(&flow.times_ns)?;
        if hit.cv <= self.config.max_cv {
            flow.reported = true;
            return Some(hit);
        }
        None
    }

    /// Drops flows idle for longer than the window, or else the least recently seen one.
    fn evict(&mut self, now_ns: i128) {
        let window_ns = i128::from(self.config.window_secs) * 1_000_000_000;
        let before = self.flows.len();
        self.flows
            .retain(|_, f| now_ns.saturating_sub(f.last_seen_ns) <= window_ns);
        if self.flows.len() == before
            && let Some((&oldest, _)) = self.flows.iter().min_by_key(|(_, f)| f.last_seen_ns)
        {
            self.flows.remove(&oldest);
        }
        self.evictions += (before - self.flows.len()) as u64;
    }
}

/// Mean and coefficient of variation of the intervals between `times` (sorted by arrival).
fn regularity(times: &VecDeque<i128>) -> Option<BeaconHit> {
    let intervals: Vec<f64> = times
        .iter()
        .zip(times.iter().skip(1))
        .map(|(a, b)| (b - a) as f64 / 1e9)
        .collect();
    let n = intervals.len() as f64;
    let mean = intervals.iter().sum::<f64>() / n;
    // Back-to-back reconnects (a retry storm, a connection pool filling up) are not beacons.
    if mean.is_nan() || mean < 0.05 {
        return None;
    }
    let variance = intervals.iter().map(|i| (i - mean).powi(2)).sum::<f64>() / n;
    Some(BeaconHit {
        connections: times.len(),
        mean_interval_secs: mean,
        cv: variance.sqrt() / mean,
    })
}

/// The rule metadata beacon alerts carry (`rule.*`, `threat.*`).
pub fn rule_meta(config: &BeaconConfig) -> RuleMeta {
    RuleMeta {
        id: RULE_ID.into(),
        title: "Regular Beaconing From One Process to One Destination".into(),
        description: Some(format!(
            "Built-in analytic: one process entity connected to the same destination ip and port \
             at least {} times within {} s at a regular interval (coefficient of variation of \
             the intervals <= {}): the call-home loop of a C2 implant.",
            config.min_connections, config.window_secs, config.max_cv
        )),
        references: vec!["https://attack.mitre.org/techniques/T1071/".into()],
        author: Some("rat-sensor project".into()),
        level: Some("medium".into()),
        tags: [
            "attack.command-and-control",
            "attack.t1071",
            "attack.t1571",
            "attack.t1573",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        source: BUILTIN_SOURCE.into(),
        correlation: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i128 = 1_000_000_000;

    fn feed(d: &mut BeaconDetector, times_s: &[f64]) -> Vec<Option<BeaconHit>> {
        times_s
            .iter()
            .map(|t| d.observe("e1", "198.51.100.2", 443, 0, (t * 1e9) as i128))
            .collect()
    }

    #[test]
    fn regular_connections_are_reported_once_at_the_sixth() {
        let mut d = BeaconDetector::new(BeaconConfig::default());
        let hits = feed(&mut d, &[0.0, 1.0, 2.02, 2.98, 4.0, 5.01, 6.0, 7.0]);
        assert!(hits[..5].iter().all(Option::is_none));
        let hit = hits[5].expect("sixth connection reports");
        assert_eq!(hit.connections, 6);
        assert!((hit.mean_interval_secs - 1.002).abs() < 0.01);
        assert!(hits[6..].iter().all(Option::is_none), "reported once");
    }

    #[test]
    fn irregular_connections_are_not_reported() {
        let mut d = BeaconDetector::new(BeaconConfig::default());
        let hits = feed(&mut d, &[0.0, 0.3, 4.0, 4.5, 11.0, 11.2, 30.0, 31.0]);
        assert!(hits.iter().all(Option::is_none));
    }

    #[test]
    fn flows_are_separate_and_old_connections_leave_the_window() {
        let config = BeaconConfig {
            window_secs: 10,
            ..BeaconConfig::default()
        };
        let mut d = BeaconDetector::new(config);
        // Alternating destinations: each flow alone is regular.
        for i in 0..5 {
            assert!(d.observe("e1", "a", 1, 0, i * 4 * S).is_none());
            assert!(d.observe("e1", "b", 1, 0, i * 4 * S + S).is_none());
        }
        // 4 s apart with a 10 s window: never 6 in the window.
        assert_eq!(d.flows(), 2);
        assert!(d.observe("e1", "a", 1, 0, 20 * S).is_none());
    }

    #[test]
    fn a_non_blocking_connect_counts_once() {
        // EINPROGRESS then the completing connect, same local port, every 0.3 s.
        let mut d = BeaconDetector::new(BeaconConfig::default());
        let mut hit = None;
        for i in 0..8u64 {
            let t = i128::from(i) * 300_000_000;
            let port = 40_000 + i;
            hit = hit.or(d.observe("e1", "a", 9001, port, t));
            // The completing call never counts.
            assert!(d.observe("e1", "a", 9001, port, t + 150_000).is_none());
        }
        let hit = hit.expect("a regular flow of 8 connections");
        assert_eq!(hit.connections, 6);
        assert!((hit.mean_interval_secs - 0.3).abs() < 0.01);
        // Without ports every event counts, and the alternating intervals are irregular.
        let mut d = BeaconDetector::new(BeaconConfig::default());
        let hits: Vec<_> = (0..16i128)
            .map(|i| {
                d.observe(
                    "e1",
                    "a",
                    9001,
                    0,
                    (i / 2) * 300_000_000 + (i % 2) * 150_000,
                )
            })
            .collect();
        assert!(hits.iter().all(Option::is_none));
    }

    #[test]
    fn state_is_bounded() {
        let config = BeaconConfig {
            max_flows: 4,
            ..BeaconConfig::default()
        };
        let mut d = BeaconDetector::new(config);
        for i in 0..100 {
            d.observe(&format!("e{i}"), "a", 1, 0, i128::from(i) * S);
        }
        assert!(d.flows() <= 4);
        assert!(d.evictions() >= 96);
    }
}
