//! `sensor run`: wires capture → decode → output and runs until SIGINT/SIGTERM.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use aya::maps::{MapData, PerCpuArray, RingBuf};
use sensor_common::EventKind;
use tracing::{info, warn};

use crate::capture::stats::{CaptureStats, KernelCounters, SharedStats};
use crate::capture::{loader, ringbuf};
use crate::cli::RunArgs;
use crate::context::Enricher;
use crate::decode::{self, DecodeError, resolve};
use crate::detect::{Engine, EngineConfig};
use crate::event::{Event, EventBody};
use crate::http::{Readiness, Server, ServerConfig, State};
use crate::metrics::{BuildInfo, Metrics, RingFill};
use crate::output::synthetic::SyntheticAlerts;
use crate::output::{Router, ecs, ecs_context, render::Renderer};
use crate::time::BootClock;

/// How often kernel counters are copied into the shared statistics.
const COUNTER_REFRESH: Duration = Duration::from_secs(1);
/// How often the event outputs are woken for what the batches queued. Waking them after every
/// ring-buffer batch (100+ a second under load) cost a context switch each; events wait at most
/// this long more, alerts still wake their outputs at once, and a full queue wakes its output
/// on its own.
const OUTPUT_WAKE: Duration = Duration::from_millis(50);
/// Rendered lines are collected up to this many bytes before they are written (one copy less
/// than line-by-line writes through the output's buffer).
/// At most one warning about malformed records per this interval.
const REJECT_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Runs the sensor until SIGINT or SIGTERM, then detaches everything and returns.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    crate::privilege::check()?;
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
        line: Vec::with_capacity(16 * 1024),
        exits: HashMap::new(),
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

/// The stages after the ring buffer: decode, resolve paths, render, write, count.
struct Pipeline {
    out: Router,
    clock: BootClock,
    counters: KernelCounters,
    shared: SharedStats,
    stats: CaptureStats,
    rejects: RejectWarner,
    synthetic: Option<SyntheticAlerts>,
    last_refresh: Instant,
    /// When the event outputs were last woken (see [`OUTPUT_WAKE`]).
    last_output_wake: Instant,
    pending: Vec<Event>,
    metrics: Arc<Metrics>,
    fill: Option<RingFill>,
    enricher: Enricher,
    renderer: Renderer,
    /// Rendered lines not yet written, reused from batch to batch.
    line: Vec<u8>,
    /// Position of the last exit event of each pid in the current batch.
    exits: HashMap<u32, usize>,
    engine: Engine,
    /// Alerts produced by the event being processed (reused buffer).
    alerts: Vec<serde_json::Value>,
    /// New engines from SIGHUP, swapped in between batches.
    reload: crate::reload::Reloader,
    /// Tamper alerts (self-protection).
    guard: crate::protect::Guard,
    /// `bpf()` calls of other processes (the kernel's `TAMPER` ring), when it loaded.
    tamper: Option<RingBuf<MapData>>,
    /// Matches those calls against the sensor's own objects.
    bpf_watch: crate::protect::bpf::BpfWatch,
    last_self_check: Instant,
    self_check_interval: Duration,
    /// The last self-check found problems (alert once per change, not every interval).
    self_check_failed: bool,
    /// Follows processes run from dropper locations, for a deleted executable.
    exe_watch: crate::exewatch::ExeWatch,
    /// Findings of the last check (reused buffer).
    exe_found: Vec<crate::exewatch::Finding>,
    /// Capture-hook liveness canaries, run with the self-check.
    canary: Option<crate::protect::canary::Canary>,
    /// `TAMPER` reserve failures (kernel per-CPU counters).
    tamper_drops: Option<PerCpuArray<MapData, u64>>,
}

impl ringbuf::Consumer for Pipeline {
    fn record(&mut self, bytes: &[u8]) {
        match decode::decode(bytes) {
            Ok(event) => {
                if let Some(kind) = kind_of(&event.body) {
                    self.stats.kind_mut(kind).received += 1;
                    self.metrics.events_received(kind.name(), 1);
                }
                self.pending.push(event);
            }
            Err(err) => {
                self.metrics.events_dropped(None, err.reason(), 1);
                self.stats.decode_rejects.count(&err);
                self.rejects.note(&err);
            }
        }
    }

    fn batch_done(&mut self) {
        // A batch boundary: every event so far went through the old engine, every later one
        // goes through the new one.
        if let Some(mut engine) = self.reload.take() {
            // Open correlation windows carry over; those of rules the new set no longer has
            // are dropped (matched by the rules' stable ids).
            let carried = engine.import_state(self.engine.export_state());
            info!(
                carried,
                entries = engine.state_count(),
                "new rules in force; correlation state carried over"
            );
            self.engine = engine;
        }
        // Enrichment from /proc happens per batch, after the ring is drained, so a burst is
        // taken out of the kernel's way first.
        let mut pending = std::mem::take(&mut self.pending);
        // A process whose exit is further down the batch has no /proc directory to resolve
        // against any more: skip those lookups (each was a failing path walk, and short-lived
        // programs are the common case at high exec rates).
        self.exits.clear();
        for (i, event) in pending.iter().enumerate() {
            if matches!(event.body, EventBody::Exit(_)) {
                self.exits.insert(event.header.pid, i);
            }
        }
        for (i, mut event) in pending.drain(..).enumerate() {
            let gone = self
                .exits
                .get(&event.header.pid)
                .is_some_and(|&exit| exit > i);
            match &mut event.body {
                EventBody::Open(open) if !gone => resolve::open_path(&event.header, open),
                EventBody::Exec(exec) if !gone => resolve::exec(&event.header, exec),
                _ => {}
            }
            self.process_with(event, gone);
        }
        // Hand the (now empty) buffer back so its allocation is reused.
        self.pending = pending;
        let now = Instant::now();
        if self.exe_watch.due(now) {
            self.watch_exes(now);
        }
        self.watch_bpf_calls();
        if self.last_self_check.elapsed() >= self.self_check_interval {
            self.last_self_check = Instant::now();
            self.self_check();
        }
        if let Some(synthetic) = &mut self.synthetic {
            for mut alert in synthetic.due() {
                self.out.alert(&mut alert);
            }
        }
        if self.last_refresh.elapsed() >= COUNTER_REFRESH {
            self.last_refresh = Instant::now();
            self.counters.read_into(&mut self.stats);
            if let Ok(mut shared) = self.shared.lock() {
                *shared = self.stats;
            }
            publish_capture_metrics(&self.stats, &self.metrics);
            if let Some(drops) = &self.tamper_drops
                && let Ok(per_cpu) = drops.get(&sensor_common::canary::tamper_drop::BPF_CMD, 0)
            {
                self.metrics.observe_tamper_drops(per_cpu.iter().sum());
            }
            if let Some(fill) = &self.fill {
                self.metrics.ringbuf_fill("events", fill.used_bytes());
            }
            self.engine
                .tick(i64::try_from(crate::time::now_unix_ns() / 1_000_000_000).unwrap_or(0));
            self.metrics
                .correlation_state_entries(self.engine.state_count() as u64);
            let table = self.enricher.stats();
            self.metrics
                .process_table_entries(table.live_entries.load(Ordering::Relaxed));
            self.metrics
                .process_table_evictions(table.evictions.load(Ordering::Relaxed));
        }
        // Events were queued without waking the output threads: one wake-up per OUTPUT_WAKE
        // at most (the 10 ms ring poll runs this even when idle, so none waits longer).
        if self.last_output_wake.elapsed() >= OUTPUT_WAKE {
            self.last_output_wake = Instant::now();
            self.out.flush();
        }
    }
}

impl Pipeline {
    /// Enriches, writes and runs the rules over one event (from the kernel or the sensor).
    fn process(&mut self, event: Event) {
        self.process_with(event, false);
    }

    /// [`Pipeline::process`]; `gone` when the process's exit is further down the batch.
    fn process_with(&mut self, event: Event, gone: bool) {
        let enriched = if gone {
            self.enricher.enrich_exited(event)
        } else {
            self.enricher.enrich(event)
        };
        self.exe_watch
            .observe(&enriched.event.body, &enriched.process);
        self.line.clear();
        self.renderer.render(&mut self.line, &enriched, self.clock);
        self.out.event_json(&self.line);
        let clock = self.clock;
        // The event as a `Value` only when a tamper alert needs it as evidence.
        self.guard.check(
            &enriched,
            || {
                let mut doc = ecs::document(&enriched.event, clock);
                if let Some(map) = doc.as_object_mut() {
                    ecs_context::add_context(map, &enriched);
                }
                doc
            },
            &mut self.alerts,
        );
        self.detect(&enriched);
    }

    /// Checks the followed processes for a deleted executable and sends an event for each
    /// one newly found through the pipeline.
    fn watch_exes(&mut self, now: Instant) {
        let mut found = std::mem::take(&mut self.exe_found);
        let counts = self.exe_watch.tick(now, &mut found);
        self.metrics.exe_watch(&counts);
        for finding in found.drain(..) {
            // The pid must still name the process the watcher followed (no reuse since).
            let Some(process) = self
                .enricher
                .known(finding.pid)
                .filter(|p| !p.exited && p.start_unix_ns == finding.start_unix_ns)
            else {
                continue;
            };
            let event = crate::exewatch::ExeWatch::event(finding, process);
            self.process(event);
        }
        self.exe_found = found;
    }

    /// Turns `bpf()` calls of others on the sensor's objects into tamper alerts.
    fn watch_bpf_calls(&mut self) {
        let Some(ring) = &mut self.tamper else {
            return;
        };
        let now = Instant::now();
        let mut alerts = Vec::new();
        while let Some(item) = ring.next() {
            let call = match crate::protect::bpf::BpfCall::decode(&item) {
                Ok(call) => call,
                Err(err) => {
                    self.metrics.tamper_records_dropped("tamper_record", 1);
                    tracing::debug!(%err, "unusable tamper record");
                    continue;
                }
            };
            if let Some(target) = self.bpf_watch.check(&call, now) {
                alerts.push(self.guard.bpf_alert(&call, target, self.clock));
            }
        }
        for alert in alerts {
            self.emit_alert(alert);
        }
    }

    /// Checks that every program, map and link loaded at start is still held and unchanged.
    fn self_check(&mut self) {
        let now = match crate::protect::inventory::Inventory::read(std::path::Path::new(
            "/proc/self/fdinfo",
        )) {
            Ok(now) => now,
            Err(err) => {
                warn!(%err, "self-check cannot read /proc/self/fdinfo");
                return;
            }
        };
        let problems = self.bpf_watch.inventory().problems(&now);
        let failed = !problems.is_empty();
        if failed && !self.self_check_failed {
            for problem in &problems {
                warn!(problem = %problem.describe(), "self-check failed");
                let alert = self.guard.self_check_alert(problem);
                self.emit_alert(alert);
            }
        }
        self.self_check_failed = failed;
        self.check_canaries();
    }

    /// Makes the canary calls; one alert for the hooks that stopped seeing them.
    fn check_canaries(&mut self) {
        let Some(canary) = &mut self.canary else {
            return;
        };
        let report = canary.check();
        for state in &report.states {
            self.metrics
                .capture_hook_alive(state.hook.name(), state.alive);
        }
        if !report.newly_silenced.is_empty() {
            for hook in &report.newly_silenced {
                warn!(
                    hook = hook.name(),
                    "capture hook did not see its canary call"
                );
            }
            let alert = self.guard.hook_silenced_alert(&report.newly_silenced);
            self.emit_alert(alert);
        }
    }

    /// Counts and writes one alert that did not come from the rule engine.
    fn emit_alert(&mut self, mut alert: serde_json::Value) {
        let text = |path: &str| {
            alert
                .pointer(path)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("none")
                .to_string()
        };
        self.metrics.alert(
            &text("/rule/id"),
            &text("/rule/name"),
            &text("/sigma/level"),
            &text("/threat/technique/0/id"),
        );
        self.out.alert(&mut alert);
    }

    /// Runs the rules over one event and writes its alerts.
    fn detect(&mut self, enriched: &crate::context::EnrichedEvent) {
        self.engine.process(enriched, &mut self.alerts);
        if self.alerts.is_empty() {
            return;
        }
        // The engine renders only the fields rules can read; the alert takes the triggering
        // event's full process context (ancestors, session and group leaders). Built only when
        // something fired: the event output itself never goes through a `Value`.
        let mut doc = ecs::document(&enriched.event, self.clock);
        if let Some(map) = doc.as_object_mut() {
            ecs_context::add_context(map, enriched);
        }
        if let Some(process) = doc.get("process") {
            for alert in &mut self.alerts {
                if let Some(map) = alert.as_object_mut() {
                    map.insert("process".into(), process.clone());
                }
            }
        }
        let latency_ns = crate::time::boot_now_ns().saturating_sub(enriched.event.header.ktime_ns);
        for mut alert in self.alerts.drain(..) {
            let text = |path: &str| {
                path.split('.')
                    .try_fold(&alert, |v, key| v.get(key))
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("none")
            };
            let technique = alert
                .pointer("/threat/technique/0/id")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("none");
            self.metrics.alert(
                text("rule.id"),
                text("rule.name"),
                text("sigma.level"),
                technique,
            );
            // Latency from the kernel timestamp to the alert leaving the engine.
            self.metrics.detection_latency(latency_ns as f64 / 1e9);
            // ECS `event.created`: when the sensor made the alert (`@timestamp` is the
            // triggering event's time), so readers see the detection latency of each alert.
            if let Some(event) = alert.get_mut("event").and_then(|e| e.as_object_mut()) {
                event.insert(
                    "created".into(),
                    crate::time::rfc3339(crate::time::now_unix_ns()).into(),
                );
            }
            self.out.alert(&mut alert);
        }
    }
}

/// Loads the rules (`--rules`, or the built-in pack), reports what loaded and what did not
/// (bad rules are logged, counted and skipped), and builds the engine.
fn detection_engine(args: &RunArgs, metrics: &Metrics) -> anyhow::Result<Engine> {
    let rules = crate::replay::load_rules(&args.detect);
    let stats = rules.stats();
    for (source, n) in &stats.loaded_by_source {
        metrics.rules_loaded(source, *n);
    }
    metrics.rule_load_errors(stats.errors);
    info!(
        rules = rules.meta.len(),
        errors = stats.errors,
        "detection rules loaded"
    );
    let config = EngineConfig {
        beacon: args.detect.beacon(),
        ..EngineConfig::default()
    };
    Engine::new(&rules, config).context("building the detection engine")
}

/// Opens the state directory and restores the correlation state saved by the previous run, if
/// any and recent enough. Problems are logged, never fatal: detection works without it.
fn restore_state(args: &RunArgs, engine: &mut Engine) -> Option<crate::detect::state::StateStore> {
    if args.state_max_age_secs == 0 {
        return None;
    }
    let store = crate::detect::state::StateStore::open(&args.state_dir)
        .inspect_err(|err| warn!(%err, "state directory unusable; correlation state is not kept"))
        .ok()?;
    match store.take(Duration::from_secs(args.state_max_age_secs)) {
        Ok(Some(snapshot)) => {
            if engine.import_state(snapshot) {
                info!(
                    entries = engine.state_count(),
                    path = %store.path().display(),
                    "correlation state restored"
                );
            } else {
                warn!(path = %store.path().display(), "saved correlation state is of another version; not restored");
            }
        }
        Ok(None) => {}
        Err(err) => warn!(%err, "saved correlation state not restored"),
    }
    Some(store)
}

/// Writes the engine's correlation state for the next start.
fn save_state(store: &crate::detect::state::StateStore, engine: &Engine) {
    match store.save(engine.export_state()) {
        Ok(()) => info!(
            entries = engine.state_count(),
            path = %store.path().display(),
            "correlation state saved"
        ),
        Err(err) => warn!(%err, "correlation state not saved"),
    }
}

/// Mirrors the kernel's cumulative drop and filter counters into the metrics.
fn publish_capture_metrics(stats: &CaptureStats, metrics: &Metrics) {
    for kind in EventKind::ALL {
        let counters = stats.kind(kind);
        metrics.observe_kernel_drops(kind.name(), counters.kernel_drops);
        for reason in sensor_common::FilterReason::ALL {
            metrics.events_filtered(kind.name(), reason.name(), counters.filtered(reason));
        }
    }
}

/// The kernel record kind of a decoded event (`None` for events the sensor makes itself).
fn kind_of(body: &EventBody) -> Option<EventKind> {
    Some(match body {
        EventBody::Exec(_) => EventKind::Exec,
        EventBody::Fork(_) => EventKind::Fork,
        EventBody::Exit(_) => EventKind::Exit,
        EventBody::Connect(_) => EventKind::Connect,
        EventBody::Accept(_) => EventKind::Accept,
        EventBody::Open(_) => EventKind::Open,
        EventBody::ExeDeleted(_) => return None,
    })
}

/// The one line of totals at shutdown (tests and operators parse it).
fn log_totals(s: &CaptureStats) {
    let k = |kind| *s.kind(kind);
    let (exec, fork, exit) = (k(EventKind::Exec), k(EventKind::Fork), k(EventKind::Exit));
    let (connect, accept, open) = (
        k(EventKind::Connect),
        k(EventKind::Accept),
        k(EventKind::Open),
    );
    let reason = |r| s.kinds.iter().map(|c| c.filtered(r)).sum::<u64>();
    use sensor_common::FilterReason as R;
    info!(
        received = s.received(),
        kernel_drops = s.kernel_drops(),
        filtered = s.filtered(),
        decode_rejects = s.decode_rejects.total(),
        received_exec = exec.received,
        received_fork = fork.received,
        received_exit = exit.received,
        received_connect = connect.received,
        received_accept = accept.received,
        received_open = open.received,
        dropped_exec = exec.kernel_drops,
        dropped_fork = fork.kernel_drops,
        dropped_exit = exit.kernel_drops,
        dropped_connect = connect.kernel_drops,
        dropped_accept = accept.kernel_drops,
        dropped_open = open.kernel_drops,
        filtered_self = reason(R::SelfPid),
        filtered_prefix = reason(R::Prefix),
        filtered_collapsed = reason(R::Collapsed),
        filtered_not_inet = reason(R::NotInet),
        filtered_not_selected = reason(R::NotSelected),
        "capture statistics"
    );
}

/// Warns about malformed kernel records at most once per [`REJECT_WARN_INTERVAL`].
#[derive(Default)]
struct RejectWarner {
    last: Option<Instant>,
    since_last: u64,
}

impl RejectWarner {
    fn note(&mut self, err: &DecodeError) {
        self.since_last += 1;
        if self
            .last
            .is_none_or(|t| t.elapsed() >= REJECT_WARN_INTERVAL)
        {
            warn!(
                reason = err.reason(),
                %err,
                rejected = self.since_last,
                "rejecting malformed kernel records"
            );
            self.last = Some(Instant::now());
            self.since_last = 0;
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
