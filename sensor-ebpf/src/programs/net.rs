//! Connect and accept on inet sockets, each captured by one program at its exit.
//!
//! A connect's arguments come from the caller's saved user registers ([`current_syscall`]), so
//! nothing is staged per thread at entry. The socket itself (fd → file → socket → sock) gives
//! the local end and the protocol, and, once the kernel has taken the destination (the connect
//! succeeded or is in progress), the remote end too. Only a failed connect (or one whose socket
//! holds no destination) is reported with the destination from the caller's sockaddr, read after
//! the kernel used it (see `open.rs` on that race); other connects skip that user read. An
//! accept needs only the new fd's socket, which holds both ends.

use aya_ebpf::{helpers::bpf_probe_read_user, macros::tracepoint, programs::TracePointContext};
use sensor_common::{
    AF_INET, AF_INET6, EventKind, FilterReason, KernelOffsets, NetRecord, canary::Hook,
};

use crate::{
    config,
    emit::{count_drop, count_filtered, fill_header, own_call, wakeup_flags, wanted},
    kernel::{Sock, current_syscall, current_task_pid, file_sock, read, sock_ends, task_file},
    maps::EVENTS,
    tp,
};

/// `EINPROGRESS`: a non-blocking connect under way, its destination already in the socket.
const EINPROGRESS: i64 = 115;

// match-proto: sys_exit_connect(long ret)
#[tracepoint]
pub fn sys_exit_connect(ctx: TracePointContext) -> u32 {
    // The sensor's own connects are counted for the liveness canary, not reported.
    let Some(call) = current_syscall() else {
        return 0;
    };
    if own_call(call.pid, Hook::ConnectExit) || !wanted(call.pid, EventKind::Connect) {
        return 0;
    }
    // connect(int fd, struct sockaddr *uservaddr, int addrlen)
    let [fd, addr, addrlen, _] = call.args;
    let cfg = config::get();
    let k = cfg.k;
    let ret = tp::syscall_ret(&ctx, cfg.tp.sys_exit_ret).unwrap_or(0);
    // The socket and its ends (local port, remote port, local, remote address).
    let socket = match socket_of(&k, call.task, fd as i32) {
        Some(sock) if sock.family != AF_INET && sock.family != AF_INET6 => {
            count_filtered(EventKind::Connect, FilterReason::NotInet);
            return 0;
        }
        Some(sock) => {
            let ends = sock_ends(&k, &sock);
            Some((sock, ends))
        }
        None => None,
    };
    // Once the kernel has taken the destination, the socket holds it and the caller's sockaddr
    // need not be read (40 of this program's 300 ns in bpf_stats). A zero remote port means
    // it has not: a UDP disconnect (AF_UNSPEC), which the sockaddr's family then filters out.
    let taken = ret == 0 || ret == -EINPROGRESS;
    let (family, port, remote) = match &socket {
        Some((sock, (_, rport, _, raddr))) if taken && *rport != 0 => (sock.family, *rport, *raddr),
        _ => match destination(addr, addrlen as i32) {
            Some(destination) => destination,
            None => return 0,
        },
    };
    let Some(mut entry) = EVENTS.reserve::<NetRecord>(0) else {
        count_drop(EventKind::Connect);
        return 0;
    };
    // SAFETY: the reservation is exactly one NetRecord; every field is written below.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(
        &mut record.header,
        EventKind::Connect,
        core::mem::size_of::<NetRecord>(),
    );
    record.result = ret as i32;
    record.fd = fd as i32;
    record.family = family;
    record.remote_port = port;
    record.remote_addr = remote;
    record._pad = 0;
    record._pad2 = 0;
    match socket {
        Some((sock, (lport, _, laddr, _))) => {
            record.sock_type = sock.sock_type;
            record.protocol = protocol(&k, sock.sk);
            record.local_port = lport;
            record.local_addr = laddr;
        }
        None => {
            record.sock_type = 0;
            record.protocol = 0;
            record.local_port = 0;
            record.local_addr = [0; 16];
        }
    }
    entry.submit(wakeup_flags(core::mem::size_of::<NetRecord>()));
    0
}

/// Family, port (host order) and address (network order) of the sockaddr at `addr`, or `None`
/// (counted) when it is not an inet destination.
#[inline(always)]
fn destination(addr: u64, addrlen: i32) -> Option<(u16, u16, [u8; 16])> {
    // sockaddr_in: family, port (network order), 4-byte address. Only the first 16 bytes are
    // read until the family says IPv6, so a short sockaddr at the end of a page still reads.
    // SAFETY: user memory probe read.
    let head = unsafe { bpf_probe_read_user(addr as *const [u8; 16]) }.ok()?;
    let family = u16::from_ne_bytes([head[0], head[1]]);
    let port = u16::from_be_bytes([head[2], head[3]]);
    let mut remote = [0u8; 16];
    if family == AF_INET && addrlen >= 16 {
        remote[..4].copy_from_slice(&head[4..8]);
    } else if family == AF_INET6 && addrlen >= 24 {
        // sockaddr_in6: family, port, flowinfo (4), address (16).
        // SAFETY: user memory probe read.
        remote = unsafe { bpf_probe_read_user((addr + 8) as *const [u8; 16]) }.ok()?;
    } else {
        // Unix-domain, AF_UNSPEC (UDP disconnect), netlink...: not a network connection.
        count_filtered(EventKind::Connect, FilterReason::NotInet);
        return None;
    }
    Some((family, port, remote))
}

/// The socket behind `fd` of `task`.
#[inline(always)]
fn socket_of(k: &KernelOffsets, task: u64, fd: i32) -> Option<Sock> {
    if fd < 0 {
        return None;
    }
    file_sock(k, task_file(k, task, fd as u32)?)
}

#[inline(always)]
fn protocol(k: &KernelOffsets, sk: u64) -> u16 {
    if k.sk_protocol == sensor_common::ABSENT {
        return 0;
    }
    read(sk, k.sk_protocol).unwrap_or(0)
}

// match-proto: sys_exit_accept(long ret) / sys_exit_accept4(long ret)
#[tracepoint]
pub fn sys_exit_accept(ctx: TracePointContext) -> u32 {
    accept(&ctx);
    0
}

/// Same as [`sys_exit_accept`], for accept4.
#[tracepoint]
pub fn sys_exit_accept4(ctx: TracePointContext) -> u32 {
    accept(&ctx);
    0
}

fn accept(ctx: &TracePointContext) {
    let cfg = config::get();
    let ret = tp::syscall_ret(ctx, cfg.tp.sys_exit_ret).unwrap_or(-1);
    // A failed accept (EAGAIN on a non-blocking listener, mostly) is not a connection.
    if ret < 0 {
        return;
    }
    let (task, pid) = current_task_pid();
    if !wanted(pid, EventKind::Accept) {
        return;
    }
    let k = cfg.k;
    let Some(file) = task_file(&k, task, ret as u32) else {
        return;
    };
    let Some(sock) = file_sock(&k, file) else {
        return;
    };
    let family = sock.family;
    if family != AF_INET && family != AF_INET6 {
        count_filtered(EventKind::Accept, FilterReason::NotInet);
        return;
    }
    let Some(mut entry) = EVENTS.reserve::<NetRecord>(0) else {
        count_drop(EventKind::Accept);
        return;
    };
    // SAFETY: the reservation is exactly one NetRecord; every field is written below.
    let record = unsafe { &mut *entry.as_mut_ptr() };
    fill_header(
        &mut record.header,
        EventKind::Accept,
        core::mem::size_of::<NetRecord>(),
    );
    let (lport, rport, laddr, raddr) = sock_ends(&k, &sock);
    record.result = ret as i32;
    record.fd = ret as i32;
    record.family = family;
    record.sock_type = sock.sock_type;
    record.protocol = protocol(&k, sock.sk);
    record.local_port = lport;
    record.remote_port = rport;
    record.local_addr = laddr;
    record.remote_addr = raddr;
    record._pad = 0;
    record._pad2 = 0;
    entry.submit(wakeup_flags(core::mem::size_of::<NetRecord>()));
}
