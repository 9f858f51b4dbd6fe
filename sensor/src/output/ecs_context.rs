//! The context of an [`EnrichedEvent`] as ECS fields, written over the event document that
//! [`super::ecs::document`] built.
//!
//! | field | source |
//! |---|---|
//! | `process.{entity_id,pid,start,executable,name,args,args_count,command_line,working_directory}` | the acting process |
//! | `process.parent.*` | same fields for the parent |
//! | `process.group_leader.*`, `process.session_leader.*` | `pid`, `entity_id`, `start`, `name`, `executable` |
//! | `process.ancestors[]` (not ECS) | the chain above the process, **parent first**, then grandparent upward, each with `pid`, `entity_id`, `executable`, `name`, `args`, `args_count`, `start` (no `command_line`: it repeats `args`; at most 16 arguments of 256 bytes, `args_truncated` when cut) |
//! | `process.previous[]` | the image before the last exec (`executable`) |
//! | `process.user`, `process.group` | effective ids (ECS); `process.real_user`, `process.real_group` the real ones |
//! | `user.{id,name}`, `group.{id,name}` | real ids; `user.effective.*`, `group.effective.*` only when they differ |
//! | `user.audit.{id,name}` | the audit login uid (as auditbeat reports it) |
//! | `process.exit_code` (128 + signal for a signal death), `process.end` | exit events |
//! | `container.{id,runtime,name}` | from the cgroup path (name from the pod list) |
//! | `orchestrator.{type,namespace,resource.{type,name,id}}`, `kubernetes.{pod.{uid,name},namespace,container.name,node.name}` | pods |
//! | `host.{name,hostname,id,architecture,os.{type,name,version,platform,family,full,kernel}}` | the host |
//!
//! Untrusted bytes are escaped with [`crate::text`] and listed in `sensor.escaped`, as the event
//! document does.

use serde_json::{Map, Value, json};

use crate::context::model::{ContainerInfo, EnrichedEvent, HostInfo, ProcessInfo};
use crate::event::EventBody;
use crate::text;
use crate::time::rfc3339;

/// Adds (or overwrites) the context fields of `e` in `doc`.
pub fn add_context(doc: &mut Map<String, Value>, e: &EnrichedEvent) {
    let mut escaped: Vec<String> = Vec::new();
    let p = &e.process;
    let mut process = take_object(doc, "process");
    // A failed exec leaves the process as it was, but the event is about the program it tried
    // to run: report that image.
    let attempted;
    let image: &ProcessInfo = match &e.event.body {
        EventBody::Exec(exec) if exec.result != 0 => {
            attempted = ProcessInfo {
                executable: exec.executable.clone(),
                args: exec.args.clone(),
                ..ProcessInfo::clone(p)
            };
            &attempted
        }
        _ => p,
    };
    process_fields(&mut process, image, "process", Detail::Full, &mut escaped);
    if let Some(parent) = &e.lineage.parent {
        process.insert(
            "parent".into(),
            process_object(parent, "process.parent", Detail::Full, &mut escaped),
        );
    } else if p.ppid != 0 {
        process.insert("parent".into(), json!({ "pid": p.ppid }));
    }
    for (key, leader) in [
        ("group_leader", &e.lineage.group_leader),
        ("session_leader", &e.lineage.session_leader),
    ] {
        if let Some(leader) = leader {
            let name = if key == "group_leader" {
                "process.group_leader"
            } else {
                "process.session_leader"
            };
            process.insert(
                key.into(),
                process_object(leader, name, Detail::Leader, &mut escaped),
            );
        }
    }
    let chain: Vec<Value> = e
        .lineage
        .parent
        .iter()
        .chain(&e.lineage.ancestors)
        .map(|a| process_object(a, "process.ancestors", Detail::Chain, &mut escaped))
        .collect();
    process.insert("ancestors".into(), Value::Array(chain));
    if let Some(previous) = &p.previous_executable {
        let executable = escape(previous, ("process.previous", "executable"), &mut escaped);
        process.insert("previous".into(), json!([{ "executable": executable }]));
    }
    if let EventBody::Exit(exit) = &e.event.body {
        // `wait()` status: low 7 bits are the killing signal, else bits 8-15 the exit code.
        // ECS wants a code; a signal death is reported the way shells do (128 + signal). The
        // event document may already have rendered these: it wins.
        let signal = exit.exit_code & 0x7f;
        let code = if signal == 0 {
            (exit.exit_code >> 8) & 0xff
        } else {
            128 + signal
        };
        process.entry("exit_code").or_insert(json!(code));
        if let Some(end) = p.end_unix_ns {
            process.entry("end").or_insert(json!(rfc3339(end)));
        }
    }
    process.insert(
        "user".into(),
        id_name(
            p.euid,
            effective_name(p.euid, p.uid, &p.effective_user_name, &p.user_name),
        ),
    );
    process.insert(
        "group".into(),
        id_name(
            p.egid,
            effective_name(p.egid, p.gid, &p.effective_group_name, &p.group_name),
        ),
    );
    process.insert("real_user".into(), id_name(p.uid, p.user_name.as_deref()));
    process.insert("real_group".into(), id_name(p.gid, p.group_name.as_deref()));
    doc.insert("process".into(), Value::Object(process));

    add_users(doc, e);
    if let Some(container) = &p.container {
        add_container(doc, container);
    }
    add_host(doc, &e.host);
    if !escaped.is_empty() {
        let sensor = doc.entry("sensor").or_insert_with(|| json!({}));
        if let Some(sensor) = sensor.as_object_mut() {
            let list = sensor.entry("escaped").or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                for name in escaped {
                    if !list.iter().any(|v| v.as_str() == Some(name.as_str())) {
                        list.push(json!(name));
                    }
                }
            }
        }
    }
}

fn take_object(doc: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match doc.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Escapes `bytes`, recording `prefix.suffix` in `escaped` when that changed anything (the
/// name is only built then: escaping is rare).
fn escape(bytes: &[u8], (prefix, suffix): (&str, &str), escaped: &mut Vec<String>) -> Value {
    let (s, was) = text::escape(bytes);
    if was {
        let name = format!("{prefix}.{suffix}");
        if !escaped.contains(&name) {
            escaped.push(name);
        }
    }
    Value::String(s.into_owned())
}

/// Most arguments rendered per ancestor.
pub const ANCESTOR_MAX_ARGS: usize = 16;
/// Most bytes rendered per ancestor argument.
pub const ANCESTOR_MAX_ARG_BYTES: usize = 256;

/// How much of a process is rendered: every event carries up to a dozen related processes, so
/// only the acting process and its parent get everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Identity, image, arguments, command line, working directory.
    Full,
    /// Identity, executable and arguments (ancestors).
    Chain,
    /// Identity and executable (group and session leaders).
    Leader,
}

fn process_object(p: &ProcessInfo, name: &str, detail: Detail, escaped: &mut Vec<String>) -> Value {
    let mut map = Map::new();
    process_fields(&mut map, p, name, detail, escaped);
    Value::Object(map)
}

/// The identity and image fields of one process. `name` prefixes the escaped-field names.
fn process_fields(
    map: &mut Map<String, Value>,
    p: &ProcessInfo,
    name: &str,
    detail: Detail,
    escaped: &mut Vec<String>,
) {
    map.insert("pid".into(), json!(p.pid));
    map.insert("entity_id".into(), json!(p.entity_id));
    map.insert("start".into(), json!(rfc3339(p.start_unix_ns)));
    let basename = p
        .executable
        .rsplit(|&b| b == b'/')
        .next()
        .unwrap_or_default();
    let short = if basename.is_empty() {
        &p.comm
    } else {
        basename
    };
    if !short.is_empty() {
        map.insert("name".into(), escape(short, (name, "name"), escaped));
    }
    if !p.executable.is_empty() {
        map.insert(
            "executable".into(),
            escape(&p.executable, (name, "executable"), escaped),
        );
    }
    if detail == Detail::Leader {
        return;
    }
    if !p.args.is_empty() {
        // Ancestors repeat on every event of their descendants: their arguments are capped
        // (the full ones are in their own events).
        let (max_args, max_len) = match detail {
            Detail::Full => (usize::MAX, usize::MAX),
            _ => (ANCESTOR_MAX_ARGS, ANCESTOR_MAX_ARG_BYTES),
        };
        let mut cut = p.args.len() > max_args;
        let args: Vec<Value> = p
            .args
            .iter()
            .take(max_args)
            .map(|a| {
                let kept = a.get(..max_len).unwrap_or(a);
                cut |= kept.len() < a.len();
                escape(kept, (name, "args"), escaped)
            })
            .collect();
        if cut || p.args_truncated {
            map.insert("args_truncated".into(), json!(true));
        }
        // The event document's count (the kernel's argc) wins for the acting process.
        let count = p
            .args
            .len()
            .max(usize::try_from(p.argc).unwrap_or(usize::MAX));
        map.entry("args_count").or_insert(json!(count));
        map.insert("args".into(), Value::Array(args));
        if detail == Detail::Full {
            let line = p.args.join(&b' ');
            map.insert(
                "command_line".into(),
                escape(&line, (name, "command_line"), escaped),
            );
        }
    }
    if detail != Detail::Full {
        return;
    }
    if let Some(cwd) = &p.working_directory {
        map.insert(
            "working_directory".into(),
            escape(cwd, (name, "working_directory"), escaped),
        );
    }
}

/// The effective id's name: its own when it differs from the real id, else the real one's.
fn effective_name<'a>(
    effective: u32,
    real: u32,
    effective_name: &'a Option<std::sync::Arc<str>>,
    real_name: &'a Option<std::sync::Arc<str>>,
) -> Option<&'a str> {
    if effective == real {
        real_name.as_deref()
    } else {
        effective_name.as_deref()
    }
}

fn id_name(id: u32, name: Option<&str>) -> Value {
    let mut v = json!({ "id": id.to_string() });
    if let Some(name) = name {
        v["name"] = json!(name);
    }
    v
}

fn add_users(doc: &mut Map<String, Value>, e: &EnrichedEvent) {
    let p = &e.process;
    // The header has the credentials at the time of the event; names are the record's when
    // the ids still agree. Fields the event document already has (e.g. an effective id the
    // kernel reported) are kept and named.
    let h = &e.event.header;
    let mut user = take_object(doc, "user");
    let mut group = take_object(doc, "group");
    let user_name = (h.uid == p.uid).then_some(p.user_name.as_deref()).flatten();
    let group_name = (h.gid == p.gid)
        .then_some(p.group_name.as_deref())
        .flatten();
    merge_id_name(&mut user, h.uid, user_name);
    merge_id_name(&mut group, h.gid, group_name);
    let effective = [
        (
            &mut user,
            p.euid,
            p.uid,
            &p.effective_user_name,
            &p.user_name,
        ),
        (
            &mut group,
            p.egid,
            p.gid,
            &p.effective_group_name,
            &p.group_name,
        ),
    ];
    for (map, eid, id, ename, name) in effective {
        let existing = map.get("effective").and_then(|v| v.get("id")).cloned();
        if eid != id || existing.is_some() {
            let mut eff = take_object(map, "effective");
            let same = existing.is_none_or(|v| v.as_str() == Some(eid.to_string().as_str()));
            if same {
                merge_id_name(&mut eff, eid, effective_name(eid, id, ename, name));
            }
            map.insert("effective".into(), Value::Object(eff));
        }
    }
    if let Some(login) = p.loginuid {
        let name = (login == p.uid).then_some(p.user_name.as_deref()).flatten();
        user.insert("audit".into(), id_name(login, name));
    }
    doc.insert("user".into(), Value::Object(user));
    doc.insert("group".into(), Value::Object(group));
}

fn merge_id_name(map: &mut Map<String, Value>, id: u32, name: Option<&str>) {
    map.insert("id".into(), json!(id.to_string()));
    if let Some(name) = name {
        map.insert("name".into(), json!(name));
    }
}

fn add_container(doc: &mut Map<String, Value>, c: &ContainerInfo) {
    let mut container = json!({ "id": c.id, "runtime": c.runtime });
    let Some(pod) = &c.pod else {
        doc.insert("container".into(), container);
        return;
    };
    if let Some(name) = &pod.container_name {
        container["name"] = json!(name);
    }
    doc.insert("container".into(), container);
    let mut orchestrator = json!({
        "type": "kubernetes",
        "resource": { "type": "pod", "id": pod.uid },
    });
    let mut kubernetes = json!({ "pod": { "uid": pod.uid } });
    if let Some(name) = &pod.name {
        orchestrator["resource"]["name"] = json!(name);
        kubernetes["pod"]["name"] = json!(name);
    }
    if let Some(ns) = &pod.namespace {
        orchestrator["namespace"] = json!(ns);
        kubernetes["namespace"] = json!(ns);
    }
    if let Some(name) = &pod.container_name {
        kubernetes["container"] = json!({ "name": name });
    }
    if let Some(node) = &pod.node_name {
        kubernetes["node"] = json!({ "name": node });
    }
    doc.insert("orchestrator".into(), orchestrator);
    doc.insert("kubernetes".into(), kubernetes);
}

fn add_host(doc: &mut Map<String, Value>, h: &HostInfo) {
    let mut os = json!({ "type": "linux", "kernel": h.kernel });
    for (key, value) in [
        ("name", &h.os_name),
        ("version", &h.os_version),
        ("platform", &h.os_platform),
        ("family", &h.os_family),
        ("full", &h.os_full),
    ] {
        if let Some(value) = value {
            os[key] = json!(value);
        }
    }
    let mut host = json!({
        "name": h.name,
        "hostname": h.name,
        "architecture": h.architecture,
        "os": os,
    });
    if let Some(id) = &h.id {
        host["id"] = json!(id);
    }
    doc.insert("host".into(), host);
}

#[cfg(test)]
mod tests;
