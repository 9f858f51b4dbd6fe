//! Reading kernel structures of the current task through member offsets that userspace found
//! in the running kernel's BTF. Every read is a `bpf_probe_read_kernel`, so a stale or null
//! pointer yields `None`, never a fault.
//!
//! A helper call costs about 70 ns on a host with return-stack mitigations (AMD's "Safe RET",
//! measured here), most of a hook's time, so fields that sit close together at the start of a
//! struct are read with one call ([`within`], [`field`]).

use aya_ebpf::bindings::task_struct;
use aya_ebpf::helpers::{
    bpf_probe_read_kernel,
    generated::{bpf_get_current_task, bpf_get_current_task_btf, bpf_task_pt_regs},
};
use sensor_common::{ABSENT, AF_INET, AF_INET6, KernelOffsets, REGS_WINDOW_WORDS, fd_kind};

use crate::config;

/// The current task and the syscall it is in, as an exit program sees them.
#[derive(Clone, Copy)]
pub struct Syscall {
    /// The `task_struct` address, for probe reads.
    pub task: u64,
    /// Its process id (thread group id).
    pub pid: u32,
    /// The first four arguments, from the saved user registers.
    pub args: [u64; 4],
}

/// The current task (BTF-typed) and its process id (thread group id), read from the task with
/// a plain load that the verifier checks against `struct task_struct` (the offset comes from
/// the frozen configuration, which it sees as a constant). The exit programs need the task for
/// the registers anyway, so this spares `bpf_get_current_pid_tgid` (cheap here: bpf_stats did
/// not move) and, on connect and accept, `bpf_get_current_task`.
#[inline(always)]
fn current_btf() -> (*mut task_struct, u32) {
    // SAFETY: helper without preconditions.
    let task = unsafe { bpf_get_current_task_btf() };
    let at = config::get().k.task_tgid as usize;
    // SAFETY: `task_tgid` is the offset of `tgid` in `struct task_struct`, from its BTF.
    let pid = unsafe { core::ptr::read(task.cast::<u8>().add(at).cast::<u32>()) };
    (task, pid)
}

/// The current `task_struct` address, for probe reads, and its process id.
#[inline(always)]
pub fn current_task_pid() -> (u64, u32) {
    let (task, pid) = current_btf();
    (task as u64, pid)
}

/// The current task's process id and syscall arguments, so that an exit program needs no entry
/// program staging them.
///
/// `bpf_task_pt_regs` returns a BTF-typed pointer, so the registers are plain loads that the
/// verifier checks against `struct pt_regs`, not helper calls.
#[inline(always)]
pub fn current_syscall() -> Option<Syscall> {
    let regs = &config::get().regs;
    let (task, pid) = current_btf();
    // SAFETY: the task pointer is the current task's.
    let base = unsafe { bpf_task_pt_regs(task) } as *const u8;
    if base.is_null() {
        return None;
    }
    let word = |i: usize| {
        let at = regs.base as usize + 8 * (regs.word[i] as usize & (REGS_WINDOW_WORDS - 1));
        // SAFETY: inside `struct pt_regs` (offsets from its BTF); the verifier checks it.
        unsafe { core::ptr::read(base.add(at).cast::<u64>()) }
    };
    Some(Syscall {
        task: task as u64,
        pid,
        args: [word(0), word(1), word(2), word(3)],
    })
}

/// Whether a field of `size` bytes at `off` lies within the first `head` bytes of its struct.
#[inline(always)]
const fn within(off: u32, size: usize, head: usize) -> bool {
    off != ABSENT && off as usize + size <= head
}

/// The field of type `T` at `off` in `head`, the first bytes of a struct read at once (`off`
/// checked with [`within`]).
#[inline(always)]
fn field<T: Copy, const N: usize>(head: &[u64; N], off: u32) -> T {
    // SAFETY: `off + size_of::<T>() <= 8 * N`, checked by the caller with `within`.
    unsafe { core::ptr::read_unaligned(head.as_ptr().cast::<u8>().add(off as usize).cast::<T>()) }
}

/// Reads a `T` at `base + off`.
#[inline(always)]
pub fn read<T>(base: u64, off: u32) -> Option<T> {
    if base == 0 {
        return None;
    }
    // SAFETY: probe read: faults are reported as errors.
    unsafe { bpf_probe_read_kernel((base + off as u64) as *const T) }.ok()
}

/// The current `task_struct`.
#[inline(always)]
pub fn current_task() -> u64 {
    // SAFETY: helper without preconditions.
    unsafe { bpf_get_current_task() }
}

/// The `struct file *` of descriptor `fd` of `task`.
#[inline(always)]
pub fn task_file(k: &KernelOffsets, task: u64, fd: u32) -> Option<u64> {
    let (max, array) = fd_array(k, task)?;
    if fd >= max {
        return None;
    }
    let file: u64 = read(array, fd.wrapping_mul(8))?;
    if file == 0 { None } else { Some(file) }
}

/// The size and address of `task`'s fd array (`fdtable.max_fds` and `fdtable.fd`, which lead
/// the struct: one read for both).
#[inline(always)]
fn fd_array(k: &KernelOffsets, task: u64) -> Option<(u32, u64)> {
    let files: u64 = read(task, k.task_files)?;
    let fdt: u64 = read(files, k.files_fdt)?;
    if within(k.fdt_max_fds, 4, 16) && within(k.fdt_fd, 8, 16) {
        let head: [u64; 2] = read(fdt, 0)?;
        Some((field(&head, k.fdt_max_fds), field(&head, k.fdt_fd)))
    } else {
        Some((read(fdt, k.fdt_max_fds)?, read(fdt, k.fdt_fd)?))
    }
}

/// What fds 0, 1 and 2 of `task` are ([`fd_kind`] values; the fourth byte is zero). The fd
/// table is looked up once for the three.
#[inline(always)]
pub fn stdio_kinds(k: &KernelOffsets, task: u64) -> [u8; 4] {
    let mut kinds = [0u8; 4];
    let Some((max, array)) = fd_array(k, task) else {
        return kinds;
    };
    // One read for the three pointers (fd_array entries are contiguous).
    let Some(files3) = read::<[u64; 3]>(array, 0) else {
        return kinds;
    };
    for fd in 0..3usize {
        if (fd as u32) < max && files3[fd] != 0 {
            kinds[fd] = file_kind(k, files3[fd]);
        }
    }
    kinds
}

/// Bytes of `struct socket` read at once: `type` and `sk` are in them.
const SOCKET_HEAD: usize = 32;
/// Bytes of `struct sock` read at once: its `sock_common` starts with both IPv4 addresses, both
/// ports and the family.
const SK_HEAD: usize = 24;

/// The socket behind a file, with the fields its first reads gave.
pub struct Sock {
    /// The `struct sock`.
    pub sk: u64,
    /// `socket.type` (`SOCK_STREAM`, ...).
    pub sock_type: u16,
    /// Address family.
    pub family: u16,
    /// The first [`SK_HEAD`] bytes of the sock when the IPv4 ends lie in them, else zero.
    head: [u64; SK_HEAD / 8],
}

/// The socket behind a socket file.
#[inline(always)]
pub fn file_sock(k: &KernelOffsets, file: u64) -> Option<Sock> {
    let socket: u64 = read(file, k.file_private_data)?;
    let (sock_type, sk) =
        if within(k.socket_type, 2, SOCKET_HEAD) && within(k.socket_sk, 8, SOCKET_HEAD) {
            let head: [u64; SOCKET_HEAD / 8] = read(socket, 0)?;
            (field(&head, k.socket_type), field(&head, k.socket_sk))
        } else {
            (
                read(socket, k.socket_type).unwrap_or(0),
                read(socket, k.socket_sk)?,
            )
        };
    let (head, family) = if head_has_ends(k) && within(k.sk_family, 2, SK_HEAD) {
        let head: [u64; SK_HEAD / 8] = read(sk, 0)?;
        (head, field(&head, k.sk_family))
    } else {
        ([0; SK_HEAD / 8], read(sk, k.sk_family)?)
    };
    Some(Sock {
        sk,
        sock_type,
        family,
        head,
    })
}

#[inline(always)]
fn head_has_ends(k: &KernelOffsets) -> bool {
    within(k.sk_num, 2, SK_HEAD)
        && within(k.sk_dport, 2, SK_HEAD)
        && within(k.sk_rcv_saddr, 4, SK_HEAD)
        && within(k.sk_daddr, 4, SK_HEAD)
}

const S_IFMT: u16 = 0o170000;
const S_IFSOCK: u16 = 0o140000;
const S_IFIFO: u16 = 0o010000;
const S_IFCHR: u16 = 0o020000;
const S_IFREG: u16 = 0o100000;

/// Classifies what `file` is (an [`fd_kind`] value).
#[inline(always)]
pub fn file_kind(k: &KernelOffsets, file: u64) -> u8 {
    let Some(inode) = read::<u64>(file, k.file_inode) else {
        return fd_kind::UNKNOWN;
    };
    let Some(mode) = read::<u16>(inode, k.inode_mode) else {
        return fd_kind::UNKNOWN;
    };
    match mode & S_IFMT {
        S_IFSOCK => match file_sock(k, file) {
            Some(sock) if sock.family == AF_INET || sock.family == AF_INET6 => fd_kind::INET_SOCKET,
            _ => fd_kind::OTHER_SOCKET,
        },
        S_IFIFO => fd_kind::PIPE,
        S_IFREG => fd_kind::FILE,
        S_IFCHR => {
            // Kernel-internal dev_t: major in the top 12 bits.
            let major = read::<u32>(inode, k.inode_rdev).unwrap_or(0) >> 20;
            if major == 4 || major == 5 || (136..=143).contains(&major) {
                fd_kind::TTY
            } else {
                fd_kind::OTHER
            }
        }
        _ => fd_kind::OTHER,
    }
}

/// Local and remote ends of an inet socket: `(local_port, remote_port, local, remote)`; ports in
/// host order, addresses in network order (first 4 bytes for IPv4).
#[inline(always)]
pub fn sock_ends(k: &KernelOffsets, sock: &Sock) -> (u16, u16, [u8; 16], [u8; 16]) {
    let sk = sock.sk;
    let mut local = [0u8; 16];
    let mut remote = [0u8; 16];
    if head_has_ends(k) {
        let local_port: u16 = field(&sock.head, k.sk_num);
        let remote_port = u16::from_be(field(&sock.head, k.sk_dport));
        if sock.family == AF_INET {
            let l: [u8; 4] = field(&sock.head, k.sk_rcv_saddr);
            let r: [u8; 4] = field(&sock.head, k.sk_daddr);
            local[..4].copy_from_slice(&l);
            remote[..4].copy_from_slice(&r);
        } else {
            (local, remote) = v6_ends(k, sk);
        }
        return (local_port, remote_port, local, remote);
    }
    let local_port: u16 = read(sk, k.sk_num).unwrap_or(0);
    let remote_port = u16::from_be(read(sk, k.sk_dport).unwrap_or(0));
    if sock.family == AF_INET {
        let l: [u8; 4] = read(sk, k.sk_rcv_saddr).unwrap_or([0; 4]);
        let r: [u8; 4] = read(sk, k.sk_daddr).unwrap_or([0; 4]);
        local[..4].copy_from_slice(&l);
        remote[..4].copy_from_slice(&r);
    } else {
        (local, remote) = v6_ends(k, sk);
    }
    (local_port, remote_port, local, remote)
}

/// Local and remote IPv6 addresses of `sk` (zero when the kernel has no IPv6 fields); one read
/// when they are adjacent, as in `sock_common`.
#[inline(always)]
fn v6_ends(k: &KernelOffsets, sk: u64) -> ([u8; 16], [u8; 16]) {
    if k.sk_v6_rcv_saddr == ABSENT || k.sk_v6_daddr == ABSENT {
        return ([0; 16], [0; 16]);
    }
    if k.sk_v6_rcv_saddr == k.sk_v6_daddr + 16 {
        let both: [[u8; 16]; 2] = read(sk, k.sk_v6_daddr).unwrap_or([[0; 16]; 2]);
        return (both[1], both[0]);
    }
    (
        read(sk, k.sk_v6_rcv_saddr).unwrap_or([0; 16]),
        read(sk, k.sk_v6_daddr).unwrap_or([0; 16]),
    )
}
