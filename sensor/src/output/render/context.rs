//! The context part of the fast path: `process.*` (with parent, leaders, ancestors), `user`,
//! `group`, `container`, `orchestrator`, `kubernetes` and `host`, merged with the event's own
//! process fields the way `ecs_context::add_context` merges them over `ecs::document`.

use std::sync::Arc;

use super::cache::{ProcessCache, RelatedCache};
use super::escaped::{Depth, short_name};
use super::{Image, basename};
use crate::context::model::{ContainerInfo, EnrichedEvent, HostInfo, ProcessInfo};
use crate::event::EventBody;
use crate::output::ecs_context::{ANCESTOR_MAX_ARG_BYTES, ANCESTOR_MAX_ARGS};
use crate::output::json::Writer;

/// `process`: the acting process and everything related to it.
pub(super) fn process(
    w: &mut Writer<'_>,
    e: &EnrichedEvent,
    img: &Image<'_>,
    scratch: &mut Vec<u8>,
    related: &mut RelatedCache,
    cache: &mut ProcessCache,
) {
    w.key("process");
    w.begin_object();
    w.key("pid");
    w.uint(img.p.pid.into());
    w.key("thread");
    w.begin_object();
    w.key("id");
    w.uint(match &e.event.body {
        EventBody::Fork(fork) => fork.child_tid.into(),
        _ => e.event.header.tid.into(),
    });
    w.end_object();
    // The thread id is the only per-event value before here; the rest of the object depends on
    // the event only for lifecycle events and nameless images (see `ProcessCache`).
    let cacheable = !matches!(
        e.event.body,
        EventBody::Exec(_) | EventBody::Fork(_) | EventBody::Exit(_)
    ) && !short_name(img.executable, &img.p.comm).is_empty();
    if cacheable {
        cache.write(w, e, |w| process_rest(w, e, img, scratch, related));
    } else {
        process_rest(w, e, img, scratch, related);
    }
}

/// `process` after `thread`: identity, image, related processes and users; closes the object.
fn process_rest(
    w: &mut Writer<'_>,
    e: &EnrichedEvent,
    img: &Image<'_>,
    scratch: &mut Vec<u8>,
    cache: &mut RelatedCache,
) {
    let h = &e.event.header;
    let p = img.p;
    let exec = match &e.event.body {
        EventBody::Exec(exec) => Some(exec),
        _ => None,
    };
    w.key("entity_id");
    w.str(&p.entity_id);
    w.key("start");
    w.timestamp(p.start_unix_ns);
    // Name and executable: the context's when it has them, else the event document's.
    w.key("name");
    let short = short_name(img.executable, &p.comm);
    match exec {
        _ if !short.is_empty() => w.text(short),
        Some(exec) if exec.result == 0 => w.text(basename(&exec.executable)),
        _ => w.text(&h.comm),
    }
    if !img.executable.is_empty() {
        w.key("executable");
        w.text(img.executable);
    } else if let Some(exec) = exec {
        w.key("executable");
        w.text(&exec.executable);
    }
    if !img.args.is_empty() {
        if p.args_truncated {
            w.key("args_truncated");
            w.bool(true);
        }
        let count = match exec {
            Some(exec) => u64::from(exec.argc),
            None => (img.args.len() as u64).max(p.argc.into()),
        };
        args(w, img.args, count, scratch);
    } else if let Some(exec) = exec {
        args(w, &exec.args, exec.argc.into(), scratch);
    }
    let cwd = p
        .working_directory
        .as_deref()
        .or_else(|| exec.and_then(|x| x.cwd.as_deref()));
    if let Some(cwd) = cwd {
        w.key("working_directory");
        w.text(cwd);
    }
    parent(w, e, scratch, cache);
    for (key, leader) in [
        ("group_leader", &e.lineage.group_leader),
        ("session_leader", &e.lineage.session_leader),
    ] {
        if let Some(leader) = leader {
            w.key(key);
            cache.write(w, leader, Depth::Leader, scratch);
        }
    }
    w.key("ancestors");
    w.begin_array();
    for a in e.lineage.parent.iter().chain(&e.lineage.ancestors) {
        cache.write(w, a, Depth::Chain, scratch);
    }
    w.end_array();
    if let Some(previous) = &e.process.previous_executable {
        w.key("previous");
        w.begin_array();
        w.begin_object();
        w.key("executable");
        w.text(previous);
        w.end_object();
        w.end_array();
    }
    if let EventBody::Exit(exit) = &e.event.body {
        let signal = exit.exit_code & 0x7f;
        let code = if signal == 0 {
            (exit.exit_code >> 8) & 0xff
        } else {
            128 + signal
        };
        w.key("exit_code");
        w.int(code.into());
        if let Some(end) = p.end_unix_ns {
            w.key("end");
            w.timestamp(end);
        }
    }
    let pp = &e.process;
    w.key("user");
    id_name(
        w,
        pp.euid,
        effective_name(pp.euid, pp.uid, &pp.effective_user_name, &pp.user_name),
    );
    w.key("group");
    id_name(
        w,
        pp.egid,
        effective_name(pp.egid, pp.gid, &pp.effective_group_name, &pp.group_name),
    );
    w.key("real_user");
    id_name(w, pp.uid, pp.user_name.as_deref());
    w.key("real_group");
    id_name(w, pp.gid, pp.group_name.as_deref());
    w.end_object();
}

fn args(w: &mut Writer<'_>, args: &[Vec<u8>], count: u64, scratch: &mut Vec<u8>) {
    w.key("args_count");
    w.uint(count);
    w.key("args");
    w.begin_array();
    for arg in args {
        w.text(arg);
    }
    w.end_array();
    w.key("command_line");
    w.text_join(args, b' ', scratch);
}

fn parent(w: &mut Writer<'_>, e: &EnrichedEvent, scratch: &mut Vec<u8>, cache: &mut RelatedCache) {
    let fallback = match &e.event.body {
        EventBody::Exec(exec) => exec.ppid,
        EventBody::Fork(fork) => Some(fork.parent_pid),
        _ => None,
    };
    if let Some(parent) = &e.lineage.parent {
        w.key("parent");
        cache.write(w, parent, Depth::Full, scratch);
        return;
    }
    let pid = Some(e.process.ppid).filter(|&p| p != 0).or(fallback);
    if let Some(pid) = pid {
        w.key("parent");
        w.begin_object();
        w.key("pid");
        w.uint(pid.into());
        w.end_object();
    }
}

/// A related process (parent, leader, ancestor) as an object.
pub(super) fn related(w: &mut Writer<'_>, p: &ProcessInfo, depth: Depth, scratch: &mut Vec<u8>) {
    w.begin_object();
    w.key("pid");
    w.uint(p.pid.into());
    w.key("entity_id");
    w.str(&p.entity_id);
    w.key("start");
    w.timestamp(p.start_unix_ns);
    let short = short_name(&p.executable, &p.comm);
    if !short.is_empty() {
        w.key("name");
        w.text(short);
    }
    if !p.executable.is_empty() {
        w.key("executable");
        w.text(&p.executable);
    }
    if depth != Depth::Leader && !p.args.is_empty() {
        let (max_args, max_len) = match depth {
            Depth::Full => (usize::MAX, usize::MAX),
            _ => (ANCESTOR_MAX_ARGS, ANCESTOR_MAX_ARG_BYTES),
        };
        let mut cut = p.args.len() > max_args;
        w.key("args");
        w.begin_array();
        for a in p.args.iter().take(max_args) {
            let kept = a.get(..max_len).unwrap_or(a);
            cut |= kept.len() < a.len();
            w.text(kept);
        }
        w.end_array();
        if cut || p.args_truncated {
            w.key("args_truncated");
            w.bool(true);
        }
        w.key("args_count");
        w.uint((p.args.len() as u64).max(p.argc.into()));
        if depth == Depth::Full {
            w.key("command_line");
            w.text_join(&p.args, b' ', scratch);
        }
    }
    if depth == Depth::Full
        && let Some(cwd) = &p.working_directory
    {
        w.key("working_directory");
        w.text(cwd);
    }
    w.end_object();
}

fn effective_name<'a>(
    effective: u32,
    real: u32,
    effective_name: &'a Option<Arc<str>>,
    real_name: &'a Option<Arc<str>>,
) -> Option<&'a str> {
    if effective == real {
        real_name.as_deref()
    } else {
        effective_name.as_deref()
    }
}

fn id_name(w: &mut Writer<'_>, id: u32, name: Option<&str>) {
    w.begin_object();
    id_name_fields(w, id, name);
    w.end_object();
}

fn id_name_fields(w: &mut Writer<'_>, id: u32, name: Option<&str>) {
    w.key("id");
    w.uint_str(id.into());
    if let Some(name) = name {
        w.key("name");
        w.str(name);
    }
}

/// Top-level `user` and `group`: the ids at the time of the event (header), names from the
/// process record when the ids agree, the effective ids the kernel reported for an exec.
pub(super) fn users(w: &mut Writer<'_>, e: &EnrichedEvent) {
    let p = &e.process;
    let h = &e.event.header;
    let (reported_euid, reported_egid) = match &e.event.body {
        EventBody::Exec(exec) => (exec.euid, exec.egid),
        _ => (None, None),
    };
    let sides = [
        (
            "user",
            h.uid,
            p.uid,
            p.euid,
            reported_euid,
            &p.user_name,
            &p.effective_user_name,
        ),
        (
            "group",
            h.gid,
            p.gid,
            p.egid,
            reported_egid,
            &p.group_name,
            &p.effective_group_name,
        ),
    ];
    for (key, hid, id, eid, reported, name, ename) in sides {
        w.key(key);
        w.begin_object();
        id_name_fields(w, hid, (hid == id).then_some(name.as_deref()).flatten());
        if eid != id || reported.is_some() {
            w.key("effective");
            w.begin_object();
            match reported {
                Some(r) if r != eid => {
                    w.key("id");
                    w.uint_str(r.into());
                }
                _ => id_name_fields(w, eid, effective_name(eid, id, ename, name)),
            }
            w.end_object();
        }
        if key == "user"
            && let Some(login) = p.loginuid
        {
            w.key("audit");
            id_name(
                w,
                login,
                (login == p.uid).then_some(p.user_name.as_deref()).flatten(),
            );
        }
        w.end_object();
    }
}

/// `container`, and `orchestrator` and `kubernetes` for a pod.
pub(super) fn container(w: &mut Writer<'_>, c: &ContainerInfo) {
    let pod = c.pod.as_ref();
    w.key("container");
    w.begin_object();
    w.key("id");
    w.str(&c.id);
    w.key("runtime");
    w.str(&c.runtime);
    if let Some(name) = pod.and_then(|p| p.container_name.as_deref()) {
        w.key("name");
        w.str(name);
    }
    w.end_object();
    let Some(pod) = pod else {
        return;
    };
    w.key("orchestrator");
    w.begin_object();
    w.key("type");
    w.str("kubernetes");
    w.key("resource");
    w.begin_object();
    w.key("type");
    w.str("pod");
    w.key("id");
    w.str(&pod.uid);
    if let Some(name) = &pod.name {
        w.key("name");
        w.str(name);
    }
    w.end_object();
    if let Some(ns) = &pod.namespace {
        w.key("namespace");
        w.str(ns);
    }
    w.end_object();
    w.key("kubernetes");
    w.begin_object();
    w.key("pod");
    w.begin_object();
    w.key("uid");
    w.str(&pod.uid);
    if let Some(name) = &pod.name {
        w.key("name");
        w.str(name);
    }
    w.end_object();
    if let Some(ns) = &pod.namespace {
        w.key("namespace");
        w.str(ns);
    }
    for (key, value) in [("container", &pod.container_name), ("node", &pod.node_name)] {
        if let Some(name) = value {
            w.key(key);
            w.begin_object();
            w.key("name");
            w.str(name);
            w.end_object();
        }
    }
    w.end_object();
}

/// The `host` object (without its key).
pub(super) fn host(w: &mut Writer<'_>, h: &HostInfo) {
    w.begin_object();
    w.key("name");
    w.str(&h.name);
    w.key("hostname");
    w.str(&h.name);
    w.key("architecture");
    w.str(&h.architecture);
    if let Some(id) = &h.id {
        w.key("id");
        w.str(id);
    }
    w.key("os");
    w.begin_object();
    w.key("type");
    w.str("linux");
    w.key("kernel");
    w.str(&h.kernel);
    for (key, value) in [
        ("name", &h.os_name),
        ("version", &h.os_version),
        ("platform", &h.os_platform),
        ("family", &h.os_family),
        ("full", &h.os_full),
    ] {
        if let Some(value) = value {
            w.key(key);
            w.str(value);
        }
    }
    w.end_object();
    w.end_object();
}
