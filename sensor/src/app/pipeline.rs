//! The stages after the ring buffer, per record and per batch: decode, enrich, render and
//! write, detect, and the periodic work that rides on batch boundaries (counters, output
//! wake-ups, rule reloads).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aya::maps::{MapData, PerCpuArray, RingBuf};
use sensor_common::EventKind;
use tracing::{info, warn};

use crate::capture::ringbuf;
use crate::capture::stats::{CaptureStats, KernelCounters, SharedStats};
use crate::context::Enricher;
use crate::context::process_table::PidMap;
use crate::decode::{self, DecodeError, resolve};
use crate::detect::Engine;
use crate::event::{Event, EventBody};
use crate::metrics::{Metrics, RingFill};
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
/// At most one warning about malformed records per this interval.
const REJECT_WARN_INTERVAL: Duration = Duration::from_secs(10);

/// The stages after the ring buffer: decode, resolve paths, render, write, count.
pub(super) struct Pipeline {
    pub(super) out: Router,
    pub(super) clock: BootClock,
    pub(super) counters: KernelCounters,
    pub(super) shared: SharedStats,
    pub(super) stats: CaptureStats,
    pub(super) rejects: RejectWarner,
    pub(super) synthetic: Option<SyntheticAlerts>,
    pub(super) last_refresh: Instant,
    /// When the event outputs were last woken (see [`OUTPUT_WAKE`]).
    pub(super) last_output_wake: Instant,
    pub(super) pending: Vec<Event>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) fill: Option<RingFill>,
    pub(super) enricher: Enricher,
    pub(super) renderer: Renderer,
    /// Position of the last exit event of each pid in the current batch.
    pub(super) exits: PidMap<usize>,
    pub(super) engine: Engine,
    /// Alerts produced by the event being processed (reused buffer).
    pub(super) alerts: Vec<serde_json::Value>,
    /// New engines from SIGHUP, swapped in between batches.
    pub(super) reload: crate::reload::Reloader,
    /// Tamper alerts (self-protection).
    pub(super) guard: crate::protect::Guard,
    /// `bpf()` calls of other processes (the kernel's `TAMPER` ring), when it loaded.
    pub(super) tamper: Option<RingBuf<MapData>>,
    /// Matches those calls against the sensor's own objects.
    pub(super) bpf_watch: crate::protect::bpf::BpfWatch,
    pub(super) last_self_check: Instant,
    pub(super) self_check_interval: Duration,
    /// The last self-check found problems (alert once per change, not every interval).
    pub(super) self_check_failed: bool,
    /// Follows processes run from dropper locations, for a deleted executable.
    pub(super) exe_watch: crate::exewatch::ExeWatch,
    /// Findings of the last check (reused buffer).
    pub(super) exe_found: Vec<crate::exewatch::Finding>,
    /// Capture-hook liveness canaries, run with the self-check.
    pub(super) canary: Option<crate::protect::canary::Canary>,
    /// `TAMPER` reserve failures (kernel per-CPU counters).
    pub(super) tamper_drops: Option<PerCpuArray<MapData, u64>>,
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
        // Event lines were gathered without waking the output threads: they are queued and
        // the threads woken once per OUTPUT_WAKE at most (the ring poll runs this every few
        // milliseconds even when idle, so none waits longer).
        if self.last_output_wake.elapsed() >= OUTPUT_WAKE {
            self.last_output_wake = Instant::now();
            self.out.flush();
        }
    }
}

impl Pipeline {
    /// Enriches, writes and runs the rules over one event (from the kernel or the sensor).
    pub(super) fn process(&mut self, event: Event) {
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
        let clock = self.clock;
        let renderer = &mut self.renderer;
        self.out
            .event_line(|line| renderer.render(line, &enriched, clock));
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

    /// Counts and writes one alert that did not come from the rule engine.
    pub(super) fn emit_alert(&mut self, mut alert: serde_json::Value) {
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

/// Mirrors the kernel's cumulative drop and filter counters into the metrics.
pub(super) fn publish_capture_metrics(stats: &CaptureStats, metrics: &Metrics) {
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
pub(super) fn log_totals(s: &CaptureStats) {
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
pub(super) struct RejectWarner {
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
