//! The bench's results: one JSON document, and the same as one human table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::bpfstats::HookCost;

/// Everything one `cargo xtask bench` measured.
#[derive(Debug, Serialize)]
pub struct Report {
    /// UTC time the run started.
    pub date: String,
    /// The command line.
    pub command: String,
    /// `git describe --always --dirty` of the tree that was measured.
    pub commit: String,
    /// /proc/loadavg (1, 5, 15 min) when the bench started and when it ended: other work on
    /// the machine shows up here.
    pub load_average: [String; 2],
    /// Where it ran.
    pub machine: Machine,
    /// Interleaved rounds of the overhead table.
    pub rounds: u32,
    /// `--quick`: short loops, not for publishing.
    pub quick: bool,
    /// Extra `sensor run` arguments (`--sensor-arg`); empty means the defaults, including the
    /// default ring-buffer size.
    pub sensor_args: Vec<String>,
    /// Nice value the bench ran at (inherited by the loops and the monitors).
    pub nice: i32,
    /// One row per workload.
    pub overhead: Vec<OverheadRow>,
    /// Events the sensor lost in each overhead round (`None`: it did not say).
    pub overhead_lost_per_round: Vec<Option<u64>>,
    /// Kernel time per hook, per workload, with the sensor alone.
    pub hook_costs: Vec<WorkloadHooks>,
    /// The paced exec-rate sweep.
    pub sweep: Vec<SweepRow>,
    /// Highest exec rate with zero loss.
    pub max_rate: Option<MaxRate>,
    /// Highest sustained rate of reported events (distinct-file opens) with zero loss.
    pub max_open_rate: Option<MaxRate>,
    /// Peak resident memory of the sensor over the sweep (bytes).
    pub peak_rss_bytes: Option<u64>,
    /// Rule engine alone (`sensor replay` of a recorded stream).
    pub engine: Option<EngineRun>,
    /// Caveats a reader needs.
    pub notes: Vec<String>,
}

/// The machine description.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Online CPUs.
    pub nproc: usize,
    /// `uname -r`.
    pub kernel: String,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
}

/// One workload under every configuration.
#[derive(Debug, Serialize)]
pub struct OverheadRow {
    /// Workload id.
    pub workload: super::workload::Workload,
    /// Human label.
    pub label: String,
    /// By configuration (`none`, `sensor`, `auditd`).
    pub configs: BTreeMap<String, ConfigResult>,
}

/// One workload under one configuration.
#[derive(Debug, Serialize)]
pub struct ConfigResult {
    /// ns per operation, one per round.
    pub ns_per_op: Vec<f64>,
    /// Median of `ns_per_op`.
    pub median_ns_per_op: f64,
    /// This round's value over the same round's no-monitor value.
    pub ratios: Vec<f64>,
    /// Median of `ratios`.
    pub median_ratio: f64,
    /// CPU ns (user+sys of the loop process) per operation, one per round.
    pub cpu_ns_per_op: Vec<f64>,
    /// Median over rounds of this round's CPU ns/op over the same round's no-monitor value.
    pub median_cpu_ratio: f64,
}

/// Hook costs during one workload.
#[derive(Debug, Serialize)]
pub struct WorkloadHooks {
    /// Workload id.
    pub workload: super::workload::Workload,
    /// Programs that ran.
    pub hooks: Vec<HookCost>,
}

/// One rate of the sweep.
#[derive(Debug, Serialize)]
pub struct SweepRow {
    /// Requested exec/s.
    pub target_rate: u64,
    /// Achieved exec/s.
    pub achieved_rate: f64,
    /// Sensor user+sys time as % of one core over the interval with the reverse-shell probes
    /// (the one the latencies come from).
    pub sensor_cpu_percent: Option<f64>,
    /// The same over an interval of execs alone, just before (no probes, no alerts).
    pub sensor_cpu_percent_execs_only: Option<f64>,
    /// Kernel BPF time of all the sensor's programs per exec (ns).
    pub bpf_ns_per_exec: Option<f64>,
    /// Kernel BPF time as % of one core.
    pub bpf_cpu_percent: Option<f64>,
    /// Events lost (from the sensor's shutdown line).
    pub lost: Option<u64>,
    /// VmHWM of the sensor at the end of this rate (bytes).
    pub peak_rss_bytes: Option<u64>,
    /// Median time from a reverse shell's triggering event (kernel timestamp) to its alert
    /// being written (ms); `None` when no alert came.
    pub detection_latency_p50_ms: Option<f64>,
    /// 99th percentile of the same (nearest rank: the maximum below 100 alerts).
    pub detection_latency_p99_ms: Option<f64>,
    /// Alerts of the reverse-shell scenario the latencies come from.
    pub detection_alerts: usize,
}

/// The rule engine alone: `sensor replay` of a stream the real sensor recorded.
#[derive(Debug, Serialize)]
pub struct EngineRun {
    /// Events in the recording.
    pub events: u64,
    /// Times the recording was evaluated.
    pub repeat: u32,
    /// Rules loaded (built-in pack, plus the SigmaHQ Linux rules when found).
    pub rules: String,
    /// Events evaluated per CPU-second of the evaluating thread (parsing excluded).
    pub events_per_cpu_second: f64,
    /// Alerts the replay wrote (all repeats).
    pub alerts: u64,
}

/// Highest sustained rate with zero loss, of execs or of open events.
#[derive(Debug, Serialize)]
pub struct MaxRate {
    /// Per second.
    pub rate: f64,
    /// `workload`: the loop could not go faster and nothing was lost (a lower bound);
    /// `loss`: the highest paced rate with zero loss below one that lost events.
    pub limited_by: String,
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

fn lost(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

impl Report {
    /// The human table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let configs: Vec<&str> = ["none", "sensor", "auditd"]
            .into_iter()
            .filter(|c| self.overhead.iter().any(|r| r.configs.contains_key(*c)))
            .collect();
        let _ = writeln!(
            s,
            "sensor bench, {} ({}; {} CPUs, kernel {}){}",
            self.date,
            self.machine.cpu_model,
            self.machine.nproc,
            self.machine.kernel,
            if self.quick {
                " -- QUICK RUN, not for publishing"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "commit {}; nice {}; load average at start {}, at end {}",
            self.commit, self.nice, self.load_average[0], self.load_average[1]
        );
        let _ = writeln!(
            s,
            "\nPer-operation cost, median of {} interleaved rounds (ratio: median of per-round \
             ratios to no monitor)",
            self.rounds
        );
        let _ = write!(s, "{:<28}", "workload");
        for c in &configs {
            let _ = write!(s, "{:>14}", format!("{c} ns/op"));
            if *c != "none" {
                let _ = write!(s, "{:>8}", "ratio");
            }
        }
        s.push('\n');
        for row in &self.overhead {
            let _ = write!(s, "{:<28}", row.label);
            for c in &configs {
                match row.configs.get(*c) {
                    Some(r) => {
                        let _ = write!(s, "{:>14.0}", r.median_ns_per_op);
                        if *c != "none" {
                            let _ = write!(s, "{:>7.2}x", r.median_ratio);
                        }
                    }
                    None => {
                        let _ = write!(s, "{:>14}", "-");
                    }
                }
            }
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "\nCPU-time ratios (user+sys of the loop process per op; steadier under other load, \
             but blind to work a monitor does in its own processes, e.g. auditd writing logs)"
        );
        let _ = write!(s, "{:<28}", "workload");
        for c in configs.iter().filter(|c| **c != "none") {
            let _ = write!(s, "{:>18}", format!("{c} cpu ratio"));
        }
        s.push('\n');
        for row in &self.overhead {
            let _ = write!(s, "{:<28}", row.label);
            for c in configs.iter().filter(|c| **c != "none") {
                match row.configs.get(*c) {
                    Some(r) => {
                        let _ = write!(s, "{:>17.2}x", r.median_cpu_ratio);
                    }
                    None => {
                        let _ = write!(s, "{:>18}", "-");
                    }
                }
            }
            s.push('\n');
        }
        let per_round: Vec<String> = self
            .overhead_lost_per_round
            .iter()
            .map(|l| lost(*l))
            .collect();
        let _ = writeln!(
            s,
            "sensor events lost in the overhead rounds (per round): {}",
            per_round.join(", ")
        );

        let _ = writeln!(
            s,
            "\nKernel-side BPF time per hook (bpf_stats; sensor alone, one run of each loop)"
        );
        let _ = writeln!(
            s,
            "{:<28}{:<24}{:>12}{:>12}",
            "workload", "hook", "events", "ns/event"
        );
        for w in &self.hook_costs {
            let label = w.workload.label();
            let ran: Vec<&HookCost> = w.hooks.iter().filter(|h| h.events > 0).collect();
            if ran.is_empty() {
                let _ = writeln!(s, "{label:<28}{:<24}{:>12}{:>12}", "(no hook ran)", 0, "-");
            }
            for h in ran {
                let _ = writeln!(
                    s,
                    "{label:<28}{:<24}{:>12}{:>12}",
                    h.hook,
                    h.events,
                    opt(h.ns_per_event, 0)
                );
            }
        }

        let _ = writeln!(
            s,
            "\nExec-rate sweep (fork+exec of /bin/true, paced; fresh sensor per rate)"
        );
        let _ = writeln!(
            s,
            "{:>9}{:>11}{:>12}{:>10}{:>13}{:>9}{:>8}{:>10}  latency p50/p99 ms (alerts)",
            "target/s",
            "achieved/s",
            "CPU % execs",
            "+probes",
            "BPF ns/exec",
            "BPF %",
            "lost",
            "RSS MiB",
        );
        for r in &self.sweep {
            let latency = match (r.detection_latency_p50_ms, r.detection_latency_p99_ms) {
                (Some(p50), Some(p99)) => format!("{p50:.2} / {p99:.2} ({})", r.detection_alerts),
                _ => "n/a (no alert of the scenario)".to_string(),
            };
            let _ = writeln!(
                s,
                "{:>9}{:>11.0}{:>12}{:>10}{:>13}{:>9}{:>8}{:>10}  {latency}",
                r.target_rate,
                r.achieved_rate,
                opt(r.sensor_cpu_percent_execs_only, 2),
                opt(r.sensor_cpu_percent, 2),
                opt(r.bpf_ns_per_exec, 0),
                opt(r.bpf_cpu_percent, 3),
                lost(r.lost),
                opt(r.peak_rss_bytes.map(|b| b as f64 / 1048576.0), 1),
            );
        }
        let setup = if self.sensor_args.is_empty() {
            "default ring buffer".to_string()
        } else {
            format!("sensor run {}", self.sensor_args.join(" "))
        };
        match &self.max_rate {
            Some(m) if m.limited_by == "workload" => {
                let _ = writeln!(
                    s,
                    "max sustained exec rate with zero loss ({setup}): >= {:.0}/s \
                     (the machine could not exec faster; nothing was lost)",
                    m.rate
                );
            }
            Some(m) => {
                let _ = writeln!(
                    s,
                    "max sustained exec rate with zero loss ({setup}): {:.0}/s",
                    m.rate
                );
            }
            None => {
                let _ = writeln!(s, "max sustained exec rate with zero loss: n/a");
            }
        }
        match &self.max_open_rate {
            Some(m) => {
                let bound = if m.limited_by == "workload" {
                    ">= "
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "max sustained event rate with zero loss ({setup}; distinct-file opens, \
                     one event each): {bound}{:.0}/s",
                    m.rate
                );
            }
            None => {
                let _ = writeln!(s, "max sustained event rate with zero loss: n/a");
            }
        }
        let _ = writeln!(
            s,
            "peak RSS of the sensor in the sweep: {} MiB",
            opt(self.peak_rss_bytes.map(|b| b as f64 / 1048576.0), 1)
        );
        match &self.engine {
            Some(e) => {
                let _ = writeln!(
                    s,
                    "engine throughput (sensor replay, {}): {:.0} events/s/core \
                     ({} recorded events x {}, {} alerts)",
                    e.rules, e.events_per_cpu_second, e.events, e.repeat, e.alerts
                );
            }
            None => {
                let _ = writeln!(s, "engine throughput (sensor replay): n/a (see notes)");
            }
        }
        for note in &self.notes {
            let _ = writeln!(s, "note: {note}");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::Workload;

    fn report() -> Report {
        let result = |ns: f64, ratio: f64| ConfigResult {
            ns_per_op: vec![ns],
            median_ns_per_op: ns,
            ratios: vec![ratio],
            median_ratio: ratio,
            cpu_ns_per_op: vec![ns],
            median_cpu_ratio: ratio,
        };
        Report {
            date: "2026-11-26T00:00:00Z".into(),
            command: "cargo xtask bench".into(),
            commit: "abc".into(),
            load_average: ["1".into(), "2".into()],
            machine: Machine {
                nproc: 2,
                kernel: "6.18".into(),
                cpu_model: "cpu".into(),
            },
            rounds: 1,
            quick: false,
            nice: 0,
            sensor_args: vec!["--ringbuf-kib=16".into()],
            overhead: vec![OverheadRow {
                workload: Workload::OpenOne,
                label: Workload::OpenOne.label().into(),
                configs: [
                    ("none".to_string(), result(1000.0, 1.0)),
                    ("sensor".to_string(), result(1234.0, 1.234)),
                ]
                .into_iter()
                .collect(),
            }],
            overhead_lost_per_round: vec![Some(0), None],
            hook_costs: vec![],
            sweep: vec![SweepRow {
                target_rate: 100,
                achieved_rate: 99.6,
                sensor_cpu_percent: Some(1.5),
                sensor_cpu_percent_execs_only: Some(1.25),
                bpf_ns_per_exec: None,
                bpf_cpu_percent: None,
                lost: None,
                peak_rss_bytes: Some(7 * 1048576),
                detection_latency_p50_ms: Some(1.25),
                detection_latency_p99_ms: Some(4.5),
                detection_alerts: 48,
            }],
            max_rate: Some(MaxRate {
                rate: 504.0,
                limited_by: "loss".into(),
            }),
            max_open_rate: Some(MaxRate {
                rate: 81234.0,
                limited_by: "loss".into(),
            }),
            peak_rss_bytes: Some(7 * 1048576),
            engine: None,
            notes: vec![],
        }
    }

    #[test]
    fn table_shows_ratios_gaps_and_setup() {
        let table = report().table();
        assert!(table.contains("1.23x"), "{table}");
        assert!(!table.contains("auditd ns/op"), "{table}");
        assert!(table.contains("(per round): 0, n/a"), "{table}");
        assert!(table.contains("1.25 / 4.50 (48)"), "{table}");
        assert!(
            table.contains("engine throughput (sensor replay): n/a"),
            "{table}"
        );
        assert!(
            table.contains("zero loss (sensor run --ringbuf-kib=16): 504/s"),
            "{table}"
        );
        assert!(table.contains("one event each): 81234/s"), "{table}");
        assert!(table.contains("7.0"), "{table}");
    }

    #[test]
    fn json_keeps_unmeasured_figures_null() {
        let json = serde_json::to_value(report()).expect("serialisable");
        assert!(json["engine"].is_null());
        assert_eq!(json["sweep"][0]["detection_latency_p99_ms"], 4.5);
        assert!(json["sweep"][0]["lost"].is_null());
        assert_eq!(json["overhead"][0]["workload"], "open-one");
    }
}
