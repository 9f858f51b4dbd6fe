//! Draining the event ring buffer with tokio: the reader sleeps until the kernel signals data,
//! then takes every available record.

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;

/// Reads records from `ring` until `stop` resolves, passing each record's bytes to `handle`.
/// The kernel never blocks on us: if we fall behind, its reservations fail and are counted.
pub async fn drain<F, S>(ring: RingBuf<MapData>, mut handle: F, stop: S) -> std::io::Result<()>
where
    F: FnMut(&[u8]),
    S: std::future::Future<Output = ()>,
{
    // SAFETY: the ring buffer owns its map fd, which stays open and unchanged while the
    // AsyncFd owns the ring buffer.
    let mut fd = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(std::io::Error::from)?;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            guard = fd.readable_mut() => {
                let mut guard = guard?;
                let ring = guard.get_inner_mut();
                while let Some(item) = ring.next() {
                    handle(&item);
                }
                guard.clear_ready();
            }
        }
    }
    // Whatever arrived before the stop is still delivered.
    let ring = fd.get_mut();
    while let Some(item) = ring.next() {
        handle(&item);
    }
    Ok(())
}
