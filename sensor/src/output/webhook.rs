//! HTTP webhook: documents go first to an on-disk [`Spool`], and a delivery thread POSTs them
//! in batches, oldest first, committing each batch only after a 2xx.
//!
//! So after a confirmed batch no document of it is ever sent again (the commit is persisted
//! before the next batch is read), a batch that timed out or failed is retried whole with
//! exponential backoff and jitter (the receiver may see it twice and de-duplicates by
//! `event.id`), and whatever is undelivered at shutdown stays in the spool for the next start.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use super::dest::WebhookUrl;
use super::spool::{Full, Spool, SpoolConfig};
use super::{Doc, OutputError, Sink, SinkFailure, Stream, http_client};
use crate::metrics::Metrics;

/// Body format of a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON array of documents (`application/json`).
    Array,
    /// Newline-delimited JSON (`application/x-ndjson`).
    Ndjson,
}

/// Webhook delivery settings.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: WebhookUrl,
    /// Body format.
    pub format: Format,
    /// Most documents per POST.
    pub batch_docs: usize,
    /// About the most bytes per POST (at least one document is always sent).
    pub batch_bytes: usize,
    /// Timeout of each connect, send and read.
    pub timeout: Duration,
    /// First retry delay; doubled per failure up to `max_backoff`, each with ±50 % jitter.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// The spool's settings.
    pub spool: SpoolConfig,
    /// TLS client configuration, required for an `https://` URL.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl WebhookConfig {
    /// Defaults for `url`, with the spool policy of `stream` (events drop oldest, alerts are
    /// never dropped once spooled) and bound `spool_bytes`.
    pub fn new(url: WebhookUrl, stream: Stream, spool_bytes: u64) -> WebhookConfig {
        let full = match stream {
            Stream::Events => Full::DropOldest,
            Stream::Alerts => Full::RejectNew,
        };
        WebhookConfig {
            url,
            format: Format::Array,
            batch_docs: 500,
            batch_bytes: 1 << 20,
            timeout: Duration::from_secs(5),
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            spool: SpoolConfig {
                max_bytes: spool_bytes,
                segment_bytes: (spool_bytes / 16).clamp(4096, 16 << 20),
                full,
                sync: stream == Stream::Alerts,
            },
            tls: None,
        }
    }
}

/// State shared by the sink (intake) and its delivery thread.
struct Shared {
    spool: Mutex<Spool>,
    control: Mutex<Control>,
    wake: Condvar,
}

#[derive(Default)]
struct Control {
    /// Set at shutdown: deliver what can be delivered until then, then stop.
    deadline: Option<Instant>,
}

/// The webhook sink.
pub struct WebhookSink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
    label: String,
    stream: Stream,
    last_full_log: Option<Instant>,
}

impl WebhookSink {
    /// Opens the spool in `spool_dir` and starts delivering (including what an earlier run
    /// left in the spool).
    pub fn start(
        config: WebhookConfig,
        spool_dir: &Path,
        label: String,
        stream: Stream,
        metrics: Arc<Metrics>,
    ) -> Result<WebhookSink, OutputError> {
        let spool = Spool::open(spool_dir, config.spool)?;
        if !spool.is_empty() {
            info!(output = %label, pending_bytes = spool.pending_bytes(), "resuming webhook spool");
        }
        metrics.output_spool_bytes(&label, spool.pending_bytes());
        let shared = Arc::new(Shared {
            spool: Mutex::new(spool),
            control: Mutex::new(Control::default()),
            wake: Condvar::new(),
        });
        let deliver = Delivery {
            shared: Arc::clone(&shared),
            config,
            metrics: Arc::clone(&metrics),
            label: label.clone(),
            stream,
        };
        let thread = std::thread::Builder::new()
            .name(format!("out-{label}"))
            .spawn(move || deliver.run())
            .map_err(|e| OutputError::io("starting the webhook thread", e))?;
        Ok(WebhookSink {
            shared,
            thread: Some(thread),
            metrics,
            label,
            stream,
            last_full_log: None,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Sink for WebhookSink {
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure> {
        let (mut evicted, mut refused, mut too_large) = (0u64, 0u64, 0usize);
        {
            let mut spool = lock(&self.shared.spool);
            for (written, doc) in docs.iter().enumerate() {
                match spool.append(&doc.json) {
                    Ok(out) => {
                        too_large += usize::from(out.too_large);
                        evicted += out.evicted;
                        refused += u64::from(out.rejected);
                    }
                    Err(error) => {
                        return Err(SinkFailure {
                            written,
                            reason: "spool_error",
                            error,
                        });
                    }
                }
            }
            if let Err(error) = spool.flush() {
                return Err(SinkFailure {
                    written: docs.len(),
                    reason: "spool_error",
                    error,
                });
            }
            self.metrics
                .output_spool_bytes(&self.label, spool.pending_bytes());
        }
        let stream = self.stream.name();
        if evicted > 0 {
            self.metrics
                .output_dropped(&self.label, stream, "spool_full", evicted);
        }
        if refused > 0 {
            self.metrics
                .output_dropped(&self.label, stream, "spool_full", refused);
            if self
                .last_full_log
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
            {
                self.last_full_log = Some(Instant::now());
                error!(output = %self.label, stream, refused, "webhook spool full: new documents are being dropped");
            }
        }
        self.shared.wake.notify_all();
        Ok(too_large)
    }

    fn flush(&mut self, deadline: Instant) -> Result<(), OutputError> {
        lock(&self.shared.control).deadline = Some(deadline);
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // The delivery thread bounds each request by the deadline, so this join is bounded.
            let _ = thread.join();
        }
        let spool = lock(&self.shared.spool);
        if !spool.is_empty() {
            warn!(output = %self.label, pending_bytes = spool.pending_bytes(), "undelivered documents stay in the spool for the next start");
        }
        Ok(())
    }

    fn delivers_later(&self) -> bool {
        true
    }
}

/// The delivery thread's state.
struct Delivery {
    shared: Arc<Shared>,
    config: WebhookConfig,
    metrics: Arc<Metrics>,
    label: String,
    stream: Stream,
}

impl Delivery {
    fn run(self) {
        let mut backoff = self.config.min_backoff;
        let mut failing_since: Option<Instant> = None;
        loop {
            let deadline = lock(&self.shared.control).deadline;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return;
            }
            let batch =
                lock(&self.shared.spool).peek(self.config.batch_docs, self.config.batch_bytes);
            let batch = match batch {
                Ok(b) => b,
                Err(err) => {
                    error!(output = %self.label, %err, "reading the webhook spool");
                    self.sleep(backoff);
                    continue;
                }
            };
            let Some(end) = batch.end else {
                if deadline.is_some() {
                    return;
                }
                let control = lock(&self.shared.control);
                let _ = self
                    .shared
                    .wake
                    .wait_timeout(control, Duration::from_millis(500));
                continue;
            };
            let timeout = deadline.map_or(self.config.timeout, |d| {
                self.config
                    .timeout
                    .min(d.saturating_duration_since(Instant::now()))
            });
            let (content_type, body) = self.body(&batch.lines);
            match http_client::post(
                &self.config.url,
                self.config.tls.as_ref(),
                content_type,
                &body,
                timeout,
            ) {
                Ok(status) if (200..300).contains(&status) => {
                    let mut spool = lock(&self.shared.spool);
                    if let Err(err) = spool.commit(end) {
                        // The batch was delivered; only the persisted position is stale, so a
                        // restart could resend it (the receiver de-duplicates by id).
                        error!(output = %self.label, %err, "persisting the webhook position");
                    }
                    self.metrics
                        .output_spool_bytes(&self.label, spool.pending_bytes());
                    drop(spool);
                    self.metrics.output_delivered(
                        &self.label,
                        self.stream.name(),
                        batch.lines.len() as u64,
                    );
                    if let Some(since) = failing_since.take() {
                        info!(output = %self.label, down_secs = since.elapsed().as_secs(), "webhook delivering again");
                    }
                    backoff = self.config.min_backoff;
                }
                outcome => {
                    let err = match outcome {
                        Ok(status) => OutputError::Status(status),
                        Err(err) => err,
                    };
                    if failing_since.is_none() {
                        failing_since = Some(Instant::now());
                        warn!(output = %self.label, %err, "webhook delivery failing; spooling and retrying");
                    }
                    self.sleep(jitter(backoff));
                    backoff = (backoff * 2).min(self.config.max_backoff);
                }
            }
        }
    }

    /// Sleeps `d`, cut short by shutdown.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut control = lock(&self.shared.control);
        loop {
            let now = Instant::now();
            let end = control.deadline.map_or(until, |dl| dl.min(until));
            if now >= end {
                return;
            }
            control = self
                .shared
                .wake
                .wait_timeout(control, end - now)
                .map_or_else(|e| e.into_inner().0, |(c, _)| c);
        }
    }

    fn body(&self, lines: &[bytes::Bytes]) -> (&'static str, Vec<u8>) {
        let size = lines.iter().map(|l| l.len() + 1).sum::<usize>() + 2;
        let mut body = Vec::with_capacity(size);
        match self.config.format {
            Format::Array => {
                body.push(b'[');
                for (i, line) in lines.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(line);
                }
                body.push(b']');
                ("application/json", body)
            }
            Format::Ndjson => {
                for line in lines {
                    body.extend_from_slice(line);
                    body.push(b'\n');
                }
                ("application/x-ndjson", body)
            }
        }
    }
}

/// `d` scaled by a random factor in [0.5, 1.5), so that many sensors do not retry in step.
fn jitter(d: Duration) -> Duration {
    let r = super::id::random_u64() % 1000;
    d.mul_f64(0.5 + r as f64 / 1000.0)
}
