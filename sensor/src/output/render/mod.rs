//! The pipeline's fast path to ECS JSON lines: renders an [`EnrichedEvent`] straight into a
//! reused byte buffer with [`super::json::Writer`], with the same fields and values as
//! [`super::ecs::document`] followed by [`super::ecs_context::add_context`] (those stay the
//! reference, used for alerts and tests; `tests.rs` checks the two agree).

mod cache;
mod context;
mod escaped;

use std::net::IpAddr;

use super::json::Writer;
use super::{ecs, names};
use crate::context::model::{EnrichedEvent, ProcessInfo};
use crate::event::{EventBody, ExecEvent, NetEvent, OpenEvent, OpenSyscall, Transport};
use crate::time::BootClock;
use escaped::Escaped;

/// The image an event is about: the process's, or for a failed exec the program it tried to
/// run (as `ecs_context` reports it).
pub(crate) struct Image<'a> {
    p: &'a ProcessInfo,
    executable: &'a [u8],
    args: &'a [Vec<u8>],
}

/// Renders events; keeps its scratch buffers between events.
#[derive(Default)]
pub struct Renderer {
    escaped: Escaped,
    scratch: Vec<u8>,
    related: cache::RelatedCache,
    process: cache::ProcessCache,
    host: cache::HostCache,
}

impl Renderer {
    /// A renderer with empty buffers.
    pub fn new() -> Renderer {
        Renderer::default()
    }

    /// Appends the ECS document of `e` (no newline) to `out`.
    pub fn render(&mut self, out: &mut Vec<u8>, e: &EnrichedEvent, clock: BootClock) {
        let p = &*e.process;
        let image = match &e.event.body {
            EventBody::Exec(exec) if exec.result != 0 => Image {
                p,
                executable: &exec.executable,
                args: &exec.args,
            },
            _ => Image {
                p,
                executable: &p.executable,
                args: &p.args,
            },
        };
        let h = &e.event.header;
        let mut w = Writer::new(out);
        w.begin_object();
        w.key("@timestamp");
        w.timestamp(clock.to_unix_ns(h.ktime_ns));
        w.key("event");
        event_object(&mut w, &e.event.body);
        context::process(
            &mut w,
            e,
            &image,
            &mut self.scratch,
            &mut self.related,
            &mut self.process,
        );
        context::users(&mut w, e);
        if let Some(container) = &p.container {
            context::container(&mut w, container);
        }
        w.key("host");
        self.host.write(&mut w, &e.host);
        match &e.event.body {
            EventBody::Connect(net) => network(&mut w, net, true),
            EventBody::Accept(net) => network(&mut w, net, false),
            EventBody::Open(open) => file(&mut w, open),
            _ => {}
        }
        w.key("sensor");
        w.begin_object();
        match &e.event.body {
            EventBody::Exec(exec) => sensor_exec(&mut w, exec),
            EventBody::Fork(fork) => {
                w.key("fork");
                w.begin_object();
                w.key("parent_pid");
                w.uint(fork.parent_pid.into());
                w.key("caller_pid");
                w.uint(h.pid.into());
                w.end_object();
            }
            EventBody::Exit(exit) => {
                w.key("exit");
                w.begin_object();
                w.key("status");
                w.int(exit.exit_code.into());
                w.key("signal");
                w.int((exit.exit_code & 0x7f).into());
                w.end_object();
            }
            EventBody::Connect(net) | EventBody::Accept(net) => {
                w.key("network");
                w.begin_object();
                w.key("result");
                w.int(net.result.into());
                w.key("fd");
                w.int(net.fd.into());
                w.key("sock_type");
                w.uint(net.sock_type.into());
                errno(&mut w, net.result);
                w.end_object();
            }
            EventBody::Open(open) => sensor_open(&mut w, open),
            EventBody::ExeDeleted(deleted) => {
                w.key("exe_deleted");
                w.begin_object();
                w.key("link");
                w.text(&deleted.link);
                w.end_object();
            }
        }
        w.key("ktime_ns");
        w.uint(h.ktime_ns);
        w.key("cgroup_id");
        w.uint(h.cgroup_id);
        // The list is built (in the reference's order) only when something was escaped: the
        // writer saw it, or a field of the event that the context overrode needs it.
        if w.escaped || event_fields_need_escape(e) {
            self.escaped.collect(e, &image);
        } else {
            self.escaped.clear();
        }
        if !self.escaped.is_empty() {
            w.key("escaped");
            w.begin_array();
            for (prefix, suffix) in self.escaped.names() {
                w.display(format_args!("{prefix}.{suffix}"));
            }
            w.end_array();
        }
        w.end_object();
        w.end_object();
    }
}

/// Whether a field of the event document that the context may have replaced (and so the
/// writer may not have seen) needs escaping.
fn event_fields_need_escape(e: &EnrichedEvent) -> bool {
    use crate::text::needs_escape;
    needs_escape(&e.event.header.comm)
        || match &e.event.body {
            EventBody::Exec(exec) => {
                needs_escape(&exec.executable)
                    || exec.args.iter().any(|a| needs_escape(a))
                    || exec.cwd.as_deref().is_some_and(needs_escape)
            }
            _ => false,
        }
}

pub(crate) fn basename(path: &[u8]) -> &[u8] {
    path.rsplit(|&b| b == b'/').next().unwrap_or(path)
}

fn str_array(w: &mut Writer<'_>, items: &[&str]) {
    w.begin_array();
    for item in items {
        w.str(item);
    }
    w.end_array();
}

fn event_object(w: &mut Writer<'_>, body: &EventBody) {
    let (category, types, action, result): (&str, &[&str], &str, Option<i32>) = match body {
        EventBody::Exec(exec) => ("process", &["start"], "exec", Some(exec.result)),
        EventBody::Fork(_) => ("process", &["start"], "fork", None),
        EventBody::Exit(_) => ("process", &["end"], "exit", None),
        EventBody::Connect(net) => (
            "network",
            &["connection", "start"],
            "connect",
            Some(net.result),
        ),
        EventBody::Accept(net) => (
            "network",
            &["connection", "start"],
            "accept",
            Some(net.result),
        ),
        EventBody::Open(open) => ("file", &[open_type(open.flags)], "open", Some(open.result)),
        // ECS `process` category, `change` type: the process's image changed under it.
        EventBody::ExeDeleted(_) => ("process", &["change"], "executable-deleted", None),
    };
    w.begin_object();
    w.key("kind");
    w.str("event");
    w.key("category");
    str_array(w, &[category]);
    w.key("type");
    str_array(w, types);
    w.key("action");
    w.str(action);
    if let Some(result) = result {
        w.key("outcome");
        w.str(ecs::outcome(result).0);
    }
    w.end_object();
}

fn open_type(flags: u32) -> &'static str {
    if flags & ecs::O_CREAT != 0 {
        "creation"
    } else if flags & (ecs::O_TRUNC | 0o3) != 0 {
        "change"
    } else {
        "access"
    }
}

fn errno(w: &mut Writer<'_>, result: i32) {
    if let Some(name) = ecs::outcome(result).1 {
        w.key("errno");
        w.str(name);
    }
}

fn sensor_exec(w: &mut Writer<'_>, exec: &ExecEvent) {
    w.key("stdio");
    w.begin_array();
    for kind in exec.stdio {
        w.str(names::fd_kind(kind));
    }
    w.end_array();
    w.key("exec");
    w.begin_object();
    w.key("result");
    w.int(exec.result.into());
    w.key("args_truncated");
    w.bool(exec.args_truncated);
    w.key("args_missing");
    w.bool(exec.args_missing);
    w.key("executable_truncated");
    w.bool(exec.executable_truncated);
    w.key("memfd");
    w.bool(exec.exe_memfd);
    w.key("deleted");
    w.bool(exec.exe_deleted);
    w.key("filename");
    w.text(&exec.filename);
    errno(w, exec.result);
    if let Some(loginuid) = exec.loginuid {
        w.key("loginuid");
        w.uint(loginuid.into());
    }
    w.end_object();
}

fn endpoint(w: &mut Writer<'_>, (ip, port): (IpAddr, u16)) {
    w.begin_object();
    w.key("ip");
    w.ip(ip);
    w.key("port");
    w.uint(port.into());
    w.end_object();
}

fn network(w: &mut Writer<'_>, net: &NetEvent, connect: bool) {
    // ECS: the source is the side that initiated the connection.
    let (source, destination) = if connect {
        (net.local, net.remote)
    } else {
        (net.remote, net.local)
    };
    w.key("source");
    endpoint(w, source);
    w.key("destination");
    endpoint(w, destination);
    w.key("network");
    w.begin_object();
    w.key("transport");
    w.str(match net.transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Other => "other",
    });
    w.key("type");
    w.str(if net.remote.0.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    });
    w.key("direction");
    w.str(if connect { "egress" } else { "ingress" });
    w.end_object();
}

fn file(w: &mut Writer<'_>, open: &OpenEvent) {
    w.key("file");
    w.begin_object();
    w.key("path");
    w.text(&open.path);
    w.key("name");
    w.text(basename(&open.path));
    if open.result >= 0 && open.flags & ecs::O_CREAT != 0 {
        w.key("mode");
        w.display(format_args!("{:o}", open.mode & 0o7777));
    }
    w.end_object();
}

fn sensor_open(w: &mut Writer<'_>, open: &OpenEvent) {
    w.key("open");
    w.begin_object();
    w.key("result");
    w.int(open.result.into());
    w.key("flags");
    w.begin_array();
    for name in names::open_flags(open.flags) {
        w.str(&name);
    }
    w.end_array();
    w.key("access");
    w.str(names::open_access(open.flags));
    w.key("count");
    w.uint(open.count.into());
    w.key("collapsed");
    w.uint(open.count.saturating_sub(1).into());
    w.key("path_truncated");
    w.bool(open.path_truncated);
    w.key("path_resolved");
    w.bool(open.path_resolved);
    w.key("requested_path");
    w.text(&open.requested_path);
    w.key("dfd");
    w.int(open.dfd.into());
    w.key("syscall");
    w.str(match open.syscall {
        OpenSyscall::OpenAt => "openat",
        OpenSyscall::OpenAt2 => "openat2",
        OpenSyscall::Creat => "creat",
    });
    errno(w, open.result);
    if open.result >= 0 {
        w.key("fd");
        w.int(open.result.into());
    }
    w.end_object();
}

#[cfg(test)]
mod tests;
