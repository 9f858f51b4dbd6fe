//! Events as Elastic Common Schema (ECS 8.x) JSON documents. Every field is listed in
//! `docs/events.md`; fields of our own live under `sensor.*`.

use std::net::IpAddr;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::names;
use crate::event::{
    Event, EventBody, ExecEvent, ExitEvent, ForkEvent, NetEvent, OpenEvent, Transport,
};
use crate::text;
use crate::time::{BootClock, rfc3339};

pub(crate) const O_CREAT: u32 = 0o100;
pub(crate) const O_TRUNC: u32 = 0o1000;
const EINPROGRESS: i32 = 115;

/// Collects escaped field names while rendering untrusted bytes.
struct Fields {
    escaped: Vec<&'static str>,
}

impl Fields {
    fn text(&mut self, name: &'static str, bytes: &[u8]) -> Value {
        let (s, was_escaped) = text::escape(bytes);
        if was_escaped && !self.escaped.contains(&name) {
            self.escaped.push(name);
        }
        Value::String(s.into_owned())
    }
}

/// The host's name, read once.
fn host_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    })
}

/// Renders one event as an ECS document. Untrusted byte strings are escaped (see
/// [`crate::text`]) and the escaped fields are listed in `sensor.escaped`.
pub fn document(event: &Event, clock: BootClock) -> Value {
    let mut f = Fields {
        escaped: Vec::new(),
    };
    let h = &event.header;
    let mut doc = Map::new();
    let mut process = Map::new();
    process.insert("pid".into(), json!(h.pid));
    process.insert("thread".into(), json!({ "id": h.tid }));
    process.insert("name".into(), f.text("process.name", &h.comm));
    let mut sensor = Map::new();
    let ecs_event = match &event.body {
        EventBody::Exec(exec) => exec_fields(exec, &mut process, &mut sensor, &mut doc, &mut f),
        EventBody::Fork(fork) => fork_fields(fork, &mut process, &mut sensor),
        EventBody::Exit(exit) => exit_fields(exit, &mut process, &mut sensor),
        EventBody::Connect(net) => net_fields(net, true, &mut doc, &mut sensor),
        EventBody::Accept(net) => net_fields(net, false, &mut doc, &mut sensor),
        EventBody::Open(open) => open_fields(open, &mut doc, &mut sensor, &mut f),
        EventBody::ExeDeleted(deleted) => {
            sensor.insert(
                "exe_deleted".into(),
                json!({ "link": f.text("sensor.exe_deleted.link", &deleted.link) }),
            );
            json!({
                "kind": "event",
                "category": ["process"],
                "type": ["change"],
                "action": "executable-deleted",
            })
        }
    };
    doc.insert("event".into(), ecs_event);
    doc.insert("process".into(), Value::Object(process));
    doc.insert(
        "@timestamp".into(),
        json!(rfc3339(clock.to_unix_ns(h.ktime_ns))),
    );
    doc.insert("host".into(), json!({ "name": host_name() }));
    let user = doc.entry("user").or_insert_with(|| json!({}));
    user["id"] = json!(h.uid.to_string());
    let group = doc.entry("group").or_insert_with(|| json!({}));
    group["id"] = json!(h.gid.to_string());
    sensor.insert("ktime_ns".into(), json!(h.ktime_ns));
    sensor.insert("cgroup_id".into(), json!(h.cgroup_id));
    if !f.escaped.is_empty() {
        sensor.insert("escaped".into(), json!(f.escaped));
    }
    doc.insert("sensor".into(), Value::Object(sensor));
    Value::Object(doc)
}

/// `event.outcome` and the `sensor.*.errno` name of a syscall result.
pub(crate) fn outcome(result: i32) -> (&'static str, Option<&'static str>) {
    if result >= 0 {
        ("success", None)
    } else {
        let errno = result.saturating_neg();
        let outcome = if errno == EINPROGRESS {
            "unknown"
        } else {
            "failure"
        };
        (outcome, names::errno_name(errno))
    }
}

fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

fn exec_fields(
    exec: &ExecEvent,
    process: &mut Map<String, Value>,
    sensor: &mut Map<String, Value>,
    doc: &mut Map<String, Value>,
    f: &mut Fields,
) -> Value {
    let args: Vec<Value> = exec
        .args
        .iter()
        .map(|a| f.text("process.args", a))
        .collect();
    let command_line = exec.args.join(&b' ');
    process.insert(
        "executable".into(),
        f.text("process.executable", &exec.executable),
    );
    if exec.result == 0 {
        // For a successful exec the program's name is the executable's; comm may lag behind.
        process.insert(
            "name".into(),
            f.text("process.name", basename(&exec.executable)),
        );
    }
    process.insert("args".into(), Value::Array(args));
    process.insert("args_count".into(), json!(exec.argc));
    process.insert(
        "command_line".into(),
        f.text("process.command_line", &command_line),
    );
    if let Some(cwd) = &exec.cwd {
        process.insert(
            "working_directory".into(),
            f.text("process.working_directory", cwd),
        );
    }
    if let Some(ppid) = exec.ppid {
        process.insert("parent".into(), json!({ "pid": ppid }));
    }
    if let Some(euid) = exec.euid {
        doc.insert(
            "user".into(),
            json!({ "effective": { "id": euid.to_string() } }),
        );
    }
    if let Some(egid) = exec.egid {
        doc.insert(
            "group".into(),
            json!({ "effective": { "id": egid.to_string() } }),
        );
    }
    let (outcome, errno) = outcome(exec.result);
    sensor.insert("stdio".into(), json!(exec.stdio.map(names::fd_kind)));
    let mut detail = json!({
        "result": exec.result,
        "args_truncated": exec.args_truncated,
        "args_missing": exec.args_missing,
        "executable_truncated": exec.executable_truncated,
        "memfd": exec.exe_memfd,
        "deleted": exec.exe_deleted,
        "filename": f.text("sensor.exec.filename", &exec.filename),
    });
    if let Some(errno) = errno {
        detail["errno"] = json!(errno);
    }
    if let Some(loginuid) = exec.loginuid {
        detail["loginuid"] = json!(loginuid);
    }
    sensor.insert("exec".into(), detail);
    json!({
        "kind": "event",
        "category": ["process"],
        "type": ["start"],
        "action": "exec",
        "outcome": outcome,
    })
}

fn fork_fields(
    fork: &ForkEvent,
    process: &mut Map<String, Value>,
    sensor: &mut Map<String, Value>,
) -> Value {
    let caller_tid = process.insert("pid".into(), json!(fork.child_pid));
    process.insert("thread".into(), json!({ "id": fork.child_tid }));
    process.insert("parent".into(), json!({ "pid": fork.parent_pid }));
    sensor.insert(
        "fork".into(),
        json!({ "parent_pid": fork.parent_pid, "caller_pid": caller_tid }),
    );
    json!({
        "kind": "event",
        "category": ["process"],
        "type": ["start"],
        "action": "fork",
    })
}

fn exit_fields(
    exit: &ExitEvent,
    process: &mut Map<String, Value>,
    sensor: &mut Map<String, Value>,
) -> Value {
    let signal = exit.exit_code & 0x7f;
    let code = if signal == 0 {
        (exit.exit_code >> 8) & 0xff
    } else {
        128 + signal
    };
    process.insert("exit_code".into(), json!(code));
    sensor.insert(
        "exit".into(),
        json!({ "status": exit.exit_code, "signal": signal }),
    );
    json!({
        "kind": "event",
        "category": ["process"],
        "type": ["end"],
        "action": "exit",
    })
}

fn endpoint(ip: IpAddr, port: u16) -> Value {
    json!({ "ip": ip.to_string(), "port": port })
}

fn net_fields(
    net: &NetEvent,
    connect: bool,
    doc: &mut Map<String, Value>,
    sensor: &mut Map<String, Value>,
) -> Value {
    let (local, remote) = (
        endpoint(net.local.0, net.local.1),
        endpoint(net.remote.0, net.remote.1),
    );
    // ECS: the source is the side that initiated the connection.
    let (source, destination) = if connect {
        (local, remote)
    } else {
        (remote, local)
    };
    doc.insert("source".into(), source);
    doc.insert("destination".into(), destination);
    doc.insert(
        "network".into(),
        json!({
            "transport": match net.transport {
                Transport::Tcp => "tcp",
                Transport::Udp => "udp",
                Transport::Other => "other",
            },
            "type": if net.remote.0.is_ipv4() { "ipv4" } else { "ipv6" },
            "direction": if connect { "egress" } else { "ingress" },
        }),
    );
    let (outcome, errno) = outcome(net.result);
    let mut detail = json!({ "result": net.result, "fd": net.fd, "sock_type": net.sock_type });
    if let Some(errno) = errno {
        detail["errno"] = json!(errno);
    }
    sensor.insert("network".into(), detail);
    json!({
        "kind": "event",
        "category": ["network"],
        "type": ["connection", "start"],
        "action": if connect { "connect" } else { "accept" },
        "outcome": outcome,
    })
}

fn open_fields(
    open: &OpenEvent,
    doc: &mut Map<String, Value>,
    sensor: &mut Map<String, Value>,
    f: &mut Fields,
) -> Value {
    let mut file = json!({
        "path": f.text("file.path", &open.path),
        "name": f.text("file.name", basename(&open.path)),
    });
    if open.result >= 0 && open.flags & O_CREAT != 0 {
        file["mode"] = json!(format!("{:o}", open.mode & 0o7777));
    }
    doc.insert("file".into(), file);
    let kind = if open.flags & O_CREAT != 0 {
        "creation"
    } else if open.flags & (O_TRUNC | 0o3) != 0 {
        "change"
    } else {
        "access"
    };
    let (outcome, errno) = outcome(open.result);
    let mut detail = json!({
        "result": open.result,
        "flags": names::open_flags(open.flags),
        "access": names::open_access(open.flags),
        "count": open.count,
        "collapsed": open.count.saturating_sub(1),
        "path_truncated": open.path_truncated,
        "path_resolved": open.path_resolved,
        "requested_path": f.text("sensor.open.requested_path", &open.requested_path),
        "dfd": open.dfd,
        "syscall": match open.syscall {
            crate::event::OpenSyscall::OpenAt => "openat",
            crate::event::OpenSyscall::OpenAt2 => "openat2",
            crate::event::OpenSyscall::Creat => "creat",
        },
    });
    if let Some(errno) = errno {
        detail["errno"] = json!(errno);
    }
    if open.result >= 0 {
        detail["fd"] = json!(open.result);
    }
    sensor.insert("open".into(), detail);
    json!({
        "kind": "event",
        "category": ["file"],
        "type": [kind],
        "action": "open",
        "outcome": outcome,
    })
}

#[cfg(test)]
mod tests;
