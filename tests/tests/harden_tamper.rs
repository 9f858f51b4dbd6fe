//! Issue 9: self-protection. Opening the sensor's /proc memory or maps, or writing tracefs
//! controls, raises a tamper alert; a process that names itself after the sensor is still seen.
//! `bpftool` taking a handle on one of the sensor's maps or programs raises a (medium) tamper
//! alert naming that process; the same on someone else's program does not. A capture hook
//! silenced while the sensor runs (its link released from inside the sensor through ptrace,
//! without a `bpf()` call) raises a "hook silenced" alert and drops its liveness gauge. Writing
//! to one of the sensor's maps through a descriptor taken by id raises the (high) "changed"
//! alert after the "handle" one.

mod harden_support;
mod tamper_support;

use anyhow::Context as _;
use std::process::Command;
use std::time::Duration;

use sensor_tests::{Sensor, field, field_str, loaded_prog_ids, require_root};

fn tamper_alert(sensor: &mut Sensor, rule: &str, pid: u32) -> anyhow::Result<serde_json::Value> {
    sensor.wait_for_alert(Duration::from_secs(30), |a| {
        field_str(a, "rule.id") == Some(rule)
            && field(a, "process.pid").and_then(serde_json::Value::as_u64) == Some(u64::from(pid))
    })
}

#[test]
fn opening_sensor_memory_or_tracing_controls_raises_tamper_alerts() -> anyhow::Result<()> {
    if !require_root("opening_sensor_memory_or_tracing_controls_raises_tamper_alerts") {
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", "127.0.0.1:0"])?;
    let me = sensor.pid();

    let cat = Command::new("/bin/cat")
        .arg(format!("/proc/{me}/maps"))
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let cat_pid = cat.id();
    cat.wait_with_output()?;
    let alert = tamper_alert(&mut sensor, "sensor-tamper-proc-access", cat_pid)?;
    assert_eq!(field_str(&alert, "event.kind"), Some("alert"));
    assert_eq!(field_str(&alert, "rule.ruleset"), Some("self-protection"));
    assert_eq!(
        field_str(&alert, "threat.technique.0.id").or_else(|| alert
            .pointer("/threat/technique/0/id")
            .and_then(serde_json::Value::as_str)),
        Some("T1562.001")
    );

    // Evasion attempt: the reader renames itself after the sensor (comm "sensor") before
    // opening /proc/<sensor>/mem from a shell builtin. Only the real pid is filtered.
    let shell = Command::new("/bin/bash")
        .arg("-c")
        .arg(format!(
            "printf sensor > /proc/$$/comm; read -r x < /proc/{me}/mem 2>/dev/null; true"
        ))
        .spawn()?;
    let shell_pid = shell.id();
    shell.wait_with_output()?;
    // (Its `process.name` in the alert is the exec-time name from the process table.)
    tamper_alert(&mut sensor, "sensor-tamper-proc-access", shell_pid)?;

    // Writing tracing_on (its current value, so nothing changes for anyone).
    let tracing_on = [
        "/sys/kernel/tracing/tracing_on",
        "/sys/kernel/debug/tracing/tracing_on",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists());
    if let Some(path) = tracing_on {
        let writer = Command::new("/bin/bash")
            .arg("-c")
            .arg(format!("v=$(cat {path}); echo $v > {path}"))
            .spawn()?;
        let writer_pid = writer.id();
        writer.wait_with_output()?;
        tamper_alert(&mut sensor, "sensor-tamper-tracing-control", writer_pid)?;
    }
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}

/// BPF object ids (`prog_id`, `map_id`) that process `pid` holds, from its fdinfo.
fn held_ids(pid: u32, kind: &str, id_field: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    let mut ids: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|info| info.contains(kind) && !info.contains("link_type:"))
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix(id_field))
                .and_then(|id| id.trim().parse().ok())
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Runs bpftool with `args` and returns its pid (its output is not needed).
fn bpftool(args: &[&str]) -> anyhow::Result<u32> {
    let child = Command::new("bpftool")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let pid = child.id();
    child.wait_with_output()?;
    Ok(pid)
}

#[test]
fn bpftool_on_the_sensors_maps_and_programs_raises_tamper_alerts() -> anyhow::Result<()> {
    if !require_root("bpftool_on_the_sensors_maps_and_programs_raises_tamper_alerts") {
        return Ok(());
    }
    if Command::new("bpftool").arg("version").output().is_err() {
        eprintln!(
            "SKIPPED bpftool_on_the_sensors_maps_and_programs_raises_tamper_alerts: no bpftool"
        );
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "/dev/null"])?;
    let me = sensor.pid();
    let maps = held_ids(me, "map_type:", "map_id:");
    let progs = held_ids(me, "prog_type:", "prog_id:");
    let (Some(&map), Some(&prog)) = (maps.first(), progs.first()) else {
        anyhow::bail!("the sensor holds no BPF maps or programs: {maps:?} {progs:?}");
    };

    // Someone else's program (another engineer's sensor, the system's own): no alert. Run it
    // first, so that the alert about ours below proves this one had its chance to show up.
    let foreign = loaded_prog_ids().into_iter().find(|id| !progs.contains(id));
    let foreign_pid = match foreign {
        Some(id) => Some(bpftool(&["prog", "show", "id", &id.to_string()])?),
        None => None,
    };

    let dump_pid = bpftool(&["map", "dump", "id", &map.to_string()])?;
    let alert = tamper_alert(&mut sensor, "sensor-tamper-bpf-handle", dump_pid)?;
    assert_eq!(field_str(&alert, "rule.ruleset"), Some("self-protection"));
    assert_eq!(field_str(&alert, "sigma.level"), Some("medium"));
    assert_eq!(field_str(&alert, "process.name"), Some("bpftool"));
    assert_eq!(
        field_str(&alert, "sensor.event.bpf.command"),
        Some("BPF_MAP_GET_FD_BY_ID"),
        "{alert}"
    );
    assert_eq!(
        field(&alert, "sensor.event.bpf.object.id").and_then(serde_json::Value::as_u64),
        Some(u64::from(map))
    );

    let show_pid = bpftool(&["prog", "show", "id", &prog.to_string()])?;
    let alert = tamper_alert(&mut sensor, "sensor-tamper-bpf-handle", show_pid)?;
    assert_eq!(
        field_str(&alert, "sensor.event.bpf.object.type"),
        Some("program")
    );
    assert_eq!(
        field(&alert, "sensor.event.bpf.object.id").and_then(serde_json::Value::as_u64),
        Some(u64::from(prog))
    );

    if let Some(foreign_pid) = foreign_pid {
        let seen = sensor.drain()?;
        assert!(
            !seen.iter().any(|v| {
                field(v, "process.pid").and_then(serde_json::Value::as_u64)
                    == Some(u64::from(foreign_pid))
                    && field_str(v, "rule.ruleset") == Some("self-protection")
            }),
            "a program that is not the sensor's raised a tamper alert"
        );
    }
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}

#[test]
fn writing_a_sensor_map_through_a_foreign_handle_raises_a_change_alert() -> anyhow::Result<()> {
    if !require_root("writing_a_sensor_map_through_a_foreign_handle_raises_a_change_alert") {
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "/dev/null"])?;
    let me = sensor.pid();
    // The read-only open filter's prefixes: a plain array whose entries can be rewritten with
    // their own values, so the sensor runs on unchanged.
    let (id, map) = held_ids(me, "map_type:", "map_id:")
        .into_iter()
        .filter_map(|id| Some((id, tamper_support::ForeignMap::open(id).ok()?)))
        .find(|(_, m)| m.name == "OPEN_PREFIXES")
        .context("the sensor holds no OPEN_PREFIXES map")?;
    assert_eq!(
        (map.map_type, map.key_size),
        (2, 4),
        "an array keyed by u32"
    );
    map.rewrite_same(&0u32.to_ne_bytes())?;
    let tester = std::process::id();
    // The descriptor stays open until the alert is in: the sensor tells which map an fd names
    // from the caller's fdinfo.
    let alert = tamper_alert(&mut sensor, "sensor-tamper-bpf-change", tester)?;
    drop(map);
    assert_eq!(field_str(&alert, "sigma.level"), Some("high"), "{alert}");
    assert_eq!(
        field_str(&alert, "sensor.event.bpf.command"),
        Some("BPF_MAP_UPDATE_ELEM"),
        "{alert}"
    );
    assert_eq!(
        field(&alert, "sensor.event.bpf.object.id").and_then(serde_json::Value::as_u64),
        Some(u64::from(id)),
        "{alert}"
    );
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}

/// `sensor_capture_hook_alive{hook}` as scraped from `addr`.
fn hook_alive(addr: &str, hook: &str) -> Option<f64> {
    let text = harden_support::http_get(addr, "/metrics").ok()?;
    let series = format!("sensor_capture_hook_alive{{hook=\"{hook}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
}

fn wait_gauge(addr: &str, hook: &str, want: f64) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if hook_alive(addr, hook) == Some(want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    anyhow::bail!("{hook} liveness gauge never became {want}")
}

/// The attack of the brief, `pidfd_getfd(2)` of the sensor's perf-event fds and
/// `PERF_EVENT_IOC_DISABLE`, has no target: aya attaches tracepoints through BPF links and
/// closes the perf-event fd (and, verified with bpftrace, which keeps its perf fds, disabling
/// a tracepoint's perf event does not stop its BPF program on this kernel). The closest real
/// attack without a `bpf()` call: make a sensor thread replace the fd of one hook's link
/// (ptrace, `dup2`), which releases the link and detaches that one program.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_silenced_capture_hook_raises_one_tamper_alert_and_drops_its_gauge() -> anyhow::Result<()> {
    if !require_root("a_silenced_capture_hook_raises_one_tamper_alert_and_drops_its_gauge") {
        return Ok(());
    }
    let addr = harden_support::free_addr()?;
    let mut sensor = Sensor::start(&[
        "run",
        "--events",
        "-",
        "--metrics-addr",
        &addr,
        "--self-check-secs",
        "2",
    ])?;
    let me = sensor.pid();
    wait_gauge(&addr, "sys_exit_openat", 1.0)?;
    wait_gauge(&addr, "sys_exit_openat2", 1.0)?;
    // Losses on the tamper ring are exported in the same family as the event ring's.
    let text = harden_support::http_get(&addr, "/metrics")?;
    assert!(
        text.contains(
            "sensor_events_dropped_total{reason=\"ringbuf_full\",ring=\"tamper\",type=\"bpf\"} 0"
        ),
        "{text}"
    );

    let perf: Vec<u32> = tamper_support::fds(me)
        .into_iter()
        .filter(|(_, target)| target == "anon_inode:[perf_event]")
        .map(|(fd, _)| fd)
        .collect();
    assert!(perf.is_empty(), "the sensor holds perf-event fds: {perf:?}");

    let link = tamper_support::link_fd_of(me, "sys_exit_openat")
        .context("no BPF link of sys_exit_openat in the sensor")?;
    assert!(
        tamper_support::fd_target(me, 0).is_some(),
        "sensor has no fd 0"
    );
    let injected = std::time::Instant::now();
    let ret = tamper_support::inject_syscall(me, libc::SYS_dup2, [0, u64::from(link), 0])?;
    assert_eq!(ret, i64::from(link), "dup2 inside the sensor failed");

    let alert = sensor.wait_for_alert(Duration::from_secs(15), |a| {
        field_str(a, "rule.id") == Some("sensor-tamper-hook-silenced")
    })?;
    eprintln!(
        "hook-silenced alert {:?} after the link was released",
        injected.elapsed()
    );
    assert_eq!(
        field_str(&alert, "rule.name"),
        Some("Sensor Capture Hook Silenced")
    );
    assert_eq!(field_str(&alert, "sigma.level"), Some("high"));
    assert_eq!(field_str(&alert, "rule.ruleset"), Some("self-protection"));
    assert_eq!(
        alert
            .pointer("/threat/technique/0/id")
            .and_then(serde_json::Value::as_str),
        Some("T1562.001"),
        "{alert}"
    );
    let hooks: Vec<&str> = field(&alert, "sensor.event.bpf.hooks")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(hooks, ["sys_exit_openat"], "{alert}");
    wait_gauge(&addr, "sys_exit_openat", 0.0)?;
    assert_eq!(hook_alive(&addr, "sys_exit_openat2"), Some(1.0));

    // Still silent at the next checks: no second alert.
    std::thread::sleep(Duration::from_secs(5));
    let alerts = sensor
        .drain()?
        .iter()
        .filter(|v| field_str(v, "rule.id") == Some("sensor-tamper-hook-silenced"))
        .count();
    assert_eq!(alerts, 1, "the silenced hook was alerted on more than once");
    assert_eq!(hook_alive(&addr, "sys_exit_openat"), Some(0.0));

    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    Ok(())
}
