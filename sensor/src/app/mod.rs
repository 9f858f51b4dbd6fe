//! `sensor run`: wires capture → decode → output and runs until SIGINT/SIGTERM.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use tracing::{info, warn};

use crate::capture::stats::{CaptureStats, KernelCounters};
use crate::capture::{loader, ringbuf};
use crate::cli::RunArgs;
use crate::context::process_table::PidMap;
use crate::http::{Readiness, Server, ServerConfig, State};
use crate::metrics::{BuildInfo, Metrics, RingFill};
use crate::output::synthetic::SyntheticAlerts;
use crate::output::{Router, render::Renderer};
use crate::time::BootClock;

mod pipeline;
mod state;
mod watch;

use pipeline::{Pipeline, RejectWarner, log_totals, publish_capture_metrics};
use state::{detection_engine, restore_state, save_state};

/// Runs the sensor until SIGINT or SIGTERM, then detaches everything and returns.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::privilege::check()?;
    // Before the runtime and the output threads exist, so that they all inherit it.
    match crate::priority::boost(args.priority_boost) {
        Ok(Some((from, to))) => info!(from, to, "raised the sensor's scheduling priority (nice)"),
        Ok(None) => {}
        Err(err) => warn!("{err}; detection latency may grow when the CPUs are busy"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

fn load_options(args: &RunArgs) -> loader::LoadOptions {
    let ringbuf_bytes = loader::ringbuf_bytes(args.ringbuf_kib);
    let wakeup_bytes = u64::from(args.wakeup_kib)
        .saturating_mul(1024)
        .min(u64::from(ringbuf_bytes) / 2);
    loader::LoadOptions {
        ringbuf_bytes,
        only_pid: args.only_pid.unwrap_or(0),
        open_prefixes: args
            .open_ignore_prefixes
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect(),
        open_collapse_ns: args.open_collapse_ms.saturating_mul(1_000_000),
        wakeup_bytes,
        // An early wake-up is worth its cost only well before the next poll.
        wakeup_gap_ns: args.poll_ms.saturating_mul(1_000_000) / 2,
    }
}

fn take_per_cpu(ebpf: &mut aya::Ebpf, name: &str) -> anyhow::Result<PerCpuArray<MapData, u64>> {
    ebpf.take_map(name)
        .with_context(|| format!("{name} map missing from the eBPF object"))?
        .try_into()
        .with_context(|| format!("{name} is not a per-CPU array"))
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

    let options = load_options(&args);
    let mut ebpf = loader::load(&options)?;
    let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
        Ok(logger) => Some(logger),
        Err(err) => {
            tracing::debug!(%err, "eBPF-side logging unavailable");
            None
        }
    };
    let ring: RingBuf<MapData> = ebpf
        .take_map("EVENTS")
        .context("EVENTS map missing from the eBPF object")?
        .try_into()
        .context("EVENTS is not a ring buffer")?;
    // Self-protection: `bpf()` calls of others (own ring, so a storm cannot crowd them out),
    // matched against the objects this process holds right after attaching.
    let tamper: Option<RingBuf<MapData>> =
        ebpf.take_map("TAMPER").and_then(|map| map.try_into().ok());
    if tamper.is_none() {
        warn!("TAMPER ring missing from the eBPF object; bpf() tamper alerts are off");
    }
    let own_objects =
        crate::protect::inventory::Inventory::read(std::path::Path::new("/proc/self/fdinfo"))
            .inspect_err(|err| {
                warn!(%err, "cannot list own BPF objects; bpf() tamper alerts and self-check off");
            })
            .unwrap_or_default();
    // Read above, so OWN_IDS lists itself too.
    if let Err(err) = own_objects.publish(&mut ebpf) {
        warn!(%err, "kernel-side id filter unavailable; bpf() handle alerts are off");
    }
    info!(
        programs = own_objects.progs.len(),
        maps = own_objects.maps.len(),
        links = own_objects.links.len(),
        "own BPF objects recorded for self-protection"
    );
    let counters = KernelCounters::new(
        take_per_cpu(&mut ebpf, "DROPS")?,
        take_per_cpu(&mut ebpf, "FILTERED")?,
    );

    // Liveness canaries: made now, after attaching, to learn which hooks answer here.
    let canary = take_per_cpu(&mut ebpf, "SELF_HITS")
        .inspect_err(|err| warn!(%err, "capture-hook liveness canaries are off"))
        .ok()
        .map(crate::protect::canary::Canary::new);
    let tamper_drops = take_per_cpu(&mut ebpf, "TAMPER_DROPS")
        .inspect_err(|err| warn!(%err, "TAMPER ring drops are not counted"))
        .ok();

    let output_config = args.output.router_config()?;
    let mut engine = detection_engine(&args, &metrics)?;
    let state = restore_state(&args, &mut engine);
    let clock = BootClock::new();
    // Seeded after the probes are attached, so that a process started in between is seen by
    // the seed or by its events.
    let mut enricher = crate::context::setup::enricher(&args, clock);
    enricher.seed();
    let mut exe_watch = crate::exewatch::ExeWatch::new(&args.exe_watch());
    if exe_watch.enabled() {
        for process in enricher.processes() {
            exe_watch.seed(process);
        }
        info!(
            followed = exe_watch.watched(),
            "watching programs run from dropper locations for a deleted executable"
        );
    }
    if let Some(logger) = logger {
        tokio::spawn(forward_ebpf_logs(logger));
    }
    let fill = RingFill::map(std::os::fd::AsFd::as_fd(&ring))
        .inspect_err(|err| warn!(%err, "ring-buffer fill level unavailable"))
        .ok();
    metrics.ringbuf_bytes("events", u64::from(options.ringbuf_bytes));
    // Everything that needed loading privileges is done; threads started from here on inherit
    // the reduced set.
    let kept = crate::privilege::drop_after_attach().context("dropping capabilities")?;
    info!(capabilities = %kept, "dropped the capabilities needed only to load");
    // Outputs (issue 9): started after the drop, so their threads inherit the reduced set.
    let out = Router::start(&output_config, Arc::clone(&metrics)).context("opening the outputs")?;
    let synthetic = args
        .output
        .synthetic_alert_ms
        .map(|ms| SyntheticAlerts::new(Duration::from_millis(ms)));
    // SIGTERM/SIGINT (stop) and SIGHUP (reload) are handled on their own thread, started
    // after the capability drop and before "attached" (from then on SIGTERM is a clean stop).
    let (reload, stop) =
        crate::reload::spawn(args.detect.clone()).context("installing signal handlers")?;
    readiness.set(State::Ready);
    info!(
        ringbuf_bytes = options.ringbuf_bytes,
        wakeup_bytes = options.wakeup_bytes,
        wakeup_gap_ns = options.wakeup_gap_ns,
        open_ignore_prefixes = options.open_prefixes.len(),
        "sensor attached; reporting events"
    );

    let mut pipeline = Pipeline {
        out,
        clock,
        counters,
        shared: Arc::new(Mutex::new(CaptureStats::default())),
        stats: CaptureStats::default(),
        rejects: RejectWarner::default(),
        synthetic,
        last_refresh: Instant::now(),
        last_output_wake: Instant::now(),
        pending: Vec::new(),
        metrics: Arc::clone(&metrics),
        fill,
        enricher,
        renderer: Renderer::new(),
        exits: PidMap::default(),
        engine,
        alerts: Vec::new(),
        reload,
        guard: crate::protect::Guard::new(),
        tamper,
        bpf_watch: crate::protect::bpf::BpfWatch::new(own_objects, args.proc_root.clone()),
        last_self_check: Instant::now(),
        self_check_interval: Duration::from_secs(args.self_check_secs),
        self_check_failed: false,
        exe_watch,
        exe_found: Vec::new(),
        canary,
        tamper_drops,
    };
    ringbuf::drain(
        ring,
        &mut pipeline,
        Duration::from_millis(args.poll_ms),
        stop,
    )
    .await
    .inspect_err(|_| readiness.set(State::Failed))
    .context("reading the event ring buffer")?;
    let Pipeline {
        out,
        counters,
        shared,
        mut stats,
        engine,
        ..
    } = pipeline;
    if let Some(store) = &state {
        save_state(store, &engine);
    }
    if !out.shutdown(args.output.shutdown_timeout()) {
        warn!("some outputs did not finish flushing before --shutdown-timeout");
    }

    counters.read_into(&mut stats);
    if let Ok(mut shared) = shared.lock() {
        *shared = stats;
    }
    publish_capture_metrics(&stats, &metrics);
    log_totals(&stats);
    info!("detaching eBPF programs");
    drop(ebpf);
    server.shutdown();
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
