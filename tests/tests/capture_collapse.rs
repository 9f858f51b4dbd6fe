//! Issue 10: the in-kernel collapse of repeated opens. A burst of identical opens comes out as
//! a few events whose counts, with the kernel's collapsed counter, account for every open;
//! distinct paths are never collapsed, each is reported exactly once.

mod capture_support;

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};

use capture_support::{int, stat, tempdir, terminate_and_read_stats};
use sensor_tests::{Sensor, field_str, require_root, unique};
use serde_json::Value;

const REPEATS: u64 = 300;
const DISTINCT: u64 = 200;

#[test]
fn repeats_collapse_with_counts_and_distinct_paths_are_all_reported() -> anyhow::Result<()> {
    if !require_root("repeats_collapse_with_counts_and_distinct_paths_are_all_reported") {
        return Ok(());
    }
    let dir = tempdir()?;
    let base = format!("{}/{}", dir.to_string_lossy(), unique("collapse-"));
    let same = format!("{base}same");
    std::fs::write(&same, b"")?;
    for i in 0..DISTINCT {
        std::fs::write(format!("{base}d{i}"), b"")?;
    }
    // Shell builtins only (no fork): this one process opens `same` REPEATS times, then each
    // distinct path once, and nothing else.
    let (events, stats) = run_gated_shell(
        &format!(
            "i=0; while [ $i -lt {REPEATS} ]; do : < '{same}'; i=$((i+1)); done; \
             i=0; while [ $i -lt {DISTINCT} ]; do : < '{base}d'$i; i=$((i+1)); done"
        ),
        &[],
    )?;

    let mut same_events = 0u64;
    let mut same_counted = 0u64;
    let mut distinct: HashMap<String, u64> = HashMap::new();
    for e in &events {
        if field_str(e, "event.action") != Some("open") {
            continue;
        }
        let Some(path) = field_str(e, "file.path") else {
            continue;
        };
        if path == same {
            same_events += 1;
            same_counted += u64::try_from(int(e, "sensor.open.count").unwrap_or(0))?;
        } else if path.starts_with(&format!("{base}d")) {
            assert_eq!(int(e, "sensor.open.count"), Some(1), "{e}");
            *distinct.entry(path.to_owned()).or_default() += 1;
        }
    }
    assert_eq!(stat(&stats, "dropped_open"), Some(0), "{stats}");
    eprintln!("collapse: {same_events} events for {REPEATS} identical opens: {stats}");
    assert!(
        (1..=REPEATS / 10).contains(&same_events),
        "{same_events} events for {REPEATS} identical opens"
    );
    // Every suppressed open is in the kernel's counter; the counts carried by the reported
    // ones never exceed what happened.
    let collapsed = stat(&stats, "filtered_collapsed").unwrap_or(u64::MAX);
    assert_eq!(collapsed + same_events, REPEATS, "{stats}");
    assert!(
        same_counted >= same_events && same_counted <= REPEATS,
        "{same_counted}"
    );
    assert_eq!(
        distinct.len() as u64,
        DISTINCT,
        "every distinct path reported"
    );
    assert!(distinct.values().all(|&n| n == 1), "{distinct:?}");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// The collapse window ends: repeats inside `--open-collapse-ms` are folded into the next open
/// reported after it, which carries their count.
#[test]
fn a_repeat_after_the_window_is_reported_with_the_count_of_those_before() -> anyhow::Result<()> {
    if !require_root("a_repeat_after_the_window_is_reported_with_the_count_of_those_before") {
        return Ok(());
    }
    let dir = tempdir()?;
    let same = format!("{}/{}", dir.to_string_lossy(), unique("window-"));
    std::fs::write(&same, b"")?;
    // Three opens at once, a pause of three windows (in a child, which `--only-pid` leaves
    // out), then one more.
    let (events, stats) = run_gated_shell(
        &format!(": < '{same}'; : < '{same}'; : < '{same}'; /bin/sleep 0.3; : < '{same}'"),
        &["--open-collapse-ms", "100"],
    )?;
    let counts: Vec<i64> = events
        .iter()
        .filter(|e| {
            field_str(e, "event.action") == Some("open") && field_str(e, "file.path") == Some(&same)
        })
        .map(|e| int(e, "sensor.open.count").unwrap_or(0))
        .collect();
    assert_eq!(counts, [1, 3], "{stats}");
    assert_eq!(stat(&stats, "filtered_collapsed"), Some(2), "{stats}");
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// Runs `script` in a shell that waits until a sensor watching only it (`--only-pid`, plus
/// `extra` arguments) is up, then returns the sensor's events and its shutdown statistics.
///
/// The shell is pinned to CPU 0: the kernel keeps recent opens per CPU, so a shell that
/// migrated (after waiting for a child, say) would start afresh there, and the count of repeats
/// collapsed on the first CPU would stay in the kernel's counter only, as designed.
fn run_gated_shell(script: &str, extra: &[&str]) -> anyhow::Result<(Vec<Value>, String)> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(format!("read _; {script}"))
        .stdin(Stdio::piped());
    // SAFETY: the closure only calls async-signal-safe libc functions on a local set.
    unsafe {
        command.pre_exec(|| {
            let mut cpus: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut cpus);
            if libc::sched_setaffinity(0, std::mem::size_of_val(&cpus), &cpus) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut shell = command.spawn()?;
    let pid = shell.id().to_string();
    let mut args = vec!["run", "--events", "-", "--only-pid", &pid];
    args.extend_from_slice(extra);
    let mut sensor = Sensor::start(&args)?;
    shell
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"go\n")?;
    assert!(shell.wait()?.success());
    let stats = terminate_and_read_stats(&sensor)?;
    let events = sensor.drain()?.to_vec();
    sensor.stop()?;
    Ok((events, stats))
}
