//! Issue 6, "evaluate on real behaviour": the attack and benign scenario scripts of
//! `tests/scenarios` run for real (without the sensor) and must each exit 0, end with their
//! `SCENARIO <name> pid=<pid> technique=<id> done` line (or a `SKIPPED:` line when a tool is
//! missing) and leave nothing behind: every file, user, network namespace and veth they
//! announced is gone or restored byte for byte, and no process of theirs is still running.
//! Each behaviour of the issue must be performed by at least three different variants.
//!
//! These prove the scripts; the sensor-backed end-to-end assertions build on the same lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// The scripts touch global state (/etc, users, namespaces): never two at once.
static SERIAL: Mutex<()> = Mutex::new(());
static RUN: AtomicU32 = AtomicU32::new(0);

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn is_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED {test}: the scenarios change system files and need root");
        return false;
    }
    true
}

/// Scripts of `suite` (attack or benign) whose names start with one of `prefixes`.
fn scripts(suite: &str, prefixes: &[&str]) -> Vec<PathBuf> {
    let dir = scenarios_dir().join(suite);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .filter(|p| {
            let name = stem(p);
            prefixes.iter().any(|prefix| name.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What one run of a script showed.
enum Outcome {
    Done { pid: u32, technique: String },
    Skipped(String),
}

/// Runs one script and checks its contract; returns the outcome or every problem found.
fn run_script(path: &Path) -> Result<Outcome, Vec<String>> {
    let name = stem(path);
    let run_id = format!(
        "scntest{}x{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    // The id goes through `env`, not to `timeout` itself: the script's exit sweep kills every
    // process carrying it, and `timeout` must survive to report the script's status.
    let output = Command::new("timeout")
        .args(["-k", "5", "150", "env"])
        .arg(format!("SCN_RUN_ID={run_id}"))
        .arg("bash")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("starting {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let mut problems = Vec::new();
    let context = || format!("\n--- stdout\n{stdout}--- stderr\n{stderr}---");

    if !output.status.success() {
        problems.push(format!(
            "{name}: exited with {:?}{}",
            output.status,
            context()
        ));
    }
    let outcome = match parse_last_line(&name, &stdout) {
        Ok(outcome) => Some(outcome),
        Err(e) => {
            problems.push(format!("{name}: {e}{}", context()));
            None
        }
    };
    problems.extend(residue(&name, &stdout, &run_id));
    match outcome {
        Some(outcome) if problems.is_empty() => Ok(outcome),
        _ => Err(problems),
    }
}

fn parse_last_line(name: &str, stdout: &str) -> Result<Outcome, String> {
    let own = format!("SCENARIO {name} ");
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with(&own))
        .ok_or("no SCENARIO line")?;
    let rest = &last[own.len()..];
    if let Some(reason) = rest.strip_prefix("SKIPPED: ") {
        return Ok(Outcome::Skipped(reason.to_owned()));
    }
    let words: Vec<&str> = rest.split(' ').collect();
    let [pid, technique, "done"] = words.as_slice() else {
        return Err(format!("malformed final line {last:?}"));
    };
    let pid = pid
        .strip_prefix("pid=")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p > 1)
        .ok_or_else(|| format!("bad pid in {last:?}"))?;
    let technique = technique
        .strip_prefix("technique=")
        .ok_or_else(|| format!("no technique in {last:?}"))?;
    Ok(Outcome::Done {
        pid,
        technique: technique.to_owned(),
    })
}

/// Everything the script announced with `SCENARIO-ARTIFACT` must be gone or restored, and no
/// process may still carry its run id.
fn residue(name: &str, stdout: &str, run_id: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("SCENARIO-ARTIFACT ") else {
            continue;
        };
        let (kind, value) = rest.split_once(' ').unwrap_or((rest, ""));
        let problem = match kind {
            "path" => exists(value).then(|| format!("{value} was left behind")),
            "file" => {
                let (sum, path) = value.split_once(' ').unwrap_or((value, ""));
                check_restored(path, sum)
            }
            "user" => Command::new("getent")
                .args(["passwd", value])
                .output()
                .is_ok_and(|o| o.status.success())
                .then(|| format!("user {value} still exists")),
            "netns" => exists(&format!("/run/netns/{value}"))
                .then(|| format!("network namespace {value} still exists")),
            "link" => exists(&format!("/sys/class/net/{value}"))
                .then(|| format!("interface {value} still exists")),
            other => Some(format!("unknown artifact kind {other:?}")),
        };
        if let Some(p) = problem {
            problems.push(format!("{name}: {p}"));
        }
    }
    // A process killed by the sweep may take a moment to be gone from /proc.
    let marker = format!("SCN_RUN_ID={run_id}");
    let mut left = processes_with(&marker);
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = processes_with(&marker);
    }
    for pid in left {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        problems.push(format!("{name}: process {pid} still runs: {cmdline}"));
    }
    problems
}

fn exists(path: &str) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn check_restored(path: &str, sum: &str) -> Option<String> {
    if sum == "absent" {
        return exists(path).then(|| format!("{path} did not exist before and still does"));
    }
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    let now = String::from_utf8_lossy(&out.stdout);
    let now = now.split(' ').next().unwrap_or("");
    (now != sum).then(|| format!("{path} was not restored (sha256 {now:?}, was {sum})"))
}

fn processes_with(entry: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == entry.as_bytes()))
        })
        .collect()
}

/// Runs the scripts of one behaviour; at least `min_done` must perform it (not skip).
fn run_behaviour(test: &str, suite: &str, prefixes: &[&str], min_done: usize) {
    if !is_root(test) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let paths = scripts(suite, prefixes);
    assert!(
        !paths.is_empty(),
        "no {suite} scenario matches {prefixes:?}"
    );
    let mut problems = Vec::new();
    let mut done = BTreeMap::new();
    for path in &paths {
        let name = stem(path);
        match run_script(path) {
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
            Err(p) => problems.extend(p),
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
    let stray: Vec<String> = scripts("attack", &[""])
        .iter()
        .map(|p| stem(p))
        .filter(|n| !known.iter().any(|k| n.starts_with(k)))
        .collect();
    assert!(
        stray.is_empty(),
        "attack scripts no test runs (name them <behaviour>-<variant>): {stray:?}"
    );
}

#[test]
fn final_line_parser_accepts_done_and_skip_and_rejects_the_rest() {
    let done = parse_last_line(
        "x",
        "SCENARIO-ARTIFACT path /tmp/a\nSCENARIO x pid=42 technique=T1059.004 done\n",
    );
    assert!(
        matches!(done, Ok(Outcome::Done { pid: 42, ref technique }) if technique == "T1059.004")
    );
    let skip = parse_last_line("x", "SCENARIO x SKIPPED: ncat is not installed\n");
    assert!(matches!(skip, Ok(Outcome::Skipped(ref r)) if r == "ncat is not installed"));
    assert!(parse_last_line("x", "SCENARIO x FAILED: no shell\n").is_err());
    assert!(parse_last_line("x", "SCENARIO x pid=abc technique=T1 done\n").is_err());
    assert!(parse_last_line("x", "SCENARIO x pid=1 technique=T1 done\n").is_err());
    assert!(parse_last_line("x", "SCENARIO y pid=42 technique=T1 done\n").is_err());
    assert!(parse_last_line("x", "nothing\n").is_err());
}
