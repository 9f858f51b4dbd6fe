//! Table behaviour: replacement on pid reuse, retention, LRU bound, identity; plus the
//! `#[ignore]`d benchmark (`cargo test -p sensor --release --lib process_table::tests::bench
//! -- --ignored --nocapture`).

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::*;

fn record(pid: u32, start: i128) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        ppid: 1,
        start_unix_ns: start,
        entity_id: entity_id("host", pid, start as u64, 10_000_000),
        ..ProcessInfo::default()
    })
}

#[test]
fn entity_id_is_stable_per_tick_and_differs_on_reuse() {
    let tick = 10_000_000;
    assert_eq!(
        entity_id("h", 42, 5 * tick, tick),
        entity_id("h", 42, 5 * tick + 123_456, tick),
        "the /proc tick and the fork ktime within it agree"
    );
    assert_ne!(
        entity_id("h", 42, 5 * tick, tick),
        entity_id("h", 42, 6 * tick, tick)
    );
    assert_ne!(
        entity_id("h", 42, 5 * tick, tick),
        entity_id("h", 43, 5 * tick, tick)
    );
    assert_ne!(
        entity_id("h", 42, 5 * tick, tick),
        entity_id("g", 42, 5 * tick, tick)
    );
    assert_eq!(entity_id("h", 42, 5 * tick, tick).len(), 16);
}

#[test]
fn pid_reuse_replaces_the_entry() {
    let mut table = ProcessTable::new(100, 1_000);
    table.insert(record(7, 1));
    table.mark_exited(7, 10, 10, 0);
    table.insert(record(7, 2));
    let now = table.get(7).expect("present");
    assert_eq!(now.start_unix_ns, 2);
    assert!(!now.exited);
    // The old process's retention ends: the new one must stay.
    table.expire(10_000);
    assert!(table.get(7).is_some());
    assert_eq!(table.stats().expired.load(Ordering::Relaxed), 0);
}

#[test]
fn a_record_held_elsewhere_is_not_changed_by_its_exit_or_a_take() {
    let mut table = ProcessTable::new(100, 1_000);
    let held = table.insert(record(7, 1));
    let exited = table.mark_exited(7, 10, 10, 0).expect("known");
    assert!(exited.exited);
    assert!(!held.exited, "the holder's record changed under it");
    assert!(!Arc::ptr_eq(&held, &exited));

    // Held by the table alone: updated in place, same allocation.
    table.insert(record(8, 1));
    let address = Arc::as_ptr(table.peek(8).expect("present"));
    let exited = table.mark_exited(8, 10, 10, 0).expect("known");
    assert_eq!(Arc::as_ptr(&exited), address);

    let taken = table.take(7).expect("present");
    assert!(taken.pid == 7 && taken.exited);
    assert!(table.peek(7).is_none());
    assert!(table.take(7).is_none());
}

#[test]
fn exited_entries_are_kept_for_the_retention_then_removed() {
    let mut table = ProcessTable::new(100, 1_000);
    table.insert(record(9, 1));
    let exited = table.mark_exited(9, 500, 500, 256).expect("known");
    assert!(exited.exited);
    assert_eq!(exited.exit_code, Some(256));
    table.expire(1_499);
    assert!(table.get(9).is_some_and(|p| p.exited));
    table.expire(1_500);
    assert!(table.get(9).is_none());
    assert_eq!(table.stats().expired.load(Ordering::Relaxed), 1);
    assert!(table.mark_exited(12345, 0, 0, 0).is_none());
}

#[test]
fn the_cap_evicts_least_recently_used_and_counts() {
    let mut table = ProcessTable::new(64, 1_000);
    for pid in 1..=64 {
        table.insert(record(pid, i128::from(pid)));
    }
    // pid 1 is used constantly (a shell whose children keep looking it up).
    for pid in 65..=1064 {
        table.get(1);
        table.insert(record(pid, i128::from(pid)));
        assert!(table.len() <= 64);
    }
    assert!(table.get(1).is_some(), "a hot entry survives a fork bomb");
    assert!(table.get(2).is_none(), "cold entries go first");
    assert!(table.get(1064).is_some(), "the newest entry stays");
    assert!(table.stats().evictions.load(Ordering::Relaxed) >= 1000);
}

/// CPU time of this thread in seconds: the machine is shared, so rates per CPU-second are
/// reported next to the wall-clock ones.
pub(crate) fn thread_cpu_secs() -> f64 {
    // SAFETY: plain getrusage on the calling thread into a zeroed struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &raw mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// A record as big as a typical one: a path, three short arguments, a cwd, shared names.
fn realistic(pid: u32, names: &Arc<str>) -> Arc<ProcessInfo> {
    Arc::new(ProcessInfo {
        pid,
        ppid: pid / 2,
        entity_id: entity_id("0123456789abcdef0123456789abcdef", pid, u64::from(pid), 1),
        start_unix_ns: i128::from(pid),
        executable: b"/usr/bin/python3.11".to_vec(),
        args: vec![b"python3".to_vec(), b"-m".to_vec(), b"http.server".to_vec()],
        working_directory: Some(b"/home/alice/project".to_vec()),
        comm: b"python3".to_vec(),
        user_name: Some(Arc::clone(names)),
        group_name: Some(Arc::clone(names)),
        ..ProcessInfo::default()
    })
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench() {
    let names: Arc<str> = Arc::from("alice");
    for n in [10_000u32, 100_000] {
        let before = rss_kib();
        let mut table = ProcessTable::new(200_000, 30_000_000_000);
        for pid in 1..=n {
            table.insert(realistic(pid, &names));
        }
        let after = rss_kib();
        println!(
            "tracked={n} rss_delta_kib={} bytes_per_process={}",
            after.saturating_sub(before),
            after.saturating_sub(before) * 1024 / u64::from(n)
        );
        if n == 100_000 {
            // A mix like the event stream: 9 lookups (event + parent + ancestors) per update.
            let ops = 2_000_000u32;
            let start = Instant::now();
            let cpu = thread_cpu_secs();
            let mut x: u32 = 12345;
            let mut hits = 0u64;
            for i in 0..ops {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let pid = x % n + 1;
                if i % 10 == 0 {
                    let mut p = ProcessInfo::clone(table.get(pid).as_deref().expect("live"));
                    p.args.push(b"x".to_vec());
                    table.insert(Arc::new(p));
                } else if table.get(pid).is_some() {
                    hits += 1;
                }
            }
            let secs = start.elapsed().as_secs_f64();
            let cpu = thread_cpu_secs() - cpu;
            println!(
                "live=100000 ops={ops} ({hits} lookups, {} updates) ops_per_sec={:.0} \
                 ops_per_cpu_sec={:.0}",
                ops / 10,
                f64::from(ops) / secs,
                f64::from(ops) / cpu
            );
        }
        drop(table);
    }
}
