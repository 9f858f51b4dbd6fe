//! Unique document ids: 128 random bits from the kernel (`getrandom(2)`), formatted like a
//! version-4 UUID so downstream tools accept them as such.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Fallback counter if `getrandom` is unavailable (never expected on a supported kernel): the
/// id is still unique within this process, mixed with the time and pid.
static FALLBACK: AtomicU64 = AtomicU64::new(0);

/// A new random id, `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` (lower-case hex).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if !fill_random(&mut bytes) {
        let n = FALLBACK.fetch_add(1, Ordering::Relaxed);
        let t = crate::time::now_unix_ns().to_le_bytes();
        let pid = std::process::id().to_le_bytes();
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = t.get(i).copied().unwrap_or(0) ^ n.to_le_bytes().get(i % 8).copied().unwrap_or(0);
            *b ^= pid.get(i % 4).copied().unwrap_or(0).rotate_left(3);
        }
    }
    // Version 4, variant 10xx: the UUID bits.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// 64 random bits (for jitter); not for secrets.
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    if !fill_random(&mut b) {
        let t = crate::time::now_unix_ns();
        return (t as u64) ^ FALLBACK.fetch_add(1, Ordering::Relaxed).rotate_left(17);
    }
    u64::from_le_bytes(b)
}

fn fill_random(buf: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else {
            return false;
        };
        // SAFETY: the pointer and length describe the writable tail of `buf`.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(n) if n > 0 => filled += n,
            _ => {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                    return false;
                }
            }
        }
    }
    true
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_and_distinct() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(5) {
            assert_eq!(id.len(), 36);
            assert_eq!(id.as_bytes()[14], b'4');
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        }
    }
}
