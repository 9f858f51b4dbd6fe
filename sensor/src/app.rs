//! `sensor run`: wires capture → decode → output and runs until SIGINT/SIGTERM.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use sensor_common::EventKind;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

use crate::capture::{loader, ringbuf};
use crate::cli::RunArgs;
use crate::decode;
use crate::output::{ecs, ecs_context, jsonl::JsonLines};
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
    let drops: PerCpuArray<MapData, u64> = ebpf
        .take_map("DROPS")
        .context("DROPS map missing from the eBPF object")?
        .try_into()
        .context("DROPS is not a per-CPU array")?;

    let mut out = JsonLines::open(&args.events)
        .with_context(|| format!("opening {}", args.events.display()))?;
    let clock = BootClock::new();
    // Context (issue 4): seeded after the probes are attached, so that a process started in
    // between is seen by the seed or by its events.
    let mut enricher = crate::context::setup::enricher(&args, clock);
    enricher.seed();
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
    info!(
        ringbuf_bytes = options.ringbuf_bytes,
        "sensor attached; reporting events"
    );

    let rejected = AtomicU64::new(0);
    let mut write_error = None;
    ringbuf::drain(
        ring,
        |bytes| match decode::decode(bytes) {
            Ok(event) => {
                let enriched = enricher.enrich(event);
                let mut doc = ecs::document(&enriched.event, clock);
                if let Some(doc) = doc.as_object_mut() {
                    ecs_context::add_context(doc, &enriched);
                }
                if let Err(err) = out.write(&doc).and_then(|()| out.flush()) {
                    write_error.get_or_insert(err);
                }
            }
            Err(err) => {
                if rejected.fetch_add(1, Ordering::Relaxed) == 0 {
                    warn!(reason = err.reason(), %err, "rejecting a malformed kernel record");
                }
            }
        },
        stop,
    )
    .await
    .context("reading the event ring buffer")?;
    out.flush().context("flushing events")?;
    if let Some(err) = write_error {
        return Err(err).context("writing events");
    }

    let lost: u64 = drops
        .get(&(EventKind::Exec as u32), 0)
        .map(|per_cpu| per_cpu.iter().sum())
        .unwrap_or(0);
    info!(
        lost_in_kernel = lost,
        rejected = rejected.load(Ordering::Relaxed),
        "detaching eBPF programs"
    );
    drop(ebpf);
    Ok(())
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
