//! `sensor run`: wires capture → decode → output and runs until SIGINT/SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use sensor_common::EventKind;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::capture::{loader, ringbuf};
use crate::cli::RunArgs;
use crate::decode;
use crate::event::EventBody;
use crate::http::{Readiness, Server, ServerConfig, State};
use crate::metrics::{BuildInfo, Metrics, RingFill};
use crate::output::{ecs, jsonl::JsonLines};
use crate::time::BootClock;

/// Runs the sensor until SIGINT or SIGTERM, then detaches everything and returns.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::privilege::check()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: RunArgs) -> anyhow::Result<()> {
    // The server starts first so that /healthz answers and /readyz says "loading" while the
    // programs load; it runs on its own thread, off the event path.
    let metrics = Arc::new(Metrics::new(&BuildInfo::current()).context("creating metrics")?);
    let readiness = Arc::new(Readiness::new());
    let server = Server::spawn(
        ServerConfig::new(args.metrics_addr),
        Arc::clone(&metrics),
        Arc::clone(&readiness),
    )
    .context("starting the metrics server")?;
    info!(metrics_addr = %server.local_addr(), "serving /metrics, /healthz and /readyz");
    let options = loader::LoadOptions {
        ringbuf_bytes: loader::ringbuf_bytes(args.ringbuf_kib),
    };
    let mut ebpf = loader::load(&options)?;
    let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
        Ok(logger) => Some(logger),
        Err(err) => {
            warn!(%err, "eBPF-side logging unavailable");
            None
        }
    };
    let ring: RingBuf<MapData> = ebpf
        .take_map("EVENTS")
        .context("EVENTS map missing from the eBPF object")?
        .try_into()
        .context("EVENTS is not a ring buffer")?;
    let drops: Arc<PerCpuArray<MapData, u64>> = ebpf
        .take_map("DROPS")
        .context("DROPS map missing from the eBPF object")?
        .try_into()
        .context("DROPS is not a per-CPU array")
        .map(Arc::new)?;

    let mut out = JsonLines::open(&args.events)
        .with_context(|| format!("opening {}", args.events.display()))?;
    let clock = BootClock::new();
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let stop = async move {
        tokio::select! {
            _ = sigterm.recv() => info!("SIGTERM received, stopping"),
            _ = sigint.recv() => info!("SIGINT received, stopping"),
        }
    };
    if let Some(logger) = logger {
        tokio::spawn(forward_ebpf_logs(logger));
    }
    let fill = RingFill::map(std::os::fd::AsFd::as_fd(&ring))
        .inspect_err(|err| warn!(%err, "ring-buffer fill level unavailable"))
        .ok();
    let poller = tokio::spawn(poll_kernel_counters(
        Arc::clone(&drops),
        fill,
        Arc::clone(&metrics),
    ));
    metrics.ringbuf_bytes("events", u64::from(options.ringbuf_bytes));
    // Everything that needed loading privileges is done; threads started from here on inherit
    // the reduced set.
    let kept = crate::privilege::drop_after_attach().context("dropping capabilities")?;
    info!(capabilities = %kept, "dropped the capabilities needed only to load");
    readiness.set(State::Ready);
    info!(
        ringbuf_bytes = options.ringbuf_bytes,
        "sensor attached; reporting events"
    );

    let rejected = AtomicU64::new(0);
    let mut write_error = None;
    ringbuf::drain(
        ring,
        |bytes| match decode::decode(bytes) {
            Ok(mut event) => {
                metrics.events_received(event.body.kind_name(), 1);
                if let EventBody::Exec(exec) = &mut event.body {
                    exec.ppid = parent_pid(event.header.pid);
                }
                if let Err(err) = out
                    .write(&ecs::document(&event, clock))
                    .and_then(|()| out.flush())
                {
                    write_error.get_or_insert(err);
                }
            }
            Err(err) => {
                metrics.events_dropped(None, err.reason(), 1);
                if rejected.fetch_add(1, Ordering::Relaxed) == 0 {
                    warn!(reason = err.reason(), %err, "rejecting a malformed kernel record");
                }
            }
        },
        stop,
    )
    .await
    .inspect_err(|_| readiness.set(State::Failed))
    .context("reading the event ring buffer")?;
    poller.abort();
    observe_kernel_drops(&drops, &metrics);
    out.flush().context("flushing events")?;
    if let Some(err) = write_error {
        return Err(err).context("writing events");
    }

    let lost = metrics.kernel_drops(EventKind::Exec.name());
    info!(
        lost_in_kernel = lost,
        rejected = rejected.load(Ordering::Relaxed),
        "detaching eBPF programs"
    );
    drop(ebpf);
    server.shutdown();
    Ok(())
}

/// Every second, mirrors the kernel's cumulative per-CPU drop counters and samples the ring
/// buffer's fill level into the metrics.
async fn poll_kernel_counters(
    drops: Arc<PerCpuArray<MapData, u64>>,
    fill: Option<RingFill>,
    metrics: Arc<Metrics>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        observe_kernel_drops(&drops, &metrics);
        if let Some(fill) = &fill {
            metrics.ringbuf_fill("events", fill.used_bytes());
        }
    }
}

fn observe_kernel_drops(drops: &PerCpuArray<MapData, u64>, metrics: &Metrics) {
    for kind in EventKind::ALL {
        if let Ok(per_cpu) = drops.get(&(kind as u32), 0) {
            metrics.observe_kernel_drops(kind.name(), per_cpu.iter().sum());
        }
    }
}

/// Drains the eBPF side's log ring buffer into our log.
async fn forward_ebpf_logs(logger: aya_log::EbpfLogger<&'static dyn log::Log>) {
    // SAFETY: the logger owns its ring-buffer fd for as long as the AsyncFd owns the logger.
    let registered = unsafe {
        tokio::io::unix::AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE)
    };
    let Ok(mut fd) = registered else {
        return;
    };
    loop {
        let Ok(mut guard) = fd.readable_mut().await else {
            return;
        };
        guard.get_inner_mut().flush();
        guard.clear_ready();
    }
}

/// The parent of `pid` from /proc, when the process still exists.
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}
