//! ECS rendering tests on hand-built events.

use std::net::IpAddr;

use super::*;
use crate::event::{FdKind, Header};

fn event(body: EventBody) -> Event {
    Event {
        header: Header {
            ktime_ns: 1,
            tid: 11,
            pid: 10,
            uid: 1000,
            gid: 1000,
            cgroup_id: 7,
            comm: b"sh".to_vec(),
        },
        body,
    }
}

#[test]
fn exec_escapes_and_marks_hostile_arguments() {
    let exec = ExecEvent {
        executable: b"/bin/echo".to_vec(),
        args: vec![b"echo".to_vec(), b"a\nb".to_vec(), vec![b'x', 0xff]],
        argc: 3,
        stdio: [FdKind::Socket, FdKind::Socket, FdKind::Pipe],
        ppid: Some(1),
        euid: Some(0),
        ..ExecEvent::default()
    };
    let doc = document(&event(EventBody::Exec(exec)), BootClock::new());
    assert_eq!(doc["process"]["args"][1], "a\\x0ab");
    assert_eq!(doc["process"]["args"][2], "x\\xff");
    assert_eq!(doc["process"]["command_line"], "echo a\\x0ab x\\xff");
    assert_eq!(doc["process"]["name"], "echo");
    assert_eq!(doc["process"]["parent"]["pid"], 1);
    assert_eq!(doc["user"]["id"], "1000");
    assert_eq!(doc["user"]["effective"]["id"], "0");
    assert_eq!(doc["event"]["outcome"], "success");
    assert_eq!(doc["sensor"]["stdio"], json!(["socket", "socket", "pipe"]));
    let escaped = doc["sensor"]["escaped"].as_array().expect("escaped list");
    assert!(escaped.contains(&json!("process.args")));
    assert!(escaped.contains(&json!("process.command_line")));
}

#[test]
fn failed_exec_has_errno() {
    let exec = ExecEvent {
        executable: b"/nope".to_vec(),
        result: -2,
        ..ExecEvent::default()
    };
    let doc = document(&event(EventBody::Exec(exec)), BootClock::new());
    assert_eq!(doc["event"]["outcome"], "failure");
    assert_eq!(doc["sensor"]["exec"]["errno"], "ENOENT");
    assert_eq!(doc["process"]["name"], "sh");
}

#[test]
fn connect_and_accept_orient_source_and_destination() {
    let net = NetEvent {
        transport: Transport::Udp,
        local: (IpAddr::from([127, 0, 0, 1]), 40000),
        remote: (IpAddr::from([127, 0, 0, 2]), 53),
        result: -111,
        fd: 3,
        sock_type: 2,
    };
    let doc = document(&event(EventBody::Connect(net.clone())), BootClock::new());
    assert_eq!(doc["source"]["port"], 40000);
    assert_eq!(doc["destination"]["ip"], "127.0.0.2");
    assert_eq!(doc["network"]["transport"], "udp");
    assert_eq!(doc["network"]["direction"], "egress");
    assert_eq!(doc["sensor"]["network"]["errno"], "ECONNREFUSED");
    let doc = document(&event(EventBody::Accept(net)), BootClock::new());
    assert_eq!(doc["source"]["port"], 53);
    assert_eq!(doc["network"]["direction"], "ingress");
}

#[test]
fn open_decodes_flags_and_counts() {
    let open = OpenEvent {
        path: b"/tmp/x".to_vec(),
        flags: 0o1101,
        mode: 0o644,
        result: 3,
        count: 4,
        ..OpenEvent::default()
    };
    let doc = document(&event(EventBody::Open(open)), BootClock::new());
    assert_eq!(doc["file"]["path"], "/tmp/x");
    assert_eq!(doc["file"]["name"], "x");
    assert_eq!(doc["event"]["type"], json!(["creation"]));
    assert_eq!(
        doc["sensor"]["open"]["flags"],
        json!(["O_WRONLY", "O_CREAT", "O_TRUNC"])
    );
    assert_eq!(doc["sensor"]["open"]["collapsed"], 3);
    assert_eq!(doc["sensor"]["open"]["fd"], 3);
}

#[test]
fn exit_code_and_signal() {
    let doc = document(
        &event(EventBody::Exit(ExitEvent { exit_code: 3 << 8 })),
        BootClock::new(),
    );
    assert_eq!(doc["process"]["exit_code"], 3);
    let doc = document(
        &event(EventBody::Exit(ExitEvent { exit_code: 9 })),
        BootClock::new(),
    );
    assert_eq!(doc["process"]["exit_code"], 137);
    assert_eq!(doc["sensor"]["exit"]["signal"], 9);
}
