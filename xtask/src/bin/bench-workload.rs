//! The loops `cargo xtask bench` times. Native code with everything prepared before the clock
//! starts (paths as C strings, argv/envp for exec), so that the loop itself costs a few
//! nanoseconds and the figure is the syscalls' cost. Each command prints one line:
//! `ops=<N> elapsed_ns=<T>`.
//!
//! ```text
//! bench-workload create-files <dir> <count>
//! bench-workload open-one <path> <iters>
//! bench-workload open-many <dir> <count> <iters>
//! bench-workload fork-exec <iters>
//! bench-workload connect <iters>        (connect + accept4 per iteration)
//! bench-workload exec-rate <per-second, 0 = unpaced> <seconds> <threads>
//! bench-workload open-rate <per-second, 0 = unpaced> <seconds> <dir> <count>
//! ```

use std::ffi::CString;
use std::net::TcpListener;
use std::os::fd::AsRawFd as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> anyhow::Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("missing argument {i}; see the usage in the source"))
    };
    let num = |i: usize| -> anyhow::Result<u64> {
        let s = arg(i)?;
        s.parse()
            .with_context(|| format!("argument {i} ({s:?}) is not a number"))
    };
    let (ops, (elapsed, cpu_ns)) = match arg(0)? {
        "create-files" => {
            let clock = Clock::start();
            create_files(arg(1)?, num(2)?)?;
            (num(2)?, clock.stop())
        }
        "open-one" => open_loop(&[c_path(arg(1)?)?], num(2)?)?,
        "open-many" => {
            let paths = (0..num(2)?)
                .map(|i| c_path(&file_name(arg(1)?, i)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            open_loop(&paths, num(3)?)?
        }
        "fork-exec" => {
            let exec = Exec::new()?;
            let clock = Clock::start();
            for _ in 0..num(1)? {
                exec.run()?;
            }
            (num(1)?, clock.stop())
        }
        "connect" => connect_loop(num(1)?)?,
        "exec-rate" => exec_rate(num(1)?, num(2)?, num(3)?)?,
        "open-rate" => {
            let paths = (0..num(4)?)
                .map(|i| c_path(&file_name(arg(3)?, i)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            open_rate(&paths, num(1)?, num(2)?)?
        }
        other => bail!("unknown workload {other:?}"),
    };
    println!(
        "ops={ops} elapsed_ns={} cpu_ns={cpu_ns}",
        elapsed.as_nanos()
    );
    Ok(())
}

/// Wall time and CPU time (user+sys of this process and of its reaped children) of a loop.
/// CPU time is less sensitive to other load on the machine, but blind to work that a monitor
/// does in its own processes.
struct Clock {
    wall: Instant,
    cpu_ns: u64,
}

impl Clock {
    fn start() -> Self {
        Clock {
            cpu_ns: cpu_ns(),
            wall: Instant::now(),
        }
    }

    fn stop(&self) -> (Duration, u64) {
        let wall = self.wall.elapsed();
        (wall, cpu_ns().saturating_sub(self.cpu_ns))
    }
}

fn cpu_ns() -> u64 {
    let tv = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN]
        .into_iter()
        .map(|who| {
            // SAFETY: rusage is plain data and getrusage fills it.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: a valid pointer to our rusage.
            if unsafe { libc::getrusage(who, &mut ru) } == 0 {
                tv(ru.ru_utime) + tv(ru.ru_stime)
            } else {
                0
            }
        })
        .sum()
}

fn file_name(dir: &str, i: u64) -> String {
    format!("{dir}/f{i:06}")
}

fn c_path(path: &str) -> anyhow::Result<CString> {
    CString::new(path).with_context(|| format!("{path:?} contains a NUL byte"))
}

fn create_files(dir: &str, count: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    for i in 0..count {
        let name = file_name(dir, i);
        std::fs::File::create(&name).with_context(|| format!("creating {name}"))?;
    }
    Ok(())
}

/// open(O_RDONLY) + close of `path`.
fn open_close(path: &CString) -> anyhow::Result<()> {
    // SAFETY: a valid NUL-terminated path; the fd is closed right away.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).with_context(|| format!("open {path:?}"));
    }
    // SAFETY: we own fd.
    unsafe { libc::close(fd) };
    Ok(())
}

/// open(O_RDONLY) + close, cycling through `paths`.
fn open_loop(paths: &[CString], iters: u64) -> anyhow::Result<(u64, (Duration, u64))> {
    if paths.is_empty() {
        bail!("no paths to open");
    }
    let clock = Clock::start();
    let mut next = 0;
    for _ in 0..iters {
        open_close(&paths[next])?;
        next = if next + 1 == paths.len() { 0 } else { next + 1 };
    }
    Ok((iters, clock.stop()))
}

/// open(O_RDONLY) + close cycling through `paths` at `rate` per second (0: as fast as possible)
/// for `secs` seconds. Ahead of schedule it sleeps; behind, it runs the late opens back to back,
/// so the achieved rate is what the caller reads. With more paths than the sensor's collapse
/// slots, every open is a distinct event to it.
fn open_rate(paths: &[CString], rate: u64, secs: u64) -> anyhow::Result<(u64, (Duration, u64))> {
    if paths.is_empty() {
        bail!("no paths to open");
    }
    let until = Duration::from_secs(secs);
    let clock = Clock::start();
    let start = clock.wall;
    let mut n: u64 = 0;
    let mut next = 0;
    loop {
        // The clock is read every 64 opens: cheap, and fine-grained enough for the schedule.
        if n.is_multiple_of(64) {
            let elapsed = start.elapsed();
            if elapsed >= until {
                break;
            }
            if let Some(due_ns) = (n * 1_000_000_000).checked_div(rate)
                && let Some(wait) = Duration::from_nanos(due_ns).checked_sub(elapsed)
            {
                std::thread::sleep(wait);
            }
        }
        open_close(&paths[next])?;
        next = if next + 1 == paths.len() { 0 } else { next + 1 };
        n += 1;
    }
    Ok((n, clock.stop()))
}

/// fork + execve("/bin/true") + waitpid, with argv/envp built once.
struct Exec {
    path: CString,
    argv: [*const libc::c_char; 2],
    envp: [*const libc::c_char; 1],
}

// SAFETY: the raw pointers point into `path`, which lives as long as the struct and is never
// mutated; sharing them between threads is sound.
unsafe impl Sync for Exec {}

impl Exec {
    fn new() -> anyhow::Result<Box<Self>> {
        let mut exec = Box::new(Exec {
            path: c_path("/bin/true")?,
            argv: [std::ptr::null(); 2],
            envp: [std::ptr::null()],
        });
        exec.argv[0] = exec.path.as_ptr();
        Ok(exec)
    }

    fn run(&self) -> anyhow::Result<()> {
        // SAFETY: the child only calls async-signal-safe functions (execve, _exit).
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error()).context("fork");
        }
        if pid == 0 {
            // SAFETY: argv/envp are NULL-terminated arrays of valid C strings.
            unsafe {
                libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
                libc::_exit(127);
            }
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            return Err(std::io::Error::last_os_error()).context("waitpid");
        }
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            bail!("/bin/true failed (wait status {status:#x})");
        }
        Ok(())
    }
}

/// connect to a loopback listener of this process and accept the connection in the same
/// thread (on loopback the handshake is complete when connect returns), so that one iteration
/// is one connect plus one accept4 with no cross-thread scheduling in the figure. The client
/// closes first with SO_LINGER 0 (RST), so 100k connections leave no TIME_WAIT sockets behind.
fn connect_loop(iters: u64) -> anyhow::Result<(u64, (Duration, u64))> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let lfd = listener.as_raw_fd();
    // SAFETY: sockaddr_in is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    addr.sin_family = libc::AF_INET as libc::sa_family_t;
    addr.sin_port = port.to_be();
    addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let clock = Clock::start();
    for _ in 0..iters {
        // SAFETY: plain socket syscalls on fds we own and close; the listener outlives the loop.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            if fd < 0 {
                return Err(std::io::Error::last_os_error()).context("socket");
            }
            let rc = libc::connect(
                fd,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_in>() as libc::socklen_t,
            );
            if rc != 0 {
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                return Err(err).context("connect to 127.0.0.1");
            }
            let conn = libc::accept4(
                lfd,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            );
            if conn < 0 {
                let err = std::io::Error::last_os_error();
                libc::close(fd);
                return Err(err).context("accept4 on 127.0.0.1");
            }
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            );
            libc::close(fd);
            libc::close(conn);
        }
    }
    Ok((iters, clock.stop()))
}

/// fork+exec of /bin/true at `rate` per second (0: as fast as possible) for `secs` seconds,
/// spread over `threads` threads so that one slow exec does not hold back the schedule. A
/// thread that falls behind runs its late execs back to back (no catch-up sleep), so the
/// achieved rate, not the requested one, is what the caller reads.
fn exec_rate(rate: u64, secs: u64, threads: u64) -> anyhow::Result<(u64, (Duration, u64))> {
    let exec = Exec::new()?;
    let threads = threads.max(1);
    let total = if rate == 0 { u64::MAX } else { rate * secs };
    let until = Duration::from_secs(secs);
    let clock = Clock::start();
    let start = clock.wall;
    let done = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                let exec = &exec;
                scope.spawn(move || -> anyhow::Result<u64> {
                    let mut n = 0;
                    let mut i = k;
                    while i < total {
                        if let Some(due_ns) = (i * 1_000_000_000).checked_div(rate) {
                            let due = Duration::from_nanos(due_ns);
                            if let Some(wait) = due.checked_sub(start.elapsed()) {
                                std::thread::sleep(wait);
                            }
                        } else if start.elapsed() >= until {
                            break;
                        }
                        exec.run()?;
                        n += 1;
                        i += threads;
                    }
                    Ok(n)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| bail!("worker panicked")))
            .sum::<anyhow::Result<u64>>()
    })?;
    Ok((done, clock.stop()))
}
