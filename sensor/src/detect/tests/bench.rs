//! Throughput of the engine (ignored by default; run in release):
//! `SIGMA_DIR=... cargo test --release -p sensor --lib detect::tests::bench -- --ignored --nocapture`
//! Set `BENCH_EVENTS_OUT=path` to also write the synthetic events as JSON lines for
//! `sensor replay --stats`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;

use super::sigmahq::sigma_dir;
use crate::context::{EnrichedEvent, HostInfo, Lineage, ProcessInfo};
use crate::detect::accessor::FieldSource;
use crate::detect::live::LiveEvent;
use crate::detect::{AlertSink, Engine, EngineConfig, RuleSet};
use crate::event::{Event, EventBody, ExecEvent, FdKind, Header, NetEvent, OpenEvent, Transport};
use crate::replay::thread_cpu_secs;

/// Everyday server activity: what the engine spends its time on. Alerts are rare on a real
/// server; one event in 1000 here is an attack (a reverse shell), so alert rendering does not
/// dominate the figure.
const COMMANDS: &[&str] = &[
    "/usr/bin/ls ls -la /var/log",
    "/usr/bin/grep grep -r error /var/log/nginx",
    "/usr/bin/python3 python3 /opt/app/manage.py runserver",
    "/usr/bin/systemctl systemctl status nginx",
    "/usr/bin/git git status --porcelain",
    "/usr/bin/tar tar czf /var/backups/etc.tgz /etc",
    "/usr/sbin/logrotate logrotate /etc/logrotate.conf",
    "/usr/bin/dpkg-query dpkg-query -W -f ${Package}",
    "/usr/bin/sleep sleep 1",
    "/usr/bin/date date +%s",
    "/usr/bin/cat cat /proc/loadavg",
    "/usr/bin/node node /srv/app/server.js --port 3000",
    "/usr/bin/make make -j2 all",
    "/usr/bin/cc cc -O2 -c main.c -o main.o",
    "/usr/bin/rsync rsync -a /srv/data/ /var/backups/data/",
];

fn process(pid: u32, exe: &[u8], args: Vec<Vec<u8>>) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        ppid: 1000 + pid % 7,
        entity_id: format!("ent-{pid}"),
        executable: exe.to_vec(),
        args,
        user_name: Some(Arc::from("app")),
        stdio: [FdKind::Pipe, FdKind::Pipe, FdKind::File],
        ..ProcessInfo::default()
    })
}

pub(super) fn synthetic(n: usize, unique: bool) -> Vec<EnrichedEvent> {
    let host = Arc::new(HostInfo {
        name: "bench".into(),
        ..HostInfo::default()
    });
    let parent = process(1000, b"/usr/bin/bash", vec![b"bash".to_vec()]);
    (0..n)
        .map(|i| {
            let pid = 2000 + (i % 5000) as u32;
            let attack = i % 1000 == 999;
            let template = if attack {
                "/usr/bin/bash bash -i"
            } else {
                COMMANDS[i % COMMANDS.len()]
            };
            let (exe, line) = template.split_once(' ').unwrap_or(("", ""));
            let mut args: Vec<Vec<u8>> = line.split(' ').map(|a| a.as_bytes().to_vec()).collect();
            if unique {
                // Every command line different: the verdict cache never hits.
                args.push(i.to_string().into_bytes());
            }
            let stdio = if attack {
                [FdKind::Socket; 3]
            } else {
                [FdKind::Pipe, FdKind::Pipe, FdKind::File]
            };
            let body = match if attack { 0 } else { i % 10 } {
                0..=5 => EventBody::Exec(ExecEvent {
                    executable: exe.as_bytes().to_vec(),
                    argc: args.len() as u32,
                    args: args.clone(),
                    ppid: Some(1000 + pid % 7),
                    stdio,
                    ..ExecEvent::default()
                }),
                6 => EventBody::Connect(NetEvent {
                    transport: Transport::Tcp,
                    local: (IpAddr::from([10, 0, 0, 5]), 40000),
                    remote: (IpAddr::from([10, 0, 1, (i % 250) as u8]), 443),
                    result: 0,
                    fd: 3,
                    ..NetEvent::default()
                }),
                7 => EventBody::Open(OpenEvent {
                    path: b"/etc/ld.so.cache".to_vec(),
                    count: 1,
                    ..OpenEvent::default()
                }),
                8 => EventBody::Open(OpenEvent {
                    path: b"/var/log/app/app.log".to_vec(),
                    flags: 0o1101,
                    count: 1,
                    ..OpenEvent::default()
                }),
                _ => EventBody::Exit(crate::event::ExitEvent { exit_code: 0 }),
            };
            EnrichedEvent {
                event: Event {
                    header: Header {
                        ktime_ns: i as u64 * 100_000,
                        tid: pid,
                        pid,
                        uid: 1000,
                        gid: 1000,
                        cgroup_id: 1,
                        comm: exe.rsplit('/').next().unwrap_or("").as_bytes().to_vec(),
                    },
                    body,
                },
                process: process(pid, exe.as_bytes(), args),
                lineage: Arc::new(Lineage {
                    parent: Some(parent.clone()),
                    ancestors: Vec::new(),
                    group_leader: None,
                    session_leader: None,
                }),
                host: host.clone(),
            }
        })
        .collect()
}

#[derive(Default)]
struct Count(u64);

impl AlertSink for Count {
    fn alert(&mut self, _alert: Value) {
        self.0 += 1;
    }
}

fn measure(label: &str, set: &RuleSet, events: &[EnrichedEvent], docs: &[Value]) {
    let mut engine = Engine::new(set, EngineConfig::default()).expect("engine");
    let mut sink = Count::default();
    // CPU time, not wall time: the figure is per core even on a busy machine.
    let start = thread_cpu_secs();
    for e in events {
        engine.process(e, &mut sink);
    }
    let live = events.len() as f64 / (thread_cpu_secs() - start);
    let mut engine = Engine::new(set, EngineConfig::default()).expect("engine");
    let start = thread_cpu_secs();
    for d in docs {
        engine.process_recorded(d, &mut sink);
    }
    let recorded = docs.len() as f64 / (thread_cpu_secs() - start);
    println!(
        "BENCH {label}: {} rules, {} correlations, {} events: live {live:.0} events/s/core, recorded JSON (pre-parsed) {recorded:.0} events/s/core, {} alerts, verdict cache hits {}",
        set.collection.rules.len(),
        set.collection.correlations.len(),
        events.len(),
        sink.0,
        engine.stats().cache_hits
    );
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_engine_throughput() {
    let mut set = RuleSet::builtin();
    if let Some(root) = sigma_dir() {
        set.merge(RuleSet::from_paths(&[root.join("rules")]));
    }
    let n = std::env::var("BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let events = synthetic(n, false);
    let unique = synthetic(n, true);
    let clock = crate::time::BootClock::new();
    let docs: Vec<Value> = events
        .iter()
        .map(|e| LiveEvent::new(e, clock.to_unix_ns(e.event.header.ktime_ns)).document())
        .collect();
    if let Some(path) = std::env::var_os("BENCH_EVENTS_OUT") {
        let lines: Vec<String> = docs.iter().map(Value::to_string).collect();
        std::fs::write(path, lines.join("\n") + "\n").expect("write events");
    }
    measure("with correlations", &set, &events, &docs);
    // Single-event rules: no correlations, and none of the building blocks only they use.
    let mut single = RuleSet::default();
    single.merge(set);
    let blocks: Vec<String> = single
        .collection
        .correlations
        .iter()
        .flat_map(|c| c.rules.clone())
        .collect();
    let is_block = |id: &Option<String>, name: &Option<String>| {
        blocks
            .iter()
            .any(|b| Some(b) == id.as_ref() || Some(b) == name.as_ref())
    };
    single
        .collection
        .rules
        .retain(|r| !is_block(&r.id, &r.name));
    single.collection.correlations.clear();
    single.meta.retain(|m| !m.correlation);
    measure("single-event rules only", &single, &events, &docs);
    let unique_docs: Vec<Value> = unique
        .iter()
        .map(|e| LiveEvent::new(e, clock.to_unix_ns(e.event.header.ktime_ns)).document())
        .collect();
    measure(
        "single-event rules, every command line unique",
        &single,
        &unique,
        &unique_docs,
    );
}
