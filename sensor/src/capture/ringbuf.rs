//! Draining the event ring buffer with tokio. The kernel wakes the reader only once enough data
//! is waiting (see `wakeup_bytes` in the kernel config); a short timer collects whatever sits
//! below that threshold, so latency stays bounded without a wakeup per event.

use std::time::Duration;

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

/// Most records handed over before the reader returns to its event loop: under a stream that
/// never lets the ring run empty, the stop signal and timers must still be served.
const MAX_BATCH: usize = 4096;

/// Hands up to [`MAX_BATCH`] records to `consumer`; returns how many.
fn take_batch<C: Consumer>(ring: &mut RingBuf<MapData>, consumer: &mut C) -> usize {
    let mut taken = 0;
    while taken < MAX_BATCH {
        let Some(item) = ring.next() else { break };
        consumer.record(&item);
        taken += 1;
    }
    taken
}

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
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            guard = fd.readable_mut() => {
                let mut guard = guard?;
                // A full batch means more may be waiting: stay ready and come back after the
                // stop signal had a chance to be seen.
                if take_batch(guard.get_inner_mut(), consumer) < MAX_BATCH {
                    guard.clear_ready();
                }
                consumer.batch_done();
            }
            _ = timer.tick() => {
                take_batch(fd.get_mut(), consumer);
                consumer.batch_done();
            }
        }
    }
    // Whatever arrived before the stop is still delivered, but only for a bounded time:
    // producers keep writing while we drain, and a busy host must not keep us from exiting.
    let deadline = std::time::Instant::now() + FINAL_DRAIN;
    let ring = fd.get_mut();
    while let Some(item) = ring.next() {
        consumer.record(&item);
        if std::time::Instant::now() >= deadline {
            break;
        }
    }
    consumer.batch_done();
    Ok(())
}
