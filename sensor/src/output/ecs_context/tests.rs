//! The ECS context fields of an enriched event.

use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::context::model::{Lineage, PodInfo};
use crate::event::{Event, ExitEvent, Header};

fn proc(pid: u32, exe: &[u8]) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        ppid: pid.saturating_sub(1),
        entity_id: format!("e{pid}"),
        start_unix_ns: 1_795_667_052_000_000_000,
        executable: exe.to_vec(),
        args: vec![exe.to_vec(), b"-c".to_vec(), b"id; echo".to_vec()],
        working_directory: Some(b"/tmp".to_vec()),
        uid: 1000,
        gid: 1000,
        euid: 0,
        egid: 1000,
        user_name: Some(Arc::from("alice")),
        group_name: Some(Arc::from("alice")),
        effective_user_name: Some(Arc::from("root")),
        loginuid: Some(1000),
        ..ProcessInfo::default()
    })
}

fn enriched(body: EventBody) -> EnrichedEvent {
    let mut process = ProcessInfo::clone(&proc(30, b"/usr/bin/su\x1b[31m"));
    process.previous_executable = Some(b"/bin/bash".to_vec());
    process.end_unix_ns = Some(1_795_667_053_000_000_000);
    process.container = Some(Arc::new(ContainerInfo {
        id: "c".repeat(64),
        runtime: "containerd".into(),
        pod: Some(PodInfo {
            uid: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into(),
            name: Some("web".into()),
            namespace: Some("shop".into()),
            container_name: Some("nginx".into()),
            node_name: Some("node-a".into()),
        }),
    }));
    EnrichedEvent {
        event: Event {
            header: Header {
                pid: 30,
                uid: 1000,
                gid: 1000,
                ..Header::default()
            },
            body,
        },
        process: Arc::new(process),
        lineage: Arc::new(Lineage {
            parent: Some(proc(29, b"/bin/bash")),
            ancestors: vec![proc(28, b"/usr/sbin/sshd"), proc(1, b"/sbin/init")],
            group_leader: Some(proc(29, b"/bin/bash")),
            session_leader: None,
        }),
        host: Arc::new(HostInfo {
            name: "h1".into(),
            id: Some("feedc0de".into()),
            os_name: Some("Debian GNU/Linux".into()),
            kernel: "6.18.0".into(),
            architecture: "x86_64".into(),
            ..HostInfo::default()
        }),
    }
}

fn at<'a>(doc: &'a Map<String, Value>, path: &str) -> &'a Value {
    let mut parts = path.split('.');
    let first = parts
        .next()
        .and_then(|k| doc.get(k))
        .unwrap_or(&Value::Null);
    parts.fold(first, |v, k| v.get(k).unwrap_or(&Value::Null))
}

#[test]
fn renders_process_user_container_and_host_fields() {
    let mut doc = Map::new();
    doc.insert(
        "process".into(),
        json!({ "pid": 30, "thread": { "id": 31 } }),
    );
    doc.insert("sensor".into(), json!({ "escaped": ["process.name"] }));
    add_context(
        &mut doc,
        &enriched(EventBody::Exit(ExitEvent { exit_code: 256 })),
    );

    assert_eq!(
        at(&doc, "process.thread.id"),
        &json!(31),
        "event fields are kept"
    );
    assert_eq!(at(&doc, "process.entity_id"), &json!("e30"));
    assert_eq!(
        at(&doc, "process.start"),
        &json!("2026-11-26T04:24:12.000000000Z")
    );
    assert_eq!(
        at(&doc, "process.executable"),
        &json!("/usr/bin/su\\x1b[31m")
    );
    assert_eq!(
        at(&doc, "process.command_line"),
        &json!("/usr/bin/su\\x1b[31m -c id; echo")
    );
    assert_eq!(at(&doc, "process.args_count"), &json!(3));
    assert_eq!(at(&doc, "process.working_directory"), &json!("/tmp"));
    assert_eq!(
        at(&doc, "process.exit_code"),
        &json!(1),
        "status 256 is exit(1)"
    );
    assert_eq!(
        at(&doc, "process.end"),
        &json!("2026-11-26T04:24:13.000000000Z")
    );
    assert_eq!(
        at(&doc, "process.previous"),
        &json!([{ "executable": "/bin/bash" }])
    );
    assert_eq!(at(&doc, "process.parent.pid"), &json!(29));
    assert_eq!(at(&doc, "process.parent.entity_id"), &json!("e29"));
    assert_eq!(at(&doc, "process.parent.name"), &json!("bash"));
    assert_eq!(at(&doc, "process.group_leader.pid"), &json!(29));
    assert_eq!(at(&doc, "process.session_leader"), &Value::Null);
    let chain: Vec<u64> = at(&doc, "process.ancestors")
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["pid"].as_u64())
        .collect();
    assert_eq!(chain, vec![29, 28, 1], "parent first, then upward");
    assert_eq!(
        at(&doc, "process.ancestors")[1]["executable"],
        json!("/usr/sbin/sshd")
    );

    assert_eq!(at(&doc, "user.id"), &json!("1000"));
    assert_eq!(at(&doc, "user.name"), &json!("alice"));
    assert_eq!(at(&doc, "user.effective.id"), &json!("0"));
    assert_eq!(at(&doc, "user.effective.name"), &json!("root"));
    assert_eq!(
        at(&doc, "group.effective"),
        &Value::Null,
        "same as the real group"
    );
    assert_eq!(at(&doc, "user.audit.id"), &json!("1000"));
    assert_eq!(at(&doc, "process.user.id"), &json!("0"));
    assert_eq!(at(&doc, "process.real_user.name"), &json!("alice"));

    assert_eq!(at(&doc, "container.id"), &json!("c".repeat(64)));
    assert_eq!(at(&doc, "container.runtime"), &json!("containerd"));
    assert_eq!(at(&doc, "container.name"), &json!("nginx"));
    assert_eq!(at(&doc, "orchestrator.type"), &json!("kubernetes"));
    assert_eq!(at(&doc, "orchestrator.namespace"), &json!("shop"));
    assert_eq!(at(&doc, "orchestrator.resource.type"), &json!("pod"));
    assert_eq!(at(&doc, "orchestrator.resource.name"), &json!("web"));
    assert_eq!(
        at(&doc, "kubernetes.pod.uid"),
        &json!("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
    );
    assert_eq!(at(&doc, "kubernetes.node.name"), &json!("node-a"));

    assert_eq!(at(&doc, "host.name"), &json!("h1"));
    assert_eq!(at(&doc, "host.id"), &json!("feedc0de"));
    assert_eq!(at(&doc, "host.os.kernel"), &json!("6.18.0"));
    assert_eq!(at(&doc, "host.os.type"), &json!("linux"));
    assert_eq!(at(&doc, "host.architecture"), &json!("x86_64"));

    let escaped = at(&doc, "sensor.escaped").as_array().expect("list");
    assert!(escaped.contains(&json!("process.name")));
    assert!(escaped.contains(&json!("process.executable")));
    assert!(escaped.contains(&json!("process.command_line")));
}

#[test]
fn a_failed_exec_reports_the_attempted_program_and_keeps_event_user_fields() {
    let exec = crate::event::ExecEvent {
        executable: b"/tmp/nope".to_vec(),
        args: vec![b"/tmp/nope".to_vec()],
        result: -13,
        euid: Some(1000),
        ..crate::event::ExecEvent::default()
    };
    let mut e = enriched(EventBody::Exec(exec));
    let mut p = ProcessInfo::clone(&e.process);
    (p.euid, p.egid) = (1000, 1000);
    e.process = Arc::new(p);
    let mut doc = Map::new();
    // What the event document renders for an exec that reported its effective ids.
    doc.insert(
        "user".into(),
        json!({ "id": "1000", "effective": { "id": "1000" } }),
    );
    add_context(&mut doc, &e);
    assert_eq!(at(&doc, "process.executable"), &json!("/tmp/nope"));
    assert_eq!(at(&doc, "process.command_line"), &json!("/tmp/nope"));
    assert_eq!(at(&doc, "process.entity_id"), &json!("e30"));
    assert_eq!(at(&doc, "user.effective.id"), &json!("1000"));
    assert_eq!(at(&doc, "user.effective.name"), &json!("alice"));
    assert_eq!(at(&doc, "group.effective"), &Value::Null);
}

#[test]
fn a_signal_death_is_128_plus_the_signal() {
    let mut doc = Map::new();
    add_context(
        &mut doc,
        &enriched(EventBody::Exit(ExitEvent { exit_code: 9 })),
    );
    assert_eq!(at(&doc, "process.exit_code"), &json!(137));
}

#[test]
fn host_processes_have_no_container_fields() {
    let mut e = enriched(EventBody::Exit(ExitEvent::default()));
    let mut p = ProcessInfo::clone(&e.process);
    p.container = None;
    e.process = Arc::new(p);
    let mut doc = Map::new();
    add_context(&mut doc, &e);
    assert!(doc.get("container").is_none());
    assert!(doc.get("orchestrator").is_none());
    assert!(doc.get("kubernetes").is_none());
}

#[test]
fn related_processes_are_rendered_lighter() {
    let mut doc = Map::new();
    add_context(&mut doc, &enriched(EventBody::Exit(ExitEvent::default())));
    let first = &at(&doc, "process.ancestors")[0];
    assert!(first.get("args").is_some() && first.get("command_line").is_none());
    assert!(at(&doc, "process.parent.command_line").is_string());
    let leader = at(&doc, "process.group_leader");
    assert!(leader.get("executable").is_some() && leader.get("args").is_none());
}

#[test]
fn ancestor_arguments_are_capped() {
    let mut e = enriched(EventBody::Exit(ExitEvent::default()));
    let mut big = ProcessInfo::clone(&e.lineage.ancestors[0]);
    big.args = (0..40).map(|i| vec![b'a' + (i % 26) as u8; 1000]).collect();
    Arc::make_mut(&mut e.lineage).ancestors[0] = Arc::new(big);
    let mut doc = Map::new();
    add_context(&mut doc, &e);
    let gp = &at(&doc, "process.ancestors")[1];
    let args = gp["args"].as_array().expect("args");
    assert_eq!(args.len(), ANCESTOR_MAX_ARGS);
    assert!(args.iter().all(|a| {
        a.as_str()
            .is_some_and(|s| s.len() == ANCESTOR_MAX_ARG_BYTES)
    }));
    assert_eq!(gp["args_count"], json!(40));
    assert_eq!(gp["args_truncated"], json!(true));
    assert!(
        at(&doc, "process.ancestors")[0]
            .get("args_truncated")
            .is_none()
    );
}
