//! Issue 3: exec capture. Hostile argv comes out exactly (escaped and marked) or flagged as
//! truncated, a failed exec is reported as failed, and what fds 0/1/2 are is captured: a shell
//! on a TCP socket is marked, one on a pipe is not.

mod capture_support;

use std::ffi::OsStr;
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use capture_support::{int, strings, tempdir};
use sensor_tests::{Sensor, field, field_str, require_root, unique};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn copy_program(from: &str, dir: &std::path::Path, prefix: &str) -> anyhow::Result<String> {
    let path = dir.join(unique(prefix));
    std::fs::copy(from, &path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path.to_string_lossy().into_owned())
}

fn exec_of(sensor: &mut Sensor, executable: &str) -> anyhow::Result<Value> {
    sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("exec")
            && field_str(e, "process.executable") == Some(executable)
    })
}

#[test]
fn hostile_argv_is_exact_or_flagged_and_failed_exec_is_reported() -> anyhow::Result<()> {
    if !require_root("hostile_argv_is_exact_or_flagged_and_failed_exec_is_reported") {
        return Ok(());
    }
    let dir = tempdir()?;
    let program = copy_program("/bin/true", &dir, "argv-true-")?;
    let long = "L".repeat(5000);
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    let status = Command::new(&program)
        .arg("with space")
        .arg(r#"quotes "double" and 'single'"#)
        .arg("new\nline")
        .arg(OsStr::from_bytes(b"bad\xffbyte"))
        .arg(&long)
        .arg("after-the-limit")
        .status()?;
    assert!(status.success());
    let event = exec_of(&mut sensor, &program)?;
    let args = strings(&event, "process.args");
    assert_eq!(
        args.get(..5),
        Some(
            &[
                program.as_str(),
                "with space",
                r#"quotes "double" and 'single'"#,
                "new\\x0aline",
                "bad\\xffbyte",
            ][..]
        ),
        "{event}"
    );
    // The long argument crosses the 4 KiB capture limit: cut, and flagged.
    let cut = args.get(5).copied().unwrap_or_default();
    assert!(
        !cut.is_empty() && cut.len() < long.len() && long.starts_with(cut),
        "{event}"
    );
    assert_eq!(args.len(), 6, "nothing after the cut argument: {event}");
    assert_eq!(
        field(&event, "sensor.exec.args_truncated"),
        Some(&Value::Bool(true))
    );
    assert_eq!(int(&event, "process.args_count"), Some(7));
    assert!(strings(&event, "sensor.escaped").contains(&"process.args"));
    assert_eq!(field_str(&event, "event.outcome"), Some("success"));
    assert_eq!(int(&event, "sensor.exec.result"), Some(0));

    // A short argv is not flagged.
    Command::new(&program).arg("short").status()?;
    let event = sensor.wait_for(WAIT, |e| {
        field_str(e, "process.executable") == Some(program.as_str())
            && strings(e, "process.args").get(1) == Some(&"short")
    })?;
    assert_eq!(
        field(&event, "sensor.exec.args_truncated"),
        Some(&Value::Bool(false))
    );

    let missing = dir.join(unique("no-such-program-"));
    let missing = missing.to_string_lossy().into_owned();
    let err = Command::new(&missing).arg("x").status().err();
    assert_eq!(err.map(|e| e.kind()), Some(std::io::ErrorKind::NotFound));
    let event = exec_of(&mut sensor, &missing)?;
    assert_eq!(field_str(&event, "event.outcome"), Some("failure"));
    assert_eq!(int(&event, "sensor.exec.result"), Some(-2));
    assert_eq!(field_str(&event, "sensor.exec.errno"), Some("ENOENT"));
    assert_eq!(strings(&event, "process.args"), vec![missing.as_str(), "x"]);

    // The same through execveat, whose arguments sit in other registers.
    let missing_at = dir.join(unique("no-such-program-at-"));
    let missing_at = missing_at.to_string_lossy().into_owned();
    let path = std::ffi::CString::new(missing_at.as_str())?;
    let arg0 = std::ffi::CString::new("execveat-arg0")?;
    let arg1 = std::ffi::CString::new("y")?;
    let argv = [arg0.as_ptr(), arg1.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // SAFETY: NUL-terminated strings and NULL-terminated arrays that outlive the call; the
    // path does not exist, so the call returns instead of replacing the test process.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_execveat,
            libc::AT_FDCWD,
            path.as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            0,
        )
    };
    assert_eq!(rc, -1);
    let event = exec_of(&mut sensor, &missing_at)?;
    assert_eq!(field_str(&event, "event.outcome"), Some("failure"));
    assert_eq!(field_str(&event, "sensor.exec.errno"), Some("ENOENT"));
    assert_eq!(strings(&event, "process.args"), vec!["execveat-arg0", "y"]);

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn a_shell_on_a_tcp_socket_is_marked_and_one_on_a_pipe_is_not() -> anyhow::Result<()> {
    if !require_root("a_shell_on_a_tcp_socket_is_marked_and_one_on_a_pipe_is_not") {
        return Ok(());
    }
    let dir = tempdir()?;
    let shell = copy_program("/bin/sh", &dir, "revsh-")?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    // The classic reverse shell: the socket becomes the shell's stdin and stdout.
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (_server_side, _) = listener.accept()?;
    let sock_in = std::os::fd::OwnedFd::from(client.try_clone()?);
    let sock_out = std::os::fd::OwnedFd::from(client);
    let status = Command::new(&shell)
        .args(["-c", "exit 0"])
        .stdin(Stdio::from(sock_in))
        .stdout(Stdio::from(sock_out))
        .status()?;
    assert!(status.success());
    let event = exec_of(&mut sensor, &shell)?;
    let stdio = strings(&event, "sensor.stdio");
    assert_eq!(stdio.get(..2), Some(&["socket", "socket"][..]), "{event}");

    let piped = copy_program("/bin/sh", &dir, "pipesh-")?;
    let output = Command::new(&piped)
        .args(["-c", "exit 0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .output()?;
    assert!(output.status.success());
    let event = exec_of(&mut sensor, &piped)?;
    let stdio = strings(&event, "sensor.stdio");
    assert_eq!(stdio.get(..2), Some(&["pipe", "pipe"][..]), "{event}");

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn exec_of_a_memfd_and_of_a_deleted_file_is_recognisable() -> anyhow::Result<()> {
    if !require_root("exec_of_a_memfd_and_of_a_deleted_file_is_recognisable") {
        return Ok(());
    }
    let dir = tempdir()?;
    let bytes = std::fs::read("/bin/true")?;
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    // Fileless: the program only ever exists in a memfd (not close-on-exec, so the child can
    // exec it through /proc/self/fd).
    let name = std::ffi::CString::new(unique("payload-"))?;
    // SAFETY: valid C string; flags 0.
    let memfd = unsafe { libc::memfd_create(name.as_ptr(), 0) };
    assert!(memfd >= 0);
    // SAFETY: writing our own buffer to our own fd.
    let written = unsafe { libc::write(memfd, bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(written, isize::try_from(bytes.len())?);
    let via = format!("/proc/self/fd/{memfd}");
    let marker = unique("memfd-run-");
    assert!(Command::new(&via).arg(&marker).status()?.success());
    let event = sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("exec")
            && strings(e, "process.args").get(1) == Some(&marker.as_str())
    })?;
    assert_eq!(
        field(&event, "sensor.exec.memfd"),
        Some(&Value::Bool(true)),
        "{event}"
    );
    assert_eq!(
        field(&event, "sensor.exec.deleted"),
        Some(&Value::Bool(false))
    );

    // A dropper that deletes its file before running it.
    let program = copy_program("/bin/true", &dir, "deleted-")?;
    let c = std::ffi::CString::new(program.as_bytes())?;
    // SAFETY: valid C string; no O_CLOEXEC on purpose.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY) };
    assert!(fd >= 0);
    std::fs::remove_file(&program)?;
    let marker = unique("deleted-run-");
    assert!(
        Command::new(format!("/proc/self/fd/{fd}"))
            .arg(&marker)
            .status()?
            .success()
    );
    let event = sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("exec")
            && strings(e, "process.args").get(1) == Some(&marker.as_str())
    })?;
    assert_eq!(
        field(&event, "sensor.exec.deleted"),
        Some(&Value::Bool(true)),
        "{event}"
    );
    assert_eq!(
        field(&event, "sensor.exec.memfd"),
        Some(&Value::Bool(false))
    );

    // An ordinary program is neither.
    let plain = copy_program("/bin/true", &dir, "plain-")?;
    Command::new(&plain).status()?;
    let event = exec_of(&mut sensor, &plain)?;
    assert_eq!(
        field(&event, "sensor.exec.deleted"),
        Some(&Value::Bool(false))
    );
    assert_eq!(
        field(&event, "sensor.exec.memfd"),
        Some(&Value::Bool(false))
    );

    // SAFETY: closing our own fds.
    unsafe {
        libc::close(memfd);
        libc::close(fd);
    }
    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn fork_and_exit_carry_parent_child_and_exit_code() -> anyhow::Result<()> {
    if !require_root("fork_and_exit_carry_parent_child_and_exit_code") {
        return Ok(());
    }
    let me = i64::from(std::process::id());
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;
    let mut child = Command::new("/bin/sh").args(["-c", "exit 3"]).spawn()?;
    let child_pid = i64::from(child.id());
    assert_eq!(child.wait()?.code(), Some(3));
    let fork = sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("fork") && int(e, "process.pid") == Some(child_pid)
    })?;
    assert_eq!(int(&fork, "process.parent.pid"), Some(me), "{fork}");
    assert_eq!(int(&fork, "process.thread.id"), Some(child_pid));
    let exit = sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("exit") && int(e, "process.pid") == Some(child_pid)
    })?;
    assert_eq!(int(&exit, "process.exit_code"), Some(3), "{exit}");
    assert_eq!(strings(&exit, "event.type"), vec!["end"]);

    // A thread is not a process: no fork event for it.
    let marker = std::thread::spawn(|| 0)
        .join()
        .map_err(|_| anyhow::anyhow!("join"))?;
    assert_eq!(marker, 0);
    let status = Command::new("/bin/true").status()?;
    assert!(status.success());
    let forks_of_me = sensor
        .drain()?
        .iter()
        .filter(|e| {
            field_str(e, "event.action") == Some("fork")
                && int(e, "process.parent.pid") == Some(me)
                && int(e, "process.pid") == Some(me)
        })
        .count();
    assert_eq!(forks_of_me, 0, "a thread was reported as a process");
    sensor.stop()?;
    Ok(())
}
