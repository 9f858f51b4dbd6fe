//! The enricher against a fake `/proc` and host root: seeding, fork/exec/exit, ancestry limits,
//! pid reuse, containers and users.

use std::path::{Path, PathBuf};

use super::*;
use crate::context::process_table::entity_id;
use crate::event::{ExecEvent, ExitEvent, ForkEvent, OpenEvent};

const ID: &str = "3f1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809";
const TICK: u64 = 10_000_000;

struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(name: &str) -> Fake {
        let dir = std::env::temp_dir().join(format!("sensor-enrich-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("proc")).expect("proc");
        std::fs::create_dir_all(dir.join("root/etc")).expect("etc");
        std::fs::write(
            dir.join("root/etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .expect("passwd");
        std::fs::write(dir.join("root/etc/group"), "root:x:0:\nalice:x:1000:\n").expect("group");
        std::fs::write(dir.join("root/etc/machine-id"), "feedc0de\n").expect("machine-id");
        Fake { dir }
    }

    /// A process: pid, ppid, start tick, executable, uid, cgroup line.
    fn process(&self, pid: u32, ppid: u32, start: u64, exe: &str, uid: u32, cgroup: &str) {
        let d = self.dir.join("proc").join(pid.to_string());
        std::fs::create_dir_all(&d).expect("pid dir");
        let comm = Path::new(exe)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x");
        let stat = format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0"
        );
        std::fs::write(d.join("stat"), stat).expect("stat");
        std::fs::write(d.join("cmdline"), format!("{exe}\0--flag\0")).expect("cmdline");
        std::fs::write(
            d.join("status"),
            format!("Name:\t{comm}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n"),
        )
        .expect("status");
        std::fs::write(d.join("cgroup"), format!("0::{cgroup}\n")).expect("cgroup");
        std::fs::write(d.join("loginuid"), "4294967295").expect("loginuid");
        let _ = std::fs::remove_file(d.join("exe"));
        std::os::unix::fs::symlink(exe, d.join("exe")).expect("exe");
        let _ = std::fs::remove_file(d.join("cwd"));
        std::os::unix::fs::symlink("/", d.join("cwd")).expect("cwd");
    }

    fn remove(&self, pid: u32) {
        std::fs::remove_dir_all(self.dir.join("proc").join(pid.to_string())).expect("rm");
    }

    fn enricher(&self, depth: usize) -> Enricher {
        let config = EnricherConfig {
            max_processes: 1000,
            ancestor_depth: depth,
            exited_retention: Duration::from_secs(5),
            proc_root: self.dir.join("proc"),
            host_root: self.dir.join("root"),
        };
        Enricher::new(&config, BootClock::new())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn event(pid: u32, ktime_ns: u64, uid: u32, body: EventBody) -> Event {
    Event {
        header: Header {
            ktime_ns,
            tid: pid,
            pid,
            uid,
            gid: uid,
            cgroup_id: 0,
            comm: b"x".to_vec(),
        },
        body,
    }
}

fn fork(parent: u32, child: u32, t: u64) -> Event {
    event(
        parent,
        t,
        0,
        EventBody::Fork(ForkEvent {
            parent_pid: parent,
            child_pid: child,
            child_tid: child,
        }),
    )
}

fn exec(pid: u32, t: u64, exe: &str) -> Event {
    event(
        pid,
        t,
        0,
        EventBody::Exec(ExecEvent {
            executable: exe.as_bytes().to_vec(),
            args: vec![exe.as_bytes().to_vec()],
            argc: 1,
            ..ExecEvent::default()
        }),
    )
}

fn pids(chain: &[Arc<ProcessInfo>]) -> Vec<u32> {
    chain.iter().map(|p| p.pid).collect()
}

#[test]
fn seeded_processes_give_ancestry_to_new_children() {
    let fake = Fake::new("seed");
    fake.process(1, 0, 1, "/sbin/init", 0, "/init.scope");
    fake.process(100, 1, 50, "/usr/sbin/sshd", 0, "/system.slice/ssh.service");
    fake.process(200, 100, 90, "/bin/bash", 1000, "/user.slice");
    let mut e = fake.enricher(8);
    assert_eq!(e.seed(), 3);
    e.enrich(fork(200, 300, 100 * TICK));
    let out = e.enrich(exec(300, 100 * TICK + 5, "/usr/bin/nc"));
    assert_eq!(out.process.pid, 300);
    assert_eq!(out.process.executable, b"/usr/bin/nc");
    assert_eq!(
        out.process.previous_executable.as_deref(),
        Some(&b"/bin/bash"[..])
    );
    assert_eq!(out.lineage.parent.as_ref().map(|p| p.pid), Some(200));
    assert_eq!(
        out.lineage
            .parent
            .as_ref()
            .and_then(|p| p.user_name.as_deref()),
        Some("alice")
    );
    assert_eq!(pids(&out.lineage.ancestors), vec![100, 1]);
    // Seeded and forked records of one process agree on its identity.
    let seeded = e.table.peek(200).expect("bash").entity_id.clone();
    let tick_start = entity_id("feedc0de", 200, 90 * TICK, TICK);
    assert_eq!(seeded, tick_start);
}

#[test]
fn threads_do_not_create_processes() {
    let fake = Fake::new("threads");
    fake.process(10, 1, 5, "/usr/bin/app", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let before = e.tracked();
    let thread = event(
        10,
        TICK * 10,
        0,
        EventBody::Fork(ForkEvent {
            parent_pid: 10,
            child_pid: 10,
            child_tid: 11,
        }),
    );
    let out = e.enrich(thread);
    assert_eq!(out.process.pid, 10);
    assert_eq!(e.tracked(), before);
    assert!(e.table.peek(11).is_none());
}

#[test]
fn a_reused_pid_does_not_inherit_the_old_process() {
    let fake = Fake::new("reuse");
    fake.process(100, 1, 5, "/usr/bin/a", 0, "/");
    fake.process(101, 1, 6, "/usr/bin/b", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    e.enrich(fork(100, 500, 10 * TICK));
    let old = e.enrich(exec(500, 10 * TICK + 1, "/tmp/evil"));
    e.enrich(event(
        500,
        11 * TICK,
        0,
        EventBody::Exit(ExitEvent { exit_code: 0 }),
    ));
    let new = e.enrich(fork(101, 500, 12 * TICK));
    assert_ne!(new.process.entity_id, old.process.entity_id);
    assert_eq!(new.process.ppid, 101);
    assert_eq!(new.process.executable, b"/usr/bin/b");
    assert_eq!(new.process.previous_executable, None);
    assert!(!new.process.exited);
    // An event from the new process after the old one's retention still finds the new one.
    let later = e.enrich(event(
        500,
        30 * TICK * 100,
        0,
        EventBody::Open(OpenEvent::default()),
    ));
    assert_eq!(later.process.entity_id, new.process.entity_id);
}

#[test]
fn a_younger_process_holding_the_parent_pid_is_not_the_parent() {
    let fake = Fake::new("younger");
    fake.process(700, 701, 100, "/usr/bin/orphan", 0, "/");
    // 701 started after 700: the real parent died and its pid was reused.
    fake.process(701, 1, 200, "/usr/bin/unrelated", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let out = e.enrich(event(
        700,
        300 * TICK,
        0,
        EventBody::Open(OpenEvent::default()),
    ));
    assert!(out.lineage.parent.is_none());
    assert!(out.lineage.ancestors.is_empty());
}

#[test]
fn ancestry_stops_at_the_depth_and_at_a_container_init() {
    let fake = Fake::new("depth");
    fake.process(1, 0, 1, "/sbin/init", 0, "/");
    for pid in 2..=12 {
        fake.process(pid, pid - 1, u64::from(pid), "/bin/sh", 0, "/");
    }
    let mut e = fake.enricher(4);
    e.seed();
    let out = e.enrich(event(
        12,
        100 * TICK,
        0,
        EventBody::Open(OpenEvent::default()),
    ));
    // Parent plus three ancestors: four entries in all.
    assert_eq!(out.lineage.parent.as_ref().map(|p| p.pid), Some(11));
    assert_eq!(pids(&out.lineage.ancestors), vec![10, 9, 8]);

    let scope = format!("/system.slice/docker-{ID}.scope");
    let fake = Fake::new("container");
    fake.process(1, 0, 1, "/sbin/init", 0, "/");
    fake.process(
        50,
        1,
        2,
        "/usr/bin/containerd-shim-runc-v2",
        0,
        "/system.slice/containerd.service",
    );
    fake.process(51, 50, 3, "/bin/sh", 0, &scope);
    fake.process(52, 51, 4, "/bin/sh", 0, &scope);
    fake.process(53, 52, 5, "/bin/sleep", 0, &scope);
    let mut e = fake.enricher(8);
    e.seed();
    let out = e.enrich(event(
        53,
        100 * TICK,
        0,
        EventBody::Open(OpenEvent::default()),
    ));
    assert_eq!(
        out.process.container.as_ref().map(|c| c.id.as_str()),
        Some(ID)
    );
    assert_eq!(out.lineage.parent.as_ref().map(|p| p.pid), Some(52));
    assert_eq!(
        pids(&out.lineage.ancestors),
        vec![51],
        "the container init ends the chain"
    );
    let init = e.enrich(event(
        51,
        100 * TICK,
        0,
        EventBody::Open(OpenEvent::default()),
    ));
    assert_eq!(init.lineage.parent.as_ref().map(|p| p.pid), Some(50));
    assert!(init.lineage.ancestors.is_empty());
}

#[test]
fn exec_records_effective_ids_and_users() {
    let fake = Fake::new("setuid");
    fake.process(80, 1, 5, "/bin/bash", 1000, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let mut ev = exec(80, 10 * TICK, "/usr/bin/passwd");
    ev.header.uid = 1000;
    ev.header.gid = 1000;
    if let EventBody::Exec(x) = &mut ev.body {
        x.euid = Some(0);
        x.egid = Some(1000);
        x.loginuid = Some(1000);
    }
    let out = e.enrich(ev);
    let p = &out.process;
    assert_eq!((p.uid, p.euid, p.gid, p.egid), (1000, 0, 1000, 1000));
    assert_eq!(p.user_name.as_deref(), Some("alice"));
    assert_eq!(p.effective_user_name.as_deref(), Some("root"));
    assert_eq!(p.effective_group_name, None, "same as the real group");
    assert_eq!(p.loginuid, Some(1000));
}

#[test]
fn unknown_pids_without_proc_get_a_header_record_and_are_not_reread() {
    let fake = Fake::new("unknown");
    let mut e = fake.enricher(8);
    let out = e.enrich(event(
        900,
        TICK,
        1000,
        EventBody::Open(OpenEvent::default()),
    ));
    assert_eq!(out.process.pid, 900);
    assert_eq!(out.process.uid, 1000);
    assert_eq!(out.process.user_name.as_deref(), Some("alice"));
    let again = e.enrich(event(
        900,
        2 * TICK,
        1000,
        EventBody::Open(OpenEvent::default()),
    ));
    assert_eq!(again.process.entity_id, out.process.entity_id);
    // An exit of a process never seen is reported, not stored.
    fake.process(901, 1, 1, "/bin/true", 0, "/");
    fake.remove(901);
    let exit = e.enrich(event(
        901,
        3 * TICK,
        0,
        EventBody::Exit(ExitEvent { exit_code: 9 }),
    ));
    assert!(exit.process.exited);
    assert!(e.table.peek(901).is_none());
}

#[test]
fn an_exec_under_a_reused_pid_is_a_new_process_even_without_fork_and_exit() {
    let fake = Fake::new("lost");
    fake.process(600, 1, 5, "/usr/bin/old", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let old = e.table.peek(600).expect("old").entity_id.clone();
    // The old process exited and a new one got pid 600; neither event reached us.
    fake.process(600, 1, 500, "/usr/bin/new", 0, "/");
    let out = e.enrich(exec(600, 500 * TICK + 1, "/usr/bin/new"));
    assert_ne!(out.process.entity_id, old);
    assert_eq!(out.process.previous_executable, None);
    assert_eq!(out.process.exec_count, 0);
    // The same process exec'ing again keeps its identity.
    let again = e.enrich(exec(600, 501 * TICK, "/usr/bin/next"));
    assert_eq!(again.process.entity_id, out.process.entity_id);
    assert_eq!(
        again.process.previous_executable.as_deref(),
        Some(&b"/usr/bin/new"[..])
    );
}

#[test]
fn an_exec_known_to_have_exited_reads_nothing_from_proc() {
    let fake = Fake::new("gone");
    fake.process(600, 1, 5, "/bin/sh", 0, "/");
    let (mut skip, mut read) = (fake.enricher(8), fake.enricher(8));
    for e in [&mut skip, &mut read] {
        e.seed();
        e.enrich(fork(600, 700, 50 * TICK));
    }
    // Still in /proc, in a process group of its own: a read would see that.
    fake.process(700, 600, 5, "/bin/true", 0, "/");
    let skipped = skip.enrich_exited(exec(700, 51 * TICK, "/bin/true"));
    assert_eq!(
        skipped.process.pgid,
        Some(600),
        "inherited at fork, not read"
    );
    // Without the /proc entry, the reads fail and give the same record.
    fake.remove(700);
    let failed = read.enrich(exec(700, 51 * TICK, "/bin/true"));
    // (Each enricher has its own boot clock.)
    let mut failed_process = ProcessInfo::clone(&failed.process);
    failed_process.start_unix_ns = skipped.process.start_unix_ns;
    assert_eq!(*skipped.process, failed_process);
    assert_eq!(
        pids(&skipped.lineage.ancestors),
        pids(&failed.lineage.ancestors)
    );
    // A plain enrich does read /proc when the entry is there.
    fake.process(700, 600, 5, "/bin/true", 0, "/");
    let again = skip.enrich(exec(700, 52 * TICK, "/bin/true"));
    assert_eq!(again.process.pgid, Some(700));
}

#[test]
fn group_session_and_start_from_the_kernel_replace_the_stat_read() {
    let fake = Fake::new("kernel-ids");
    fake.process(600, 1, 5, "/bin/sh", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    e.enrich(fork(600, 700, 50 * TICK));
    // /proc says group 700 and a start time that does not match the fork; the kernel's values
    // win, so the record is the forked one and no stat was needed.
    fake.process(700, 600, 900, "/bin/true", 0, "/");
    let mut event = exec(700, 51 * TICK, "/bin/true");
    if let EventBody::Exec(exec) = &mut event.body {
        exec.pgid = Some(600);
        exec.sid = Some(1);
        exec.start_boottime_ns = Some(50 * TICK);
    }
    let forked = e.table.peek(700).expect("forked").entity_id.clone();
    let out = e.enrich(event);
    assert_eq!((out.process.pgid, out.process.sid), (Some(600), Some(1)));
    assert_eq!(out.process.entity_id, forked, "same process as the fork");
}

/// End-to-end enrichment throughput with 100k live processes: forks build a tree, then open
/// events for random pids each get a parent, ancestors and leaders.
/// `cargo test -p sensor --release --lib context::enrich::tests::bench_enrich -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_enrich() {
    let fake = Fake::new("bench");
    fake.process(1, 0, 1, "/sbin/init", 0, "/");
    let mut e = fake.enricher(8);
    e.table = ProcessTable::new(200_000, 60_000_000_000);
    e.seed();
    let n = 100_000u32;
    let start = std::time::Instant::now();
    for pid in 2..=n {
        // A tree about 17 levels deep: every process's parent is pid / 2.
        e.enrich(fork((pid / 2).max(1), pid, u64::from(pid) * 1000));
    }
    let forks = start.elapsed().as_secs_f64();
    let mut x: u32 = 777;
    let events = 1_000_000u32;
    let start = std::time::Instant::now();
    let cpu = crate::context::process_table::tests::thread_cpu_secs();
    let mut depth = 0usize;
    for i in 0..events {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let pid = x % (n - 1) + 2;
        let out = e.enrich(event(
            pid,
            u64::from(n) * 1000 + u64::from(i),
            0,
            EventBody::Open(OpenEvent::default()),
        ));
        depth += out.lineage.ancestors.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = crate::context::process_table::tests::thread_cpu_secs() - cpu;
    println!(
        "forks={} forks_per_sec={:.0} enrich_events={events} events_per_sec={:.0} \
         events_per_cpu_sec={:.0} mean_ancestors={:.1} tracked={}",
        n - 1,
        f64::from(n - 1) / forks,
        f64::from(events) / secs,
        f64::from(events) / cpu,
        depth as f64 / f64::from(events),
        e.tracked()
    );
}

#[test]
fn events_of_one_process_share_a_lineage_until_the_table_changes() {
    let fake = Fake::new("lineage");
    fake.process(1, 0, 1, "/sbin/init", 0, "/");
    fake.process(10, 1, 2, "/bin/bash", 0, "/");
    fake.process(20, 10, 3, "/usr/bin/tar", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let open = |t| event(20, t, 0, EventBody::Open(OpenEvent::default()));
    let first = e.enrich(open(100 * TICK));
    let second = e.enrich(open(101 * TICK));
    assert!(Arc::ptr_eq(&first.lineage, &second.lineage));
    assert_eq!(pids(&second.lineage.ancestors), vec![1]);

    // The cache's reference goes before a lifecycle event, so that exec and exit can update a
    // record in place.
    drop(first);
    let references = |e: &Enricher| e.table.peek(20).map_or(0, Arc::strong_count);
    let before = references(&e);
    e.enrich(fork(1, 30, 101 * TICK));
    assert_eq!(references(&e), before - 1);

    // The parent runs another program: the child's next event sees the new image.
    e.enrich(exec(10, 102 * TICK, "/usr/bin/python3"));
    let third = e.enrich(open(103 * TICK));
    assert!(!Arc::ptr_eq(&second.lineage, &third.lineage));
    let parent = third.lineage.parent.as_ref().expect("parent");
    assert_eq!(parent.executable, b"/usr/bin/python3");
    assert_eq!(
        second.lineage.parent.as_ref().expect("parent").executable,
        b"/bin/bash"
    );

    // The parent exits: the child's next event carries the exited record.
    e.enrich(event(
        10,
        104 * TICK,
        0,
        EventBody::Exit(ExitEvent { exit_code: 0 }),
    ));
    let fourth = e.enrich(open(105 * TICK));
    assert!(fourth.lineage.parent.as_ref().expect("parent").exited);
}

#[test]
fn an_exec_in_place_forgets_the_cached_command_line() {
    let fake = Fake::new("cmdline");
    fake.process(1, 0, 1, "/sbin/init", 0, "/");
    fake.process(20, 1, 3, "/usr/bin/tar", 0, "/");
    let mut e = fake.enricher(8);
    e.seed();
    let open = |t| event(20, t, 0, EventBody::Open(OpenEvent::default()));
    let before = e.enrich(open(100 * TICK));
    assert_eq!(
        before.process.command_line.get_or_init(|| "tar".into()),
        "tar"
    );
    drop(before);

    // The record is the table's only reference now, so the exec rewrites it in place.
    e.enrich(exec(20, 101 * TICK, "/usr/bin/python3"));
    let after = e.enrich(open(102 * TICK));
    assert_eq!(after.process.args, vec![b"/usr/bin/python3".to_vec()]);
    assert_eq!(
        after.process.command_line.get_or_init(|| "python3".into()),
        "python3"
    );
}
