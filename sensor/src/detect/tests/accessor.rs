//! The live accessor and the recorded (JSON) accessor must give every rule the same values.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;

use crate::context::{EnrichedEvent, HostInfo, Lineage, ProcessInfo};
use crate::detect::accessor::{Accessor, Category, FieldSource};
use crate::detect::fields::{ECS_NAMES, Field, SIGMA_NAMES};
use crate::detect::live::LiveEvent;
use crate::detect::recorded::RecordedEvent;
use crate::event::{Event, EventBody, ExecEvent, FdKind, Header, NetEvent, Transport};
use rsigma_eval::event::Event as _;

const T: i128 = 1_764_115_200_500_000_000;

fn parent() -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid: 100,
        entity_id: "ent-parent".into(),
        executable: b"/usr/sbin/nginx".to_vec(),
        args: vec![b"nginx:".to_vec(), b"worker".to_vec()],
        stdio: [FdKind::Pipe, FdKind::File, FdKind::File],
        ..ProcessInfo::default()
    })
}

fn enriched(body: EventBody, comm: &[u8]) -> EnrichedEvent {
    EnrichedEvent {
        event: Event {
            header: Header {
                ktime_ns: 1,
                tid: 4242,
                pid: 4242,
                uid: 33,
                gid: 33,
                cgroup_id: 7,
                comm: comm.to_vec(),
            },
            body,
        },
        process: Arc::new(ProcessInfo {
            pid: 4242,
            ppid: 100,
            entity_id: "ent-4242".into(),
            executable: b"/usr/bin/bash".to_vec(),
            args: vec![b"bash".to_vec(), b"-i".to_vec()],
            user_name: Some(Arc::from("www-data")),
            stdio: [FdKind::Socket, FdKind::Socket, FdKind::Tty],
            ..ProcessInfo::default()
        }),
        lineage: Arc::new(Lineage {
            parent: Some(parent()),
            ancestors: Vec::new(),
            group_leader: None,
            session_leader: None,
        }),
        host: Arc::new(HostInfo {
            name: "web1".into(),
            ..HostInfo::default()
        }),
    }
}

fn assert_agree(live: &LiveEvent<'_>, recorded: &RecordedEvent<'_>) {
    for &(name, field) in SIGMA_NAMES.iter().chain(ECS_NAMES) {
        let (la, ra) = (Accessor(live), Accessor(recorded));
        assert_eq!(
            la.get_field(name),
            ra.get_field(name),
            "field {name} ({field:?})"
        );
    }
    assert_eq!(live.category(), recorded.category());
    assert_eq!(live.time_unix_ns(), recorded.time_unix_ns());
}

#[test]
fn exec_event_reads_the_same_live_and_recorded() {
    let exec = ExecEvent {
        executable: b"/usr/bin/bash".to_vec(),
        // A newline in an argument is escaped the same way on both paths.
        args: vec![b"bash".to_vec(), b"-i".to_vec(), b"x\ny".to_vec()],
        argc: 3,
        ppid: Some(100),
        stdio: [FdKind::Socket, FdKind::Socket, FdKind::Tty],
        loginuid: Some(1000),
        cwd: Some(b"/var/www".to_vec()),
        exe_deleted: true,
        ..ExecEvent::default()
    };
    let ev = enriched(EventBody::Exec(exec), b"bash");
    let live = LiveEvent::new(&ev, T);
    let doc = json!({
        "@timestamp": "2025-11-26T00:00:00.500000000Z",
        "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "exec"},
        "process": {
            "pid": 4242, "executable": "/usr/bin/bash", "name": "bash",
            "args": ["bash", "-i", "x\\x0ay"], "args_count": 3, "command_line": "bash -i x\\x0ay",
            "entity_id": "ent-4242", "working_directory": "/var/www",
            "parent": {"pid": 100, "executable": "/usr/sbin/nginx", "name": "nginx",
                       "command_line": "nginx: worker", "entity_id": "ent-parent"}
        },
        "user": {"id": "33", "name": "www-data", "audit": {"id": "1000"}},
        "group": {"id": "33"},
        "host": {"name": "web1"},
        "sensor": {"stdio": {"stdin": "socket", "stdout": "socket", "stderr": "tty",
                              "parent_stdin": "pipe"},
                   "exec": {"memfd": false, "deleted": true}}
    });
    let recorded = RecordedEvent::new(&doc);
    assert_eq!(recorded.category(), Category::ProcessCreation);
    assert_agree(&live, &recorded);
    // And the live event's own rendering reads back identically.
    let rendered = live.document();
    assert_agree(&live, &RecordedEvent::new(&rendered));
    assert_eq!(
        live.field(Field::CommandLine)
            .and_then(|v| v.as_str().map(|s| s.into_owned())),
        Some("bash -i x\\x0ay".to_string())
    );
}

#[test]
fn connect_event_reads_the_same_live_and_recorded() {
    let net = NetEvent {
        transport: Transport::Tcp,
        local: (IpAddr::from([10, 0, 0, 5]), 40000),
        remote: (IpAddr::from([198, 51, 100, 7]), 4444),
        result: 0,
        fd: 3,
        ..NetEvent::default()
    };
    let ev = enriched(EventBody::Connect(net), b"bash");
    let live = LiveEvent::new(&ev, T);
    let doc = json!({
        "@timestamp": "2025-11-26T00:00:00.500000000Z",
        "event": {"kind": "event", "category": ["network"], "type": ["connection"], "action": "connect"},
        "process": {
            "pid": 4242, "executable": "/usr/bin/bash", "name": "bash", "args": ["bash", "-i"],
            "args_count": 2, "command_line": "bash -i", "entity_id": "ent-4242",
            "parent": {"pid": 100, "executable": "/usr/sbin/nginx", "name": "nginx",
                       "command_line": "nginx: worker", "entity_id": "ent-parent"}
        },
        "source": {"ip": "10.0.0.5", "port": 40000},
        "destination": {"ip": "198.51.100.7", "port": 4444},
        "network": {"transport": "tcp", "direction": "egress"},
        "user": {"id": "33", "name": "www-data"},
        "group": {"id": "33"},
        "host": {"name": "web1"},
        "sensor": {"stdio": {"stdin": "socket", "stdout": "socket", "stderr": "tty",
                              "parent_stdin": "pipe"}}
    });
    let recorded = RecordedEvent::new(&doc);
    assert_eq!(recorded.category(), Category::NetworkConnection);
    assert_agree(&live, &recorded);
    assert_eq!(
        Accessor(&live)
            .get_field("Initiated")
            .and_then(|v| v.as_str().map(|s| s.into_owned())),
        Some("true".to_string())
    );
}
