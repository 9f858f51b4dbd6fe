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
    Run(Box<RunArgs>),
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

    /// Beaconing analytic: connections from one process to one destination ip:port needed
    /// before their regularity is judged (at least 3).
    #[arg(long, default_value_t = 6, value_name = "N")]
    pub beacon_min_connections: usize,

    /// Beaconing analytic: highest coefficient of variation (std dev / mean) of the intervals
    /// between those connections that still counts as a regular beacon; 0 turns it off.
    #[arg(long, default_value_t = 0.2, value_name = "CV")]
    pub beacon_max_cv: f64,

    /// Beaconing analytic: only connections within this many seconds of the latest count.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub beacon_window_secs: u64,
}

impl DetectArgs {
    /// The beaconing analytic's parameters (`None` when `--beacon-max-cv 0` turns it off).
    pub fn beacon(&self) -> Option<crate::detect::beacon::BeaconConfig> {
        (self.beacon_max_cv > 0.0).then(|| crate::detect::beacon::BeaconConfig {
            min_connections: self.beacon_min_connections,
            max_cv: self.beacon_max_cv,
            window_secs: self.beacon_window_secs,
            ..Default::default()
        })
    }
}

/// Arguments of `sensor replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Rules.
    #[command(flatten)]
    pub detect: DetectArgs,

    /// Where to write alerts, one ECS JSON object per line (`-` for stdout). (`sensor run`
    /// takes `--alerts` destinations from the outputs instead.)
    #[arg(long, default_value = "-", value_name = "PATH")]
    pub alerts: PathBuf,

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

    /// Outputs (issue 9): `--events`/`--alerts` destinations, rotation, spool, shutdown.
    #[command(flatten)]
    pub output: crate::output::OutputArgs,

    /// Size of the event ring buffer in KiB (rounded up to a power of two pages). 8 MiB holds
    /// about 60,000 records of opens with 35-byte paths (136 bytes each in the ring): a burst of
    /// 100,000 opens at 700,000 per second, faster than the reader keeps up with on a 2-CPU
    /// host, fits with room to spare (4 MiB did not always).
    #[arg(long, default_value_t = 8192)]
    pub ringbuf_kib: u32,

    /// Address of the HTTP server for /metrics, /healthz and /readyz (loopback by default;
    /// `0.0.0.0:9760` to let a Kubernetes Prometheus scrape the pod; port 0 picks a free one).
    #[arg(long, default_value = crate::http::DEFAULT_ADDR)]
    pub metrics_addr: std::net::SocketAddr,

    /// Wake the reader early when this many KiB are waiting in the ring buffer (0: wake for
    /// every event); below that the reader collects events every `--poll-ms`. Capped at half
    /// the ring. Early wake-ups are at most one per half poll interval: each costs the process
    /// whose event it is a self-interrupt and a cross-CPU wake-up (VM exits on a guest), and
    /// without that limit a busy loopback connect loop paid 200 ns per connect.
    #[arg(long, default_value_t = 16)]
    pub wakeup_kib: u32,

    /// Ring-buffer poll interval in milliseconds: the longest an event waits in the ring below
    /// the wake-up threshold. Each poll costs a wakeup (on a busy host, mostly refilling
    /// caches), so shorter polls lower detection latency and raise CPU: measured at 1600
    /// exec/s, 8 ms gives a p99 under 10 ms for about 5% of a core.
    #[arg(long, default_value_t = 8)]
    pub poll_ms: u64,

    /// Lower the daemon's nice value by this many steps at start (like auditd's
    /// `priority_boost`), so its reader is not queued behind busy workloads; 0 leaves it
    /// alone. Needs CAP_SYS_NICE (or root) at start only; without it the sensor says so and
    /// runs at its inherited priority.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(0..=39))]
    pub priority_boost: u8,

    /// Seconds between self-checks: own BPF objects still held, and every canaried capture
    /// hook still seeing the sensor's own test calls (liveness canaries).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub self_check_secs: u64,

    /// Read-only opens of paths starting with this prefix are not reported (writes and creates
    /// always are). Repeatable; replaces the default list. Absolute, at most 64 bytes, at most
    /// 16 prefixes.
    #[arg(long = "open-ignore-prefix", value_name = "PREFIX", default_values_t = DEFAULT_OPEN_IGNORE_PREFIXES.map(String::from))]
    pub open_ignore_prefixes: Vec<String>,

    /// Identical opens (same process, path, flags and outcome) within this many milliseconds
    /// are reported once, with a count on the next one reported; 0 reports every open. The
    /// kernel counts the window in timer ticks (1-10 ms, depending on its HZ), rounded up.
    #[arg(long, default_value_t = 1000)]
    pub open_collapse_ms: u64,

    /// Report only events of this process id (debugging and tests).
    #[arg(long, hide = true)]
    pub only_pid: Option<u32>,

    /// Context: most processes tracked at once (least recently used ones are evicted above).
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(64..))]
    pub max_processes: u32,

    /// Context: most entries in `process.ancestors` (parent first), before pid 1 or a
    /// container's init ends the chain.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub ancestor_depth: u32,

    /// Context: seconds an exited process stays known, for late events and alerts.
    #[arg(long, default_value_t = 60)]
    pub exited_retention_secs: u64,

    /// Context: the host's `/proc` (e.g. `/host/proc` when the sensor runs in a container).
    #[arg(long, default_value = "/proc")]
    pub proc_root: PathBuf,

    /// Context: the host's root filesystem, for `/etc/passwd`, `/etc/group`, machine-id and
    /// os-release (e.g. `/host`).
    #[arg(long, default_value = "/")]
    pub host_root: PathBuf,

    /// Kubernetes node name (defaults to `$NODE_NAME`); limits the pod list to this node.
    #[arg(long)]
    pub node_name: Option<String>,

    /// Kubernetes: take pod names from the API server of this kubeconfig's cluster (token and
    /// CA file auth). Without it, the in-cluster service account is used when running in a pod.
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubernetes: take pod names from this kubelet pod-list URL instead (e.g.
    /// `http://127.0.0.1:10255/pods`).
    #[arg(long)]
    pub kubelet_url: Option<String>,

    /// Directory for state kept across restarts (open correlation windows, written at
    /// shutdown and read back at start); created if missing.
    #[arg(long, default_value = "/var/lib/sensor", value_name = "DIR")]
    pub state_dir: PathBuf,

    /// Saved state older than this many seconds is not restored; 0 turns saving and
    /// restoring off.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub state_max_age_secs: u64,

    /// Every this many milliseconds, check whether programs run from dropper locations (temp,
    /// runtime, home, hidden or world-writable directories) had their executable deleted while
    /// running; 0 turns the check off.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub exe_watch_ms: u64,

    /// Most `/proc/PID/exe` reads per deleted-executable check (the others wait their turn).
    #[arg(long, default_value_t = 512, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub exe_watch_max_checks: u32,

    /// Detection rules and alert output.
    #[command(flatten)]
    pub detect: DetectArgs,
}

impl RunArgs {
    /// The deleted-executable watcher's settings.
    pub fn exe_watch(&self) -> crate::exewatch::ExeWatchConfig {
        crate::exewatch::ExeWatchConfig {
            interval: std::time::Duration::from_millis(self.exe_watch_ms),
            max_checks: self.exe_watch_max_checks as usize,
            proc_root: self.proc_root.clone(),
            host_root: self.host_root.clone(),
        }
    }
}
