//! Connect and accept records.

use crate::EventHeader;

/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;

/// A connect (at `sys_exit_connect`) or accept (at `sys_exit_accept(4)`) on an inet socket.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NetRecord {
    /// Common header; `kind` is [`crate::EventKind::Connect`] or [`crate::EventKind::Accept`].
    pub header: EventHeader,
    /// Syscall result: 0 (or the new fd for accept) or a negative errno.
    pub result: i32,
    /// The socket's fd (the new one for accept).
    pub fd: i32,
    /// [`AF_INET`] or [`AF_INET6`].
    pub family: u16,
    /// `socket.type` (`SOCK_STREAM` = 1, `SOCK_DGRAM` = 2, ...).
    pub sock_type: u16,
    /// `sock.sk_protocol` (`IPPROTO_TCP` = 6, `IPPROTO_UDP` = 17), 0 when unknown.
    pub protocol: u16,
    /// Local port, host order.
    pub local_port: u16,
    /// Remote port, host order.
    pub remote_port: u16,
    /// Reserved, zero.
    pub _pad: u16,
    /// Local address: 4 bytes for IPv4, 16 for IPv6, network order.
    pub local_addr: [u8; 16],
    /// Remote address, as `local_addr`.
    pub remote_addr: [u8; 16],
    /// Reserved, zero.
    pub _pad2: u32,
}

const _: () = assert!(core::mem::size_of::<NetRecord>() == 56 + 8 + 12 + 32 + 4);
