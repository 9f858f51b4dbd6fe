//! One module per hook family.

pub mod bpf;
pub mod exec;
pub mod net;
pub mod open;
pub mod process;
