//! Fill level of a BPF ring buffer, read from its position pages.
//!
//! A BPF ring buffer exposes its consumer position (first page) and producer position (second
//! page) to anyone who maps the map's fd. A private read-only mapping of those two pages lets
//! the metrics sampler see how far the reader lags without touching the reader itself.

use std::os::fd::{AsRawFd as _, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// A read-only view of a ring buffer's consumer and producer positions. The mapping keeps the
/// kernel map alive on its own, so it stays valid after the fd is closed.
pub struct RingFill {
    base: NonNull<libc::c_void>,
    page: usize,
}

// SAFETY: the mapping is read-only, owned by this value, and only read through atomics.
unsafe impl Send for RingFill {}
// SAFETY: as above; concurrent atomic loads are fine.
unsafe impl Sync for RingFill {}

impl RingFill {
    /// Maps the position pages of the ring buffer behind `fd`.
    pub fn map(fd: BorrowedFd<'_>) -> std::io::Result<RingFill> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .map_err(|_| std::io::Error::other("page size unknown"))?;
        // SAFETY: a fresh read-only shared mapping of two pages of a valid fd; the kernel
        // checks that the fd is a ring buffer large enough.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(base).ok_or_else(|| std::io::Error::other("mmap returned null"))?;
        Ok(RingFill { base, page })
    }

    /// Bytes produced and not yet consumed (including records still being written).
    pub fn used_bytes(&self) -> u64 {
        // SAFETY: both positions are 8-byte aligned u64s at the start of the two mapped pages,
        // which live as long as `self`; the kernel and the reader update them atomically.
        let (consumer, producer) = unsafe {
            let consumer = &*self.base.as_ptr().cast::<AtomicU64>();
            let producer = &*self
                .base
                .as_ptr()
                .cast::<u8>()
                .add(self.page)
                .cast::<AtomicU64>();
            (
                consumer.load(Ordering::Acquire),
                producer.load(Ordering::Acquire),
            )
        };
        producer.saturating_sub(consumer)
    }
}

impl Drop for RingFill {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `map` mapped, once.
        unsafe { libc::munmap(self.base.as_ptr(), 2 * self.page) };
    }
}
