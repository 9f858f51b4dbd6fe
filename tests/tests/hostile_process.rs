//! Issue 9: hostile processes. Huge argv, huge arguments, paths at PATH_MAX, names with
//! newlines, ANSI escapes and invalid UTF-8, comm renamed with prctl(PR_SET_NAME) (also to the
//! sensor's own name): all reported, every line valid JSON (the harness parses each one), the
//! sensor alive and healthy.

mod harden_support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use harden_support::{free_addr, http_get, tempdir};
use sensor_tests::{Sensor, field, field_str, require_root};

fn pid_of(doc: &serde_json::Value) -> Option<u64> {
    field(doc, "process.pid").and_then(serde_json::Value::as_u64)
}

fn wait_exec(sensor: &mut Sensor, pid: u32) -> anyhow::Result<serde_json::Value> {
    sensor.wait_for(Duration::from_secs(30), |d| {
        field_str(d, "event.action") == Some("exec") && pid_of(d) == Some(u64::from(pid))
    })
}

fn run(mut command: Command) -> anyhow::Result<u32> {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let pid = child.id();
    child.wait_with_output()?;
    Ok(pid)
}

/// Forks a child that renames itself with prctl(PR_SET_NAME) to `name`, opens `path` and
/// exits; returns its pid.
fn renamed_open(name: &[u8], path: &std::ffi::CStr) -> anyhow::Result<u32> {
    let mut comm = [0u8; 16];
    let n = name.len().min(15);
    comm[..n].copy_from_slice(&name[..n]);
    // SAFETY: the child only makes raw syscalls (prctl, open, _exit) before exiting, which are
    // async-signal-safe, so forking a multi-threaded test process is fine.
    let pid = unsafe { libc::fork() };
    anyhow::ensure!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe {
            libc::prctl(libc::PR_SET_NAME, comm.as_ptr() as libc::c_ulong, 0, 0, 0);
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY);
            if fd >= 0 {
                libc::close(fd);
            }
            libc::_exit(0);
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    Ok(pid as u32)
}

#[test]
fn hostile_processes_are_reported_as_valid_json_and_sensor_survives() -> anyhow::Result<()> {
    if !require_root("hostile_processes_are_reported_as_valid_json_and_sensor_survives") {
        return Ok(());
    }
    let dir = tempdir("hostile-")?;
    let addr = free_addr()?;
    let mut sensor = Sensor::start(&["run", "--events", "-", "--metrics-addr", &addr])?;

    // 100 000 arguments.
    let mut many = Command::new("/bin/true");
    many.args(std::iter::repeat_n("a", 100_000));
    let pid = run(many)?;
    let doc = wait_exec(&mut sensor, pid)?;
    assert!(field_str(&doc, "process.executable").is_some_and(|e| e.ends_with("/true")));

    // One argument of 128 KiB (the kernel's MAX_ARG_STRLEN, NUL included).
    let mut big = Command::new("/bin/true");
    big.arg("x".repeat(128 * 1024 - 1));
    let pid = run(big)?;
    wait_exec(&mut sensor, pid)?;

    // An executable at a path close to PATH_MAX (4096, NUL included): nested directories.
    let mut deep = dir.clone();
    while deep.as_os_str().len() < 4096 - 260 {
        deep.push("d".repeat(250));
    }
    let room = 4095 - deep.as_os_str().len() - 1;
    std::fs::create_dir_all(&deep)?;
    let exe = deep.join("t".repeat(room.min(255)));
    std::fs::copy("/bin/true", &exe)?;
    assert!(
        exe.as_os_str().len() >= 4000,
        "path only {} bytes",
        exe.as_os_str().len()
    );
    let pid = run(Command::new(&exe))?;
    let doc = wait_exec(&mut sensor, pid)?;
    assert!(doc.to_string().len() > 1000);

    // File name and argv with a newline, ANSI escapes and invalid UTF-8.
    let name = OsStr::from_bytes(b"evil\n{\"event\":\"forged\"}\x1b[31m\xff\xfe");
    let evil: PathBuf = dir.join(name);
    std::fs::copy("/bin/true", &evil)?;
    let mut cmd = Command::new(&evil);
    cmd.arg(OsStr::from_bytes(b"arg\n\x1b[2J\xc3\x28"))
        .arg(name);
    let pid = run(cmd)?;
    let doc = wait_exec(&mut sensor, pid)?;
    let text = doc.to_string();
    assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
    assert!(
        text.contains("\\\\xff") || text.contains("\\\\x0a"),
        "escaped bytes kept: {text}"
    );

    // comm renamed via prctl: hostile bytes, then the sensor's own name (evasion attempt).
    let marker = dir.join("comm-target");
    std::fs::write(&marker, b"")?;
    let cpath = std::ffi::CString::new(marker.as_os_str().as_bytes())?;
    for comm in [&b"\n\x1b[31m\xff{\"x\""[..], b"sensor"] {
        let pid = renamed_open(comm, &cpath)?;
        let doc = sensor.wait_for(Duration::from_secs(30), |d| {
            field_str(d, "event.action") == Some("open") && pid_of(d) == Some(u64::from(pid))
        })?;
        // Reported (the kernel filters the sensor by pid, never by name), and whatever the
        // name, the line parsed as JSON and carries no raw control character.
        let text = doc.to_string();
        assert!(!text.contains('\n') && !text.contains('\u{1b}'), "{text}");
    }

    let health = http_get(&addr, "/healthz")?;
    assert!(
        health.starts_with("HTTP/1.") && health.contains(" 200 "),
        "{health}"
    );
    sensor.drain()?;
    let status = sensor.stop()?;
    assert!(status.success(), "exit status {status:?}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
