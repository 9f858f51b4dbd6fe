//! The one field-accessor interface the evaluator reads events through.
//!
//! rsigma evaluates any type implementing its [`Event`] trait. [`Accessor`] implements that trait
//! once, over our [`FieldSource`] trait, which both the live event ([`super::live::LiveEvent`])
//! and the recorded JSON event ([`super::recorded::RecordedEvent`]) implement. A rule's field
//! name is resolved to a [`Field`] through a cached lookup; the live path never builds JSON to
//! evaluate (it renders JSON only for events that end up in an alert).

use std::borrow::Cow;

use rsigma_eval::event::{Event, EventValue};
use serde_json::{Map, Value};

use super::fields::{ECS_NAMES, Field, resolve_fast};

/// Sigma logsource categories our events map to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Exec events.
    ProcessCreation,
    /// Connect and accept events.
    NetworkConnection,
    /// Opens that create or write.
    FileEvent,
    /// Read-only opens.
    FileAccess,
    /// A running process's image was tampered with (its executable deleted): not a process
    /// creation, so SigmaHQ's process_creation rules never see it twice.
    ProcessTampering,
    /// Events no Sigma category covers (fork, exit).
    Other,
}

impl Category {
    /// The Sigma logsource category name.
    pub fn sigma_name(self) -> &'static str {
        match self {
            Category::ProcessCreation => "process_creation",
            Category::NetworkConnection => "network_connection",
            Category::FileEvent => "file_event",
            Category::FileAccess => "file_access",
            Category::ProcessTampering => "process_tampering",
            // Never a valid Sigma category, so category-specific rules are pruned.
            Category::Other => "sensor_internal",
        }
    }

    /// The category for a Sigma category name, if we support it.
    pub fn from_sigma(name: &str) -> Option<Category> {
        match name {
            "process_creation" => Some(Category::ProcessCreation),
            "network_connection" => Some(Category::NetworkConnection),
            "file_event" => Some(Category::FileEvent),
            "file_access" => Some(Category::FileAccess),
            "process_tampering" => Some(Category::ProcessTampering),
            _ => None,
        }
    }
}

/// Read access to an event's fields, by [`Field`].
pub trait FieldSource {
    /// The value of a known field, `None` when the event does not have it.
    fn field(&self, field: Field) -> Option<EventValue<'_>>;

    /// A field the vocabulary does not know (only recorded events can answer these).
    fn other_field(&self, _name: &str) -> Option<EventValue<'_>> {
        None
    }

    /// Which Sigma category the event belongs to.
    fn category(&self) -> Category;

    /// Event time in nanoseconds since the Unix epoch.
    fn time_unix_ns(&self) -> i128;

    /// The full event as an ECS document (used for alerts and correlation evidence only).
    fn document(&self) -> Value {
        render(self)
    }
}

/// Renders every known field of `source` into a nested ECS document.
pub fn render<S: FieldSource + ?Sized>(source: &S) -> Value {
    let mut doc = Map::new();
    for &(path, field) in ECS_NAMES {
        if let Some(value) = source.field(field) {
            insert_path(&mut doc, path, value.to_json());
        }
    }
    Value::Object(doc)
}

fn insert_path(doc: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        // `@timestamp` and other dotless names sit at the top.
        None => {
            doc.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let child = doc
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

/// Text fields keyword rules (`keywords:` lists) search.
pub(super) const KEYWORD_FIELDS: &[Field] = &[
    Field::CommandLine,
    Field::Executable,
    Field::ParentCommandLine,
    Field::ParentExecutable,
    Field::FilePath,
    Field::DestinationIp,
    Field::DestinationDomain,
];

/// Adapts a [`FieldSource`] to rsigma's [`Event`] trait.
pub struct Accessor<'s, S: ?Sized>(pub &'s S);

impl<S: FieldSource + ?Sized> Event for Accessor<'_, S> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        match resolve_fast(path) {
            Some(field) => self.0.field(field),
            None => self.0.other_field(path),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        KEYWORD_FIELDS.iter().any(|&f| match self.0.field(f) {
            Some(v) => v.as_str().is_some_and(|s| pred(&s)),
            None => false,
        })
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        KEYWORD_FIELDS
            .iter()
            .filter_map(|&f| match self.0.field(f)? {
                EventValue::Str(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn to_json(&self) -> Value {
        self.0.document()
    }
}
