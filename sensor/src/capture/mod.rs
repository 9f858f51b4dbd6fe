//! Getting records out of the kernel: loading and attaching the eBPF programs ([`loader`]),
//! reading tracepoint layouts ([`tracefs`]) and draining the ring buffer ([`ringbuf`]).

pub mod loader;
pub mod ringbuf;
pub mod tracefs;
