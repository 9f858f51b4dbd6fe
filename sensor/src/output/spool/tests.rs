use std::path::PathBuf;

use super::*;

/// A fresh, empty directory under the system temp dir, unique per test and process.
pub(crate) fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sensor-out-{tag}-{}-{}",
        std::process::id(),
        crate::output::id::new_id()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(max_bytes: u64, segment_bytes: u64, full: Full) -> SpoolConfig {
    SpoolConfig {
        max_bytes,
        segment_bytes,
        full,
        sync: false,
    }
}

/// Documents of exactly 10 bytes with the newline.
fn line(i: u32) -> Vec<u8> {
    format!("{{\"n\":{i:03}}}").into_bytes()
}

fn numbers(batch: &Batch) -> Vec<u32> {
    batch
        .lines
        .iter()
        .map(|l| std::str::from_utf8(&l[5..8]).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn delivers_in_order_across_segments() {
    let dir = temp_dir("order");
    let mut spool = Spool::open(&dir, config(10_000, 25, Full::RejectNew)).unwrap();
    for i in 0..10 {
        assert_eq!(spool.append(&line(i)).unwrap(), Appended::default());
    }
    assert_eq!(spool.pending_bytes(), 100);
    let first = spool.peek(4, 1 << 20).unwrap();
    assert_eq!(numbers(&first), [0, 1, 2, 3]);
    // Peeking again without a commit gives the same batch (a retry).
    assert_eq!(numbers(&spool.peek(4, 1 << 20).unwrap()), [0, 1, 2, 3]);
    spool.commit(first.end.unwrap()).unwrap();
    let rest = spool.peek(100, 1 << 20).unwrap();
    assert_eq!(numbers(&rest), [4, 5, 6, 7, 8, 9]);
    spool.commit(rest.end.unwrap()).unwrap();
    assert!(spool.is_empty());
    assert!(spool.peek(10, 1 << 20).unwrap().lines.is_empty());
    // Delivered segments are gone, except the one still being written.
    let segs = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("seg".as_ref()))
        .count();
    assert_eq!(segs, 1);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn restart_resumes_exactly_after_the_committed_batch() {
    let dir = temp_dir("restart");
    let cfg = config(10_000, 35, Full::RejectNew);
    let mut spool = Spool::open(&dir, cfg).unwrap();
    for i in 0..10 {
        spool.append(&line(i)).unwrap();
    }
    let batch = spool.peek(5, 1 << 20).unwrap();
    spool.commit(batch.end.unwrap()).unwrap();
    // An unconfirmed batch: read but not committed before the "crash".
    assert_eq!(numbers(&spool.peek(2, 1 << 20).unwrap()), [5, 6]);
    spool.flush().unwrap();
    drop(spool);
    // A torn half line, as if the process died in the middle of a write.
    let last = fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension() == Some("seg".as_ref()))
        .max()
        .unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap()
        .write_all(b"{\"n\":9")
        .unwrap();

    let mut spool = Spool::open(&dir, cfg).unwrap();
    spool.append(&line(10)).unwrap();
    let all = spool.peek(100, 1 << 20).unwrap();
    assert_eq!(numbers(&all), [5, 6, 7, 8, 9, 10]);
    spool.commit(all.end.unwrap()).unwrap();
    drop(spool);
    let mut spool = Spool::open(&dir, cfg).unwrap();
    assert!(spool.peek(100, 1 << 20).unwrap().lines.is_empty());
    assert!(spool.is_empty());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn full_event_spool_drops_oldest_first_and_counts() {
    let dir = temp_dir("dropold");
    // 60 bytes total, 20-byte segments: 6 documents fit.
    let mut spool = Spool::open(&dir, config(60, 20, Full::DropOldest)).unwrap();
    for i in 0..6 {
        assert_eq!(spool.append(&line(i)).unwrap(), Appended::default());
    }
    // The 7th evicts the oldest segment (documents 0 and 1).
    assert_eq!(
        spool.append(&line(6)).unwrap(),
        Appended {
            evicted: 2,
            rejected: false,
            too_large: false
        }
    );
    // Part of the next segment gets delivered: only its undelivered document counts as lost.
    let batch = spool.peek(1, 1 << 20).unwrap();
    assert_eq!(numbers(&batch), [2]);
    spool.commit(batch.end.unwrap()).unwrap();
    assert_eq!(
        spool.append(&line(7)).unwrap(),
        Appended {
            evicted: 0,
            rejected: false,
            too_large: false
        }
    );
    assert_eq!(
        spool.append(&line(8)).unwrap(),
        Appended {
            evicted: 1,
            rejected: false,
            too_large: false
        }
    );
    assert_eq!(numbers(&spool.peek(100, 1 << 20).unwrap()), [4, 5, 6, 7, 8]);
    // A document larger than the whole spool is refused, nothing evicted for it.
    let huge = vec![b'x'; 100];
    assert_eq!(
        spool.append(&huge).unwrap(),
        Appended {
            evicted: 0,
            rejected: false,
            too_large: true
        }
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn full_alert_spool_keeps_everything_and_refuses_new() {
    let dir = temp_dir("reject");
    let mut spool = Spool::open(&dir, config(30, 20, Full::RejectNew)).unwrap();
    for i in 0..3 {
        assert!(!spool.append(&line(i)).unwrap().rejected);
    }
    assert!(spool.append(&line(3)).unwrap().rejected);
    assert_eq!(numbers(&spool.peek(100, 1 << 20).unwrap()), [0, 1, 2]);
    // Once delivered, there is room again.
    let batch = spool.peek(100, 1 << 20).unwrap();
    spool.commit(batch.end.unwrap()).unwrap();
    assert!(!spool.append(&line(4)).unwrap().rejected);
    assert_eq!(numbers(&spool.peek(100, 1 << 20).unwrap()), [4]);
    fs::remove_dir_all(dir).unwrap();
}
