//! Draining the event ring buffer with tokio. The kernel wakes the reader only once enough data
//! is waiting (see `wakeup_bytes` in the kernel config); a short timer collects whatever sits
//! below that threshold, so latency stays bounded without a wakeup per event.

use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

/// How long the reader keeps draining after it was told to stop.
const FINAL_DRAIN: Duration = Duration::from_secs(2);

/// What the reader hands records to.
pub trait Consumer {
    /// One record's bytes, still in the ring (copy what must outlive the call).
    fn record(&mut self, bytes: &[u8]);
    /// The ring was drained for now (after a wakeup or a timer tick).
    fn batch_done(&mut self);
}

/// Reads records from `ring` until `stop` resolves, passing each record to `consumer` and
/// telling it when a batch is done. The kernel never blocks on us: if we fall behind, its
/// reservations fail and are counted.
pub async fn drain<C, S>(
    ring: RingBuf<MapData>,
    consumer: &mut C,
    poll: Duration,
    stop: S,
) -> std::io::Result<()>
where
    C: Consumer,
    S: std::future::Future<Output = ()>,
{
    // SAFETY: the ring buffer owns its map fd, which stays open and unchanged while the
    // AsyncFd owns the ring buffer.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(std::io::Error::from)?;
    let mut timer = tokio::time::interval(poll.max(Duration::from_millis(1)));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    // Records remain after a full batch read on a timer tick. The kernel wakes us only when
    // the ring crosses its wake-up threshold, which a ring already past it does not do again,
    // so such a backlog is read batch by batch until it is gone, not left for the next tick.
    let mut backlog = false;
    loop {
        tokio::select! {
            () = &mut stop => break,
            guard = fd.readable_mut() => {
                let mut guard = guard?;
                let ring = guard.get_inner_mut();
                // Bounded batches: a ring that refills as fast as it is read must not keep the
                // loop from seeing the stop signal (readiness stays set while records remain).
                if read_batch(ring, consumer) < MAX_BATCH {
                    guard.clear_ready();
                }
                consumer.batch_done();
            }
            () = std::future::ready(()), if backlog => {
                backlog = read_batch(fd.get_mut(), consumer) == MAX_BATCH;
                consumer.batch_done();
            }
            _ = timer.tick() => {
                backlog = read_batch(fd.get_mut(), consumer) == MAX_BATCH;
                consumer.batch_done();
            }
        }
    }
    // Whatever arrived before the stop is still delivered, but only for a bounded time:
    // producers keep writing while we drain, and a busy host must not keep us from exiting.
    let deadline = std::time::Instant::now() + FINAL_DRAIN;
    let ring = fd.get_mut();
    // The processing of what is read counts against the deadline too (batch by batch).
    while read_batch(ring, consumer) > 0 {
        consumer.batch_done();
        if std::time::Instant::now() >= deadline {
            break;
        }
    }
    consumer.batch_done();
    Ok(())
}

/// Most records handed to the consumer between two `batch_done` calls.
const MAX_BATCH: usize = 256;

/// Reads up to [`MAX_BATCH`] records into `consumer`; returns how many.
fn read_batch<C: Consumer>(ring: &mut RingBuf<MapData>, consumer: &mut C) -> usize {
    let mut n = 0;
    while n < MAX_BATCH {
        let Some(item) = ring.next() else { break };
        consumer.record(&item);
        n += 1;
    }
    n
}
