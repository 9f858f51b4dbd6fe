//! Runs the attack and benign scenario scripts of `tests/scenarios` and reads what they report.
//!
//! A script prints `SCENARIO-ARTIFACT ...` lines for everything it creates, optional
//! `SCENARIO-INFO key=value ...` lines, and ends with `SCENARIO <name> pid=<pid>
//! technique=<id> done` (or `SCENARIO <name> SKIPPED: <reason>`). [`run`] executes one script
//! with a fresh `SCN_RUN_ID`, parses those lines and checks that every announced artefact is
//! gone or restored and that no process carrying the run id survived. The scripts' contract is
//! described in `tests/scenarios/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::Context as _;

static RUN: AtomicU32 = AtomicU32::new(0);

/// Seconds after which a script is killed (`timeout -k 5`).
const SCRIPT_TIMEOUT_S: &str = "150";

/// The `tests/scenarios` directory.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// A script's scenario name: its file name without `.sh`.
pub fn name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Scripts of `suite` (`"attack"` or `"benign"`) whose names start with one of `prefixes`
/// (`""` matches all), sorted by name.
pub fn scripts(suite: &str, prefixes: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let dir = dir().join(suite);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let stem = name(&path);
        if path.extension().is_some_and(|e| e == "sh")
            && prefixes.iter().any(|prefix| stem.starts_with(prefix))
        {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// How a script ended, from its last `SCENARIO <name> ...` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The behaviour was performed; `pid` is the process a detection must be attributed to.
    Done {
        /// The key process.
        pid: u32,
        /// The primary ATT&CK technique id (`none` for benign scripts).
        technique: String,
    },
    /// A tool was missing; the reason the script gave.
    Skipped(String),
}

/// Everything one run of a script showed.
#[derive(Debug)]
pub struct Report {
    /// Scenario name (file stem).
    pub name: String,
    /// The script's exit status.
    pub status: ExitStatus,
    /// The final line, or why it could not be read.
    pub outcome: Result<Outcome, String>,
    /// `SCENARIO-INFO` pairs (e.g. `service_pid`, `interpreter_pid`, `shell_ppid`).
    pub info: BTreeMap<String, String>,
    /// What was left behind: artefacts not removed or restored, surviving processes.
    pub residue: Vec<String>,
    /// The script's standard output.
    pub stdout: String,
    /// The script's standard error.
    pub stderr: String,
}

impl Report {
    /// Every way this run broke the contract (empty when it passed or skipped cleanly).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let context = || {
            format!(
                "\n--- stdout\n{}--- stderr\n{}---",
                self.stdout, self.stderr
            )
        };
        if !self.status.success() {
            problems.push(format!(
                "{}: exited with {:?}{}",
                self.name,
                self.status,
                context()
            ));
        }
        if let Err(e) = &self.outcome {
            problems.push(format!("{}: {e}{}", self.name, context()));
        }
        problems.extend(self.residue.iter().map(|r| format!("{}: {r}", self.name)));
        problems
    }
}

/// Runs one script (as root) with a fresh run id and checks what it left behind.
pub fn run(path: &Path) -> anyhow::Result<Report> {
    let name = name(path);
    let run_id = format!(
        "scntest{}x{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    // The id goes through `env`, not to `timeout` itself: the script's exit sweep kills every
    // process carrying it, and `timeout` must survive to report the script's status.
    let output = Command::new("timeout")
        .args(["-k", "5", SCRIPT_TIMEOUT_S, "env"])
        .arg(format!("SCN_RUN_ID={run_id}"))
        .arg("bash")
        .arg(path)
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Ok(Report {
        outcome: parse_final_line(&name, &stdout),
        info: parse_info(&stdout),
        residue: residue(&stdout, &run_id),
        name,
        status: output.status,
        stdout,
        stderr,
    })
}

/// Reads the last `SCENARIO <name> ...` line of `stdout`.
pub fn parse_final_line(name: &str, stdout: &str) -> Result<Outcome, String> {
    let own = format!("SCENARIO {name} ");
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with(&own))
        .ok_or("no SCENARIO line")?;
    let rest = last.get(own.len()..).unwrap_or("");
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
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("no technique in {last:?}"))?;
    Ok(Outcome::Done {
        pid,
        technique: technique.to_owned(),
    })
}

/// Collects the `key=value` pairs of every `SCENARIO-INFO` line.
pub fn parse_info(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("SCENARIO-INFO "))
        .flat_map(|rest| rest.split(' '))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Everything announced with `SCENARIO-ARTIFACT` that is still there, and every process that
/// still carries the run id.
fn residue(stdout: &str, run_id: &str) -> Vec<String> {
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
        problems.extend(problem);
    }
    // A process killed by the script's sweep may take a moment to leave /proc.
    let marker = format!("SCN_RUN_ID={run_id}");
    let mut left = processes_with(&marker);
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = processes_with(&marker);
    }
    for pid in left {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        problems.push(format!("process {pid} still runs: {cmdline}"));
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
    let now = match Command::new("sha256sum").arg(path).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .next()
            .unwrap_or("")
            .to_owned(),
        _ => return Some(format!("{path} existed before and is gone")),
    };
    (now != sum).then(|| format!("{path} was not restored (sha256 {now}, was {sum})"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_line_accepts_done_and_skip_and_rejects_the_rest() {
        let done = parse_final_line(
            "x",
            "SCENARIO-ARTIFACT path /tmp/a\nSCENARIO x pid=42 technique=T1059.004 done\n",
        );
        assert_eq!(
            done,
            Ok(Outcome::Done {
                pid: 42,
                technique: "T1059.004".into()
            })
        );
        let skip = parse_final_line("x", "SCENARIO x SKIPPED: ncat is not installed\n");
        assert_eq!(skip, Ok(Outcome::Skipped("ncat is not installed".into())));
        for bad in [
            "SCENARIO x FAILED: no shell\n",
            "SCENARIO x pid=abc technique=T1 done\n",
            "SCENARIO x pid=1 technique=T1 done\n",
            "SCENARIO x pid=42 technique= done\n",
            "SCENARIO y pid=42 technique=T1 done\n",
            "SCENARIO x pid=42 technique=T1\n",
            "nothing\n",
        ] {
            assert!(parse_final_line("x", bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn info_lines_become_pairs() {
        let info = parse_info(
            "SCENARIO-INFO service_pid=10\nother\nSCENARIO-INFO shell_pid=11 shell_ppid=10\n",
        );
        assert_eq!(info.get("service_pid").map(String::as_str), Some("10"));
        assert_eq!(info.get("shell_ppid").map(String::as_str), Some("10"));
        assert_eq!(info.len(), 3);
    }

    #[test]
    fn residue_reports_what_is_still_there() {
        let dir = std::env::temp_dir().join(format!("scn-residue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kept = dir.join("kept");
        std::fs::write(&kept, b"x").expect("write");
        let gone = dir.join("gone");
        let out = format!(
            "SCENARIO-ARTIFACT path {}\nSCENARIO-ARTIFACT path {}\n\
             SCENARIO-ARTIFACT file absent {}\nSCENARIO-ARTIFACT netns scn-no-such-ns\n\
             SCENARIO-ARTIFACT bogus x\n",
            kept.display(),
            gone.display(),
            kept.display()
        );
        let found = residue(&out, "scn-no-process-has-this-id");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("was left behind"));
        assert!(found[1].contains("did not exist before"));
        assert!(found[2].contains("unknown artifact kind"));
    }
}
