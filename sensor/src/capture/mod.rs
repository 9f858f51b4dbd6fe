//! Getting records out of the kernel: reading kernel BTF ([`btf`]) and tracepoint layouts
//! ([`tracefs`]) into the programs' configuration ([`offsets`]), loading and attaching the eBPF
//! programs ([`loader`]), draining the ring buffer ([`ringbuf`]) and reading the kernel-side
//! counters into [`stats::CaptureStats`].

pub mod btf;
pub mod loader;
pub mod offsets;
pub mod ringbuf;
pub mod stats;
pub mod tracefs;
