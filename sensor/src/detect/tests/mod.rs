//! Unit tests of the detection engine (replay-based, unprivileged).

mod accessor;
mod bench;
mod builtin;
mod correlation;
mod lanes;
mod lineage;
mod malformed;
mod modifiers;
mod sigmahq;
mod sigmahq_samples;

use serde_json::{Value, json};

use super::{Engine, EngineConfig, RuleSet};

/// Loads rules from YAML text, failing the test on any load error.
pub(super) fn rules(yaml: &str) -> RuleSet {
    let mut set = RuleSet::default();
    set.add_text("test.yml", "test", yaml);
    set.finish();
    assert!(set.errors.is_empty(), "rule errors: {:?}", set.errors);
    set
}

/// An engine over rules from YAML text.
pub(super) fn engine(yaml: &str) -> Engine {
    let config = EngineConfig {
        alert_id_prefix: "t".into(),
        ..EngineConfig::default()
    };
    Engine::new(&rules(yaml), config).expect("engine")
}

/// Feeds events in order; returns the alerts.
pub(super) fn run(engine: &mut Engine, events: &[Value]) -> Vec<Value> {
    let mut alerts = Vec::new();
    for e in events {
        engine.process_recorded(e, &mut alerts);
    }
    alerts
}

/// Rule titles of the alerts, in order.
pub(super) fn titles(alerts: &[Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["rule"]["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// RFC 3339 time `secs` seconds after 2025-11-26T00:00:00Z.
pub(super) fn ts(secs: f64) -> String {
    let base: i128 = 1_764_115_200 * 1_000_000_000;
    crate::time::rfc3339(base + (secs * 1e9) as i128)
}

/// Deep-merges `extra` into `doc`.
pub(super) fn merge(doc: &mut Value, extra: Value) {
    match (doc, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A recorded exec event at `t` seconds: `cmdline` is split on spaces into args.
pub(super) fn exec(t: f64, pid: u32, exe: &str, cmdline: &str, extra: Value) -> Value {
    let args: Vec<&str> = cmdline.split(' ').collect();
    let name = exe.rsplit('/').next().unwrap_or(exe);
    let mut doc = json!({
        "@timestamp": ts(t),
        "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "exec"},
        "process": {
            "pid": pid, "executable": exe, "name": name, "args": args,
            "args_count": args.len(), "command_line": cmdline,
            "entity_id": format!("ent-{pid}"),
            "parent": {"pid": 1, "executable": "/usr/bin/bash", "command_line": "bash", "name": "bash"}
        },
        "user": {"id": "0", "name": "root"},
        "group": {"id": "0"}
    });
    merge(&mut doc, extra);
    doc
}

/// A recorded connect (`outgoing`) or accept event.
pub(super) fn net(
    t: f64,
    pid: u32,
    exe: &str,
    outgoing: bool,
    remote: (&str, u16),
    extra: Value,
) -> Value {
    let (action, direction) = if outgoing {
        ("connect", "egress")
    } else {
        ("accept", "ingress")
    };
    let local = json!({"ip": "10.0.0.5", "port": if outgoing { 40000 } else { 22 }});
    let remote_v = json!({"ip": remote.0, "port": remote.1});
    let (src, dst) = if outgoing {
        (local, remote_v)
    } else {
        (remote_v, local)
    };
    let mut doc = json!({
        "@timestamp": ts(t),
        "event": {"kind": "event", "category": ["network"], "type": ["connection"], "action": action},
        "process": {"pid": pid, "executable": exe, "name": exe.rsplit('/').next().unwrap_or(exe),
                    "entity_id": format!("ent-{pid}")},
        "source": src, "destination": dst,
        "network": {"transport": "tcp", "direction": direction},
        "user": {"id": "0", "name": "root"}
    });
    merge(&mut doc, extra);
    doc
}

/// A recorded open event; `write` makes it a file_event, otherwise file_access.
pub(super) fn open(t: f64, pid: u32, exe: &str, path: &str, write: bool) -> Value {
    let ty = if write { "creation" } else { "access" };
    json!({
        "@timestamp": ts(t),
        "event": {"kind": "event", "category": ["file"], "type": [ty], "action": "open"},
        "process": {"pid": pid, "executable": exe, "name": exe.rsplit('/').next().unwrap_or(exe),
                    "entity_id": format!("ent-{pid}")},
        "file": {"path": path},
        "user": {"id": "0", "name": "root"}
    })
}
