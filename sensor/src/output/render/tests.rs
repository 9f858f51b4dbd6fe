//! The fast path must render the same document as `ecs::document` + `ecs_context::add_context`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;

use super::Renderer;
use crate::context::model::{
    ContainerInfo, EnrichedEvent, HostInfo, Lineage, PodInfo, ProcessInfo,
};
use crate::event::{
    Event, EventBody, ExecEvent, ExitEvent, FdKind, ForkEvent, Header, NetEvent, OpenEvent,
    OpenSyscall, Transport,
};
use crate::output::{ecs, ecs_context};
use crate::time::BootClock;

const HOSTILE: &[&[u8]] = &[
    b"plain",
    b"",
    b"tab\there",
    b"\x1b[31mred\"quote\\",
    b"bad\xff\xfeutf8",
    "caf\u{e9}\u{85}\u{2028}".as_bytes(),
    b"/",
    b"/usr/bin/",
];

fn proc(pid: u32, exe: &[u8], args: Vec<Vec<u8>>) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid: pid.saturating_sub(1),
        entity_id: format!("e{pid}\"x"),
        start_unix_ns: 1_795_667_052_000_000_000 + i128::from(pid),
        executable: exe.to_vec(),
        args,
        argc: 2,
        working_directory: Some(b"/tmp/\n".to_vec()),
        comm: b"co\x01mm".to_vec(),
        uid: 1000,
        gid: 1000,
        euid: 0,
        egid: 1000,
        user_name: Some(Arc::from("alice")),
        group_name: Some(Arc::from("al\"ice")),
        effective_user_name: Some(Arc::from("root")),
        loginuid: Some(1000),
        ..ProcessInfo::default()
    }
}

fn bodies(hostile: &[u8]) -> Vec<EventBody> {
    let exec = |result: i32, euid: Option<u32>| ExecEvent {
        executable: [b"/usr/bin/".as_slice(), hostile].concat(),
        args: vec![hostile.to_vec(), b"-c".to_vec(), b"id; echo \x00".to_vec()],
        argc: 7,
        args_truncated: true,
        ppid: Some(41),
        result,
        stdio: [FdKind::Socket, FdKind::Pipe, FdKind::Tty],
        euid,
        egid: euid,
        loginuid: Some(1000),
        cwd: Some(hostile.to_vec()),
        filename: hostile.to_vec(),
        ..ExecEvent::default()
    };
    let net = |remote: IpAddr, result| NetEvent {
        transport: Transport::Udp,
        local: (IpAddr::from([127, 0, 0, 1]), 40000),
        remote: (remote, 443),
        result,
        fd: 3,
        sock_type: 2,
    };
    let open = |flags, result| OpenEvent {
        path: [b"/tmp/".as_slice(), hostile].concat(),
        flags,
        mode: 0o100644,
        result,
        count: 3,
        dfd: -100,
        requested_path: hostile.to_vec(),
        path_resolved: true,
        syscall: OpenSyscall::OpenAt2,
        ..OpenEvent::default()
    };
    vec![
        EventBody::Exec(exec(0, None)),
        EventBody::Exec(exec(0, Some(0))),
        EventBody::Exec(exec(0, Some(5))),
        EventBody::Exec(exec(-2, Some(1000))),
        EventBody::Exec(ExecEvent {
            args: Vec::new(),
            ..exec(-13, None)
        }),
        EventBody::Fork(ForkEvent {
            parent_pid: 29,
            child_pid: 31,
            child_tid: 32,
        }),
        EventBody::Exit(ExitEvent { exit_code: 9 }),
        EventBody::Exit(ExitEvent { exit_code: 3 << 8 }),
        EventBody::Connect(net(IpAddr::from([198, 51, 100, 7]), -115)),
        EventBody::Accept(net("2001:db8::1".parse().expect("ip"), 0)),
        EventBody::Open(open(0o100 | 0o1 | 0o2000000 | 0o40000000, 5)),
        EventBody::Open(open(0, -2)),
        EventBody::Open(open(0o1000, 4)),
        EventBody::ExeDeleted(crate::event::ExeDeletedEvent {
            link: [b"/tmp/.x/".as_slice(), hostile].concat(),
        }),
    ]
}

/// Context variants: full context with a pod, bare host process, odd images.
fn contexts(hostile: &[u8], body: &EventBody) -> Vec<EnrichedEvent> {
    let long_args: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            let mut a = vec![b'a'; 250 + i];
            a.extend_from_slice("é".as_bytes());
            a
        })
        .collect();
    let mut full = proc(30, hostile, vec![hostile.to_vec(), b"x y".to_vec()]);
    full.previous_executable = Some(hostile.to_vec());
    full.end_unix_ns = Some(1_795_667_053_000_000_000);
    full.args_truncated = true;
    full.effective_group_name = Some(Arc::from("wheel"));
    full.container = Some(Arc::new(ContainerInfo {
        id: "c".repeat(64),
        runtime: "containerd".into(),
        pod: Some(PodInfo {
            uid: "0f1e2d3c".into(),
            name: Some("web".into()),
            namespace: Some("shop".into()),
            container_name: Some("nginx".into()),
            node_name: Some("node-a".into()),
        }),
    }));
    let bare = ProcessInfo {
        pid: 30,
        ppid: 0,
        uid: 1000,
        gid: 7,
        euid: 1000,
        egid: 7,
        loginuid: None,
        user_name: None,
        container: Some(Arc::new(ContainerInfo {
            id: "d".repeat(64),
            runtime: "docker".into(),
            pod: None,
        })),
        ..proc(30, b"", Vec::new())
    };
    let host = Arc::new(HostInfo {
        name: "h1".into(),
        id: Some("feedc0de".into()),
        os_name: Some("Debian GNU/Linux".into()),
        os_family: Some("debian".into()),
        kernel: "6.18.0".into(),
        architecture: "x86_64".into(),
        ..HostInfo::default()
    });
    let header = Header {
        ktime_ns: 123_456_789,
        tid: 33,
        pid: 30,
        uid: 1000,
        gid: 1000,
        cgroup_id: u64::MAX,
        comm: [b"sh".as_slice(), hostile].concat(),
    };
    let event = Event {
        header,
        body: body.clone(),
    };
    let parent = Arc::new(proc(29, b"/bin/bash", long_args.clone()));
    // No escaping needed anywhere in the context: only the event's own fields can need it.
    let clean = ProcessInfo {
        working_directory: Some(b"/srv".to_vec()),
        comm: b"clean".to_vec(),
        ..proc(30, b"/bin/clean", vec![b"clean".to_vec(), b"-x".to_vec()])
    };
    vec![
        EnrichedEvent {
            event: event.clone(),
            process: Arc::new(full),
            lineage: Arc::new(Lineage {
                parent: Some(Arc::clone(&parent)),
                ancestors: vec![
                    Arc::new(proc(28, hostile, long_args)),
                    Arc::new(proc(1, b"/sbin/init", Vec::new())),
                ],
                group_leader: Some(Arc::clone(&parent)),
                session_leader: Some(Arc::new(proc(27, hostile, Vec::new()))),
            }),
            host: Arc::clone(&host),
        },
        EnrichedEvent {
            event: event.clone(),
            process: Arc::new(clean),
            lineage: Arc::new(Lineage {
                parent: None,
                ancestors: Vec::new(),
                group_leader: None,
                session_leader: None,
            }),
            host: Arc::clone(&host),
        },
        EnrichedEvent {
            event,
            process: Arc::new(bare),
            lineage: Arc::new(Lineage {
                parent: None,
                ancestors: Vec::new(),
                group_leader: None,
                session_leader: None,
            }),
            host,
        },
    ]
}

fn reference(e: &EnrichedEvent, clock: BootClock) -> Value {
    let mut doc = ecs::document(&e.event, clock);
    if let Some(map) = doc.as_object_mut() {
        ecs_context::add_context(map, e);
    }
    doc
}

#[test]
fn fast_path_renders_the_reference_document() {
    let clock = BootClock::new();
    let mut renderer = Renderer::new();
    let mut buf = Vec::new();
    let mut checked = 0;
    for hostile in HOSTILE {
        for body in bodies(hostile) {
            for e in contexts(hostile, &body) {
                buf.clear();
                renderer.render(&mut buf, &e, clock);
                let ours: Value = serde_json::from_slice(&buf)
                    .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&buf)));
                let expected = reference(&e, clock);
                assert_eq!(ours, expected, "{hostile:?} {body:?}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, HOSTILE.len() * 14 * 3);
}

#[test]
fn hostile_fields_are_listed_as_escaped() {
    let clock = BootClock::new();
    let body = &bodies(b"\x1b]0;x\x07")[0];
    let e = &contexts(b"\x1b]0;x\x07", body)[0];
    let mut buf = Vec::new();
    Renderer::new().render(&mut buf, e, clock);
    let doc: Value = serde_json::from_slice(&buf).expect("JSON");
    let escaped = doc["sensor"]["escaped"].as_array().expect("escaped list");
    assert!(escaped.iter().any(|v| v == "process.args"), "{escaped:?}");
    assert!(!String::from_utf8_lossy(&buf).contains('\x1b'));
}

#[test]
fn cached_related_processes_render_like_fresh_ones() {
    let clock = BootClock::new();
    let mut warm = Renderer::new();
    let (mut first, mut again, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    for hostile in HOSTILE {
        let body = &bodies(hostile)[0];
        let mut events = contexts(hostile, body);
        // Clean except for its parent: only the cached parent can report escaping.
        let mut only_parent = events[1].clone();
        only_parent.event.body = bodies(b"plain")[2].clone();
        only_parent.event.header.comm = b"sh".to_vec();
        Arc::make_mut(&mut only_parent.lineage).parent =
            Some(Arc::new(proc(29, hostile, vec![hostile.to_vec()])));
        events.push(only_parent);
        for e in &events {
            first.clear();
            warm.render(&mut first, e, clock);
            again.clear();
            warm.render(&mut again, e, clock);
            fresh.clear();
            Renderer::new().render(&mut fresh, e, clock);
            assert_eq!(first, fresh, "{hostile:?}");
            assert_eq!(again, fresh, "{hostile:?}");
            let ours: Value = serde_json::from_slice(&again).expect("JSON");
            assert_eq!(ours, reference(e, clock), "{hostile:?}");
        }
    }
    assert_ne!(warm.related.len(), 0);
}

#[test]
fn a_replaced_process_record_is_rendered_anew() {
    let clock = BootClock::new();
    let body = &bodies(b"plain")[0];
    let mut e = contexts(b"plain", body).swap_remove(0);
    let mut renderer = Renderer::new();
    let mut buf = Vec::new();
    renderer.render(&mut buf, &e, clock);
    // The table replaces a record when the process execs: a new Arc with new content.
    let mut parent = ProcessInfo::clone(e.lineage.parent.as_deref().expect("parent"));
    parent.executable = b"/usr/bin/new-image".to_vec();
    Arc::make_mut(&mut e.lineage).parent = Some(Arc::new(parent));
    buf.clear();
    renderer.render(&mut buf, &e, clock);
    let doc: Value = serde_json::from_slice(&buf).expect("JSON");
    assert_eq!(doc["process"]["parent"]["executable"], "/usr/bin/new-image");
}

/// Not a check: the cost per document of both paths, for docs/benchmarks.md.
/// `cargo test --release -p sensor --lib render::tests::cost -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check"]
fn cost_of_both_paths() {
    let clock = BootClock::new();
    // A typical exec: clean text, a parent and six ancestors with short command lines.
    let clean = |pid: u32, exe: &[u8]| {
        let args = vec![exe.to_vec(), b"-c".to_vec(), b"make -j2 all".to_vec()];
        Arc::new(ProcessInfo {
            working_directory: Some(b"/home/build/src".to_vec()),
            comm: b"bash".to_vec(),
            ..proc(pid, exe, args)
        })
    };
    let base = &contexts(b"plain", &bodies(b"plain")[0])[1];
    let events: Vec<EnrichedEvent> = bodies(b"plain")
        .into_iter()
        .map(|body| EnrichedEvent {
            event: Event {
                header: base.event.header.clone(),
                body,
            },
            process: clean(30, b"/usr/bin/make"),
            lineage: Arc::new(Lineage {
                parent: Some(clean(29, b"/bin/bash")),
                ancestors: (23..29).rev().map(|p| clean(p, b"/bin/bash")).collect(),
                group_leader: Some(clean(29, b"/bin/bash")),
                session_leader: Some(clean(23, b"/bin/bash")),
            }),
            host: Arc::clone(&base.host),
        })
        .collect();
    let rounds = 2_000;
    let mut sink = Vec::with_capacity(1 << 20);
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for e in &events {
            sink.clear();
            serde_json::to_writer(&mut sink, &reference(e, clock)).expect("serialise");
        }
    }
    let old = start.elapsed();
    let bytes = sink.len();
    let mut renderer = Renderer::new();
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for e in &events {
            sink.clear();
            renderer.render(&mut sink, e, clock);
        }
    }
    let new = start.elapsed();
    let n = (rounds * events.len()) as f64;
    println!(
        "serde_json::Value path {:.0} ns/doc, writer {:.0} ns/doc ({:.1}x); last doc {bytes} bytes",
        old.as_nanos() as f64 / n,
        new.as_nanos() as f64 / n,
        old.as_secs_f64() / new.as_secs_f64()
    );
}

#[test]
fn cached_acting_processes_render_like_fresh_ones() {
    let clock = BootClock::new();
    let mut warm = Renderer::new();
    let (mut buf, mut fresh) = (Vec::new(), Vec::new());
    for hostile in HOSTILE {
        // Open, connect, accept and exe-deleted bodies are cached; the rest must not be.
        for body in bodies(hostile) {
            for mut e in contexts(hostile, &body) {
                for tid in [33, 34, 33] {
                    e.event.header.tid = tid;
                    buf.clear();
                    warm.render(&mut buf, &e, clock);
                    fresh.clear();
                    Renderer::new().render(&mut fresh, &e, clock);
                    assert_eq!(buf, fresh, "{hostile:?} {body:?}");
                }
            }
        }
    }
    assert_ne!(warm.process.len(), 0);
}

#[test]
fn an_acting_process_with_a_new_ancestor_is_rendered_anew() {
    let clock = BootClock::new();
    let body = bodies(b"plain")
        .into_iter()
        .find(|b| matches!(b, EventBody::Open(_)))
        .expect("an open body");
    let mut e = contexts(b"plain", &body).swap_remove(0);
    let mut renderer = Renderer::new();
    let mut buf = Vec::new();
    renderer.render(&mut buf, &e, clock);
    let mut grandparent = ProcessInfo::clone(&e.lineage.ancestors[0]);
    grandparent.executable = b"/usr/bin/after-exec".to_vec();
    Arc::make_mut(&mut e.lineage).ancestors[0] = Arc::new(grandparent);
    for _ in 0..2 {
        buf.clear();
        renderer.render(&mut buf, &e, clock);
        let doc: Value = serde_json::from_slice(&buf).expect("JSON");
        assert_eq!(
            doc["process"]["ancestors"][1]["executable"],
            "/usr/bin/after-exec"
        );
        assert_eq!(doc, reference(&e, clock));
    }
    Arc::make_mut(&mut e.lineage).group_leader = None;
    buf.clear();
    renderer.render(&mut buf, &e, clock);
    let doc: Value = serde_json::from_slice(&buf).expect("JSON");
    assert!(doc["process"].get("group_leader").is_none());
}
