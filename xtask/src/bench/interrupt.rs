//! Ctrl-C during a bench must not leave auditd running, audit rules loaded or
//! `bpf_stats_enabled` on. SIGINT reaches the whole process group: the workload, the sensor
//! and auditd stop on it, while the bench only records it, so its run fails with an error and
//! every guard restores what it changed on the way out.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Replaces the default SIGINT/SIGTERM action (exit without cleanup) with a flag.
pub fn install() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { libc::signal(sig, handler as libc::sighandler_t) };
    }
}

/// Fails once a signal has arrived.
pub fn check() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        anyhow::bail!("interrupted; audit and sysctl state restored");
    }
    Ok(())
}
