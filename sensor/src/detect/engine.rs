//! The detection engine: rsigma's compiled detection and correlation engine, fed through our
//! field accessor, turning matches into ECS alerts.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use rsigma_eval::{
    CorrelationConfig, CorrelationEngine, CorrelationEventMode, CorrelationSnapshot,
    EvaluationResult, ResultBody, TimestampFallback,
};
use rsigma_parser::SigmaCollection;
use serde_json::Value;

use super::DetectError;
use super::accessor::{Accessor, Category, FieldSource};
use super::alert::{self, AlertInput};
use super::beacon::{self, BeaconConfig, BeaconDetector, BeaconHit};
use super::fields::Field;
use super::lanes::Lanes;
use super::live::LiveEvent;
use super::recorded::RecordedEvent;
use super::rules::{RuleMeta, RuleSet};
use crate::context::EnrichedEvent;
use crate::time::BootClock;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Cap on correlation state entries (all correlations and groups together).
    pub max_state_entries: usize,
    /// Cap on entries kept inside one group's window.
    pub max_group_entries: usize,
    /// Contributing events kept per correlation group (for the alert's evidence).
    pub max_correlation_events: usize,
    /// After a correlation fires for a group, do not fire again for this many seconds.
    pub suppress_secs: Option<u64>,
    /// Cache detection verdicts by the values of the fields rules read (see
    /// [`super::cache::VerdictCache`]).
    pub verdict_cache: bool,
    /// Prefix of alert ids (`event.id` is `<prefix>-<sequence>`). The default is the engine's
    /// start time in hex nanoseconds, so ids stay unique across restarts; replay uses a fixed
    /// prefix so its output is reproducible.
    pub alert_id_prefix: String,
    /// The beaconing analytic ([`super::beacon`]); `None` turns it off.
    pub beacon: Option<BeaconConfig>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_state_entries: 100_000,
            // value_count recomputes distinct values over a group's entries on every match,
            // so this also bounds the CPU one noisy group can cost.
            max_group_entries: 256,
            max_correlation_events: 16,
            suppress_secs: None,
            verdict_cache: true,
            alert_id_prefix: format!("{:x}", crate::time::now_unix_ns()),
            beacon: Some(BeaconConfig::default()),
        }
    }
}

/// Counters the metrics exporter reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Events evaluated.
    pub events: u64,
    /// Alerts produced.
    pub alerts: u64,
    /// Correlation state entries dropped (expired windows or over the cap).
    pub state_evictions: u64,
    /// Events whose detection verdicts came from the verdict cache.
    pub cache_hits: u64,
}

/// Where alerts go.
pub trait AlertSink {
    /// Takes one alert document.
    fn alert(&mut self, alert: Value);
}

impl AlertSink for Vec<Value> {
    fn alert(&mut self, alert: Value) {
        self.push(alert);
    }
}

/// What the correlation engine needs: the correlations and the rules they name (their
/// identities and `generate` flags). Single-event detection runs in the lanes, so compiling
/// every other rule a second time would only cost start-up time and memory. Filter rules may
/// name any rule, so a collection with filters is kept whole.
fn correlation_part(collection: &SigmaCollection) -> Cow<'_, SigmaCollection> {
    if !collection.filters.is_empty() {
        return Cow::Borrowed(collection);
    }
    let named = |r: &rsigma_parser::SigmaRule| {
        collection.correlations.iter().any(|c| {
            c.rules
                .iter()
                .any(|n| Some(n) == r.id.as_ref() || Some(n) == r.name.as_ref())
        })
    };
    Cow::Owned(SigmaCollection {
        rules: collection
            .rules
            .iter()
            .filter(|r| named(r))
            .cloned()
            .collect(),
        correlations: collection.correlations.clone(),
        filters: Vec::new(),
        diagnostics: Vec::new(),
    })
}

/// Evaluates rules against events and produces alerts.
pub struct Engine {
    // Correlation state only: single-event detection runs in `lanes`, and its results are fed
    // to the correlations.
    inner: CorrelationEngine,
    lanes: Lanes,
    meta: HashMap<String, Arc<RuleMeta>>,
    clock: BootClock,
    config: EngineConfig,
    sequence: u64,
    stats: EngineStats,
    beacon: Option<(BeaconDetector, Arc<RuleMeta>)>,
}

impl Engine {
    /// Builds an engine over the rules that loaded (`rules.errors` is the caller's to report).
    pub fn new(rules: &RuleSet, config: EngineConfig) -> Result<Engine, DetectError> {
        let corr_config = CorrelationConfig {
            timestamp_fallback: TimestampFallback::Skip,
            max_state_entries: config.max_state_entries,
            max_group_entries: Some(config.max_group_entries),
            suppress: config.suppress_secs,
            correlation_event_mode: CorrelationEventMode::Full,
            max_correlation_events: config.max_correlation_events,
            ..CorrelationConfig::default()
        };
        let mut inner = CorrelationEngine::new(corr_config);
        inner
            .add_collection(&correlation_part(&rules.collection))
            .map_err(|e| DetectError::Compile(e.to_string()))?;
        let meta = rules
            .meta
            .iter()
            .map(|m| (m.id.clone(), Arc::new(m.clone())))
            .collect();
        let lanes = Lanes::new(rules, config.verdict_cache)?;
        let beacon = config
            .beacon
            .map(|b| (BeaconDetector::new(b), Arc::new(beacon::rule_meta(&b))));
        Ok(Engine {
            inner,
            lanes,
            meta,
            clock: BootClock::new(),
            config,
            sequence: 0,
            stats: EngineStats::default(),
            beacon,
        })
    }

    /// Evaluates one live event.
    pub fn process(&mut self, event: &EnrichedEvent, sink: &mut dyn AlertSink) {
        let time = self.clock.to_unix_ns(event.event.header.ktime_ns);
        self.process_source(&LiveEvent::new(event, time), sink);
    }

    /// Evaluates one recorded (ECS JSON) event.
    pub fn process_recorded(&mut self, event: &Value, sink: &mut dyn AlertSink) {
        self.process_source(&RecordedEvent::new(event), sink);
    }

    /// Evaluates any event behind the accessor trait.
    pub fn process_source<S: FieldSource + ?Sized>(
        &mut self,
        source: &S,
        sink: &mut dyn AlertSink,
    ) {
        self.stats.events += 1;
        let secs = i64::try_from(source.time_unix_ns().div_euclid(1_000_000_000)).unwrap_or(0);
        // rsigma evicts inside `process_event_at` when the state is full; doing it here first,
        // through the same code, is what lets us count what was dropped.
        if self.inner.state_count() >= self.config.max_state_entries {
            self.tick(secs);
        }
        let detections = self.lanes.evaluate(source);
        // Correlations are fed only by detections: with none, there is nothing to feed (expiry
        // is `tick`'s job), and skipping the call saves its bookkeeping on almost every event.
        let results = if detections.is_empty() {
            Vec::new()
        } else {
            self.inner
                .process_with_detections(&Accessor(source), detections, secs)
        };
        let beacon = self.observe_beacon(source);
        if results.is_empty() && beacon.is_none() {
            return;
        }
        let timestamp = crate::time::rfc3339(source.time_unix_ns());
        let event = source.document();
        for result in results {
            self.emit(result, &timestamp, &event, sink);
        }
        if let Some((hit, group)) = beacon {
            self.emit_beacon(hit, group, &timestamp, &event, sink);
        }
    }

    /// Feeds an outgoing connection to the beaconing analytic.
    fn observe_beacon<S: FieldSource + ?Sized>(
        &mut self,
        source: &S,
    ) -> Option<(BeaconHit, Vec<(String, String)>)> {
        let (detector, _) = self.beacon.as_mut()?;
        if source.category() != Category::NetworkConnection {
            return None;
        }
        let text = |f| source.field(f).map(|v| v.to_json());
        if text(Field::Initiated).and_then(|v| v.as_str().map(|s| s == "true"))? {
            let entity = text(Field::EntityId)?;
            let ip = text(Field::DestinationIp)?;
            let port = text(Field::DestinationPort)?;
            let (entity, ip) = (entity.as_str()?, ip.as_str()?);
            let port = port
                .as_u64()
                .or_else(|| port.as_str().and_then(|p| p.parse().ok()))?;
            // The local port tells a non-blocking connect's second call from a new connection.
            let source_port = text(Field::SourcePort)
                .and_then(|p| {
                    p.as_u64()
                        .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0);
            let hit = detector.observe(entity, ip, port, source_port, source.time_unix_ns())?;
            let group = vec![
                ("process.entity_id".to_string(), entity.to_string()),
                ("destination".to_string(), format!("{ip}:{port}")),
            ];
            return Some((hit, group));
        }
        None
    }

    fn emit_beacon(
        &mut self,
        hit: BeaconHit,
        group: Vec<(String, String)>,
        timestamp: &str,
        event: &Value,
        sink: &mut dyn AlertSink,
    ) {
        let Some((_, rule)) = self.beacon.as_ref() else {
            return;
        };
        let rule = Arc::clone(rule);
        self.sequence += 1;
        self.stats.alerts += 1;
        let mut doc = alert::document(AlertInput {
            rule: &rule,
            id: format!("{}-{}", self.config.alert_id_prefix, self.sequence),
            timestamp: timestamp.to_string(),
            event: event.clone(),
            contributing: None,
            group,
            aggregated: Some(hit.cv),
        });
        doc["event"]["module"] = Value::from("beacon");
        doc["sensor"]["beacon"] = serde_json::json!({
            "connections": hit.connections,
            "mean_interval_secs": hit.mean_interval_secs,
            "cv": hit.cv,
        });
        sink.alert(doc);
    }

    /// The open correlation windows, suppression times and evidence, keyed by the rules'
    /// stable ids (not by position), for [`Engine::import_state`] into another engine: the new
    /// one after a reload, or the next process after a restart. The beaconing analytic's
    /// per-destination history is not part of it.
    pub fn export_state(&self) -> CorrelationSnapshot {
        self.inner.export_state()
    }

    /// Takes over `snapshot`'s correlation state; windows of correlations this engine does not
    /// have are dropped. False when the snapshot's format version is not this build's.
    pub fn import_state(&mut self, snapshot: CorrelationSnapshot) -> bool {
        self.inner.import_state(snapshot)
    }

    /// Drops correlation state whose window ended before `now_unix_secs` (call periodically on
    /// the live path; replay advances time with the events).
    pub fn tick(&mut self, now_unix_secs: i64) {
        let before = self.inner.state_count();
        self.inner.evict_expired(now_unix_secs);
        self.stats.state_evictions += before.saturating_sub(self.inner.state_count()) as u64;
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            cache_hits: self.lanes.cache_hits(),
            ..self.stats
        }
    }

    /// Live correlation state entries.
    pub fn state_count(&self) -> usize {
        self.inner.state_count()
    }

    fn emit(
        &mut self,
        result: EvaluationResult,
        timestamp: &str,
        event: &Value,
        sink: &mut dyn AlertSink,
    ) {
        let key = result
            .header
            .rule_id
            .clone()
            .unwrap_or_else(|| result.header.rule_title.clone());
        let Some(rule) = self.meta.get(&key).cloned() else {
            tracing::warn!(rule = %key, "alert for a rule without metadata; dropped");
            return;
        };
        self.sequence += 1;
        self.stats.alerts += 1;
        let id = format!("{}-{}", self.config.alert_id_prefix, self.sequence);
        let input = match result.body {
            ResultBody::Detection(_) => AlertInput {
                rule: &rule,
                id,
                timestamp: timestamp.to_string(),
                event: event.clone(),
                contributing: None,
                group: Vec::new(),
                aggregated: None,
            },
            ResultBody::Correlation(body) => AlertInput {
                rule: &rule,
                id,
                timestamp: timestamp.to_string(),
                event: event.clone(),
                contributing: Some(body.events.unwrap_or_default()),
                group: body.group_key,
                aggregated: Some(body.aggregated_value),
            },
        };
        sink.alert(alert::document(input));
    }
}
