//! Engine throughput: the real sensor records a mixed stream (execs with their loader opens,
//! file reads and writes, loopback connects and accepts, plus whatever else the machine does
//! meanwhile), then `sensor replay --stats` evaluates it with the built-in pack and every
//! loadable SigmaHQ Linux rule, and reports events per CPU-second of the evaluating thread.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use super::report::EngineRun;
use super::sensor::Sensor;
use super::workload::{Runner, Workload};

/// Events evaluated in total (the recording is replayed as many times as needed).
const TARGET_EVALUATIONS: u64 = 1_000_000;

/// Everyday shell work: short commands, each an exec with its loader's opens and a few reads.
const SHELL_MIX: &str = "for i in $(seq 40); do ls /etc >/dev/null; cat /etc/hostname >/dev/null; \
    grep -q root /etc/passwd; id >/dev/null; date +%s >/dev/null; \
    echo $i > \"$1/mix-$i.txt\"; done; rm -f \"$1\"/mix-*.txt";

/// The SigmaHQ material: `$SIGMA_DIR`, else `../shared/sigma` beside the workspace.
pub fn sigma_rules(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("SIGMA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/sigma"));
    let rules = dir.join("rules");
    rules.is_dir().then_some(rules)
}

/// Records a mixed stream with the sensor, then replays it. `notes` gets what a reader needs
/// to know (e.g. the SigmaHQ rules were not found).
pub fn measure(
    sensor_bin: &Path,
    sensor_args: &[String],
    runner: &Runner,
    root: &Path,
    notes: &mut Vec<String>,
) -> anyhow::Result<EngineRun> {
    let recording = runner.scratch.join("recording.json");
    let _ = std::fs::remove_file(&recording);
    let mut args = sensor_args.to_vec();
    args.push(format!("--events={}", recording.display()));
    let sensor = Sensor::start(sensor_bin, &args)?;
    let small = Runner {
        binary: runner.binary.clone(),
        files: runner.files.clone(),
        scratch: runner.scratch.clone(),
        many_count: runner.many_count,
        divisor: runner.divisor.max(10),
    };
    small.run(Workload::ForkExec)?;
    small.run(Workload::Connect)?;
    let status = Command::new("bash")
        .args(["-c", SHELL_MIX, "mix"])
        .arg(&runner.scratch)
        .stdin(Stdio::null())
        .status()
        .context("running the shell mix")?;
    if !status.success() {
        bail!("the shell mix failed ({status})");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    sensor.stop()?;
    let events = std::fs::read(&recording)
        .with_context(|| format!("reading {}", recording.display()))?
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    if events == 0 {
        bail!("the sensor recorded no event");
    }

    let repeat = TARGET_EVALUATIONS.div_ceil(events).clamp(1, 1000) as u32;
    let mut replay = Command::new(sensor_bin);
    replay.args(["replay", "--stats", "--alerts", "/dev/null"]);
    replay.arg(format!("--repeat={repeat}"));
    let rules = match sigma_rules(root) {
        Some(dir) => {
            replay.arg("--rules").arg(&dir).arg("--with-builtin");
            "built-in pack + SigmaHQ Linux rules".to_string()
        }
        None => {
            notes.push(
                "engine throughput: SigmaHQ rules not found (set SIGMA_DIR); built-in pack only"
                    .to_string(),
            );
            "built-in pack".to_string()
        }
    };
    let out = replay
        .arg(&recording)
        .env("SENSOR_LOG", "error")
        .stdin(Stdio::null())
        .output()
        .context("running sensor replay")?;
    let _ = std::fs::remove_file(&recording);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("sensor replay failed ({}): {stderr}", out.status);
    }
    let (evaluated, alerts, rate) =
        parse_stats(&stderr).with_context(|| format!("no replay statistics in {stderr:?}"))?;
    Ok(EngineRun {
        events: evaluated / u64::from(repeat),
        repeat,
        rules,
        events_per_cpu_second: rate,
        alerts,
    })
}

/// Reads `replay: N events, A alerts, ...; parse X events/s, evaluate Y events/s ...`.
fn parse_stats(text: &str) -> Option<(u64, u64, f64)> {
    let line = text.lines().find(|l| l.starts_with("replay: "))?;
    let number_before = |word: &str| -> Option<f64> {
        let at = line.find(word)?;
        line.get(..at)?.split_whitespace().last()?.parse().ok()
    };
    let events = number_before(" events,")? as u64;
    let alerts = number_before(" alerts")? as u64;
    let eval_at = line.find("evaluate ")? + "evaluate ".len();
    let rate = line
        .get(eval_at..)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some((events, alerts, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_replay_line() {
        let text = "WARN something\nreplay: 500000 events, 12 alerts, 0 bad lines; parse 80000 events/s, evaluate 1234567 events/s (per CPU-second, one thread)\n";
        assert_eq!(parse_stats(text), Some((500_000, 12, 1_234_567.0)));
        assert_eq!(parse_stats("replay failed"), None);
    }
}
