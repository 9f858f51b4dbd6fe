//! Running programs whose executable file was deleted (ATT&CK T1070.004).
//!
//! The kernel side captures no unlink, so a dropper that starts its payload and then deletes
//! the file leaves no event saying so. This watcher closes that gap in userspace: it follows
//! the processes whose executable lies where droppers put files ([`places`]), learnt from the
//! events that pass through the context stage (exec, fork, exit) and from the start-up seed,
//! and every interval reads `/proc/PID/exe` of a bounded number of them. When one newly reads
//! `... (deleted)`, it hands back a [`Finding`]; the daemon turns that into an
//! [`EventBody::ExeDeleted`] event that goes through enrichment, rules and outputs like a
//! kernel event (Sigma logsource category `process_tampering`).
//!
//! Cost: one `readlinkat` per watched process per interval, at most `max_checks` per tick,
//! into buffers allocated once; classification is a prefix test per exec (plus, for paths
//! outside the fixed list, one cached `stat` walk per directory). A process is reported once;
//! its forked children inherit that, so a forking implant raises one alert, not one per child.

pub mod places;

use std::collections::VecDeque;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::context::ProcessInfo;
use crate::context::process_table::PidMap;
use crate::event::{Event, EventBody, ExeDeletedEvent, Header};
use places::{Place, Places};

/// What `/proc/PID/exe` ends with once the file is gone.
const DELETED_SUFFIX: &[u8] = b" (deleted)";
/// Longest link read (`PATH_MAX`); a longer one is cut, which keeps the suffix test honest only
/// up to that length, as the kernel's own `d_path` does.
const LINK_MAX: usize = 4096;
/// Most processes followed at once; new candidates beyond are not followed (and counted).
const MAX_WATCHED: usize = 65_536;

/// Settings of the watcher.
#[derive(Debug, Clone)]
pub struct ExeWatchConfig {
    /// Time between two checks; zero turns the watcher off.
    pub interval: Duration,
    /// Most `/proc/PID/exe` reads per check (the rest wait for the next one, in turn).
    pub max_checks: usize,
    /// The host's `/proc`.
    pub proc_root: PathBuf,
    /// The host's root filesystem (for the world-writable test).
    pub host_root: PathBuf,
}

/// A watched process whose executable was found deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its pid.
    pub pid: u32,
    /// Its start time (Unix ns), to make sure the pid still names the same process.
    pub start_unix_ns: i128,
    /// What `/proc/PID/exe` read, without the ` (deleted)` suffix.
    pub link: Vec<u8>,
}

/// Counts of one tick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickCounts {
    /// `/proc/PID/exe` reads made.
    pub checked: u64,
    /// Processes newly found running a deleted executable.
    pub found: u64,
    /// Processes from a dropper location not followed since the last tick, because
    /// [`MAX_WATCHED`] processes were already followed.
    pub not_followed: u64,
}

#[derive(Debug, Clone, Copy)]
struct Watched {
    start_unix_ns: i128,
    /// Found and reported; kept (not checked any more) for the children it may fork.
    reported: bool,
    /// Its place in the queue: a queued `(pid, ticket)` whose ticket differs is stale (the pid
    /// exited or exec'd since), so a pid is never checked twice per round.
    ticket: u64,
}

/// The watcher's state. Owned by the event-processing task, like the process table.
#[derive(Debug)]
pub struct ExeWatch {
    interval: Duration,
    max_checks: usize,
    proc_dir: Option<OwnedFd>,
    places: Places,
    watched: PidMap<Watched>,
    /// `(pid, ticket)` to check, in turn; stale entries are dropped when met.
    queue: VecDeque<(u32, u64)>,
    next_ticket: u64,
    last_tick: Instant,
    link: Vec<u8>,
    /// Candidates not followed because [`MAX_WATCHED`] was reached, since the last tick.
    not_followed: u64,
}

impl ExeWatch {
    /// A watcher with `config`; `/proc` is opened once, here.
    pub fn new(config: &ExeWatchConfig) -> ExeWatch {
        let proc_dir = open_dir(&config.proc_root)
            .inspect_err(|err| {
                tracing::warn!(%err, path = %config.proc_root.display(),
                    "cannot open /proc; deleted-executable watch is off");
            })
            .ok();
        ExeWatch {
            interval: config.interval,
            max_checks: config.max_checks.max(1),
            proc_dir,
            places: Places::new(config.host_root.clone()),
            watched: PidMap::default(),
            queue: VecDeque::new(),
            next_ticket: 0,
            last_tick: Instant::now(),
            link: vec![0; LINK_MAX],
            not_followed: 0,
        }
    }

    /// Whether the watcher does anything at all.
    pub fn enabled(&self) -> bool {
        !self.interval.is_zero() && self.proc_dir.is_some()
    }

    /// Entries waiting in the check queue (stale ones included until they are met).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Processes followed now.
    pub fn watched(&self) -> usize {
        self.watched.values().filter(|w| !w.reported).count()
    }

    /// Follows `process` if its executable is in a dropper location (start-up seed).
    pub fn seed(&mut self, process: &ProcessInfo) {
        if !process.exited {
            self.follow_if_dropped(process);
        }
    }

    /// Updates what is followed from one enriched event: `process` is the event's process
    /// (the child for a fork).
    pub fn observe(&mut self, body: &EventBody, process: &ProcessInfo) {
        if !self.enabled() {
            return;
        }
        match body {
            EventBody::Exec(exec) if exec.result == 0 => {
                self.watched.remove(&process.pid);
                // Already deleted (or a memfd) at its exec: the exec event says so and its
                // own rules alert; a second report would repeat them.
                if !exec.exe_deleted && !exec.exe_memfd {
                    self.follow_if_dropped(process);
                }
            }
            EventBody::Fork(fork) if fork.child_pid == process.pid => {
                // A copy of its parent's image: followed when the parent is, reported if the
                // parent was (one alert per implant, not per worker).
                let Some(&parent) = self.watched.get(&fork.parent_pid) else {
                    return;
                };
                self.insert(process.pid, process.start_unix_ns, parent.reported);
            }
            EventBody::Exit(_) => {
                self.watched.remove(&process.pid);
            }
            _ => {}
        }
    }

    fn follow_if_dropped(&mut self, process: &ProcessInfo) -> Option<Place> {
        let place = self.places.classify(&process.executable)?;
        self.insert(process.pid, process.start_unix_ns, false);
        Some(place)
    }

    fn insert(&mut self, pid: u32, start_unix_ns: i128, reported: bool) {
        match self.watched.get(&pid) {
            // The same process again (a new thread, seed and event): it keeps its turn.
            Some(w) if w.start_unix_ns == start_unix_ns => return,
            Some(_) => {}
            None if self.watched.len() >= MAX_WATCHED => {
                self.not_followed += 1;
                return;
            }
            None => {}
        }
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.watched.insert(
            pid,
            Watched {
                start_unix_ns,
                reported,
                ticket,
            },
        );
        if !reported {
            self.queue.push_back((pid, ticket));
        }
    }

    /// Whether a check is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.enabled() && now.duration_since(self.last_tick) >= self.interval
    }

    /// Checks up to `max_checks` followed processes, appending the newly deleted ones to
    /// `found`.
    pub fn tick(&mut self, now: Instant, found: &mut Vec<Finding>) -> TickCounts {
        self.last_tick = now;
        let mut counts = TickCounts {
            not_followed: std::mem::take(&mut self.not_followed),
            ..TickCounts::default()
        };
        let Some(dir) = self.proc_dir.as_ref().map(AsRawFd::as_raw_fd) else {
            return counts;
        };
        // Each queued pid at most once per tick, even when the queue is short.
        let mut budget = self.queue.len();
        while budget > 0 && counts.checked < self.max_checks as u64 {
            budget -= 1;
            let Some((pid, ticket)) = self.queue.pop_front() else {
                break;
            };
            let Some(entry) = self
                .watched
                .get(&pid)
                .copied()
                .filter(|w| w.ticket == ticket && !w.reported)
            else {
                continue;
            };
            counts.checked += 1;
            match read_exe(dir, pid, &mut self.link) {
                Ok(link) => match link.strip_suffix(DELETED_SUFFIX) {
                    Some(path) => {
                        found.push(Finding {
                            pid,
                            start_unix_ns: entry.start_unix_ns,
                            link: path.to_vec(),
                        });
                        counts.found += 1;
                        let reported = Watched {
                            reported: true,
                            ..entry
                        };
                        self.watched.insert(pid, reported);
                    }
                    None => self.queue.push_back((pid, ticket)),
                },
                // The process is gone (its exit event may still be on its way).
                Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                    self.watched.remove(&pid);
                }
                Err(_) => self.queue.push_back((pid, ticket)),
            }
        }
        counts
    }

    /// The event reporting `finding` for `process` (the table's current record of its pid).
    pub fn event(finding: Finding, process: &ProcessInfo) -> Event {
        Event {
            header: Header {
                ktime_ns: crate::time::boot_now_ns(),
                tid: finding.pid,
                pid: finding.pid,
                uid: process.uid,
                gid: process.gid,
                cgroup_id: process.cgroup_id,
                comm: process.comm.clone(),
            },
            body: EventBody::ExeDeleted(ExeDeletedEvent { link: finding.link }),
        }
    }
}

fn open_dir(path: &Path) -> std::io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads `<proc>/<pid>/exe` into `buf` (no allocation) and returns the link text.
fn read_exe(dir: i32, pid: u32, buf: &mut [u8]) -> std::io::Result<&[u8]> {
    let mut name = [0u8; 24];
    let len = {
        use std::io::Write as _;
        let mut cursor = std::io::Cursor::new(&mut name[..]);
        write!(cursor, "{pid}/exe")?;
        cursor.position() as usize
    };
    // The array is zeroed and `len` < 24, so the name is NUL-terminated.
    if len >= name.len() {
        return Err(std::io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    // SAFETY: `name` is NUL-terminated, `buf` is writable for `buf.len()` bytes, and `dir` is
    // an open directory descriptor owned by the caller.
    let n = unsafe {
        libc::readlinkat(
            dir,
            name.as_ptr().cast(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let n = usize::try_from(n).unwrap_or(0);
    Ok(buf.get(..n).unwrap_or_default())
}

#[cfg(test)]
mod tests;
