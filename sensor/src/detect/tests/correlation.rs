//! The correlation examples of the Sigma specification
//! (`sigma-correlation-rules-specification.md`), on our event fields: the spec's Windows
//! login events become execs of `/usr/bin/false` (failed) and `/usr/bin/true` (success).

use serde_json::{Value, json};

use super::{engine, exec, net, run, titles};

const BASE: &str = r#"
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image: /usr/bin/false
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image: /usr/bin/true
    condition: selection
"#;

fn user(name: &str) -> Value {
    json!({"user": {"name": name}})
}

fn failed(t: f64, who: &str) -> Value {
    exec(t, 100, "/usr/bin/false", "false", user(who))
}

fn success(t: f64, who: &str) -> Value {
    exec(t, 101, "/usr/bin/true", "true", user(who))
}

fn with_base(corr: &str) -> String {
    format!("{corr}\n---{BASE}")
}

const EVENT_COUNT: &str = r#"
title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
correlation:
    type: event_count
    rules:
        - 53ba33fd-3a50-4468-a5ef-c583635cfa92
    group-by:
        - User
    timespan: 10s
    condition:
        gte: 3
"#;

#[test]
fn event_count_fires_at_the_threshold_within_the_window_per_group() {
    let mut e = engine(&with_base(EVENT_COUNT));
    let alerts = run(
        &mut e,
        &[
            failed(0.0, "alice"),
            failed(1.0, "bob"),
            failed(5.0, "alice"),
            failed(6.0, "bob"),
            failed(10.0, "alice"),
        ],
    );
    assert_eq!(
        titles(&alerts),
        ["Many failed logins"],
        "third alice event at the window edge counts"
    );
    assert_eq!(
        alerts[0]["sensor"]["correlation"]["group"][0]["value"],
        "alice"
    );
    assert_eq!(
        alerts[0]["sensor"]["correlation"]["events"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    // The base rule does not alert by itself (`generate` is false by default).
    let mut e = engine(&with_base(EVENT_COUNT));
    let alerts = run(
        &mut e,
        &[
            failed(0.0, "alice"),
            failed(5.0, "alice"),
            failed(11.0, "alice"),
        ],
    );
    assert!(
        alerts.is_empty(),
        "first event fell out of the 10 s window: {alerts:?}"
    );
}

const VALUE_COUNT: &str = r#"
title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - 53ba33fd-3a50-4468-a5ef-c583635cfa92
    group-by:
        - process.parent.pid
    timespan: 1m
    condition:
        field: User
        gte: 3
"#;

#[test]
fn value_count_counts_distinct_values() {
    let mut e = engine(&with_base(VALUE_COUNT));
    let alerts = run(
        &mut e,
        &[
            failed(0.0, "a"),
            failed(1.0, "a"),
            failed(2.0, "b"),
            failed(3.0, "b"),
        ],
    );
    assert!(alerts.is_empty(), "two distinct users only");
    let alerts = run(&mut e, &[failed(30.0, "c")]);
    assert_eq!(titles(&alerts), ["Failed login"]);
    assert_eq!(alerts[0]["sensor"]["correlation"]["value"], 3.0);
    let mut e = engine(&with_base(VALUE_COUNT));
    let alerts = run(
        &mut e,
        &[failed(0.0, "a"), failed(30.0, "b"), failed(61.0, "c")],
    );
    assert!(alerts.is_empty(), "a left the 1 m window");
}

const RECON: &str = r#"
title: recon a
name: recon_cmd_a
logsource: {product: linux, category: process_creation}
detection: {selection: {Image|endswith: /whoami}, condition: selection}
---
title: recon b
name: recon_cmd_b
logsource: {product: linux, category: process_creation}
detection: {selection: {Image|endswith: /uname}, condition: selection}
---
title: recon c
name: recon_cmd_c
logsource: {product: linux, category: process_creation}
detection: {selection: {Image|endswith: /hostname}, condition: selection}
"#;

fn recon(kind: &str) -> String {
    format!(
        r#"title: Recon
id: 11111111-2222-3333-4444-555555555555
correlation:
    type: {kind}
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - host.name
        - User
    timespan: 5m
---
{RECON}"#
    )
}

fn cmd(t: f64, exe: &str, who: &str) -> Value {
    exec(
        t,
        200,
        exe,
        exe,
        json!({"user": {"name": who}, "host": {"name": "h1"}}),
    )
}

#[test]
fn temporal_accepts_any_order_within_the_window() {
    let mut e = engine(&recon("temporal"));
    let alerts = run(
        &mut e,
        &[
            cmd(0.0, "/usr/bin/hostname", "u"),
            cmd(100.0, "/usr/bin/whoami", "u"),
            cmd(200.0, "/usr/bin/uname", "u"),
        ],
    );
    assert_eq!(titles(&alerts), ["Recon"]);
    let mut e = engine(&recon("temporal"));
    let alerts = run(
        &mut e,
        &[
            cmd(0.0, "/usr/bin/hostname", "u"),
            cmd(100.0, "/usr/bin/whoami", "v"),
            cmd(200.0, "/usr/bin/uname", "u"),
        ],
    );
    assert!(alerts.is_empty(), "different users are different groups");
    let mut e = engine(&recon("temporal"));
    let alerts = run(
        &mut e,
        &[
            cmd(0.0, "/usr/bin/hostname", "u"),
            cmd(100.0, "/usr/bin/whoami", "u"),
            cmd(301.0, "/usr/bin/uname", "u"),
        ],
    );
    assert!(alerts.is_empty(), "span over 5 m");
}

#[test]
fn temporal_ordered_requires_the_rule_order() {
    let mut e = engine(&recon("temporal_ordered"));
    let alerts = run(
        &mut e,
        &[
            cmd(0.0, "/usr/bin/hostname", "u"),
            cmd(1.0, "/usr/bin/whoami", "u"),
            cmd(2.0, "/usr/bin/uname", "u"),
        ],
    );
    assert!(
        alerts.is_empty(),
        "c, a, b is out of order: {:?}",
        titles(&alerts)
    );
    let alerts = run(&mut e, &[cmd(3.0, "/usr/bin/hostname", "u")]);
    assert_eq!(
        titles(&alerts),
        ["Recon"],
        "a, b, then c completes the order"
    );
    let evidence = alerts[0]["sensor"]["correlation"]["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let exes: Vec<&str> = evidence
        .iter()
        .filter_map(|e| e["process"]["executable"].as_str())
        .collect();
    assert_eq!(exes.last(), Some(&"/usr/bin/hostname"));
}

const ALIASES: &str = r#"
name: internal_error
title: internal error
logsource: {product: linux, category: network_connection}
detection: {selection: {DestinationPort: 8080}, condition: selection}
---
name: new_network_connection
title: new connection
logsource: {product: linux, category: network_connection}
detection: {selection: {DestinationPort: 9090}, condition: selection}
---
title: Aliased
id: 99999999-2222-3333-4444-555555555555
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
"#;

#[test]
fn aliases_group_different_fields_together() {
    // Accept from 198.51.100.9 on port 8080, then connect to 198.51.100.9:9090 from the same host.
    let accept = |t: f64| {
        net(
            t,
            1,
            "/usr/sbin/app",
            false,
            ("198.51.100.9", 50000),
            json!({"destination": {"port": 8080}}),
        )
    };
    let connect =
        |t: f64, remote: &str| net(t, 1, "/usr/sbin/app", true, (remote, 9090), json!({}));
    let mut e = engine(ALIASES);
    let alerts = run(&mut e, &[accept(0.0), connect(1.0, "198.51.100.9")]);
    assert_eq!(titles(&alerts), ["Aliased"]);
    let mut e = engine(ALIASES);
    let alerts = run(&mut e, &[accept(0.0), connect(1.0, "198.51.100.10")]);
    assert!(alerts.is_empty());
}

const CHAINED: &str = r#"
title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
status: experimental
description: Detects multiple failed logins by a single user followed by a successful login of that user
references:
    - https://reference.com
author: Florian Roth (Nextron Systems)
date: 2023-06-16
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
falsepositives:
    - Unlikely
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
description: Detects multiple failed logins within a certain amount of time
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
"#;

#[test]
fn chained_example_from_the_specification() {
    let mut events: Vec<Value> = (0..10)
        .map(|i| failed(f64::from(i) * 10.0, "mallory"))
        .collect();
    events.push(success(200.0, "mallory"));
    let mut e = engine(&with_base(CHAINED));
    let alerts = run(&mut e, &events);
    assert_eq!(
        titles(&alerts),
        ["Correlation - Multiple Failed Logins Followed by Successful Login"]
    );
    assert_eq!(
        alerts[0]["rule"]["author"],
        "Florian Roth (Nextron Systems)"
    );
    assert_eq!(alerts[0]["event"]["severity"], 73);
    // Nine failures are not enough; a success first does not count.
    let mut events: Vec<Value> = vec![success(0.0, "eve")];
    events.extend((0..9).map(|i| failed(1.0 + f64::from(i), "eve")));
    events.push(success(100.0, "eve"));
    let mut e = engine(&with_base(CHAINED));
    assert!(run(&mut e, &events).is_empty());
}

#[test]
fn correlation_state_is_bounded_and_evictions_are_counted() {
    use crate::detect::{Engine, EngineConfig};
    let config = EngineConfig {
        max_state_entries: 8,
        ..EngineConfig::default()
    };
    let mut e = Engine::new(&super::rules(&with_base(EVENT_COUNT)), config).expect("engine");
    // 100 users, one failure each: 100 groups, far over the cap.
    let events: Vec<Value> = (0..100)
        .map(|i| failed(f64::from(i), &format!("user{i}")))
        .collect();
    assert!(run(&mut e, &events).is_empty());
    assert!(
        e.state_count() <= 8,
        "state {} over the cap",
        e.state_count()
    );
    assert!(e.stats().state_evictions >= 90, "{:?}", e.stats());
    // Expiry on tick drops what is left.
    e.tick(4_000_000_000);
    assert_eq!(e.state_count(), 0);
}
