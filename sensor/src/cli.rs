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
    /// Run the detection rules over recorded events (`run --events` JSON lines) and print the
    /// alerts; deterministic (event time, not wall time), needs no kernel and no privileges.
    Replay(ReplayArgs),
    /// Validate or list detection rules.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// Where rules come from and where alerts go.
#[derive(Debug, Clone, Args)]
pub struct DetectArgs {
    /// A Sigma rule file or directory (walked recursively); repeatable. Without it the
    /// built-in pack is used.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Also load the built-in pack when `--rules` is given.
    #[arg(long)]
    pub with_builtin: bool,

    /// Where to write alerts, one ECS JSON object per line (`-` for stdout).
    #[arg(long, default_value = "-", value_name = "PATH")]
    pub alerts: PathBuf,
}

/// Arguments of `sensor replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rules and alert output.
    #[command(flatten)]
    pub detect: DetectArgs,

    /// Print throughput figures (events/s, parse and evaluation separately) to stderr.
    #[arg(long)]
    pub stats: bool,

    /// Evaluate the recorded events this many times (benchmarking; implies reading them all
    /// into memory first).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: u32,

    /// Recorded event files (JSON lines; `-` for stdin).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `sensor rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files or directories; exits non-zero naming file, line and problem for
    /// every rule that does not load.
    Check {
        /// Rule files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// List the loaded rules: id, level, ATT&CK techniques, title, source.
    List {
        /// Rules to list (the built-in pack when none is given).
        #[command(flatten)]
        detect: DetectArgs,
    },
}

/// Arguments of `sensor run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Where to write events, one JSON object per line (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub events: PathBuf,

    /// Size of the event ring buffer in KiB (rounded up to a power of two pages).
    #[arg(long, default_value_t = 1024)]
    pub ringbuf_kib: u32,

    /// Detection rules and alert output.
    #[command(flatten)]
    pub detect: DetectArgs,
}
