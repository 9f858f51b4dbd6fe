//! Command-line arguments, as parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// eBPF security sensor for Linux: catches remote-access-trojan behaviour.
#[derive(Debug, Parser)]
#[command(name = "sensor", version, about)]
pub struct Cli {
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace`, or a tracing directive);
    /// defaults to `$SENSOR_LOG`, then `info`.
    #[arg(long, global = true)]
    pub log_level: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sensor's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the eBPF programs and report events until SIGINT/SIGTERM (needs root, or CAP_BPF
    /// and CAP_PERFMON).
    Run(RunArgs),
}

/// Arguments of `sensor run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// YAML file of flag values (keys are these flags' long names; see
    /// deploy/config.example.yaml). Flags given on the command line override it.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Where to write events, one JSON object per line (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub events: PathBuf,

    /// Size of the event ring buffer in KiB (rounded up to a power of two pages).
    #[arg(long, default_value_t = 1024)]
    pub ringbuf_kib: u32,

    /// Address of the HTTP server for /metrics, /healthz and /readyz (loopback by default;
    /// `0.0.0.0:9760` to let a Kubernetes Prometheus scrape the pod; port 0 picks a free one).
    #[arg(long, default_value = crate::http::DEFAULT_ADDR)]
    pub metrics_addr: std::net::SocketAddr,
}
