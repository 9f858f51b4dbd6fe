//! Issue 4: users and host on the real kernel. A `setpriv` run with distinct real and effective
//! uids shows both, with names from /etc/passwd; every record carries the host.

mod context_support;

use std::process::Command;

use context_support::{copy_program, tempdir, wait_exec};
use sensor_tests::{Sensor, field_str, require_root};

#[test]
fn a_setpriv_run_shows_distinct_real_and_effective_users() -> anyhow::Result<()> {
    if !require_root("a_setpriv_run_shows_distinct_real_and_effective_users") {
        return Ok(());
    }
    let nobody = std::fs::read_to_string("/etc/passwd")?
        .lines()
        .find(|l| l.split(':').nth(2) == Some("65534"))
        .and_then(|l| l.split(':').next().map(str::to_owned));
    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-setpriv-")?;
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;
    let status = Command::new("setpriv")
        .args([
            "--ruid=65534",
            "--euid=0",
            "--rgid=65534",
            "--egid=0",
            "--clear-groups",
        ])
        .arg(&prog)
        .arg("0.5")
        .status()?;
    assert!(status.success());
    let event = wait_exec(&mut sensor, &prog)?;

    assert_eq!(field_str(&event, "user.id"), Some("65534"));
    assert_eq!(field_str(&event, "user.name"), nobody.as_deref());
    assert_eq!(field_str(&event, "user.effective.id"), Some("0"));
    assert_eq!(field_str(&event, "user.effective.name"), Some("root"));
    assert_eq!(field_str(&event, "group.id"), Some("65534"));
    assert_eq!(field_str(&event, "group.effective.id"), Some("0"));
    assert_eq!(
        field_str(&event, "process.user.id"),
        Some("0"),
        "ECS: effective"
    );
    assert_eq!(field_str(&event, "process.real_user.id"), Some("65534"));

    // The host, on every record.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    assert_eq!(field_str(&event, "host.os.kernel"), Some(release.trim()));
    assert_eq!(field_str(&event, "host.os.type"), Some("linux"));
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
    assert_eq!(field_str(&event, "host.name"), Some(hostname.trim()));
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        assert_eq!(field_str(&event, "host.id"), Some(id.trim()));
    }
    assert!(field_str(&event, "host.architecture").is_some_and(|a| !a.is_empty()));
    // A host process has no container.
    assert!(field_str(&event, "container.id").is_none());

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
