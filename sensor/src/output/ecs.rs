//! Events as Elastic Common Schema (ECS 8.x) JSON documents.

use serde_json::{Map, Value, json};

use crate::event::{Event, EventBody, ExecEvent};
use crate::text;
use crate::time::{BootClock, rfc3339};

/// Renders one event as an ECS document. Untrusted byte strings are escaped (see
/// [`crate::text`]) and the escaped fields are listed in `sensor.escaped`.
pub fn document(event: &Event, clock: BootClock) -> Value {
    let mut escaped = Vec::new();
    let mut field = |name: &'static str, bytes: &[u8]| -> Value {
        let (s, was_escaped) = text::escape(bytes);
        if was_escaped && !escaped.contains(&name) {
            escaped.push(name);
        }
        Value::String(s.into_owned())
    };
    let h = &event.header;
    let mut doc = match &event.body {
        EventBody::Exec(exec) => exec_document(exec, h.pid, &mut field),
        other => {
            let mut doc = Map::new();
            doc.insert(
                "event".into(),
                json!({ "kind": "event", "action": other.kind_name() }),
            );
            doc.insert("process".into(), json!({}));
            doc
        }
    };
    let name = field("process.name", &h.comm);
    if let Some(process) = doc.get_mut("process").and_then(Value::as_object_mut) {
        process.insert("pid".into(), json!(h.pid));
        process.insert("thread".into(), json!({ "id": h.tid }));
        process.entry("name").or_insert(name);
    }
    doc.insert(
        "@timestamp".into(),
        json!(rfc3339(clock.to_unix_ns(h.ktime_ns))),
    );
    doc.insert("user".into(), json!({ "id": h.uid.to_string() }));
    doc.insert("group".into(), json!({ "id": h.gid.to_string() }));
    let mut sensor = doc.remove("sensor").unwrap_or_else(|| json!({}));
    sensor["ktime_ns"] = json!(h.ktime_ns);
    sensor["cgroup_id"] = json!(h.cgroup_id);
    if !escaped.is_empty() {
        sensor["escaped"] = json!(escaped);
    }
    doc.insert("sensor".into(), sensor);
    Value::Object(doc)
}

fn exec_document(
    exec: &ExecEvent,
    pid: u32,
    field: &mut impl FnMut(&'static str, &[u8]) -> Value,
) -> Map<String, Value> {
    let args: Vec<Value> = exec.args.iter().map(|a| field("process.args", a)).collect();
    let executable = field("process.executable", &exec.executable);
    let name = exec
        .executable
        .rsplit(|&b| b == b'/')
        .next()
        .map(|n| field("process.name", n));
    let mut process = json!({
        "pid": pid,
        "executable": executable,
        "args": args,
        "args_count": exec.argc,
    });
    if let Some(name) = name {
        process["name"] = name;
    }
    if let Some(ppid) = exec.ppid {
        process["parent"] = json!({ "pid": ppid });
    }
    let mut doc = Map::new();
    doc.insert(
        "event".into(),
        json!({ "kind": "event", "category": ["process"], "type": ["start"], "action": "exec" }),
    );
    doc.insert("process".into(), process);
    doc.insert(
        "sensor".into(),
        json!({ "exec": {
            "args_truncated": exec.args_truncated,
            "args_missing": exec.args_missing,
            "executable_truncated": exec.executable_truncated,
        }}),
    );
    doc
}
