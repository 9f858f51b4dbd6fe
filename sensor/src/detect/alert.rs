//! Alerts as ECS documents, one JSON object per line.

use serde_json::{Map, Value, json};

use super::attack;
use super::rules::RuleMeta;

/// ECS `event.severity` for a Sigma level (0-100 scale, as Elastic detection rules use).
pub fn severity(level: Option<&str>) -> u8 {
    match level {
        Some("critical") => 99,
        Some("high") => 73,
        Some("medium") => 47,
        Some("low") => 21,
        _ => 0,
    }
}

/// What an alert is built from.
pub struct AlertInput<'a> {
    /// The rule that fired.
    pub rule: &'a RuleMeta,
    /// Unique alert id (`event.id`).
    pub id: String,
    /// `@timestamp`: the time of the event that made the rule fire (event time, not wall time).
    pub timestamp: String,
    /// The triggering event (for a detection) or the last event (for a correlation).
    pub event: Value,
    /// For correlations: the contributing events, oldest first.
    pub contributing: Option<Vec<Value>>,
    /// For correlations: the group-by key.
    pub group: Vec<(String, String)>,
    /// For correlations: the aggregated value that met the condition.
    pub aggregated: Option<f64>,
}

/// Builds the ECS alert document.
pub fn document(input: AlertInput<'_>) -> Value {
    let rule = input.rule;
    let (techniques, tactics) = attack::from_tags(&rule.tags);
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), json!(input.timestamp));
    doc.insert(
        "event".into(),
        json!({
            "kind": "alert",
            "id": input.id,
            "severity": severity(rule.level.as_deref()),
            "module": "sigma",
        }),
    );
    doc.insert(
        "rule".into(),
        json!({
            "id": rule.id,
            "name": rule.title,
            "description": rule.description,
            "reference": rule.references,
            "author": rule.author,
            "ruleset": rule.source,
        }),
    );
    doc.insert(
        "sigma".into(),
        json!({ "level": rule.level, "tags": rule.tags, "correlation": rule.correlation }),
    );
    if !techniques.is_empty() || !tactics.is_empty() {
        let technique: Vec<Value> = techniques
            .iter()
            .map(|t| json!({ "id": t.id, "name": t.name }))
            .collect();
        doc.insert(
            "threat".into(),
            json!({
                "framework": "MITRE ATT&CK",
                "technique": technique,
                "tactic": { "name": tactics },
            }),
        );
    }
    // The triggering event's process context is copied to the top level, where ECS consumers
    // look for it; the whole event stays under `sensor.event`.
    for key in [
        "process",
        "user",
        "host",
        "container",
        "file",
        "source",
        "destination",
    ] {
        if let Some(v) = input.event.get(key) {
            doc.insert(key.into(), v.clone());
        }
    }
    let mut sensor = json!({ "event": input.event });
    if let Some(events) = input.contributing {
        sensor["correlation"] = json!({
            "events": events,
            "group": input.group.iter().map(|(k, v)| json!({ "field": k, "value": v })).collect::<Vec<_>>(),
            "value": input.aggregated,
        });
    }
    doc.insert("sensor".into(), sensor);
    Value::Object(doc)
}
