//! Writing events and alerts out.
//!
//! Rendering: ECS JSON documents ([`ecs`], with process/user/container/host context from
//! [`ecs_context`]). Delivery: the pipeline hands rendered documents to the [`Router`], which
//! serialises each once and queues it, without ever blocking, to every destination configured
//! for its [`Stream`]. Each destination runs in its own thread behind a bounded, shedding
//! [`queue`], so a slow or dead output never stalls the ring-buffer reader. Destinations
//! ([`dest`]): stdout, rotated files ([`file`]), syslog ([`syslog`]) and HTTP webhooks
//! ([`webhook`], backed by an on-disk [`spool`], over [`tls`] for `https://`). See `docs/outputs.md` for the guarantees.
//!
//! Events are rendered by [`render`], which writes the same documents as [`ecs`] and
//! [`ecs_context`] with [`json`] into a reused buffer, without building a `serde_json::Value`.

pub mod args;
pub mod dest;
pub mod doc;
pub mod ecs;
pub mod ecs_context;
pub mod file;
mod http_client;
pub mod id;
pub mod json;
pub mod jsonl;
pub mod names;
pub mod queue;
pub mod render;
pub mod router;
pub mod spool;
pub mod stdout;
pub mod synthetic;
pub mod syslog;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests_backpressure;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests_lines;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests_outage;
#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests_tls;
pub mod tls;
pub mod webhook;

use std::time::Instant;

pub use args::OutputArgs;
pub use dest::Destination;
pub use doc::{Doc, Stream};
pub use router::{Router, RouterConfig};

/// Errors of the output sinks and their configuration.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A destination string could not be understood.
    #[error("bad output destination {dest:?}: {reason}")]
    BadDestination {
        /// The destination as given.
        dest: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Writing to, connecting to or opening a destination failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The webhook receiver answered with a status other than 2xx.
    #[error("webhook answered HTTP {0}")]
    Status(u16),
    /// A TLS connection to a webhook failed (handshake refused, bad server name).
    #[error("TLS with {addr}: {reason}")]
    Tls {
        /// `HOST:PORT` of the receiver.
        addr: String,
        /// What went wrong and what to check.
        reason: String,
    },
    /// The webhook's TLS settings are unusable (a startup error).
    #[error(transparent)]
    TlsConfig(#[from] tls::TlsError),
    /// The webhook receiver's answer was not HTTP.
    #[error("webhook answer is not HTTP/1.x")]
    BadResponse,
    /// The on-disk spool is unusable.
    #[error("spool {path}: {reason}")]
    Spool {
        /// The spool directory or file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl OutputError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> OutputError {
        OutputError::Io {
            what: what.into(),
            source,
        }
    }
}

/// One destination's writer, driven by its own output thread.
///
/// A sink takes documents in batches (whatever was queued when the thread woke up) and is asked
/// to flush at shutdown. The router counts deliveries and drops from what these methods return
/// (the webhook counts its spool's drops and confirmed deliveries itself).
pub trait Sink: Send {
    /// Writes a whole batch, or reports how many documents were written before a failure (the
    /// rest are counted as dropped). `Ok(n)`: `n` documents were skipped individually because
    /// the destination cannot carry them (counted as `too_large`), the others were written.
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure>;

    /// Pushes everything accepted so far to the destination, giving up at `deadline`.
    fn flush(&mut self, deadline: Instant) -> Result<(), OutputError>;

    /// True when accepted documents are delivered later by the sink itself (the webhook, which
    /// counts its own deliveries once confirmed); the router then counts nothing as delivered.
    fn delivers_later(&self) -> bool {
        false
    }
}

/// A failed [`Sink::write_batch`]: how many documents were written before the failure, why
/// the rest were lost, and the error for the log.
#[derive(Debug)]
pub struct SinkFailure {
    /// Documents of the batch written before the error.
    pub written: usize,
    /// The `reason` label of the drop counter for the remaining documents.
    pub reason: &'static str,
    /// What went wrong.
    pub error: OutputError,
}
