//! The [`Metrics`] registry and the methods the pipeline stages call.
//!
//! Hot-path counters (`sensor_events_total` per type) are resolved once at start, so counting
//! an event is one atomic add with no hashing or allocation. Counters that mirror a cumulative
//! kernel counter (drops, filters, evictions) are advanced by the delta since the last reading,
//! which keeps them monotonic even when the kernel side is read late or twice.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use super::BuildInfo;

/// The `type` label values of the event metrics: every kind the kernel side can report.
pub const EVENT_TYPES: [&str; 6] = ["exec", "fork", "exit", "connect", "accept", "open"];

/// The `reason` of a kernel-side drop: the ring buffer had no room for the record.
pub const KERNEL_DROP_REASON: &str = "ringbuf_full";

/// `ring` label of drops on the event ring (`EVENTS`).
pub const EVENTS_RING: &str = "events";
/// `ring` label of drops on the self-protection ring (`TAMPER`).
pub const TAMPER_RING: &str = "tamper";
/// `type` of the records on the `TAMPER` ring (`bpf()` calls of other processes).
pub const TAMPER_BPF_TYPE: &str = "bpf";

/// `type` used when a record's kind is unknown (a decode reject before the kind is known, or a
/// name outside [`EVENT_TYPES`]), so nothing is silently uncounted.
const UNKNOWN_TYPE: &str = "unknown";

/// Buckets of `sensor_detection_latency_seconds`: from 0.5 ms (in-process matching) to 10 s
/// (a correlation that waited for a later event).
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Errors building or encoding the metrics.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// A metric could not be created or registered (a bug: names and labels are constants).
    #[error("registering metric: {0}")]
    Register(#[from] prometheus::Error),
}

/// Every metric of the sensor, in one registry. Cheap to share behind an `Arc`; every method
/// takes `&self`.
pub struct Metrics {
    registry: Registry,
    events: IntCounterVec,
    /// `events` resolved per [`EVENT_TYPES`] entry, then `unknown`, for the hot path.
    events_by_type: Vec<IntCounter>,
    dropped: IntCounterVec,
    hook_alive: IntGaugeVec,
    filtered: IntCounterVec,
    alerts: IntCounterVec,
    detection_latency: Histogram,
    ringbuf_bytes: IntGaugeVec,
    ringbuf_used_bytes: IntGaugeVec,
    process_table_entries: IntGauge,
    process_table_evictions: IntCounter,
    correlation_state_entries: IntGauge,
    /// `sensor_exe_watch_total{result}`: `checked`, `deleted`, `not_followed`.
    exe_watch: [IntCounter; 3],
    rules_loaded: IntGaugeVec,
    rule_load_errors: IntCounter,
    ready: IntGauge,
    output_delivered: IntCounterVec,
    output_dropped: IntCounterVec,
    output_spool_bytes: IntGaugeVec,
}

impl Metrics {
    /// Creates every metric, registers the `process_*` collector for this process and sets
    /// `sensor_build_info` from `build`.
    pub fn new(build: &BuildInfo) -> Result<Metrics, MetricsError> {
        let registry = Registry::new();
        let reg = |c: Box<dyn prometheus::core::Collector>| registry.register(c);

        let events = IntCounterVec::new(
            Opts::new(
                "sensor_events_total",
                "Events received from the kernel and decoded, by type.",
            ),
            &["type"],
        )?;
        reg(Box::new(events.clone()))?;
        let dropped = IntCounterVec::new(
            Opts::new(
                "sensor_events_dropped_total",
                "Events lost: kernel ring-buffer reserve failures (reason=ringbuf_full) and \
                 records rejected by the userspace decoder (reason=the decode error), by ring \
                 (events, or tamper for self-protection records).",
            ),
            &["type", "reason", "ring"],
        )?;
        reg(Box::new(dropped.clone()))?;
        let hook_alive = IntGaugeVec::new(
            Opts::new(
                "sensor_capture_hook_alive",
                "1 when the hook saw the sensor's own canary call at the last self-check, 0 \
                 when it did not (silenced while attached).",
            ),
            &["hook"],
        )?;
        reg(Box::new(hook_alive.clone()))?;
        let filtered = IntCounterVec::new(
            Opts::new(
                "sensor_events_filtered_total",
                "Events suppressed in the kernel on purpose, by filters or collapsing.",
            ),
            &["type", "reason"],
        )?;
        reg(Box::new(filtered.clone()))?;
        let alerts = IntCounterVec::new(
            Opts::new("sensor_alerts_total", "Alerts emitted, by rule."),
            &["rule_id", "rule_name", "severity", "technique"],
        )?;
        reg(Box::new(alerts.clone()))?;
        let detection_latency = Histogram::with_opts(
            HistogramOpts::new(
                "sensor_detection_latency_seconds",
                "Time from the kernel timestamp of the triggering event to the alert emission.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        reg(Box::new(detection_latency.clone()))?;
        let ringbuf_bytes = IntGaugeVec::new(
            Opts::new(
                "sensor_ringbuf_bytes",
                "Size of each kernel-to-user ring buffer.",
            ),
            &["ring"],
        )?;
        reg(Box::new(ringbuf_bytes.clone()))?;
        let ringbuf_used_bytes = IntGaugeVec::new(
            Opts::new(
                "sensor_ringbuf_used_bytes",
                "Bytes written by the kernel and not yet consumed, at the last sample.",
            ),
            &["ring"],
        )?;
        reg(Box::new(ringbuf_used_bytes.clone()))?;
        let process_table_entries = IntGauge::new(
            "sensor_process_table_entries",
            "Processes currently tracked by the process table.",
        )?;
        reg(Box::new(process_table_entries.clone()))?;
        let process_table_evictions = IntCounter::new(
            "sensor_process_table_evictions_total",
            "Process-table entries evicted because the table was full.",
        )?;
        reg(Box::new(process_table_evictions.clone()))?;
        let correlation_state_entries = IntGauge::new(
            "sensor_correlation_state_entries",
            "Entries held by the correlation engine (open sequences, counters).",
        )?;
        reg(Box::new(correlation_state_entries.clone()))?;
        let exe_watch_vec = IntCounterVec::new(
            Opts::new(
                "sensor_exe_watch_total",
                "Deleted-executable watch: /proc/PID/exe reads (result=checked), processes \
                 found running a deleted executable (result=deleted), and processes from a \
                 dropper location not followed because the watch was full (result=not_followed).",
            ),
            &["result"],
        )?;
        reg(Box::new(exe_watch_vec.clone()))?;
        let exe_watch = [
            exe_watch_vec.with_label_values(&["checked"]),
            exe_watch_vec.with_label_values(&["deleted"]),
            exe_watch_vec.with_label_values(&["not_followed"]),
        ];
        let rules_loaded = IntGaugeVec::new(
            Opts::new(
                "sensor_rules_loaded",
                "Detection rules currently loaded, by source.",
            ),
            &["source"],
        )?;
        reg(Box::new(rules_loaded.clone()))?;
        let rule_load_errors = IntCounter::new(
            "sensor_rule_load_errors_total",
            "Rules that failed to parse or compile and were skipped.",
        )?;
        reg(Box::new(rule_load_errors.clone()))?;
        let ready = IntGauge::new(
            "sensor_ready",
            "1 when programs are attached and ring buffers are being read (as /readyz).",
        )?;
        reg(Box::new(ready.clone()))?;
        let output_delivered = IntCounterVec::new(
            Opts::new(
                "sensor_output_delivered_total",
                "Documents written to an output (for a webhook: confirmed with a 2xx).",
            ),
            &["output", "stream"],
        )?;
        reg(Box::new(output_delivered.clone()))?;
        let output_dropped = IntCounterVec::new(
            Opts::new(
                "sensor_output_dropped_total",
                "Documents an output lost: shed from a full queue, evicted from or refused by a \
                 full spool, or failed to write.",
            ),
            &["output", "stream", "reason"],
        )?;
        reg(Box::new(output_dropped.clone()))?;
        let output_spool_bytes = IntGaugeVec::new(
            Opts::new(
                "sensor_output_spool_bytes",
                "Bytes of undelivered documents in a webhook's on-disk spool.",
            ),
            &["output"],
        )?;
        reg(Box::new(output_spool_bytes.clone()))?;
        let build_info = IntGaugeVec::new(
            Opts::new(
                "sensor_build_info",
                "Always 1; labels carry the sensor version, kernel release and aya version.",
            ),
            &["version", "kernel", "aya"],
        )?;
        reg(Box::new(build_info.clone()))?;
        build_info
            .with_label_values(&[&build.version, &build.kernel, &build.aya])
            .set(1);
        reg(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        // Known series start at 0, so rate() and ratios work before the first event or drop.
        let events_by_type = EVENT_TYPES
            .iter()
            .chain(std::iter::once(&UNKNOWN_TYPE))
            .map(|t| events.with_label_values(&[*t]))
            .collect();
        for t in EVENT_TYPES {
            dropped.with_label_values(&[t, KERNEL_DROP_REASON, EVENTS_RING]);
        }
        dropped.with_label_values(&[TAMPER_BPF_TYPE, KERNEL_DROP_REASON, TAMPER_RING]);

        Ok(Metrics {
            registry,
            events,
            events_by_type,
            dropped,
            hook_alive,
            filtered,
            alerts,
            detection_latency,
            ringbuf_bytes,
            ringbuf_used_bytes,
            process_table_entries,
            process_table_evictions,
            correlation_state_entries,
            exe_watch,
            rules_loaded,
            rule_load_errors,
            ready,
            output_delivered,
            output_dropped,
            output_spool_bytes,
        })
    }

    /// The event-type label for `kind`, folded to `unknown` outside [`EVENT_TYPES`].
    fn type_label(kind: &str) -> &'static str {
        EVENT_TYPES
            .iter()
            .find(|t| **t == kind)
            .copied()
            .unwrap_or(UNKNOWN_TYPE)
    }

    /// Counts `n` events of type `kind` (an [`EVENT_TYPES`] name) received from the kernel.
    pub fn events_received(&self, kind: &str, n: u64) {
        let index = EVENT_TYPES
            .iter()
            .position(|t| *t == kind)
            .unwrap_or(EVENT_TYPES.len());
        if let Some(counter) = self.events_by_type.get(index) {
            counter.inc_by(n);
        }
    }

    /// Counts `n` records dropped in userspace (decode rejects) for `reason`; `kind` is `None`
    /// when the record was rejected before its kind was known.
    pub fn events_dropped(&self, kind: Option<&str>, reason: &'static str, n: u64) {
        let kind = kind.map_or(UNKNOWN_TYPE, Self::type_label);
        self.dropped
            .with_label_values(&[kind, reason, EVENTS_RING])
            .inc_by(n);
    }

    /// Counts `n` records of the `TAMPER` ring rejected by its decoder for `reason`.
    pub fn tamper_records_dropped(&self, reason: &'static str, n: u64) {
        self.dropped
            .with_label_values(&[TAMPER_BPF_TYPE, reason, TAMPER_RING])
            .inc_by(n);
    }

    /// Advances the `TAMPER` ring's reserve-failure counter to the kernel's cumulative `total`.
    pub fn observe_tamper_drops(&self, total: u64) {
        let counter =
            self.dropped
                .with_label_values(&[TAMPER_BPF_TYPE, KERNEL_DROP_REASON, TAMPER_RING]);
        advance_to(&counter, total);
    }

    /// The current value of the `TAMPER` ring's reserve-failure counter.
    pub fn tamper_drops(&self) -> u64 {
        self.dropped
            .with_label_values(&[TAMPER_BPF_TYPE, KERNEL_DROP_REASON, TAMPER_RING])
            .get()
    }

    /// Sets `sensor_capture_hook_alive{hook}` from the last liveness canary.
    pub fn capture_hook_alive(&self, hook: &str, alive: bool) {
        self.hook_alive
            .with_label_values(&[hook])
            .set(i64::from(alive));
    }

    /// Advances the kernel drop counter of `kind` to `total`, the cumulative sum of the
    /// kernel's per-CPU counters. A smaller total (counters reset) is ignored.
    pub fn observe_kernel_drops(&self, kind: &str, total: u64) {
        let counter = self.dropped.with_label_values(&[
            Self::type_label(kind),
            KERNEL_DROP_REASON,
            EVENTS_RING,
        ]);
        advance_to(&counter, total);
    }

    /// Advances `sensor_events_filtered_total{type,reason}` to the cumulative kernel `total`.
    pub fn events_filtered(&self, kind: &str, reason: &'static str, total: u64) {
        let counter = self
            .filtered
            .with_label_values(&[Self::type_label(kind), reason]);
        advance_to(&counter, total);
    }

    /// Counts one alert of a rule.
    pub fn alert(&self, rule_id: &str, rule_name: &str, severity: &str, technique: &str) {
        self.alerts
            .with_label_values(&[rule_id, rule_name, severity, technique])
            .inc();
    }

    /// Records the time from an event's kernel timestamp to the alert it caused.
    pub fn detection_latency(&self, seconds: f64) {
        self.detection_latency.observe(seconds.max(0.0));
    }

    /// Sets the size of ring buffer `ring`.
    pub fn ringbuf_bytes(&self, ring: &'static str, bytes: u64) {
        self.ringbuf_bytes
            .with_label_values(&[ring])
            .set(saturating_i64(bytes));
    }

    /// Sets how many bytes of ring buffer `ring` are waiting to be read.
    pub fn ringbuf_fill(&self, ring: &'static str, used_bytes: u64) {
        self.ringbuf_used_bytes
            .with_label_values(&[ring])
            .set(saturating_i64(used_bytes));
    }

    /// Sets the number of processes in the process table.
    pub fn process_table_entries(&self, n: u64) {
        self.process_table_entries.set(saturating_i64(n));
    }

    /// Advances the eviction counter to the table's cumulative `total`.
    pub fn process_table_evictions(&self, total: u64) {
        advance_to(&self.process_table_evictions, total);
    }

    /// Sets the number of entries held by the correlation engine.
    pub fn correlation_state_entries(&self, n: u64) {
        self.correlation_state_entries.set(saturating_i64(n));
    }

    /// Counts one tick of the deleted-executable watch.
    pub fn exe_watch(&self, counts: &crate::exewatch::TickCounts) {
        let [checked, deleted, not_followed] = &self.exe_watch;
        checked.inc_by(counts.checked);
        deleted.inc_by(counts.found);
        not_followed.inc_by(counts.not_followed);
    }

    /// Sets how many rules are loaded from `source` (e.g. `builtin`, a rules directory name).
    pub fn rules_loaded(&self, source: &str, n: u64) {
        self.rules_loaded
            .with_label_values(&[source])
            .set(saturating_i64(n));
    }

    /// Counts `n` rules that failed to load.
    pub fn rule_load_errors(&self, n: u64) {
        self.rule_load_errors.inc_by(n);
    }

    /// Mirrors the readiness state as `sensor_ready`.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// Counts `n` documents of `stream` delivered by `output`.
    pub fn output_delivered(&self, output: &str, stream: &str, n: u64) {
        self.output_delivered
            .with_label_values(&[output, stream])
            .inc_by(n);
    }

    /// Counts `n` documents of `stream` that `output` lost for `reason`.
    pub fn output_dropped(&self, output: &str, stream: &str, reason: &'static str, n: u64) {
        self.output_dropped
            .with_label_values(&[output, stream, reason])
            .inc_by(n);
    }

    /// Sets the undelivered bytes in `output`'s spool.
    pub fn output_spool_bytes(&self, output: &str, bytes: u64) {
        self.output_spool_bytes
            .with_label_values(&[output])
            .set(saturating_i64(bytes));
    }

    /// The current value of `sensor_output_dropped_total{output,stream,reason}`.
    pub fn output_dropped_count(&self, output: &str, stream: &str, reason: &str) -> u64 {
        self.output_dropped
            .with_label_values(&[output, stream, reason])
            .get()
    }

    /// The current value of `sensor_output_delivered_total{output,stream}`.
    pub fn output_delivered_count(&self, output: &str, stream: &str) -> u64 {
        self.output_delivered
            .with_label_values(&[output, stream])
            .get()
    }

    /// The current value of `sensor_events_total{type=kind}`.
    pub fn events_count(&self, kind: &str) -> u64 {
        self.events
            .with_label_values(&[Self::type_label(kind)])
            .get()
    }

    /// The current value of the kernel drop counter of `kind`.
    pub fn kernel_drops(&self, kind: &str) -> u64 {
        self.dropped
            .with_label_values(&[Self::type_label(kind), KERNEL_DROP_REASON, EVENTS_RING])
            .get()
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    pub fn encode(&self) -> Result<String, MetricsError> {
        let mut out = String::with_capacity(16 * 1024);
        TextEncoder::new().encode_utf8(&self.registry.gather(), &mut out)?;
        Ok(out)
    }

    /// The `Content-Type` of [`Metrics::encode`]'s output.
    pub fn content_type() -> &'static str {
        prometheus::TEXT_FORMAT
    }
}

/// Moves a counter forward to `total`; never backwards.
fn advance_to(counter: &IntCounter, total: u64) {
    let delta = total.saturating_sub(counter.get());
    if delta > 0 {
        counter.inc_by(delta);
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
