//! `bpf()` syscalls of other processes that name BPF objects (self-protection).
//!
//! These records travel on their own small ring buffer (`TAMPER`), not on the event stream:
//! they are rare, never shed, and read by the self-protection stage only.

use crate::EventHeader;

/// [`EventHeader::kind`] of a [`BpfCmdRecord`]. Outside [`crate::EventKind`] on purpose: the
/// record never enters the event ring, its per-kind counters or the event model.
pub const BPF_CMD_KIND: u32 = 100;

/// `bpf()` commands (`enum bpf_cmd` in `include/uapi/linux/bpf.h`) the kernel side reports.
pub mod cmd {
    /// `BPF_MAP_UPDATE_ELEM`: `attr.map_fd`.
    pub const MAP_UPDATE_ELEM: u32 = 2;
    /// `BPF_MAP_DELETE_ELEM`: `attr.map_fd`.
    pub const MAP_DELETE_ELEM: u32 = 3;
    /// `BPF_PROG_DETACH`: `attr.target_fd`.
    pub const PROG_DETACH: u32 = 9;
    /// `BPF_PROG_GET_FD_BY_ID`: `attr.prog_id`.
    pub const PROG_GET_FD_BY_ID: u32 = 13;
    /// `BPF_MAP_GET_FD_BY_ID`: `attr.map_id`.
    pub const MAP_GET_FD_BY_ID: u32 = 14;
    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: `attr.map_fd`.
    pub const MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
    /// `BPF_MAP_FREEZE`: `attr.map_fd`.
    pub const MAP_FREEZE: u32 = 22;
    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`: `attr.batch.map_fd` at offset
    /// [`super::BATCH_MAP_FD_OFFSET`] (as for the two below).
    pub const MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
    /// `BPF_MAP_UPDATE_BATCH`.
    pub const MAP_UPDATE_BATCH: u32 = 26;
    /// `BPF_MAP_DELETE_BATCH`.
    pub const MAP_DELETE_BATCH: u32 = 27;
    /// `BPF_LINK_UPDATE`: `attr.link_update.link_fd`.
    pub const LINK_UPDATE: u32 = 29;
    /// `BPF_LINK_GET_FD_BY_ID`: `attr.link_id`.
    pub const LINK_GET_FD_BY_ID: u32 = 30;
    /// `BPF_LINK_DETACH`: `attr.link_detach.link_fd`.
    pub const LINK_DETACH: u32 = 34;

    /// Whether the kernel side reports `cmd`: a handle on, or a change to, a named object.
    /// Plain lookups are not watched: reading someone else's map needs a handle first (a
    /// `*_GET_FD_BY_ID`), and a dump would send one record per key.
    #[inline(always)]
    pub const fn watched(cmd: u32) -> bool {
        matches!(
            cmd,
            MAP_UPDATE_ELEM
                | MAP_DELETE_ELEM
                | PROG_DETACH
                | PROG_GET_FD_BY_ID
                | MAP_GET_FD_BY_ID
                | MAP_LOOKUP_AND_DELETE_ELEM
                | MAP_FREEZE
                | MAP_LOOKUP_AND_DELETE_BATCH
                ..=MAP_DELETE_BATCH | LINK_UPDATE | LINK_GET_FD_BY_ID | LINK_DETACH
        )
    }
}

/// Capacity of the kernel's set of the sensor's own object ids (`OWN_IDS`).
pub const OWN_IDS_MAX: u32 = 1024;

/// Key of an id in `OWN_IDS`: what the id names (program, map or link: these are separate id
/// spaces) in the high half, the id in the low half. `None` for commands that name no id.
#[inline(always)]
pub const fn own_id_key(command: u32, id: u32) -> Option<u64> {
    let space: u64 = match command {
        cmd::PROG_GET_FD_BY_ID => 1,
        cmd::MAP_GET_FD_BY_ID => 2,
        cmd::LINK_GET_FD_BY_ID => 3,
        _ => return None,
    };
    Some(space << 32 | id as u64)
}

/// Offset of `map_fd` in `bpf_attr.batch` (after four 64-bit pointers and `count`).
pub const BATCH_MAP_FD_OFFSET: usize = 36;

/// Whether `cmd` is one of the batch map commands.
#[inline(always)]
pub const fn is_batch(cmd: u32) -> bool {
    cmd >= cmd::MAP_LOOKUP_AND_DELETE_BATCH && cmd <= cmd::MAP_DELETE_BATCH
}

/// One watched `bpf()` call by a process other than the sensor, at syscall entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BpfCmdRecord {
    /// Common header; `kind` is [`BPF_CMD_KIND`].
    pub header: EventHeader,
    /// The `bpf_cmd`.
    pub cmd: u32,
    /// The first 32-bit field of `bpf_attr` for this command: an object id for the
    /// `*_GET_FD_BY_ID` commands, an fd of the caller otherwise (0 when unreadable).
    pub first: u32,
    /// For the batch map commands, `attr.batch.map_fd` (at [`BATCH_MAP_FD_OFFSET`]); otherwise
    /// the second 32-bit field of `bpf_attr` (`attach_bpf_fd` of `BPF_PROG_DETACH`).
    pub second: u32,
    /// 1 when `bpf_attr` could not be read.
    pub unreadable: u32,
}

const _: () = assert!(core::mem::size_of::<BpfCmdRecord>() == 56 + 16);
