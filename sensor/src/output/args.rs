//! Command-line arguments of the outputs (flattened into `sensor run`'s), and the
//! [`RouterConfig`] they describe.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::file::Rotation;
use super::tls::TlsFiles;
use super::webhook::Format;
use super::{Destination, OutputError, RouterConfig};

/// Output destinations, rotation, spool and shutdown settings.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Where to write events, one ECS JSON document each. Repeatable: `-` (stdout), a path or
    /// `file:PATH`, `syslog:unix:/dev/log`, `syslog:tcp:HOST:PORT`, `http://HOST:PORT/PATH`,
    /// `https://HOST:PORT/PATH`.
    #[arg(long, value_name = "DEST", default_value = "-")]
    pub events: Vec<String>,

    /// Where to write alerts (same forms as `--events`; repeatable).
    #[arg(long, value_name = "DEST", default_value = "-")]
    pub alerts: Vec<String>,

    /// Rotate an events file before it exceeds this many bytes (0: never).
    #[arg(long, default_value_t = 100 << 20)]
    pub events_max_bytes: u64,

    /// Rotated events files kept (`PATH.1` is the newest).
    #[arg(long, default_value_t = 5)]
    pub events_keep: u32,

    /// Rotate an alerts file before it exceeds this many bytes (0: never).
    #[arg(long, default_value_t = 100 << 20)]
    pub alerts_max_bytes: u64,

    /// Rotated alerts files kept.
    #[arg(long, default_value_t = 10)]
    pub alerts_keep: u32,

    /// Directory of the webhook spools (one sub-directory per webhook output).
    #[arg(long, default_value = "/var/lib/sensor/spool")]
    pub spool_dir: PathBuf,

    /// Bound of an events webhook's spool; the oldest events are dropped above it.
    #[arg(long, default_value_t = 256 << 20)]
    pub events_spool_max_bytes: u64,

    /// Bound of an alerts webhook's spool; above it new alerts are refused (ERROR log and
    /// `sensor_output_dropped_total{reason="spool_full"}`), spooled ones are never dropped.
    #[arg(long, default_value_t = 1 << 30)]
    pub alerts_spool_max_bytes: u64,

    /// Webhook body: a JSON array per POST, or NDJSON.
    #[arg(long, value_enum, default_value_t = Format::Array)]
    pub webhook_format: Format,

    /// Webhook connect/send/read timeout in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub webhook_timeout_ms: u64,

    /// Longest delay between webhook retries in milliseconds (exponential from 250 ms, with
    /// jitter).
    #[arg(long, default_value_t = 5000)]
    pub webhook_max_backoff_ms: u64,

    /// PEM file of extra CA certificates trusted for `https://` webhooks, in addition to the
    /// system's roots (a receiver with a private CA).
    #[arg(long, value_name = "PEM")]
    pub webhook_ca_file: Option<PathBuf>,

    /// PEM client certificate chain presented to `https://` webhooks (mutual TLS; needs
    /// `--webhook-client-key`).
    #[arg(long, value_name = "PEM")]
    pub webhook_client_cert: Option<PathBuf>,

    /// PEM private key of `--webhook-client-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PEM")]
    pub webhook_client_key: Option<PathBuf>,

    /// Documents queued in memory per destination before shedding starts (events first, then
    /// alerts from low to high severity).
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u64).range(1..))]
    pub output_queue: u64,

    /// Seconds to flush every output at shutdown before exiting anyway.
    #[arg(long, default_value_t = 10)]
    pub shutdown_timeout: u64,

    /// Testing: emit a synthetic `informational` alert every this many milliseconds, with
    /// `sensor.synthetic.seq` counting from 1, through the real alert path.
    #[arg(long, hide = true)]
    pub synthetic_alert_ms: Option<u64>,
}

impl OutputArgs {
    /// The router configuration, or a clear error about a bad destination.
    pub fn router_config(&self) -> Result<RouterConfig, OutputError> {
        let parse = |list: &[String]| {
            list.iter()
                .map(|d| Destination::parse(d))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(RouterConfig {
            events: parse(&self.events)?,
            alerts: parse(&self.alerts)?,
            queue_capacity: usize::try_from(self.output_queue).unwrap_or(usize::MAX),
            events_rotation: Rotation {
                max_bytes: self.events_max_bytes,
                keep: self.events_keep,
            },
            alerts_rotation: Rotation {
                max_bytes: self.alerts_max_bytes,
                keep: self.alerts_keep,
            },
            spool_dir: self.spool_dir.clone(),
            events_spool_bytes: self.events_spool_max_bytes,
            alerts_spool_bytes: self.alerts_spool_max_bytes,
            webhook_format: self.webhook_format,
            webhook_timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
            webhook_max_backoff: Duration::from_millis(self.webhook_max_backoff_ms),
            webhook_tls: TlsFiles {
                ca_file: self.webhook_ca_file.clone(),
                client_cert: self.webhook_client_cert.clone(),
                client_key: self.webhook_client_key.clone(),
            },
        })
    }

    /// The shutdown flush budget.
    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }
}
