use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::context::{HostInfo, Lineage, ProcessInfo};
use crate::event::{Event, ExecEvent, Header, OpenEvent};

const SENSOR: u32 = 777;

fn open(pid: u32, comm: &[u8], path: &[u8], flags: i32) -> EnrichedEvent {
    EnrichedEvent {
        event: Event {
            header: Header {
                pid,
                tid: pid,
                comm: comm.to_vec(),
                ..Header::default()
            },
            body: EventBody::Open(OpenEvent {
                path: path.to_vec(),
                flags: flags as u32,
                ..OpenEvent::default()
            }),
        },
        process: Arc::new(ProcessInfo {
            pid,
            ..ProcessInfo::default()
        }),
        lineage: Arc::new(Lineage {
            parent: None,
            ancestors: Vec::new(),
            group_leader: None,
            session_leader: None,
        }),
        host: Arc::new(HostInfo::default()),
    }
}

#[test]
fn another_process_opening_our_memory_is_tamper() {
    let g = Guard::for_pid(SENSOR);
    for path in [
        &b"/proc/777/mem"[..],
        b"/proc/777/maps",
        b"/proc/777/task/778/mem",
        b"/proc/777/environ",
    ] {
        assert_eq!(
            g.classify(&open(1234, b"gdb", path, libc::O_RDONLY)),
            Some(Tamper::ProcAccess),
            "{}",
            String::from_utf8_lossy(path)
        );
    }
    for path in [
        &b"/proc/7770/mem"[..],
        b"/proc/77/mem",
        b"/proc/777/status",
        b"/proc/777",
        b"/proc/self/mem",
    ] {
        assert_eq!(g.classify(&open(1234, b"ps", path, 0)), None);
    }
}

#[test]
fn naming_yourself_after_the_sensor_does_not_help() {
    let g = Guard::for_pid(SENSOR);
    let ev = open(1234, b"sensor", b"/proc/777/mem", libc::O_RDWR);
    assert_eq!(g.classify(&ev), Some(Tamper::ProcAccess));
    // Only the real pid is "the sensor itself".
    assert_eq!(
        g.classify(&open(SENSOR, b"sensor", b"/proc/777/mem", 0)),
        None
    );
}

#[test]
fn writing_tracing_controls_is_tamper_reading_is_not() {
    let g = Guard::for_pid(SENSOR);
    let w = libc::O_WRONLY | libc::O_TRUNC;
    for path in [
        &b"/sys/kernel/tracing/tracing_on"[..],
        b"/sys/kernel/debug/tracing/events/sched/sched_process_exec/enable",
    ] {
        assert_eq!(
            g.classify(&open(9, b"sh", path, w)),
            Some(Tamper::TracingControl)
        );
        assert_eq!(g.classify(&open(9, b"sh", path, libc::O_RDONLY)), None);
    }
    assert_eq!(
        g.classify(&open(9, b"sh", b"/sys/fs/bpf/x", libc::O_RDWR)),
        Some(Tamper::BpfPin)
    );
    let exec = EnrichedEvent {
        event: Event {
            header: Header::default(),
            body: EventBody::Exec(ExecEvent::default()),
        },
        ..open(9, b"sh", b"", 0)
    };
    assert_eq!(g.classify(&exec), None);
}

#[test]
fn tamper_alert_has_the_sigma_alert_shape() {
    let mut g = Guard::for_pid(SENSOR);
    let ev = open(1234, b"\x1b[31mevil\n", b"/proc/777/mem", 0);
    let doc = json!({"@timestamp": "2026-01-01T00:00:00Z", "process": {"pid": 1234}});
    let mut alerts = Vec::new();
    g.check(&ev, || doc.clone(), &mut alerts);
    g.check(&ev, || doc.clone(), &mut alerts);
    assert_eq!(alerts.len(), 2);
    let a = &alerts[0];
    assert_eq!(a["event"]["kind"], "alert");
    assert_eq!(a["rule"]["id"], "sensor-tamper-proc-access");
    assert_eq!(a["rule"]["ruleset"], "self-protection");
    assert_eq!(a["threat"]["technique"][0]["id"], "T1562.001");
    assert_eq!(a["process"]["pid"], 1234);
    assert_eq!(a["@timestamp"], "2026-01-01T00:00:00Z");
    assert_ne!(alerts[0]["event"]["id"], alerts[1]["event"]["id"]);
}

#[test]
fn bpf_and_self_check_alerts_name_the_caller_and_the_object() {
    use crate::protect::bpf::BpfCall;
    use crate::protect::inventory::{Object, Problem};
    let mut g = Guard::for_pid(SENSOR);
    let call = BpfCall {
        ktime_ns: 1,
        pid: 4321,
        tid: 4322,
        uid: 0,
        comm: b"bpf\ntool".to_vec(),
        cmd: sensor_common::bpf::cmd::MAP_GET_FD_BY_ID,
        first: 7,
        second: 0,
        unreadable: false,
    };
    let a = g.bpf_alert(&call, Object::Map(7), crate::time::BootClock::new());
    assert_eq!(a["rule"]["id"], "sensor-tamper-bpf-handle");
    assert_eq!(a["sigma"]["level"], "medium");
    assert_eq!(a["process"]["pid"], 4321);
    assert_eq!(a["process"]["name"], "bpf\\x0atool");
    assert_eq!(a["sensor"]["event"]["bpf"]["object"]["type"], "map");
    assert_eq!(a["sensor"]["event"]["bpf"]["object"]["id"], 7);
    let change = BpfCall {
        cmd: sensor_common::bpf::cmd::LINK_DETACH,
        ..call
    };
    let a = g.bpf_alert(
        &change,
        Object::Link { id: 3, prog: 41 },
        Default::default(),
    );
    assert_eq!(a["rule"]["id"], "sensor-tamper-bpf-change");
    assert_eq!(a["sigma"]["level"], "high");
    assert_eq!(a["sensor"]["event"]["bpf"]["command"], "BPF_LINK_DETACH");
    let a = g.self_check_alert(&Problem::LinkGone(3));
    assert_eq!(a["rule"]["id"], "sensor-tamper-self-check");
    assert_eq!(a["process"]["pid"], SENSOR);
    assert!(
        a["sensor"]["event"]["event"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("link 3"))
    );
}

#[test]
fn a_silenced_hook_alert_names_every_hook_once() {
    use sensor_common::canary::Hook;
    let mut g = Guard::for_pid(SENSOR);
    let a = g.hook_silenced_alert(&[Hook::OpenatExit, Hook::ConnectExit]);
    assert_eq!(a["rule"]["id"], "sensor-tamper-hook-silenced");
    assert_eq!(a["rule"]["name"], "Sensor Capture Hook Silenced");
    assert_eq!(a["sigma"]["level"], "high");
    assert_eq!(a["process"]["pid"], SENSOR);
    assert_eq!(
        a["sensor"]["event"]["bpf"]["hooks"],
        serde_json::json!(["sys_exit_openat", "sys_exit_connect"])
    );
    assert!(
        a["sensor"]["event"]["event"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("sys_exit_connect"))
    );
}
