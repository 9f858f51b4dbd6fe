//! Issue 10: the in-kernel collapse of repeated opens. A burst of identical opens comes out as
//! a few events whose counts, with the kernel's collapsed counter, account for every open;
//! distinct paths are never collapsed, each is reported exactly once.

mod capture_support;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use capture_support::{int, stat, tempdir, terminate_and_read_stats};
use sensor_tests::{Sensor, field_str, require_root, unique};

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
    let mut shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "read _; i=0; while [ $i -lt {REPEATS} ]; do : < '{same}'; i=$((i+1)); done; \
             i=0; while [ $i -lt {DISTINCT} ]; do : < '{base}d'$i; i=$((i+1)); done"
        ))
        .stdin(Stdio::piped())
        .spawn()?;
    let pid = shell.id().to_string();
    let mut sensor = Sensor::start(&["run", "--events", "-", "--only-pid", &pid])?;
    shell
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"go\n")?;
    assert!(shell.wait()?.success());
    let stats = terminate_and_read_stats(&sensor)?;

    let mut same_events = 0u64;
    let mut same_counted = 0u64;
    let mut distinct: HashMap<String, u64> = HashMap::new();
    for e in sensor.drain()? {
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
    sensor.stop()?;
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
