//! The sensor's small HTTP/1.1 server: `GET /metrics` (Prometheus text format), `/healthz`
//! (the process is alive) and `/readyz` (programs attached and ring buffers being read).
//!
//! It runs on its own thread with its own single-threaded runtime, so neither a slow scrape nor
//! a hostile client can take time from the event pipeline. Connections are capped, every
//! request must arrive whole within a deadline and fit in a small buffer, and each connection
//! answers one request and closes.

mod readiness;
mod request;
mod server;
#[cfg(test)]
mod tests;

pub use readiness::{Readiness, State};
pub use request::{Head, RequestError, Route};
pub use server::{DEFAULT_ADDR, HttpError, Server, ServerConfig};
