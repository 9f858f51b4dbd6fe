//! The output router: from the pipeline to every destination, without blocking the pipeline.
//!
//! Each destination has its own thread and its own bounded [`Queue`]. [`Router::event`] and
//! [`Router::alert`] serialise a document once and push it to the queue of every destination of
//! its stream; a full queue sheds by priority (events, then alerts from low to high severity)
//! and the shed document is counted as `sensor_output_dropped_total{reason="queue_full"}`. The
//! pipeline only ever takes a short mutex, so a slow output cannot stall the ring-buffer
//! reader.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tracing::{error, info, warn};

use super::file::{FileSink, Rotation};
use super::queue::Queue;
use super::stdout::StdoutSink;
use super::syslog::{SyslogSink, Transport};
use super::tls::TlsFiles;
use super::webhook::{Format, WebhookConfig, WebhookSink};
use super::{Destination, Doc, OutputError, Sink, Stream};
use crate::metrics::Metrics;

/// Every `reason` of `sensor_output_dropped_total`.
pub const DROP_REASONS: [&str; 6] = [
    "queue_full",
    "spool_full",
    "too_large",
    "write_error",
    "spool_error",
    "shutdown",
];

/// How much earlier than the overall shutdown deadline the sinks must be done.
const SINK_GRACE: Duration = Duration::from_millis(250);

/// Most documents handed to a sink at once.
const BATCH: usize = 512;
/// Bytes of event lines per shared allocation (see [`Router::event_line`]).
const LINES_CHUNK: usize = 64 * 1024;
/// Room left in a chunk below which the next line goes into a new one; larger than nearly
/// every event line.
const LINE_ROOM: usize = 16 * 1024;
/// How often an idle output thread wakes to publish its shed counter.
const IDLE_WAKE: Duration = Duration::from_millis(500);

/// Everything the router needs to build its outputs.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// Destinations of event documents.
    pub events: Vec<Destination>,
    /// Destinations of alert documents.
    pub alerts: Vec<Destination>,
    /// Documents queued per destination before shedding starts.
    pub queue_capacity: usize,
    /// Rotation of event files.
    pub events_rotation: Rotation,
    /// Rotation of alert files.
    pub alerts_rotation: Rotation,
    /// Parent directory of the webhook spools (one sub-directory per webhook output).
    pub spool_dir: PathBuf,
    /// Bound of an events webhook's spool (oldest events are dropped above it).
    pub events_spool_bytes: u64,
    /// Bound of an alerts webhook's spool (new alerts are refused, with an ERROR, above it).
    pub alerts_spool_bytes: u64,
    /// POST body format.
    pub webhook_format: Format,
    /// Timeout of each webhook connect, send and read.
    pub webhook_timeout: Duration,
    /// Longest delay between webhook retries.
    pub webhook_max_backoff: Duration,
    /// CA file and client identity of `https://` webhooks.
    pub webhook_tls: TlsFiles,
}

/// One destination: its queue, its thread, its shed counter.
struct Output {
    label: String,
    stream: Stream,
    queue: Arc<Queue>,
    shed: Arc<AtomicU64>,
    thread: JoinHandle<()>,
}

/// Routes rendered documents to the outputs of their stream.
pub struct Router {
    outputs: Vec<Output>,
    metrics: Arc<Metrics>,
    /// Set once by [`Router::shutdown`]: when every output must be done.
    deadline: Arc<OnceLock<Instant>>,
    has_events: bool,
    has_alerts: bool,
    /// Where event lines are rendered, many per allocation (see [`Router::event_line`]).
    lines: Vec<u8>,
    /// Where each line waiting in `lines` ends.
    line_ends: Vec<usize>,
}

impl Router {
    /// Opens every destination (a file that cannot be created, a bad spool: a clear error
    /// now, not lost documents later) and starts their threads.
    pub fn start(config: &RouterConfig, metrics: Arc<Metrics>) -> Result<Router, OutputError> {
        let mut outputs = Vec::new();
        let deadline = Arc::new(OnceLock::new());
        let mut labels: Vec<String> = Vec::new();
        // Built at most once, and only when an https:// webhook needs it, so that a bad CA
        // file is a startup error and every webhook shares one session cache.
        let mut tls = None;
        let streams = [
            (
                Stream::Events,
                &config.events,
                config.events_rotation,
                config.events_spool_bytes,
            ),
            (
                Stream::Alerts,
                &config.alerts,
                config.alerts_rotation,
                config.alerts_spool_bytes,
            ),
        ];
        for (stream, dests, rotation, spool_bytes) in streams {
            for dest in dests {
                // `output` label: the destination kind, numbered from the second of a kind.
                let kind = dest.kind();
                let same = labels
                    .iter()
                    .filter(|l| l.split('_').next() == Some(kind))
                    .count();
                let label = if same == 0 {
                    kind.to_owned()
                } else {
                    format!("{kind}_{}", same + 1)
                };
                labels.push(label.clone());
                // Known series start at 0, so rate() and ratios work before the first drop.
                metrics.output_delivered(&label, stream.name(), 0);
                metrics.output_dropped(&label, stream.name(), "queue_full", 0);
                let sink: Box<dyn Sink> = match dest {
                    Destination::Stdout => Box::new(StdoutSink::new()),
                    Destination::File(path) => Box::new(FileSink::open(path, rotation)?),
                    Destination::SyslogUnix(path) => {
                        Box::new(SyslogSink::new(Transport::Unix(path.clone())))
                    }
                    Destination::SyslogTcp(addr) => {
                        Box::new(SyslogSink::new(Transport::Tcp(addr.clone())))
                    }
                    Destination::Webhook(url) => {
                        let mut wh = WebhookConfig::new(url.clone(), stream, spool_bytes);
                        wh.format = config.webhook_format;
                        wh.timeout = config.webhook_timeout;
                        wh.max_backoff = config.webhook_max_backoff.max(wh.min_backoff);
                        if url.tls {
                            if tls.is_none() {
                                tls = Some(config.webhook_tls.client_config()?);
                            }
                            wh.tls.clone_from(&tls);
                        }
                        let dir = config.spool_dir.join(format!("{label}-{}", stream.name()));
                        Box::new(WebhookSink::start(
                            wh,
                            &dir,
                            label.clone(),
                            stream,
                            Arc::clone(&metrics),
                        )?)
                    }
                };
                outputs.push(spawn(
                    sink,
                    label,
                    stream,
                    config.queue_capacity,
                    &metrics,
                    &deadline,
                )?);
            }
        }
        let has = |s| outputs.iter().any(|o: &Output| o.stream == s);
        Ok(Router {
            has_events: has(Stream::Events),
            has_alerts: has(Stream::Alerts),
            lines: Vec::with_capacity(LINES_CHUNK),
            line_ends: Vec::new(),
            outputs,
            metrics,
            deadline,
        })
    }

    /// Renders one event line (JSON without the newline) with `render`, which appends it to
    /// the buffer it is given.
    ///
    /// Lines are rendered straight into a shared chunk of [`LINES_CHUNK`] bytes that the
    /// queued documents slice, and handed to the outputs at [`Router::flush`]: a malloc per
    /// event, freed by another thread, was a tenth of the daemon's time at high exec rates, and
    /// a copy from a render buffer into the chunk a twentieth. A chunk is freed once the last
    /// of its lines is written.
    pub fn event_line(&mut self, render: impl FnOnce(&mut Vec<u8>)) {
        if !self.has_events {
            return;
        }
        // A chunk is never grown while lines wait in it (that would copy them all), except by
        // a single line larger than the room kept free.
        if self.lines.capacity() - self.lines.len() < LINE_ROOM {
            self.hand_over_lines();
        }
        render(&mut self.lines);
        self.line_ends.push(self.lines.len());
    }

    /// Queues the lines gathered by [`Router::event_line`] and starts a new chunk.
    fn hand_over_lines(&mut self) {
        if self.line_ends.is_empty() {
            // Nothing waits: keep the chunk (and its allocation), emptied of any stray bytes.
            self.lines.clear();
            return;
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.lines,
            Vec::with_capacity(LINES_CHUNK),
        ));
        let ends = std::mem::take(&mut self.line_ends);
        let mut start = 0;
        for &end in &ends {
            self.submit(Doc::event_line(chunk.slice(start..end)));
            start = end;
        }
        self.line_ends = ends;
        self.line_ends.clear();
    }

    /// Queues an ECS alert document, giving it an `event.id` if it has none.
    pub fn alert(&self, doc: &mut Value) {
        if self.has_alerts {
            self.submit(Doc::alert(doc));
        }
    }

    /// Queues a rendered document on every output of its stream; never blocks.
    pub fn submit(&self, doc: Doc) {
        for out in self.outputs.iter().filter(|o| o.stream == doc.stream) {
            if out.queue.push(doc.clone()).is_some() {
                out.shed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Queues the event lines gathered since the last call and wakes every output thread that
    /// sleeps while documents wait. Events do not wake their output when queued (one futex
    /// call per event was the daemon's largest syscall cost), so the pipeline calls this
    /// between ring-buffer batches, at most every few tens of milliseconds; alerts wake at
    /// once.
    pub fn flush(&mut self) {
        self.hand_over_lines();
        for out in &self.outputs {
            out.queue.wake();
        }
    }

    /// Documents waiting in the queues (all outputs).
    pub fn queued(&self) -> usize {
        self.outputs.iter().map(|o| o.queue.len()).sum()
    }

    /// Stops accepting documents, lets every output write what it holds and flush, and waits
    /// at most `timeout` overall. Documents still queued then are counted as dropped
    /// (`reason="shutdown"`); a webhook's spooled documents stay on disk for the next start.
    /// Returns false when some output did not finish in time.
    pub fn shutdown(mut self, timeout: Duration) -> bool {
        self.hand_over_lines();
        let deadline = Instant::now() + timeout;
        // Sinks stop a little earlier than the router stops waiting, so that a webhook that
        // retries until its deadline is still seen to finish in time.
        self.deadline
            .get_or_init(|| deadline - SINK_GRACE.min(timeout / 4));
        for out in &self.outputs {
            out.queue.close();
        }
        let mut all_done = true;
        for out in self.outputs {
            while !out.thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            let stream = out.stream.name();
            let shed = out.shed.swap(0, Ordering::Relaxed);
            if shed > 0 {
                self.metrics
                    .output_dropped(&out.label, stream, "queue_full", shed);
            }
            if out.thread.is_finished() {
                let _ = out.thread.join();
                let dropped: u64 = DROP_REASONS
                    .iter()
                    .map(|r| self.metrics.output_dropped_count(&out.label, stream, r))
                    .sum();
                info!(
                    output = %out.label,
                    stream,
                    delivered = self.metrics.output_delivered_count(&out.label, stream),
                    dropped,
                    "output statistics"
                );
            } else {
                all_done = false;
                let left = out.queue.len() as u64;
                self.metrics
                    .output_dropped(&out.label, stream, "shutdown", left);
                error!(output = %out.label, stream, left, "output did not finish before the shutdown timeout");
            }
        }
        all_done
    }
}

/// Starts the thread of one output.
fn spawn(
    mut sink: Box<dyn Sink>,
    label: String,
    stream: Stream,
    capacity: usize,
    metrics: &Arc<Metrics>,
    deadline: &Arc<OnceLock<Instant>>,
) -> Result<Output, OutputError> {
    let queue = Arc::new(Queue::new(capacity));
    let shed = Arc::new(AtomicU64::new(0));
    let worker = Worker {
        queue: Arc::clone(&queue),
        shed: Arc::clone(&shed),
        metrics: Arc::clone(metrics),
        label: label.clone(),
        stream,
        deadline: Arc::clone(deadline),
        last_error_log: None,
    };
    let thread = std::thread::Builder::new()
        .name(format!("out-{label}-{}", stream.name()))
        .spawn(move || worker.run(sink.as_mut()))
        .map_err(|e| OutputError::io("starting an output thread", e))?;
    Ok(Output {
        label,
        stream,
        queue,
        shed,
        thread,
    })
}

struct Worker {
    queue: Arc<Queue>,
    shed: Arc<AtomicU64>,
    metrics: Arc<Metrics>,
    label: String,
    stream: Stream,
    deadline: Arc<OnceLock<Instant>>,
    last_error_log: Option<Instant>,
}

impl Worker {
    fn run(mut self, sink: &mut dyn Sink) {
        let stream = self.stream.name();
        while let Some(batch) = self.queue.pop_batch(BATCH, IDLE_WAKE) {
            self.publish_shed();
            if batch.is_empty() {
                continue;
            }
            let delivered = match sink.write_batch(&batch) {
                Ok(too_large) => {
                    if too_large > 0 {
                        self.metrics.output_dropped(
                            &self.label,
                            stream,
                            "too_large",
                            too_large as u64,
                        );
                    }
                    batch.len().saturating_sub(too_large)
                }
                Err(failure) => {
                    let lost = batch.len().saturating_sub(failure.written);
                    self.metrics
                        .output_dropped(&self.label, stream, failure.reason, lost as u64);
                    if self
                        .last_error_log
                        .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                    {
                        self.last_error_log = Some(Instant::now());
                        error!(output = %self.label, stream, err = %failure.error, lost, "output failed; documents dropped");
                    }
                    failure.written
                }
            };
            if !sink.delivers_later() && delivered > 0 {
                self.metrics
                    .output_delivered(&self.label, stream, delivered as u64);
            }
        }
        self.publish_shed();
        // The queue is closed and empty: shutdown, whose deadline was set before the close. A
        // webhook bounds its retries by it; the router bounds how long it waits for us.
        let deadline = self
            .deadline
            .get()
            .copied()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(10));
        if let Err(err) = sink.flush(deadline) {
            warn!(output = %self.label, stream, %err, "flushing at shutdown");
        }
    }

    fn publish_shed(&self) {
        let shed = self.shed.swap(0, Ordering::Relaxed);
        if shed > 0 {
            self.metrics
                .output_dropped(&self.label, self.stream.name(), "queue_full", shed);
        }
    }
}
