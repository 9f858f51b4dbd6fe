//! Issue 6, "evaluate on real behaviour": the attack and benign scenario scripts of
//! `tests/scenarios` run for real (without the sensor) and must each exit 0, end with their
//! `SCENARIO <name> pid=<pid> technique=<id> done` line (or a `SKIPPED:` line when a tool is
//! missing) and leave nothing behind: every file, user, network namespace and veth they
//! announced is gone or restored byte for byte, and no process of theirs is still running.
//! Each behaviour of the issue must be performed by at least three different variants.
//!
//! These prove the scripts; the sensor-backed end-to-end assertions build on the same lines.

use std::collections::BTreeMap;
use std::sync::Mutex;

use sensor_tests::scenario::{self, Outcome};

/// The scripts touch global state (/etc, users, namespaces): never two at once.
static SERIAL: Mutex<()> = Mutex::new(());

fn is_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED {test}: the scenarios change system files and need root");
        return false;
    }
    true
}

/// Runs the scripts of one behaviour; at least `min_done` must perform it (not skip).
fn run_behaviour(test: &str, suite: &str, prefixes: &[&str], min_done: usize) {
    if !is_root(test) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let paths = scenario::scripts(suite, prefixes).expect("listing the scenarios");
    assert!(
        !paths.is_empty(),
        "no {suite} scenario matches {prefixes:?}"
    );
    let mut problems = Vec::new();
    let mut done = BTreeMap::new();
    for path in &paths {
        let report = scenario::run(path).expect("running a scenario");
        let name = report.name.clone();
        let found = report.problems();
        if !found.is_empty() {
            problems.extend(found);
            continue;
        }
        match report.outcome {
            Ok(Outcome::Done { pid, technique }) => {
                let technique_ok = if suite == "benign" {
                    technique == "none"
                } else {
                    technique.starts_with('T') && technique.len() >= 5
                };
                if technique_ok {
                    eprintln!("PASS {name}: pid={pid} technique={technique}");
                    done.insert(name, technique);
                } else {
                    problems.push(format!("{name}: unexpected technique {technique:?}"));
                }
            }
            Ok(Outcome::Skipped(reason)) => eprintln!("SKIP {name}: {reason}"),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        done.len() >= min_done,
        "only {} of the {prefixes:?} scenarios ran ({:?}); at least {min_done} variants are needed",
        done.len(),
        done.keys().collect::<Vec<_>>()
    );
}

#[test]
fn reverse_and_bind_shells_run_and_clean_up() {
    run_behaviour(
        "reverse_and_bind_shells_run_and_clean_up",
        "attack",
        &["revshell-", "bindshell-"],
        3,
    );
}

#[test]
fn service_spawned_shells_run_and_clean_up() {
    run_behaviour(
        "service_spawned_shells_run_and_clean_up",
        "attack",
        &["service-"],
        3,
    );
}

#[test]
fn ingress_transfer_and_execution_run_and_clean_up() {
    run_behaviour(
        "ingress_transfer_and_execution_run_and_clean_up",
        "attack",
        &["ingress-"],
        3,
    );
}

#[test]
fn piping_into_a_shell_runs_and_cleans_up() {
    run_behaviour(
        "piping_into_a_shell_runs_and_cleans_up",
        "attack",
        &["pipe-"],
        3,
    );
}

#[test]
fn fileless_and_masquerading_run_and_clean_up() {
    run_behaviour(
        "fileless_and_masquerading_run_and_clean_up",
        "attack",
        &["fileless-", "masquerade-"],
        3,
    );
}

#[test]
fn beaconing_runs_and_cleans_up() {
    run_behaviour("beaconing_runs_and_cleans_up", "attack", &["beacon-"], 3);
}

#[test]
fn credential_access_runs_and_cleans_up() {
    run_behaviour(
        "credential_access_runs_and_cleans_up",
        "attack",
        &["cred-"],
        3,
    );
}

#[test]
fn persistence_runs_and_restores_everything() {
    run_behaviour(
        "persistence_runs_and_restores_everything",
        "attack",
        &["persist-"],
        3,
    );
}

#[test]
fn discovery_bursts_run() {
    run_behaviour("discovery_bursts_run", "attack", &["discovery-"], 3);
}

#[test]
fn staging_and_exfiltration_run_and_clean_up() {
    run_behaviour(
        "staging_and_exfiltration_run_and_clean_up",
        "attack",
        &["exfil-"],
        3,
    );
}

#[test]
fn defence_evasion_runs_and_restores_everything() {
    run_behaviour(
        "defence_evasion_runs_and_restores_everything",
        "attack",
        &["evade-"],
        3,
    );
}

#[test]
fn benign_suite_runs_and_cleans_up() {
    run_behaviour("benign_suite_runs_and_cleans_up", "benign", &[""], 8);
}

#[test]
fn every_attack_script_belongs_to_a_tested_behaviour() {
    let known = [
        "revshell-",
        "bindshell-",
        "service-",
        "ingress-",
        "pipe-",
        "fileless-",
        "masquerade-",
        "beacon-",
        "cred-",
        "persist-",
        "discovery-",
        "exfil-",
        "evade-",
    ];
    let stray: Vec<String> = scenario::scripts("attack", &[""])
        .expect("listing the scenarios")
        .iter()
        .map(|p| scenario::name(p))
        .filter(|n| !known.iter().any(|k| n.starts_with(k)))
        .collect();
    assert!(
        stray.is_empty(),
        "attack scripts no test runs (name them <behaviour>-<variant>): {stray:?}"
    );
}

/// The checks above must be able to fail: a script that leaks a file, one that never records
/// its key process and one that fails are all reported.
#[test]
fn contract_violations_are_caught() {
    if !is_root("contract_violations_are_caught") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("scn-contract-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let lib = scenario::dir().join("lib.sh");
    let leak = dir.join("leak");
    let write = |name: &str, body: &str| {
        let path = dir.join(format!("{name}.sh"));
        let text = format!(
            "#!/usr/bin/env bash\n. {}\nscn_begin {name} T0000\n{body}\n",
            lib.display()
        );
        std::fs::write(&path, text).expect("write script");
        path
    };
    let leaky = write(
        "leaky",
        &format!(
            "scn_artifact path {0}\ntouch {0}\nsleep 1 &\nscn_done $!",
            leak.display()
        ),
    );
    let no_key = write("no-key", "true");
    let failing = write("failing", "scn_fail 'could not do it'");

    let report = scenario::run(&leaky).expect("run leaky");
    assert!(
        report.residue.iter().any(|r| r.contains("left behind")),
        "leak not reported: {report:?}"
    );
    let report = scenario::run(&no_key).expect("run no-key");
    assert!(
        !report.status.success() && report.outcome.is_err(),
        "{report:?}"
    );
    let report = scenario::run(&failing).expect("run failing");
    assert!(
        !report.status.success() && !report.problems().is_empty(),
        "{report:?}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
