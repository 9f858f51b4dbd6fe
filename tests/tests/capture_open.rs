//! Issue 3: open capture. Relative opens after chdir and through a dirfd come out absolute, a
//! failed open carries its errno, and create/truncate flags are decoded; creat and openat2 are
//! captured too.

mod capture_support;

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use capture_support::{int, is_action_of, strings, tempdir};
use sensor_tests::{Sensor, field_str, require_root, unique};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn cstr(bytes: &[u8]) -> anyhow::Result<CString> {
    Ok(CString::new(bytes)?)
}

fn open_of(sensor: &mut Sensor, pid: u32, path: &str) -> anyhow::Result<Value> {
    sensor.wait_for(WAIT, |e| {
        is_action_of(e, "open", pid) && field_str(e, "file.path") == Some(path)
    })
}

#[test]
fn relative_opens_are_absolute_and_flags_and_errors_are_decoded() -> anyhow::Result<()> {
    if !require_root("relative_opens_are_absolute_and_flags_and_errors_are_decoded") {
        return Ok(());
    }
    let dir = tempdir()?;
    let dir_str = dir.to_string_lossy().into_owned();
    let me = std::process::id();
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    // chdir, then create by a relative name (the shell opens with O_CREAT|O_TRUNC).
    let rel = unique("rel-");
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("cd '{dir_str}' && : > '{rel}' && read _"))
        .stdin(Stdio::piped())
        .spawn()?;
    let want = format!("{dir_str}/{rel}");
    let event = open_of(&mut sensor, child.id(), &want);
    drop(child.stdin.take());
    child.wait()?;
    let event = event?;
    assert_eq!(
        field_str(&event, "sensor.open.requested_path"),
        Some(rel.as_str())
    );
    assert_eq!(event["sensor"]["open"]["path_resolved"], Value::Bool(true));
    let flags = strings(&event, "sensor.open.flags");
    for flag in ["O_WRONLY", "O_CREAT", "O_TRUNC"] {
        assert!(flags.contains(&flag), "{flag} missing: {event}");
    }
    assert_eq!(strings(&event, "event.type"), vec!["creation"]);
    assert_eq!(field_str(&event, "event.outcome"), Some("success"));

    // openat relative to a directory fd.
    let dirfd = {
        let c = cstr(dir.as_os_str().as_bytes())?;
        // SAFETY: valid C string.
        unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) }
    };
    assert!(dirfd >= 0);
    let name = unique("via-dirfd-");
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid fd and C string.
    let fd = unsafe { libc::openat(dirfd, c.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600) };
    assert!(fd >= 0);
    let event = open_of(&mut sensor, me, &format!("{dir_str}/{name}"))?;
    assert_eq!(int(&event, "sensor.open.dfd"), Some(i64::from(dirfd)));
    assert_eq!(int(&event, "sensor.open.fd"), Some(i64::from(fd)));
    assert!(strings(&event, "sensor.open.flags").contains(&"O_RDWR"));
    assert_eq!(field_str(&event, "sensor.open.access"), Some("read_write"));

    // A failed open carries its errno.
    let missing = format!("{dir_str}/{}", unique("missing-"));
    let c = cstr(missing.as_bytes())?;
    // SAFETY: valid C string.
    let r = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY) };
    assert_eq!(r, -1);
    let event = open_of(&mut sensor, me, &missing)?;
    assert_eq!(int(&event, "sensor.open.result"), Some(-2));
    assert_eq!(field_str(&event, "sensor.open.errno"), Some("ENOENT"));
    assert_eq!(field_str(&event, "event.outcome"), Some("failure"));
    assert_eq!(strings(&event, "sensor.open.flags"), vec!["O_RDONLY"]);

    // creat(2) and openat2(2) go through their own tracepoints.
    let created = format!("{dir_str}/{}", unique("creat-"));
    let c = cstr(created.as_bytes())?;
    // SAFETY: raw syscall with a valid C string.
    let fd2 = unsafe { libc::syscall(libc::SYS_creat, c.as_ptr(), 0o640) };
    assert!(fd2 >= 0);
    let event = open_of(&mut sensor, me, &created)?;
    assert_eq!(field_str(&event, "sensor.open.syscall"), Some("creat"));
    assert!(strings(&event, "sensor.open.flags").contains(&"O_TRUNC"));

    let via2 = format!("{dir_str}/{}", unique("openat2-"));
    let c = cstr(via2.as_bytes())?;
    let how: [u64; 3] = [
        (libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64,
        0o600,
        0,
    ];
    // SAFETY: raw syscall with a valid C string and open_how.
    let fd3 = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c.as_ptr(),
            how.as_ptr(),
            std::mem::size_of_val(&how),
        )
    };
    assert!(fd3 >= 0, "openat2 failed");
    let event = open_of(&mut sensor, me, &via2)?;
    assert_eq!(field_str(&event, "sensor.open.syscall"), Some("openat2"));
    assert!(strings(&event, "sensor.open.flags").contains(&"O_CREAT"));

    // SAFETY: closing fds we opened.
    unsafe {
        libc::close(fd);
        libc::close(dirfd);
        libc::close(fd2 as i32);
        libc::close(fd3 as i32);
    }
    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// The kernel resolves the directory of a relative open itself: the dirfd is closed and its
/// number reused for another directory, and the cwd-relative opener has exited, before the
/// sensor could look anything up in /proc. The directory lives under /dev/shm (a tmpfs on the
/// devtmpfs of /dev), so the walk crosses mounts.
#[test]
fn relative_opens_are_resolved_in_the_kernel_across_mounts() -> anyhow::Result<()> {
    if !require_root("relative_opens_are_resolved_in_the_kernel_across_mounts") {
        return Ok(());
    }
    let base = std::path::Path::new("/dev/shm").join(unique("sensor-dirfd-"));
    std::fs::create_dir_all(base.join("sub"))?;
    let base_str = base.to_string_lossy().into_owned();
    let me = std::process::id();
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    let sub = cstr(base.join("sub").as_os_str().as_bytes())?;
    // SAFETY: valid C string.
    let dirfd = unsafe { libc::open(sub.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
    assert!(dirfd >= 0);
    let name = unique("key-");
    let c = cstr(name.as_bytes())?;
    // SAFETY: valid fd and C string; then closing what we opened and reusing the number.
    let (fd, decoy) = unsafe {
        let fd = libc::openat(dirfd, c.as_ptr(), libc::O_WRONLY | libc::O_CREAT, 0o600);
        libc::close(fd);
        libc::close(dirfd);
        (
            fd,
            libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY),
        )
    };
    assert!(fd >= 0);
    let event = open_of(&mut sensor, me, &format!("{base_str}/sub/{name}"))?;
    assert_eq!(
        field_str(&event, "sensor.open.requested_path"),
        Some(name.as_str())
    );
    assert_eq!(int(&event, "sensor.open.dfd"), Some(i64::from(dirfd)));
    assert_eq!(event["sensor"]["open"]["path_resolved"], Value::Bool(true));

    // Relative to the working directory, by a process that exits at once.
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg("cd \"$1\" && exec cat \"./sub/$2\"")
        .args(["sh", &base_str, &name])
        .status()?;
    assert!(status.success());
    let event = sensor.wait_for(WAIT, |e| {
        field_str(e, "event.action") == Some("open")
            && field_str(e, "sensor.open.requested_path") == Some(&format!("./sub/{name}"))
    })?;
    assert_eq!(
        field_str(&event, "file.path"),
        Some(format!("{base_str}/sub/{name}").as_str())
    );

    // SAFETY: closing the fd we opened.
    unsafe { libc::close(decoy) };
    sensor.stop()?;
    std::fs::remove_dir_all(base)?;
    Ok(())
}
