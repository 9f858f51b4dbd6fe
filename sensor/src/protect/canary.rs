//! Liveness canaries: proof, at every self-check, that the capture hooks still run.
//!
//! The fdinfo self-check ([`super::inventory`]) sees a program unloaded or a link detached, but
//! not a hook that stays attached and yet no longer runs. So the sensor makes, itself, a call
//! each canaried hook must see (an `openat` and an `openat2` of `/usr/lib/`, an `AF_UNSPEC`
//! `connect` of a UDP socket, a refused `bpf(BPF_MAP_FREEZE)`), and checks that the hook's count
//! of the sensor's own calls (`SELF_HITS`, bumped before the own-pid filter drops the call)
//! moved. The calls are chosen so that another sensor on the host drops them in its kernel too
//! (a read-only open under a default ignored prefix, a connect that is not inet), instead of
//! reporting a periodic open and connect that could pass for a beacon; nothing is sent.
//!
//! A hook that does not move at start-up (not attached on this kernel) is left out rather than
//! reported as silenced forever. Other threads of the sensor can only add counts, and only
//! through a hook that runs, so they can hide nothing.
//!
//! Hooks without a canary, and why: `sched_process_exec`, `sys_exit_execve(at)` and
//! `sched_process_fork`/`sched_process_exit` would need the sensor to start a program every
//! few seconds (an exec of its own also replaces the sensor, so a child's would be needed, and
//! that child is not the sensor's pid, so it would be reported as an event); `sys_exit_accept*`
//! needs a listening socket and a connection; the legacy `open`/`creat` exist on few
//! architectures. Their programs are still watched by the fdinfo self-check.

use std::os::fd::{FromRawFd, OwnedFd};

use aya::maps::{MapData, PerCpuArray};
use sensor_common::canary::Hook;

/// Number of canaried hooks.
const HOOKS: usize = Hook::ALL.len();

/// What one check found about one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookState {
    /// The hook.
    pub hook: Hook,
    /// Its count moved after the canary call (or the call could not be made this time, in which
    /// case the previous state is kept).
    pub alive: bool,
}

/// The hooks that stopped running since the last check (to alert on), and every hook's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Hooks alive at the previous check (or at start) and silent now.
    pub newly_silenced: Vec<Hook>,
    /// Every watched hook and whether it ran.
    pub states: Vec<HookState>,
}

/// The canary calls and the counters they must move.
pub struct Canary {
    hits: PerCpuArray<MapData, u64>,
    /// Hooks that answered at start-up; the others are not judged.
    watched: [bool; HOOKS],
    /// Hooks found silent at the last check (one alert per failure, not per check).
    silenced: [bool; HOOKS],
}

impl Canary {
    /// Wraps `SELF_HITS` and runs a first round to learn which hooks answer on this kernel.
    pub fn new(hits: PerCpuArray<MapData, u64>) -> Canary {
        let mut canary = Canary {
            hits,
            watched: [false; HOOKS],
            silenced: [false; HOOKS],
        };
        let (moved, made) = canary.round();
        for (i, hook) in Hook::ALL.iter().enumerate() {
            let ok = moved[i] && made[i];
            canary.watched[i] = ok;
            if !ok {
                tracing::warn!(
                    hook = hook.name(),
                    "hook did not see the start-up canary; it is not liveness-checked"
                );
            }
        }
        canary
    }

    /// The hooks judged by [`Canary::check`].
    pub fn watched(&self) -> impl Iterator<Item = Hook> + '_ {
        Hook::ALL
            .into_iter()
            .zip(self.watched)
            .filter_map(|(hook, w)| w.then_some(hook))
    }

    /// Makes the canary calls and reports which watched hooks did not see them.
    pub fn check(&mut self) -> Report {
        let (moved, made) = self.round();
        judge(&self.watched, &mut self.silenced, &moved, &made)
    }

    /// One round: counts before, the calls, counts after. Returns, per hook, whether its count
    /// moved and whether its call was made.
    fn round(&self) -> ([bool; HOOKS], [bool; HOOKS]) {
        let before = self.counts();
        let made = provoke();
        let after = self.counts();
        let mut moved = [false; HOOKS];
        for (i, m) in moved.iter_mut().enumerate() {
            *m = match (before.get(i), after.get(i)) {
                (Some(Some(b)), Some(Some(a))) => a > b,
                _ => false,
            };
        }
        (moved, made)
    }

    /// `SELF_HITS` per hook, summed over CPUs (`None`: unreadable).
    fn counts(&self) -> [Option<u64>; HOOKS] {
        let mut out = [None; HOOKS];
        for (slot, hook) in out.iter_mut().zip(Hook::ALL) {
            *slot = self
                .hits
                .get(&(hook as u32), 0)
                .ok()
                .map(|values| values.iter().sum());
        }
        out
    }
}

/// Turns one round's results into a report, updating `silenced` (per hook, as in
/// [`Hook::ALL`]): a hook is silent when its call was made and its count did not move.
fn judge(
    watched: &[bool; HOOKS],
    silenced: &mut [bool; HOOKS],
    moved: &[bool; HOOKS],
    made: &[bool; HOOKS],
) -> Report {
    let mut report = Report::default();
    for (i, hook) in Hook::ALL.iter().enumerate() {
        if !watched[i] {
            continue;
        }
        // A call that could not be made this time (no socket, say) proves nothing.
        let silent = if made[i] { !moved[i] } else { silenced[i] };
        if silent && !silenced[i] {
            report.newly_silenced.push(*hook);
        }
        silenced[i] = silent;
        report.states.push(HookState {
            hook: *hook,
            alive: !silent,
        });
    }
    report
}

/// Makes one call per canaried hook; returns which calls were made (their result does not
/// matter: a syscall tracepoint fires whether the call succeeds or not).
fn provoke() -> [bool; HOOKS] {
    let mut made = [false; HOOKS];
    let mut set = |hook: Hook| {
        if let Some(m) = made.get_mut(hook as usize) {
            *m = true;
        }
    };
    // Under a default `--open-ignore-prefix`; whether it exists does not matter.
    let root = c"/usr/lib/";
    // SAFETY: plain syscalls on a valid C string; a returned fd is owned and closed below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            root.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    close_if_fd(fd);
    set(Hook::OpenatExit);
    // struct open_how { u64 flags; u64 mode; u64 resolve; }
    let how: [u64; 3] = [
        (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        0,
        0,
    ];
    // SAFETY: as above; `how` outlives the call and its size is passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            root.as_ptr(),
            how.as_ptr(),
            std::mem::size_of_val(&how),
        )
    };
    close_if_fd(fd);
    set(Hook::Openat2Exit);
    // An AF_UNSPEC connect of a fresh UDP socket: a no-op "disconnect", and not inet.
    // SAFETY: creating a socket; the fd is owned below.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket >= 0 {
        // SAFETY: a new fd owned by nobody else.
        let socket = unsafe { OwnedFd::from_raw_fd(socket) };
        // SAFETY: an all-zero sockaddr is valid; AF_UNSPEC is 0.
        let mut addr: libc::sockaddr = unsafe { std::mem::zeroed() };
        addr.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        // SAFETY: `addr` outlives the call and its size is passed.
        let _ = unsafe {
            libc::connect(
                std::os::fd::AsRawFd::as_raw_fd(&socket),
                &raw const addr,
                std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
            )
        };
        set(Hook::ConnectExit);
    }
    // BPF_MAP_FREEZE of fd -1: refused (EBADF, or EPERM without CAP_BPF) after the entry
    // tracepoint has run, and a command the bpf() hook watches.
    let attr: [u32; 2] = [u32::MAX, 0];
    // SAFETY: `attr` outlives the call and its size is passed; the kernel only reads it.
    let _ = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            sensor_common::bpf::cmd::MAP_FREEZE as libc::c_long,
            attr.as_ptr(),
            std::mem::size_of_val(&attr),
        )
    };
    set(Hook::BpfExit);
    made
}

fn close_if_fd(ret: libc::c_long) {
    if let Ok(fd) = i32::try_from(ret)
        && fd >= 0
    {
        // SAFETY: a new fd returned by the kernel to this call and owned by nobody else.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provoke_makes_every_call_on_a_normal_host() {
        let made = provoke();
        assert!(made.iter().all(|m| *m), "{made:?}");
    }

    #[test]
    fn a_silent_hook_is_reported_once_until_it_recovers() {
        let watched = [true; HOOKS];
        let all = [true; HOOKS];
        let mut silenced = [false; HOOKS];
        let mut moved = [true; HOOKS];
        let report = judge(&watched, &mut silenced, &moved, &all);
        assert!(report.newly_silenced.is_empty());
        assert!(report.states.iter().all(|s| s.alive));

        moved[Hook::OpenatExit as usize] = false;
        let report = judge(&watched, &mut silenced, &moved, &all);
        assert_eq!(report.newly_silenced, [Hook::OpenatExit]);
        let state = |r: &Report, h: Hook| r.states.iter().find(|s| s.hook == h).map(|s| s.alive);
        assert_eq!(state(&report, Hook::OpenatExit), Some(false));
        assert_eq!(state(&report, Hook::Openat2Exit), Some(true));
        // Still silent: no new report, gauge still 0.
        let report = judge(&watched, &mut silenced, &moved, &all);
        assert!(report.newly_silenced.is_empty());
        assert_eq!(state(&report, Hook::OpenatExit), Some(false));
        // A round where the call could not be made keeps the state.
        let mut made = all;
        made[Hook::OpenatExit as usize] = false;
        let report = judge(&watched, &mut silenced, &moved, &made);
        assert!(report.newly_silenced.is_empty());
        assert_eq!(state(&report, Hook::OpenatExit), Some(false));
        // Recovered, then silenced again: reported again.
        moved[Hook::OpenatExit as usize] = true;
        let report = judge(&watched, &mut silenced, &moved, &all);
        assert_eq!(state(&report, Hook::OpenatExit), Some(true));
        moved[Hook::OpenatExit as usize] = false;
        let report = judge(&watched, &mut silenced, &moved, &all);
        assert_eq!(report.newly_silenced, [Hook::OpenatExit]);
    }

    #[test]
    fn unwatched_hooks_are_never_judged() {
        let mut watched = [true; HOOKS];
        watched[Hook::BpfExit as usize] = false;
        let mut silenced = [false; HOOKS];
        let report = judge(&watched, &mut silenced, &[false; HOOKS], &[true; HOOKS]);
        assert!(!report.newly_silenced.contains(&Hook::BpfExit));
        assert!(report.states.iter().all(|s| s.hook != Hook::BpfExit));
        assert_eq!(report.newly_silenced.len(), HOOKS - 1);
    }

    #[test]
    fn hook_slots_fit_the_kernel_array() {
        for hook in Hook::ALL {
            assert!((hook as u32) < Hook::SLOTS);
            assert_eq!(Hook::ALL[hook as usize], hook, "ALL is indexed by slot");
        }
    }
}
