use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, Instant};

use super::places::{Place, Places, static_place};
use super::*;
use crate::event::{ExecEvent, ExitEvent, ForkEvent};
use crate::output::spool::tests::temp_dir;

#[test]
fn dropper_locations_by_text() {
    let cases: &[(&[u8], Option<Place>)] = &[
        (b"/tmp/payload", Some(Place::Temp)),
        (b"/var/tmp/x/y", Some(Place::Temp)),
        (b"/dev/shm/x", Some(Place::Temp)),
        (b"/run/user/0/x", Some(Place::Runtime)),
        (b"/var/run/x", Some(Place::Runtime)),
        (b"/home/alice/bin/tool", Some(Place::Home)),
        (b"/root/a.out", Some(Place::Home)),
        // A hidden component wins over the prefix, and counts anywhere.
        (b"/tmp/.x/run", Some(Place::Hidden)),
        (b"/usr/lib/.cache/agent", Some(Place::Hidden)),
        (b"/opt/app/.hidden", Some(Place::Hidden)),
        // Package-managed and look-alike locations are not watched.
        (b"/usr/bin/sleep", None),
        (b"/usr/sbin/sshd", None),
        (b"/opt/app/bin/server", None),
        (b"/tmpfs/x", None),
        (b"/homer/x", None),
        (b"/usr/./bin/x", None),
        (b"/usr/../tmp", None),
        (b"relative/.x", None),
        (b"", None),
        (b"/", None),
        (b"/tmp/\xff\x00odd", Some(Place::Temp)),
    ];
    for &(path, want) in cases {
        assert_eq!(
            static_place(path),
            want,
            "{}",
            String::from_utf8_lossy(path)
        );
    }
}

#[test]
fn world_writable_ancestor_is_a_dropper_location() {
    let root = temp_dir("exewatch-ww");
    let open = root.join("srv/drop/sub");
    let closed = root.join("srv/safe");
    std::fs::create_dir_all(&open).expect("test fixture");
    std::fs::create_dir_all(&closed).expect("test fixture");
    std::fs::set_permissions(
        root.join("srv/drop"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("test fixture");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o755))
        .expect("test fixture");
    std::fs::set_permissions(root.join("srv"), std::fs::Permissions::from_mode(0o755))
        .expect("test fixture");
    let mut places = Places::new(root.clone());
    assert_eq!(places.classify(b"/srv/drop/x"), Some(Place::WorldWritable));
    assert_eq!(
        places.classify(b"/srv/drop/sub/x"),
        Some(Place::WorldWritable)
    );
    assert_eq!(places.classify(b"/srv/safe/x"), None);
    assert_eq!(places.classify(b"/srv/missing/x"), None);
    assert_eq!(places.classify(b"/x"), None);
    // Cached: the verdict stands even after the directory changed (until the cache fills).
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o777))
        .expect("test fixture");
    assert_eq!(places.classify(b"/srv/safe/y"), None);
    std::fs::remove_dir_all(&root).expect("test fixture");
}

/// A fake `/proc` with `<pid>/exe` symlinks whose text the test chooses.
struct FakeProc(PathBuf);

impl FakeProc {
    fn new() -> FakeProc {
        FakeProc(temp_dir("exewatch-proc"))
    }

    fn set_exe(&self, pid: u32, target: &str) {
        let dir = self.0.join(pid.to_string());
        std::fs::create_dir_all(&dir).expect("test fixture");
        let link = dir.join("exe");
        let _ = std::fs::remove_file(&link);
        symlink(target, link).expect("test fixture");
    }

    fn remove(&self, pid: u32) {
        std::fs::remove_dir_all(self.0.join(pid.to_string())).expect("test fixture");
    }

    fn watch(&self, max_checks: usize) -> ExeWatch {
        ExeWatch::new(&ExeWatchConfig {
            interval: Duration::from_millis(1),
            max_checks,
            proc_root: self.0.clone(),
            host_root: Path::new("/nonexistent-host-root").into(),
        })
    }
}

impl Drop for FakeProc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn process(pid: u32, executable: &str) -> ProcessInfo {
    ProcessInfo {
        pid,
        start_unix_ns: i128::from(pid) * 1000,
        executable: executable.as_bytes().to_vec(),
        ..ProcessInfo::default()
    }
}

fn exec() -> EventBody {
    EventBody::Exec(ExecEvent::default())
}

fn fork(parent: u32, child: u32) -> EventBody {
    EventBody::Fork(ForkEvent {
        parent_pid: parent,
        child_pid: child,
        child_tid: child,
    })
}

fn tick(watch: &mut ExeWatch) -> (Vec<Finding>, TickCounts) {
    let mut found = Vec::new();
    let counts = watch.tick(Instant::now(), &mut found);
    (found, counts)
}

#[test]
fn reports_a_deleted_dropper_once() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    assert!(watch.enabled());
    proc.set_exe(100, "/tmp/.x/payload");
    watch.observe(&exec(), &process(100, "/tmp/.x/payload"));
    assert_eq!(watch.watched(), 1);

    let (found, counts) = tick(&mut watch);
    assert!(found.is_empty());
    assert_eq!(
        counts,
        TickCounts {
            checked: 1,
            found: 0,
            not_followed: 0
        }
    );

    proc.set_exe(100, "/tmp/.x/payload (deleted)");
    let (found, counts) = tick(&mut watch);
    assert_eq!(
        found,
        vec![Finding {
            pid: 100,
            start_unix_ns: 100_000,
            link: b"/tmp/.x/payload".to_vec(),
        }]
    );
    assert_eq!(
        counts,
        TickCounts {
            checked: 1,
            found: 1,
            not_followed: 0
        }
    );

    // Never again for that process, and no more reads for it.
    for _ in 0..3 {
        let (found, counts) = tick(&mut watch);
        assert!(found.is_empty());
        assert_eq!(counts.checked, 0);
    }
    assert_eq!(watch.watched(), 0);
}

#[test]
fn system_locations_are_not_followed() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(200, "/usr/sbin/daemon (deleted)");
    watch.observe(&exec(), &process(200, "/usr/sbin/daemon"));
    watch.seed(&process(200, "/usr/sbin/daemon"));
    assert_eq!(watch.watched(), 0);
    let (found, counts) = tick(&mut watch);
    assert!(found.is_empty());
    assert_eq!(counts.checked, 0);
}

#[test]
fn exec_elsewhere_and_exit_stop_following() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(300, "/tmp/a (deleted)");
    proc.set_exe(301, "/tmp/b (deleted)");
    watch.observe(&exec(), &process(300, "/tmp/a"));
    watch.observe(&exec(), &process(301, "/tmp/b"));
    // 300 execs a system program; 301 exits.
    watch.observe(&exec(), &process(300, "/usr/bin/true"));
    watch.observe(
        &EventBody::Exit(ExitEvent::default()),
        &process(301, "/tmp/b"),
    );
    let (found, counts) = tick(&mut watch);
    assert!(found.is_empty());
    assert_eq!(counts.checked, 0);
}

#[test]
fn gone_process_is_dropped() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(400, "/dev/shm/x");
    watch.observe(&exec(), &process(400, "/dev/shm/x"));
    proc.remove(400);
    let (_, counts) = tick(&mut watch);
    assert_eq!(counts.checked, 1);
    assert_eq!(watch.watched(), 0);
}

#[test]
fn forked_children_follow_and_inherit_the_report() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(500, "/var/tmp/implant (deleted)");
    watch.observe(&exec(), &process(500, "/var/tmp/implant"));
    // A child forked before the finding is followed and reported on its own.
    proc.set_exe(501, "/var/tmp/implant (deleted)");
    watch.observe(&fork(500, 501), &process(501, "/var/tmp/implant"));
    let (found, _) = tick(&mut watch);
    let mut pids: Vec<u32> = found.iter().map(|f| f.pid).collect();
    pids.sort_unstable();
    assert_eq!(pids, [500, 501]);
    // Forked after the report: a worker of an implant already reported.
    proc.set_exe(502, "/var/tmp/implant (deleted)");
    watch.observe(&fork(500, 502), &process(502, "/var/tmp/implant"));
    let (found, counts) = tick(&mut watch);
    assert!(found.is_empty());
    assert_eq!(counts.checked, 0);
    // A child of an unfollowed parent is not followed.
    watch.observe(&fork(9, 503), &process(503, "/var/tmp/implant"));
    assert_eq!(watch.watched(), 0);
}

#[test]
fn checks_per_tick_are_bounded_and_take_turns() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(3);
    for pid in 600..610 {
        proc.set_exe(pid, "/tmp/w");
        watch.observe(&exec(), &process(pid, "/tmp/w"));
    }
    proc.set_exe(609, "/tmp/w (deleted)");
    let mut found_at = None;
    for round in 0..4 {
        let (found, counts) = tick(&mut watch);
        assert!(counts.checked <= 3);
        if !found.is_empty() {
            assert_eq!(found.len(), 1);
            found_at = Some(round);
        }
    }
    // The tenth pid comes up in the fourth tick of three checks each.
    assert_eq!(found_at, Some(3));
}

#[test]
fn missing_proc_turns_the_watch_off() {
    let mut watch = ExeWatch::new(&ExeWatchConfig {
        interval: Duration::from_secs(1),
        max_checks: 8,
        proc_root: Path::new("/nonexistent-proc").into(),
        host_root: Path::new("/").into(),
    });
    assert!(!watch.enabled());
    watch.observe(&exec(), &process(1, "/tmp/x"));
    assert!(!watch.due(Instant::now() + Duration::from_secs(5)));
}

#[test]
fn zero_interval_turns_the_watch_off() {
    let proc = FakeProc::new();
    let watch = ExeWatch::new(&ExeWatchConfig {
        interval: Duration::ZERO,
        max_checks: 8,
        proc_root: proc.0.clone(),
        host_root: Path::new("/").into(),
    });
    assert!(!watch.enabled());
}

#[test]
fn event_carries_the_process_identity() {
    let info = ProcessInfo {
        uid: 1000,
        gid: 1001,
        cgroup_id: 7,
        comm: b".sysupd".to_vec(),
        ..process(700, "/tmp/.d/.sysupd")
    };
    let finding = Finding {
        pid: 700,
        start_unix_ns: info.start_unix_ns,
        link: b"/tmp/.d/.sysupd".to_vec(),
    };
    let event = ExeWatch::event(finding, &info);
    assert_eq!((event.header.pid, event.header.tid), (700, 700));
    assert_eq!((event.header.uid, event.header.gid), (1000, 1001));
    assert_eq!(event.header.cgroup_id, 7);
    assert_eq!(event.body.kind_name(), "executable-deleted");
    assert_eq!(
        event.body,
        EventBody::ExeDeleted(ExeDeletedEvent {
            link: b"/tmp/.d/.sysupd".to_vec()
        })
    );
}

#[test]
fn exec_of_an_already_deleted_file_is_left_to_the_exec_rules() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(800, "/tmp/x (deleted)");
    let deleted = EventBody::Exec(ExecEvent {
        exe_deleted: true,
        ..ExecEvent::default()
    });
    watch.observe(&deleted, &process(800, "/tmp/x"));
    let memfd = EventBody::Exec(ExecEvent {
        exe_memfd: true,
        ..ExecEvent::default()
    });
    watch.observe(&memfd, &process(801, "/tmp/.m"));
    assert_eq!(watch.watched(), 0);
}

#[test]
fn threads_and_repeats_never_queue_a_process_twice() {
    let proc = FakeProc::new();
    let mut watch = proc.watch(64);
    proc.set_exe(900, "/home/u/bin/server");
    let server = process(900, "/home/u/bin/server");
    watch.seed(&server);
    watch.observe(&exec(), &server);
    for _ in 0..100 {
        // New threads of the process: fork events whose child is the process itself.
        watch.observe(&fork(900, 900), &server);
    }
    let mut total = 0;
    for _ in 0..5 {
        let (_, counts) = tick(&mut watch);
        assert!(counts.checked <= 1, "{counts:?}");
        total += counts.checked;
    }
    assert_eq!(total, 5);
    assert!(watch.queued() <= 2, "queue grew to {}", watch.queued());
    // Exec elsewhere and back: the old turn is stale, the process is checked once per tick.
    watch.observe(&exec(), &process(900, "/usr/bin/true"));
    watch.observe(&exec(), &server);
    let (_, counts) = tick(&mut watch);
    assert_eq!(counts.checked, 1);
    let (_, counts) = tick(&mut watch);
    assert_eq!(counts.checked, 1);
    assert_eq!(watch.queued(), 1);
}

/// Not a check: the cost of one `/proc/PID/exe` check on this machine's real `/proc`, for the
/// docs. `cargo test -p sensor --lib exewatch::tests::cost -- --ignored --nocapture`
#[test]
#[ignore = "timing, not a check"]
fn cost_of_a_check_on_the_real_proc() {
    let mut watch = ExeWatch::new(&ExeWatchConfig {
        interval: Duration::from_millis(1),
        max_checks: 1_000_000,
        proc_root: "/proc".into(),
        host_root: "/".into(),
    });
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for &pid in &pids {
        watch.seed(&process(pid, "/tmp/cost"));
    }
    let mut found = Vec::new();
    let rounds = 200;
    let start = Instant::now();
    let mut checked = 0;
    for _ in 0..rounds {
        checked += watch.tick(Instant::now(), &mut found).checked;
    }
    let per_check = start.elapsed().as_nanos() as f64 / checked.max(1) as f64;
    println!(
        "{} processes, {checked} checks in {rounds} ticks: {per_check:.0} ns per check, \
         {:.1} us per tick of 512",
        pids.len(),
        per_check * 512.0 / 1000.0
    );
}
