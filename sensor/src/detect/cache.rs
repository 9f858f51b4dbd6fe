//! A verdict cache for single-event rules: servers run the same command lines over and over
//! (cron jobs, health checks, build steps), and a rule's verdict depends only on the values of
//! the fields rules read. The key is exactly those values (plus the event category), compared
//! in full, so a hit returns what evaluation would have returned; fields only correlations read
//! (pids in `group-by`) are not in the key, since correlation state is fed afresh every event.

use std::collections::HashMap;

use rsigma_eval::event::{Event, EventValue};
use rsigma_eval::{EvaluationResult, FieldSource as Origin, RuleFieldSet};
use rsigma_parser::SigmaCollection;

use super::accessor::Category;

/// Entries kept before the cache is cleared (bounds memory against unique command lines).
const MAX_ENTRIES: usize = 8192;

/// Cached detection verdicts, keyed by the values of every field a detection reads.
pub struct VerdictCache {
    fields: Vec<String>,
    map: HashMap<String, Vec<EvaluationResult>>,
    key: String,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to evaluate.
    pub misses: u64,
}

impl VerdictCache {
    /// A cache for `collection`, or `None` when a rule could read a field the key cannot see:
    /// `fieldref` compares with a field named in a value, which the field set does not list.
    pub fn new(collection: &SigmaCollection, uses_fieldref: bool) -> Option<VerdictCache> {
        if uses_fieldref {
            return None;
        }
        let set = RuleFieldSet::collect(collection, &[], true);
        let mut fields: Vec<String> = set
            .iter()
            .filter(|(_, origin)| {
                origin.sources.contains(&Origin::Detection)
                    || origin.sources.contains(&Origin::Filter)
            })
            .map(|(name, _)| name.to_string())
            .collect();
        // Keyword rules search these; they are in the key whatever the field set says.
        for f in super::accessor::KEYWORD_FIELDS {
            fields.push(f.ecs_path().to_string());
        }
        fields.sort();
        fields.dedup();
        Some(VerdictCache {
            fields,
            map: HashMap::new(),
            key: String::new(),
            hits: 0,
            misses: 0,
        })
    }

    /// The cached verdicts for `event`, or `evaluate`'s, which are then cached.
    pub fn get_or_insert<E: Event>(
        &mut self,
        event: &E,
        category: Category,
        evaluate: impl FnOnce() -> Vec<EvaluationResult>,
    ) -> Vec<EvaluationResult> {
        self.key.clear();
        self.key.push_str(category.sigma_name());
        for name in &self.fields {
            self.key.push('\u{1}');
            push_value(&mut self.key, event.get_field(name).as_ref());
        }
        if let Some(hit) = self.map.get(self.key.as_str()) {
            self.hits += 1;
            return hit.clone();
        }
        self.misses += 1;
        let verdicts = evaluate();
        if self.map.len() >= MAX_ENTRIES {
            self.map.clear();
        }
        self.map.insert(self.key.clone(), verdicts.clone());
        verdicts
    }
}

/// Appends an unambiguous rendering of a value (lengths prefix strings, so no separator inside
/// a value can make two different keys equal).
fn push_value(out: &mut String, value: Option<&EventValue<'_>>) {
    use std::fmt::Write as _;
    let _ = match value {
        None => write!(out, "-"),
        Some(EventValue::Null) => write!(out, "n"),
        Some(EventValue::Str(s)) => write!(out, "s{}:{s}", s.len()),
        Some(EventValue::Int(i)) => write!(out, "i{i}"),
        Some(EventValue::Float(f)) => write!(out, "f{f:?}"),
        Some(EventValue::Bool(b)) => write!(out, "b{b}"),
        Some(EventValue::Array(items)) => {
            let _ = write!(out, "a{}[", items.len());
            for item in items {
                push_value(out, Some(item));
            }
            write!(out, "]")
        }
        Some(EventValue::Map(entries)) => {
            let _ = write!(out, "m{}{{", entries.len());
            for (k, v) in entries {
                let _ = write!(out, "s{}:{k}", k.len());
                push_value(out, Some(v));
            }
            write!(out, "}}")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn keys_are_unambiguous() {
        let mut a = String::new();
        push_value(&mut a, Some(&EventValue::Str(Cow::Borrowed("x\u{1}s1:y"))));
        let mut b = String::new();
        push_value(&mut b, Some(&EventValue::Str(Cow::Borrowed("x"))));
        b.push('\u{1}');
        push_value(&mut b, Some(&EventValue::Str(Cow::Borrowed("y"))));
        assert_ne!(a, b);
    }
}
