//! Records that cross the kernel/user boundary, shared by `sensor-ebpf` (which writes them into
//! ring buffers) and `sensor` (which decodes them).
//!
//! Everything here is `#[repr(C)]` plain data with a compile-time size assertion, so both sides
//! agree on the layout byte for byte. Userspace never transmutes ring-buffer bytes into these
//! types: it reads fields at their offsets and validates them (see `sensor::decode`).

#![no_std]
#![warn(missing_docs)]

pub mod bpf;
pub mod canary;
pub mod config;
pub mod exec;
pub mod header;
pub mod kind;
pub mod net;
pub mod open;
pub mod process;

#[cfg(feature = "user")]
mod pod;

pub use bpf::{BATCH_MAP_FD_OFFSET, BPF_CMD_KIND, BpfCmdRecord, is_batch};
pub use config::*;
pub use exec::*;
pub use header::*;
pub use kind::*;
pub use net::*;
pub use open::*;
pub use process::*;
