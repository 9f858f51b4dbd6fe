//! The sensor's userspace side: loads the eBPF programs, reads their ring buffers, decodes the
//! records into typed events and writes them out.
//!
//! Data flows one way: [`capture`] (kernel → bytes) → [`decode`] (bytes → [`event::Event`]) →
//! [`output`] (events → JSON lines). [`app`] wires the stages together; [`metrics`] counts what
//! flows through them and [`http`] serves the counts and health endpoints.

#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod cli;
pub mod config;
pub mod context;
pub mod decode;
pub mod detect;
pub mod event;
pub mod exewatch;
pub mod http;
pub mod logsafe;
pub mod metrics;
pub mod output;
pub mod priority;
pub mod privilege;
pub mod protect;
pub mod reload;
pub mod replay;
pub mod text;
pub mod time;
