//! Connect and accept on inet sockets. The destination of a connect is read from the caller's
//! sockaddr at entry; at exit the socket itself (fd → file → socket → sock) gives the local end
//! and the protocol. An accept needs only its exit: the new fd's socket holds both ends.

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_user},
    macros::tracepoint,
    programs::TracePointContext,
};
use sensor_common::{
    AF_INET, AF_INET6, EventKind, FilterReason, KernelOffsets, NetRecord, PendingConnect,
    canary::Hook,
};

use crate::{
    config,
    emit::{count_drop, count_filtered, fill_header, own_call, wakeup_flags, wanted},
    kernel::{current_task, file_sock, read, sock_ends, task_file},
    maps::{EVENTS, PENDING_CONNECT},
};

// match-proto: sys_enter_connect(int fd, struct sockaddr *uservaddr, int addrlen)
#[tracepoint]
pub fn sys_enter_connect(ctx: TracePointContext) -> u32 {
    // Counted for the liveness canary; `wanted` below then filters the sensor's own connects.
    own_call(Hook::ConnectEnter);
    let tp = &config::get().tp;
    if tp.connect_addr == 0 || !wanted(EventKind::Connect) {
        return 0;
    }
    // SAFETY: offsets from the format file.
    let (fd, addr, addrlen) = unsafe {
        (
            ctx.read_at::<i64>(tp.connect_fd as usize).unwrap_or(-1),
            ctx.read_at::<u64>(tp.connect_addr as usize).unwrap_or(0),
            ctx.read_at::<i64>(tp.connect_addrlen as usize).unwrap_or(0),
        )
    };
    // sockaddr_in: family, port (network order), 4-byte address. Only the first 16 bytes are
    // read until the family says IPv6, so a short sockaddr at the end of a page still reads.
    // SAFETY: user memory probe read.
    let Ok(head) = (unsafe { bpf_probe_read_user(addr as *const [u8; 16]) }) else {
        return 0;
    };
    let family = u16::from_ne_bytes([head[0], head[1]]);
    let mut pending = PendingConnect {
        fd: fd as i32,
        family,
        port: u16::from_be_bytes([head[2], head[3]]),
        addr: [0; 16],
    };
    if family == AF_INET && addrlen >= 16 {
        pending.addr[..4].copy_from_slice(&head[4..8]);
    } else if family == AF_INET6 && addrlen >= 24 {
        // sockaddr_in6: family, port, flowinfo (4), address (16).
        // SAFETY: user memory probe read.
        match unsafe { bpf_probe_read_user((addr + 8) as *const [u8; 16]) } {
            Ok(a) => pending.addr = a,
            Err(_) => return 0,
        }
    } else {
        // Unix-domain, AF_UNSPEC (UDP disconnect), netlink...: not a network connection.
        count_filtered(EventKind::Connect, FilterReason::NotInet);
        return 0;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = PENDING_CONNECT.insert(&tid, &pending, 0);
    0
}

#[tracepoint]
pub fn sys_exit_connect(ctx: TracePointContext) -> u32 {
    // The sensor's own connects were never staged: nothing to finish.
    if own_call(Hook::ConnectExit) {
        return 0;
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(pending) = PENDING_CONNECT.get_ptr(&tid) else {
        return 0;
    };
    // SAFETY: a map value of the right type, copied out before removal.
    let pending = unsafe { *pending };
    let _ = PENDING_CONNECT.remove(&tid);
    let cfg = config::get();
    // SAFETY: offset from the format file.
    let ret: i64 = unsafe { ctx.read_at(cfg.tp.sys_exit_ret as usize) }.unwrap_or(0);
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
    record.fd = pending.fd;
    record.family = pending.family;
    record.remote_port = pending.port;
    record.remote_addr = pending.addr;
    record._pad = 0;
    record._pad2 = 0;
    let k = cfg.k;
    let socket = socket_of(&k, pending.fd);
    record.sock_type = socket.map_or(0, |(socket, _)| read(socket, k.socket_type).unwrap_or(0));
    record.protocol = socket.map_or(0, |(_, sk)| protocol(&k, sk));
    match socket {
        Some((_, sk)) => {
            let (lport, _, laddr, _) = sock_ends(&k, sk, pending.family);
            record.local_port = lport;
            record.local_addr = laddr;
        }
        None => {
            record.local_port = 0;
            record.local_addr = [0; 16];
        }
    }
    entry.submit(wakeup_flags(core::mem::size_of::<NetRecord>()));
    0
}

/// The socket and sock behind `fd` of the current task.
#[inline(always)]
fn socket_of(k: &KernelOffsets, fd: i32) -> Option<(u64, u64)> {
    if fd < 0 {
        return None;
    }
    let file = task_file(k, current_task(), fd as u32)?;
    let (socket, sk, _) = file_sock(k, file)?;
    Some((socket, sk))
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
    // SAFETY: offset from the format file.
    let ret: i64 = unsafe { ctx.read_at(cfg.tp.sys_exit_ret as usize) }.unwrap_or(-1);
    // A failed accept (EAGAIN on a non-blocking listener, mostly) is not a connection.
    if ret < 0 || !wanted(EventKind::Accept) {
        return;
    }
    let k = cfg.k;
    let Some(file) = task_file(&k, current_task(), ret as u32) else {
        return;
    };
    let Some((socket, sk, family)) = file_sock(&k, file) else {
        return;
    };
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
    let (lport, rport, laddr, raddr) = sock_ends(&k, sk, family);
    record.result = ret as i32;
    record.fd = ret as i32;
    record.family = family;
    record.sock_type = read(socket, k.socket_type).unwrap_or(0);
    record.protocol = protocol(&k, sk);
    record.local_port = lport;
    record.remote_port = rport;
    record.local_addr = laddr;
    record.remote_addr = raddr;
    record._pad = 0;
    record._pad2 = 0;
    entry.submit(wakeup_flags(core::mem::size_of::<NetRecord>()));
}
