//! A rendered document on its way out: its serialised JSON, shared by every destination of
//! its stream, and the priority that decides what is shed first under pressure.

use bytes::Bytes;
use serde_json::Value;

/// The two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// ECS event documents (`event.kind: event`).
    Events,
    /// ECS alert documents (`event.kind: alert`), each with a unique `event.id`.
    Alerts,
}

impl Stream {
    /// The `stream` label value of the output metrics.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Events => "events",
            Stream::Alerts => "alerts",
        }
    }
}

/// Priority of an event: below every alert.
pub const EVENT_PRIORITY: u8 = 0;

/// A document ready for output.
#[derive(Debug, Clone)]
pub struct Doc {
    /// Which stream it belongs to.
    pub stream: Stream,
    /// Shedding priority: events are 0, alerts 1 (informational) to 5 (critical).
    pub priority: u8,
    /// The document as one line of JSON, without the newline.
    pub json: Bytes,
}

impl Doc {
    /// An event document, serialised.
    pub fn event(doc: &Value) -> Doc {
        Doc {
            stream: Stream::Events,
            priority: EVENT_PRIORITY,
            json: serialise(doc),
        }
    }

    /// An event document already rendered as one line of JSON (see `output::render`), in
    /// shared bytes.
    pub fn event_line(json: Bytes) -> Doc {
        Doc {
            stream: Stream::Events,
            priority: EVENT_PRIORITY,
            json,
        }
    }

    /// An alert document, serialised; `event.id` is added (a random 128-bit id) when missing
    /// or not a non-empty string, so every alert can be de-duplicated downstream.
    pub fn alert(doc: &mut Value) -> Doc {
        ensure_event_id(doc);
        Doc {
            stream: Stream::Alerts,
            priority: alert_priority(doc),
            json: serialise(doc),
        }
    }
}

fn serialise(doc: &Value) -> Bytes {
    // serde_json escapes control characters, so the line never contains a raw newline.
    serde_json::to_vec(doc).map_or_else(|_| Bytes::from_static(b"{}"), Bytes::from)
}

fn ensure_event_id(doc: &mut Value) {
    let has_id = doc
        .pointer("/event/id")
        .and_then(Value::as_str)
        .is_some_and(|id| !id.is_empty());
    if has_id {
        return;
    }
    let Some(map) = doc.as_object_mut() else {
        return;
    };
    let event = map
        .entry("event")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !event.is_object() {
        *event = Value::Object(serde_json::Map::new());
    }
    if let Some(event) = event.as_object_mut() {
        event.insert("id".into(), Value::String(super::id::new_id()));
    }
}

/// Alert priority from the Sigma level (`rule.level`, `event.level`) or the ECS numeric
/// `event.severity` (0-100, split in five bands); unknown levels count as `medium`.
fn alert_priority(doc: &Value) -> u8 {
    let word = ["/rule/level", "/event/level", "/sigma/level"]
        .iter()
        .find_map(|p| doc.pointer(p).and_then(Value::as_str));
    if let Some(word) = word {
        return match word.to_ascii_lowercase().as_str() {
            "informational" | "info" => 1,
            "low" => 2,
            "high" => 4,
            "critical" => 5,
            _ => 3,
        };
    }
    match doc.pointer("/event/severity").and_then(Value::as_u64) {
        Some(n) if n >= 99 => 5,
        Some(n) if n >= 73 => 4,
        Some(n) if n >= 47 => 3,
        Some(n) if n >= 21 => 2,
        Some(_) => 1,
        None => 3,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alert_gets_an_id_once() {
        let mut doc = json!({"event": {"kind": "alert"}});
        let a = Doc::alert(&mut doc);
        let id = doc["event"]["id"].as_str().unwrap().to_owned();
        assert_eq!(id.len(), 36);
        let again = Doc::alert(&mut doc);
        assert_eq!(doc["event"]["id"], id);
        assert_eq!(a.json, again.json);
        let mut kept = json!({"event": {"id": "abc"}});
        Doc::alert(&mut kept);
        assert_eq!(kept["event"]["id"], "abc");
        let mut odd = json!({"event": 3});
        Doc::alert(&mut odd);
        assert!(odd["event"]["id"].is_string());
    }

    #[test]
    fn priority_orders_levels() {
        let p = |v: Value| Doc::alert(&mut v.clone()).priority;
        assert_eq!(p(json!({"rule": {"level": "critical"}})), 5);
        assert_eq!(p(json!({"rule": {"level": "low"}})), 2);
        assert_eq!(p(json!({"event": {"severity": 73}})), 4);
        assert_eq!(p(json!({})), 3);
        assert_eq!(Doc::event(&json!({})).priority, EVENT_PRIORITY);
    }
}
