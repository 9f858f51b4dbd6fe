//! Connect and accept records.

use core::mem::offset_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sensor_common::{AF_INET, AF_INET6, NetRecord};

use super::{DecodeError, reader::Reader};
use crate::event::{NetEvent, Transport};

const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const SOCK_STREAM: u16 = 1;
const SOCK_DGRAM: u16 = 2;

pub(super) fn decode(r: &Reader<'_>) -> Result<NetEvent, DecodeError> {
    r.require(size_of::<NetRecord>())?;
    let family = r.u16(offset_of!(NetRecord, family))?;
    let local = r.bytes(offset_of!(NetRecord, local_addr), 16)?;
    let remote = r.bytes(offset_of!(NetRecord, remote_addr), 16)?;
    let (local, remote) = match family {
        AF_INET => (ipv4(local)?, ipv4(remote)?),
        AF_INET6 => (ipv6(local)?, ipv6(remote)?),
        _ => return Err(DecodeError::Inconsistent("address family is not inet")),
    };
    let protocol = r.u16(offset_of!(NetRecord, protocol))?;
    let sock_type = r.u16(offset_of!(NetRecord, sock_type))?;
    let transport = match (protocol, sock_type) {
        (IPPROTO_TCP, _) | (0, SOCK_STREAM) => Transport::Tcp,
        (IPPROTO_UDP, _) | (0, SOCK_DGRAM) => Transport::Udp,
        _ => Transport::Other,
    };
    Ok(NetEvent {
        transport,
        local: (local, r.u16(offset_of!(NetRecord, local_port))?),
        remote: (remote, r.u16(offset_of!(NetRecord, remote_port))?),
        result: r.i32(offset_of!(NetRecord, result))?,
        fd: r.i32(offset_of!(NetRecord, fd))?,
        sock_type,
    })
}

fn ipv4(bytes: &[u8]) -> Result<IpAddr, DecodeError> {
    let b: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(DecodeError::Inconsistent("short IPv4 address"))?;
    Ok(IpAddr::V4(Ipv4Addr::from(b)))
}

fn ipv6(bytes: &[u8]) -> Result<IpAddr, DecodeError> {
    let b: [u8; 16] = bytes
        .try_into()
        .map_err(|_| DecodeError::Inconsistent("short IPv6 address"))?;
    Ok(IpAddr::V6(Ipv6Addr::from(b)))
}
