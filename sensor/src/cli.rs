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

/// Read-only opens under these prefixes are not reported by default: shared libraries, locale
/// data and the loader cache are read by every exec and say nothing about intent.
pub const DEFAULT_OPEN_IGNORE_PREFIXES: [&str; 5] = [
    "/etc/ld.so.cache",
    "/usr/lib/",
    "/lib/",
    "/usr/share/locale/",
    "/usr/lib64/",
];

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

    /// Size of the event ring buffer in KiB (rounded up to a power of two pages). 4 MiB holds
    /// about 7000 open records: enough for bursts while the reader competes for a busy CPU.
    #[arg(long, default_value_t = 4096)]
    pub ringbuf_kib: u32,

    /// Address of the HTTP server for /metrics, /healthz and /readyz (loopback by default;
    /// `0.0.0.0:9760` to let a Kubernetes Prometheus scrape the pod; port 0 picks a free one).
    #[arg(long, default_value = crate::http::DEFAULT_ADDR)]
    pub metrics_addr: std::net::SocketAddr,

    /// Wake the reader only when this many KiB are waiting in the ring buffer (0: wake for
    /// every event); below that the reader polls every `--poll-ms`. Capped at half the ring.
    #[arg(long, default_value_t = 16)]
    pub wakeup_kib: u32,

    /// Ring-buffer poll interval in milliseconds.
    #[arg(long, default_value_t = 10)]
    pub poll_ms: u64,

    /// Read-only opens of paths starting with this prefix are not reported (writes and creates
    /// always are). Repeatable; replaces the default list. Absolute, at most 64 bytes, at most
    /// 16 prefixes.
    #[arg(long = "open-ignore-prefix", value_name = "PREFIX", default_values_t = DEFAULT_OPEN_IGNORE_PREFIXES.map(String::from))]
    pub open_ignore_prefixes: Vec<String>,

    /// Identical opens (same process, path, flags and outcome) within this many milliseconds
    /// are reported once, with a count on the next one reported; 0 reports every open.
    #[arg(long, default_value_t = 1000)]
    pub open_collapse_ms: u64,

    /// Report only events of this process id (debugging and tests).
    #[arg(long, hide = true)]
    pub only_pid: Option<u32>,
}
