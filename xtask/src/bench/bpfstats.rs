//! Kernel-side time of the sensor's eBPF programs (`kernel.bpf_stats_enabled`).
//!
//! The sensor's programs are found through its own file descriptors (`/proc/PID/fdinfo`: a
//! program fd shows `prog_id`, a tracepoint link shows `prog_id` and `tp_name`), so programs
//! other engineers load on the same machine are never counted, and new hooks need no change
//! here. The counters are the kernel's `run_time_ns`/`run_cnt`, read from fdinfo (the same
//! values `bpftool --json prog show` prints) so that taking a snapshot execs nothing: a bpftool
//! exec would itself run the exec hooks between two snapshots. bpftool is only asked when
//! fdinfo lacks the counters or a program has no tracepoint link to name it.

use std::collections::BTreeMap;
use std::process::Command;

use serde::Serialize;

const SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Turns `kernel.bpf_stats_enabled` on while alive, then back to what it was. Stats cost about
/// two clock reads per program run, so they are only on in the phases that report them.
pub struct StatsGuard {
    previous: String,
}

impl StatsGuard {
    /// Enables the stats; `None` (with a message) when the kernel refuses.
    pub fn enable() -> Option<Self> {
        let previous = std::fs::read_to_string(SYSCTL).ok()?.trim().to_string();
        match std::fs::write(SYSCTL, "1") {
            Ok(()) => Some(StatsGuard { previous }),
            Err(err) => {
                eprintln!("bench: cannot enable kernel.bpf_stats_enabled: {err}");
                None
            }
        }
    }
}

impl Drop for StatsGuard {
    fn drop(&mut self) {
        let _ = std::fs::write(SYSCTL, &self.previous);
    }
}

/// Cumulative counters of one program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgCounters {
    /// What the program hooks (`tp_name` of its link), else its name.
    pub hook: String,
    /// Total run time in ns.
    pub run_time_ns: u64,
    /// Number of runs.
    pub run_cnt: u64,
}

/// Counters of every program of a process, by program id.
pub type Snapshot = BTreeMap<u32, ProgCounters>;

/// The difference of two snapshots for one program.
#[derive(Clone, Debug, Serialize)]
pub struct HookCost {
    /// Tracepoint (or program name).
    pub hook: String,
    /// Runs in the interval.
    pub events: u64,
    /// Total kernel time in the interval.
    pub total_ns: u64,
    /// Nanoseconds per run; `None` with no runs.
    pub ns_per_event: Option<f64>,
}

/// Reads the counters of every eBPF program `pid` holds.
pub fn snapshot(pid: u32) -> Snapshot {
    let mut progs = Snapshot::new();
    let mut hooks = BTreeMap::new();
    let mut complete = true;
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return progs;
    };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let fields = parse_fdinfo(&text);
        let Some(id) = fields.get("prog_id").and_then(|v| v.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(tp) = fields.get("tp_name") {
            hooks.insert(id, tp.to_string());
        } else if fields.contains_key("prog_type") {
            let num = |k: &str| fields.get(k).and_then(|v| v.parse().ok());
            complete &= num("run_cnt").is_some();
            progs.insert(
                id,
                ProgCounters {
                    hook: format!("prog {id}"),
                    run_time_ns: num("run_time_ns").unwrap_or(0),
                    run_cnt: num("run_cnt").unwrap_or(0),
                },
            );
        }
    }
    let unnamed = progs.keys().any(|id| !hooks.contains_key(id));
    if (unnamed || !complete)
        && let Some(listed) = bpftool_progs()
    {
        for (id, prog) in progs.iter_mut() {
            if let Some(p) = listed.get(id) {
                prog.hook = p.hook.clone();
                if !complete {
                    prog.run_time_ns = p.run_time_ns;
                    prog.run_cnt = p.run_cnt;
                }
            }
        }
    }
    for (id, tp) in hooks {
        if let Some(prog) = progs.get_mut(&id) {
            prog.hook = tp;
        }
    }
    progs
}

fn parse_fdinfo(text: &str) -> BTreeMap<&str, &str> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// `bpftool --json prog show`, by id; `None` when bpftool is missing or says nothing usable.
fn bpftool_progs() -> Option<BTreeMap<u32, ProgCounters>> {
    let out = Command::new("bpftool")
        .args(["--json", "prog", "show"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_bpftool(&out.stdout)
}

fn parse_bpftool(json: &[u8]) -> Option<BTreeMap<u32, ProgCounters>> {
    let value: serde_json::Value = serde_json::from_slice(json).ok()?;
    let mut progs = BTreeMap::new();
    for prog in value.as_array()? {
        let Some(id) = prog.get("id").and_then(|v| v.as_u64()) else {
            continue;
        };
        let num = |k: &str| prog.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let name = prog.get("name").and_then(|v| v.as_str()).unwrap_or("?");
        progs.insert(
            id as u32,
            ProgCounters {
                hook: name.to_string(),
                run_time_ns: num("run_time_ns"),
                run_cnt: num("run_cnt"),
            },
        );
    }
    Some(progs)
}

/// Per-program cost between two snapshots, programs that ran first.
pub fn diff(before: &Snapshot, after: &Snapshot) -> Vec<HookCost> {
    let mut costs: Vec<HookCost> = after
        .iter()
        .map(|(id, a)| {
            let b = before.get(id).cloned().unwrap_or_default();
            let events = a.run_cnt.saturating_sub(b.run_cnt);
            let total_ns = a.run_time_ns.saturating_sub(b.run_time_ns);
            HookCost {
                hook: a.hook.clone(),
                events,
                total_ns,
                ns_per_event: (events > 0).then(|| total_ns as f64 / events as f64),
            }
        })
        .collect();
    costs.sort_by(|x, y| y.events.cmp(&x.events).then(x.hook.cmp(&y.hook)));
    costs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bpftool_and_diffs() {
        let json = br#"[{"id":7,"type":"tracepoint","name":"sys_enter_execve","run_time_ns":1000,"run_cnt":10},{"id":8,"name":"x"}]"#;
        let after = parse_bpftool(json).expect("valid JSON");
        let mut before = Snapshot::new();
        before.insert(
            7,
            ProgCounters {
                hook: "sys_enter_execve".into(),
                run_time_ns: 400,
                run_cnt: 4,
            },
        );
        let costs = diff(&before, &after);
        assert_eq!(costs[0].hook, "sys_enter_execve");
        assert_eq!((costs[0].events, costs[0].total_ns), (6, 600));
        assert_eq!(costs[0].ns_per_event, Some(100.0));
        assert_eq!(costs[1].ns_per_event, None);
        assert!(parse_bpftool(b"not json").is_none());
    }

    #[test]
    fn parses_fdinfo() {
        let f = parse_fdinfo("prog_type:\t5\nprog_id:\t73\nrun_cnt:\t3\n");
        assert_eq!(f.get("prog_id"), Some(&"73"));
        assert_eq!(f.get("run_cnt"), Some(&"3"));
    }
}
