//! `sensor rules check|list` and `sensor replay` as an operator runs them (no privileges).

use std::path::PathBuf;
use std::process::Command;

fn sensor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sensor"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sensor-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

const GOOD: &str = "title: nc
id: 00000000-0000-0000-0000-00000000c0de
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: /nc
    condition: selection
level: high
tags: [attack.execution, attack.t1059.004]
";

#[test]
fn rules_check_names_file_line_and_problem_and_fails() {
    let dir = scratch("check");
    std::fs::write(dir.join("good.yml"), GOOD).expect("write");
    std::fs::write(
        dir.join("bad.yml"),
        GOOD.replace("condition: selection", "condition: selection and filter"),
    )
    .expect("write");
    let out = sensor()
        .args(["rules", "check"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("bad.yml:7:"), "{stdout}");
    assert!(stdout.contains("filter"), "{stdout}");
    let out = sensor()
        .args(["rules", "check"])
        .arg(dir.join("good.yml"))
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = sensor()
        .args(["rules", "list", "--rules"])
        .arg(&dir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        stdout.contains("00000000-0000-0000-0000-00000000c0de") && stdout.contains("T1059.004"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn replay_is_deterministic_and_skips_bad_input() {
    let dir = scratch("replay");
    std::fs::write(dir.join("r.yml"), GOOD).expect("write");
    let events = [
        r#"{"@timestamp":"2026-01-01T00:00:00Z","event":{"action":"exec"},"process":{"pid":1,"executable":"/usr/bin/nc","command_line":"nc -l 1"}}"#,
        "garbage \u{1}",
        r#"{"@timestamp":"2026-01-01T00:00:01Z","event":{"action":"exec"},"process":{"pid":2,"executable":"/usr/bin/ls"}}"#,
        r#"{"@timestamp":"2026-01-01T00:00:02Z","event":{"action":"exec"},"process":{"pid":3,"executable":"/bin/nc"}}"#,
    ];
    std::fs::write(dir.join("events.jsonl"), events.join("\n")).expect("write");
    let replay = || {
        let out = sensor()
            .args(["replay", "--rules"])
            .arg(dir.join("r.yml"))
            .arg(dir.join("events.jsonl"))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    let first = replay();
    assert_eq!(first, replay(), "same input, same output");
    let alerts: Vec<serde_json::Value> = first
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0]["@timestamp"], "2026-01-01T00:00:00.000000000Z");
    assert_eq!(alerts[1]["process"]["pid"], 3);
    assert_ne!(alerts[0]["event"]["id"], alerts[1]["event"]["id"]);
    // --alerts to a file.
    let path = dir.join("alerts.jsonl");
    let out = sensor()
        .args(["replay", "--rules"])
        .arg(dir.join("r.yml"))
        .arg("--alerts")
        .arg(&path)
        .arg(dir.join("events.jsonl"))
        .output()
        .expect("run");
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&path).expect("alerts"), first);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
