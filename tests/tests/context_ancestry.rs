//! Issue 4: process identity and ancestry on the real kernel. A process that predates the
//! sensor is known from the /proc seed; a three-level chain yields its ancestors in order; a
//! reused pid gets a new identity and none of the old process's history.

mod context_support;

use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

use context_support::{ancestors, args, copy_program, pid_of, tempdir, wait_exec};
use sensor_tests::{Sensor, field, field_str, require_root};

#[test]
fn a_process_started_before_the_sensor_shows_up_with_its_ancestry() -> anyhow::Result<()> {
    if !require_root("a_process_started_before_the_sensor_shows_up_with_its_ancestry") {
        return Ok(());
    }
    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-pre-")?;
    let flag = dir.join("go");
    let script = format!(
        "while [ ! -e {} ]; do sleep 0.05; done; {prog} 0.5; true",
        flag.display()
    );
    let mut early = Command::new("/bin/sh").arg("-c").arg(&script).spawn()?;
    std::thread::sleep(Duration::from_millis(300));

    let mut sensor = Sensor::start(&["run", "--events", "-"])?;
    std::fs::write(&flag, b"")?;
    let event = wait_exec(&mut sensor, &prog)?;
    assert!(early.wait()?.success());

    let parent = field(&event, "process.parent").expect("process.parent");
    assert_eq!(pid_of(parent), Some(u64::from(early.id())));
    assert_eq!(
        args(parent.get("args")),
        vec!["/bin/sh".to_owned(), "-c".into(), script.clone()],
        "the shell's argv comes from the /proc seed"
    );
    assert_eq!(
        parent.get("command_line").and_then(|v| v.as_str()),
        Some(format!("/bin/sh -c {script}").as_str())
    );
    let sh = std::fs::canonicalize("/bin/sh")?;
    assert_eq!(
        parent.get("executable").and_then(|v| v.as_str()),
        sh.to_str()
    );
    let chain = ancestors(&event);
    assert_eq!(chain.first().and_then(pid_of), Some(u64::from(early.id())));
    assert_eq!(
        chain.get(1).and_then(pid_of),
        Some(u64::from(std::process::id())),
        "the test process is the grandparent: {chain:?}"
    );
    let parent_id = parent
        .get("entity_id")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let own_id = field_str(&event, "process.entity_id").unwrap_or("");
    assert!(!parent_id.is_empty() && !own_id.is_empty() && parent_id != own_id);
    assert!(field_str(&event, "process.start").is_some());
    assert!(field_str(&event, "process.working_directory").is_some());

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn a_three_level_chain_yields_the_right_ancestors() -> anyhow::Result<()> {
    if !require_root("a_three_level_chain_yields_the_right_ancestors") {
        return Ok(());
    }
    let dir = tempdir()?;
    let prog = copy_program(&dir, "/bin/sleep", "ctx-chain-")?;
    let inner = format!("{prog} 0.5; true");
    let outer = format!("sh -c '{inner}'; true");

    let mut sensor = Sensor::start(&["run", "--events", "-", "--ancestor-depth", "8"])?;
    let mut shell = Command::new("/bin/sh").arg("-c").arg(&outer).spawn()?;
    let event = wait_exec(&mut sensor, &prog)?;
    assert!(shell.wait()?.success());

    let chain = ancestors(&event);
    assert!(chain.len() >= 3, "{chain:?}");
    assert_eq!(args(chain[0].get("args")), vec!["sh", "-c", inner.as_str()]);
    assert_eq!(
        args(chain[1].get("args")),
        vec!["/bin/sh", "-c", outer.as_str()]
    );
    assert_eq!(pid_of(&chain[1]), Some(u64::from(shell.id())));
    assert_eq!(pid_of(&chain[2]), Some(u64::from(std::process::id())));
    assert_eq!(
        field(&event, "process.parent.pid").and_then(|v| v.as_u64()),
        pid_of(&chain[0])
    );
    assert_eq!(
        field(&event, "process.parent.entity_id"),
        chain[0].get("entity_id")
    );
    let me = std::env::current_exe()?;
    assert_eq!(
        chain[2].get("executable").and_then(|v| v.as_str()),
        me.to_str()
    );
    assert!(chain.len() <= 8);

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

#[test]
fn a_reused_pid_is_not_attached_to_the_old_process_history() -> anyhow::Result<()> {
    if !require_root("a_reused_pid_is_not_attached_to_the_old_process_history") {
        return Ok(());
    }
    let dir = tempdir()?;
    let first = copy_program(&dir, "/bin/sleep", "ctx-first-")?;
    let second = copy_program(&dir, "/bin/sleep", "ctx-second-")?;
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    let mut old = Command::new(&first).arg("0.3").spawn()?;
    let pid = old.id();
    let old_event = wait_exec(&mut sensor, &first)?;
    assert_eq!(
        field(&old_event, "process.pid").and_then(|v| v.as_u64()),
        Some(u64::from(pid))
    );
    old.wait()?;

    // Make the kernel hand out the same pid again.
    let mut reused = None;
    for _ in 0..200 {
        let mut last = std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/sys/kernel/ns_last_pid")?;
        write!(last, "{}", pid - 1)?;
        drop(last);
        let mut child = Command::new(&second).arg("0.5").spawn()?;
        if child.id() == pid {
            reused = Some(child);
            break;
        }
        child.kill()?;
        child.wait()?;
    }
    let Some(mut new) = reused else {
        eprintln!("SKIPPED a_reused_pid...: could not get pid {pid} again (busy machine)");
        return Ok(());
    };
    let new_event = wait_exec(&mut sensor, &second)?;
    new.wait()?;

    assert_eq!(
        field(&new_event, "process.pid"),
        field(&old_event, "process.pid")
    );
    assert_ne!(
        field_str(&new_event, "process.entity_id"),
        field_str(&old_event, "process.entity_id"),
        "a new process under an old pid must get a new identity"
    );
    // `process.previous` is this process's own history (with fork events: the image it was
    // forked with, the test binary); the old process's program must not be in it.
    let previous = field(&new_event, "process.previous")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        !previous.contains(&first),
        "exec history of the old process leaked into the new one: {new_event}"
    );
    assert_eq!(
        field(&new_event, "process.parent.pid").and_then(|v| v.as_u64()),
        Some(u64::from(std::process::id()))
    );

    sensor.stop()?;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}
