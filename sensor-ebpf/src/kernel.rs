//! Reading kernel structures of the current task through member offsets that userspace found
//! in the running kernel's BTF. Every read is a `bpf_probe_read_kernel`, so a stale or null
//! pointer yields `None`, never a fault.

use aya_ebpf::helpers::{bpf_probe_read_kernel, generated::bpf_get_current_task};
use sensor_common::{AF_INET, AF_INET6, KernelOffsets, fd_kind};

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
    let files: u64 = read(task, k.task_files)?;
    let fdt: u64 = read(files, k.files_fdt)?;
    let max: u32 = read(fdt, k.fdt_max_fds)?;
    if fd >= max {
        return None;
    }
    let array: u64 = read(fdt, k.fdt_fd)?;
    let file: u64 = read(array, fd.wrapping_mul(8))?;
    if file == 0 { None } else { Some(file) }
}

/// What fds 0, 1 and 2 of `task` are ([`fd_kind`] values; the fourth byte is zero). The fd
/// table is looked up once for the three.
#[inline(always)]
pub fn stdio_kinds(k: &KernelOffsets, task: u64) -> [u8; 4] {
    let mut kinds = [0u8; 4];
    let Some(files) = read::<u64>(task, k.task_files) else {
        return kinds;
    };
    let Some(fdt) = read::<u64>(files, k.files_fdt) else {
        return kinds;
    };
    let max: u32 = read(fdt, k.fdt_max_fds).unwrap_or(0);
    let Some(array) = read::<u64>(fdt, k.fdt_fd) else {
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

/// The `struct sock *` behind a socket file, with its address family.
#[inline(always)]
pub fn file_sock(k: &KernelOffsets, file: u64) -> Option<(u64, u64, u16)> {
    let socket: u64 = read(file, k.file_private_data)?;
    let sk: u64 = read(socket, k.socket_sk)?;
    let family: u16 = read(sk, k.sk_family)?;
    Some((socket, sk, family))
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
            Some((_, _, family)) if family == AF_INET || family == AF_INET6 => fd_kind::INET_SOCKET,
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
pub fn sock_ends(k: &KernelOffsets, sk: u64, family: u16) -> (u16, u16, [u8; 16], [u8; 16]) {
    let local_port: u16 = read(sk, k.sk_num).unwrap_or(0);
    let remote_port = u16::from_be(read(sk, k.sk_dport).unwrap_or(0));
    let mut local = [0u8; 16];
    let mut remote = [0u8; 16];
    if family == AF_INET {
        let l: [u8; 4] = read(sk, k.sk_rcv_saddr).unwrap_or([0; 4]);
        let r: [u8; 4] = read(sk, k.sk_daddr).unwrap_or([0; 4]);
        local[..4].copy_from_slice(&l);
        remote[..4].copy_from_slice(&r);
    } else if k.sk_v6_rcv_saddr != sensor_common::ABSENT {
        local = read(sk, k.sk_v6_rcv_saddr).unwrap_or([0; 16]);
        remote = read(sk, k.sk_v6_daddr).unwrap_or([0; 16]);
    }
    (local_port, remote_port, local, remote)
}
