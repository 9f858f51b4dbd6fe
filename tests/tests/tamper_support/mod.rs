//! Attacks on a running sensor for the self-protection tests: reading its fd table, and making
//! one of its threads run a syscall through ptrace (what an intruder with root does to close a
//! descriptor inside the sensor without calling `bpf()` itself).

#![allow(dead_code)]

use std::time::Duration;

use anyhow::{Context as _, bail};

/// What fd `fd` of process `pid` points to (`anon_inode:bpf_link`, ...).
pub fn fd_target(pid: u32, fd: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Every fd of `pid` with its target.
pub fn fds(pid: u32) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|fd| Some((fd, fd_target(pid, fd)?)))
        .collect()
}

/// The fd of `pid`'s BPF link attached to tracepoint `tp_name`.
pub fn link_fd_of(pid: u32, tp_name: &str) -> Option<u32> {
    fds(pid).into_iter().find_map(|(fd, target)| {
        if target != "anon_inode:bpf_link" {
            return None;
        }
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
        info.lines()
            .any(|l| l.strip_prefix("tp_name:").map(str::trim) == Some(tp_name))
            .then_some(fd)
    })
}

/// Makes one thread of `pid` run syscall `nr` with `args` and returns its result. Each thread
/// is tried a few times: the injection needs a thread stopped right after a `syscall`
/// instruction (an idle thread blocked in `epoll_wait` or `futex`), whose registers are put
/// back afterwards so the interrupted call restarts.
#[cfg(target_arch = "x86_64")]
pub fn inject_syscall(pid: u32, nr: i64, args: [u64; 3]) -> anyhow::Result<i64> {
    for _ in 0..20 {
        let tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        for tid in tids {
            if let Some(ret) = try_inject(tid, nr, args)? {
                return Ok(ret);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("no thread of {pid} was stopped in a syscall")
}

/// One attempt on thread `tid`: `None` when it was not stopped after a `syscall` instruction.
#[cfg(target_arch = "x86_64")]
fn try_inject(tid: i32, nr: i64, args: [u64; 3]) -> anyhow::Result<Option<i64>> {
    let null = std::ptr::null_mut::<libc::c_void>();
    // SAFETY: ptrace on a thread we attach to; every register set written back is one read
    // from that thread, or that set with the syscall registers changed.
    unsafe {
        if libc::ptrace(libc::PTRACE_ATTACH, tid, null, null) < 0 {
            return Err(std::io::Error::last_os_error()).context("PTRACE_ATTACH");
        }
        let result = (|| -> anyhow::Result<Option<i64>> {
            wait_stopped(tid)?;
            let mut saved: libc::user_regs_struct = std::mem::zeroed();
            check(
                libc::ptrace(libc::PTRACE_GETREGS, tid, null, &raw mut saved),
                "PTRACE_GETREGS",
            )?;
            let at = saved.rip.wrapping_sub(2);
            *libc::__errno_location() = 0;
            let word = libc::ptrace(libc::PTRACE_PEEKTEXT, tid, at as *mut libc::c_void, null);
            // `syscall` is 0f 05; rip points right after it while the thread is in a syscall.
            if *libc::__errno_location() != 0 || word & 0xffff != 0x050f {
                return Ok(None);
            }
            let mut regs = saved;
            regs.rip = at;
            regs.rax = nr as u64;
            // Not a syscall being restarted: the kernel must not rewind or rewrite ours.
            regs.orig_rax = u64::MAX;
            regs.rdi = args[0];
            regs.rsi = args[1];
            regs.rdx = args[2];
            check(
                libc::ptrace(libc::PTRACE_SETREGS, tid, null, &raw mut regs),
                "PTRACE_SETREGS",
            )?;
            check(
                libc::ptrace(libc::PTRACE_SINGLESTEP, tid, null, null),
                "PTRACE_SINGLESTEP",
            )?;
            wait_stopped(tid)?;
            let mut after: libc::user_regs_struct = std::mem::zeroed();
            check(
                libc::ptrace(libc::PTRACE_GETREGS, tid, null, &raw mut after),
                "PTRACE_GETREGS",
            )?;
            check(
                libc::ptrace(libc::PTRACE_SETREGS, tid, null, &raw mut saved),
                "PTRACE_SETREGS (restore)",
            )?;
            Ok(Some(after.rax as i64))
        })();
        libc::ptrace(libc::PTRACE_DETACH, tid, null, null);
        result
    }
}

#[cfg(target_arch = "x86_64")]
fn wait_stopped(tid: i32) -> anyhow::Result<()> {
    let mut status = 0;
    // SAFETY: waiting for a traced thread.
    let r = unsafe { libc::waitpid(tid, &raw mut status, libc::__WALL) };
    if r < 0 {
        return Err(std::io::Error::last_os_error()).context("waitpid");
    }
    if !libc::WIFSTOPPED(status) {
        bail!("thread {tid} did not stop (status {status:#x})");
    }
    Ok(())
}

fn check(ret: libc::c_long, what: &str) -> anyhow::Result<()> {
    if ret < 0 {
        return Err(std::io::Error::last_os_error()).context(what.to_string());
    }
    Ok(())
}

/// A map of the sensor opened by id from this process (as an intruder's tool does), closed on
/// drop.
pub struct ForeignMap {
    fd: std::os::fd::OwnedFd,
    /// `bpf_map_info.type`.
    pub map_type: u32,
    /// `bpf_map_info.key_size`.
    pub key_size: u32,
    /// `bpf_map_info.value_size`.
    pub value_size: u32,
    /// `bpf_map_info.name`, up to its NUL.
    pub name: String,
}

/// `bpf(cmd, attr)`.
fn bpf(cmd: i64, attr: &mut [u64]) -> std::io::Result<i64> {
    // SAFETY: `attr` is a live, writable buffer of the size passed, laid out as `union
    // bpf_attr` for `cmd` by the callers.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr),
        )
    };
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_MAP_GET_FD_BY_ID: i64 = 14;
const BPF_OBJ_GET_INFO_BY_FD: i64 = 15;

impl ForeignMap {
    /// `BPF_MAP_GET_FD_BY_ID` of map `id`, then its info.
    pub fn open(id: u32) -> anyhow::Result<ForeignMap> {
        use std::os::fd::FromRawFd as _;
        let mut attr = [0u64; 2];
        attr[0] = u64::from(id); // map_id, next_id = 0
        let fd = bpf(BPF_MAP_GET_FD_BY_ID, &mut attr).with_context(|| format!("map id {id}"))?;
        // SAFETY: a new fd that nothing else owns.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) };
        // struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags, name[16]...
        let mut info = [0u8; 88];
        let mut attr = [0u64; 2];
        attr[0] = fd_u64(&fd) | ((info.len() as u64) << 32); // bpf_fd, info_len
        attr[1] = info.as_mut_ptr() as u64;
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).context("map info")?;
        let word = |i: usize| u32::from_ne_bytes([info[i], info[i + 1], info[i + 2], info[i + 3]]);
        let name = &info[24..40];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        Ok(ForeignMap {
            map_type: word(0),
            key_size: word(8),
            value_size: word(12),
            name: String::from_utf8_lossy(name).into_owned(),
            fd,
        })
    }

    /// Reads the value at `key` and writes it back unchanged (`BPF_MAP_UPDATE_ELEM`): a change
    /// as far as the kernel's `bpf()` entry can tell, with no effect on the sensor.
    pub fn rewrite_same(&self, key: &[u8]) -> anyhow::Result<()> {
        let mut value = vec![0u8; self.value_size as usize];
        // struct { u32 map_fd; u64 key; u64 value; u64 flags; }
        let mut attr = [
            fd_u64(&self.fd),
            key.as_ptr() as u64,
            value.as_mut_ptr() as u64,
            0,
        ];
        bpf(BPF_MAP_LOOKUP_ELEM, &mut attr).context("lookup")?;
        let mut attr = [
            fd_u64(&self.fd),
            key.as_ptr() as u64,
            value.as_ptr() as u64,
            0, // BPF_ANY
        ];
        bpf(BPF_MAP_UPDATE_ELEM, &mut attr).context("update")?;
        Ok(())
    }
}

fn fd_u64(fd: &std::os::fd::OwnedFd) -> u64 {
    use std::os::fd::AsRawFd as _;
    fd.as_raw_fd() as u64
}
