//! A verdict cache for single-event rules: servers run the same command lines over and over
//! (cron jobs, health checks, build steps), and a rule's verdict depends only on the values of
//! the fields rules read. The key is exactly those values (plus the event category), compared
//! in full, so a hit returns what evaluation would have returned; fields only correlations read
//! (pids in `group-by`) are not in the key, since correlation state is fed afresh every event.
//! There is one cache per detection lane ([`super::lanes`]), so the category is not in the key
//! and each key holds only the fields of that lane's rules, resolved once to [`Field`] ids.

use rsigma_eval::event::EventValue;
use rsigma_eval::{EvaluationResult, FieldSource as Origin, RuleFieldSet};
use rsigma_parser::SigmaCollection;

use super::accessor::FieldSource;
use super::fields::{Field, resolve_fast};

/// Entries kept before the cache is cleared (bounds memory against unique command lines).
const MAX_ENTRIES: usize = 8192;

/// Cached detection verdicts, keyed by the values of every field a detection reads.
pub struct VerdictCache {
    fields: Vec<KeyField>,
    // aHash: the key is a few hundred bytes per event, SipHash would cost more than the lookup.
    map: ahash::AHashMap<String, Vec<EvaluationResult>>,
    key: String,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to evaluate.
    pub misses: u64,
}

/// A field in the key: resolved once, so building a key does no name lookup.
#[derive(Debug, Clone)]
enum KeyField {
    Known(Field),
    Other(String),
}

impl VerdictCache {
    /// A cache for `collection`, or `None` when a rule could read a field the key cannot see:
    /// `fieldref` compares with a field named in a value, which the field set does not list.
    /// `keywords`: some rule searches values without naming a field (the keyword fields are
    /// then in the key).
    pub fn new(
        collection: &SigmaCollection,
        uses_fieldref: bool,
        keywords: bool,
    ) -> Option<VerdictCache> {
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
        if keywords {
            for f in super::accessor::KEYWORD_FIELDS {
                fields.push(f.ecs_path().to_string());
            }
        }
        fields.sort();
        fields.dedup();
        // Two names of one field (Sigma's and ECS's) read the same value: keep one.
        let mut known = Vec::new();
        let fields: Vec<KeyField> = fields
            .into_iter()
            .filter_map(|name| match resolve_fast(&name) {
                Some(field) if known.contains(&field) => None,
                Some(field) => {
                    known.push(field);
                    Some(KeyField::Known(field))
                }
                None => Some(KeyField::Other(name)),
            })
            .collect();
        Some(VerdictCache {
            fields,
            map: ahash::AHashMap::new(),
            key: String::new(),
            hits: 0,
            misses: 0,
        })
    }

    /// The cached verdicts for `event`, or `evaluate`'s, which are then cached.
    pub fn get_or_insert<S: FieldSource + ?Sized>(
        &mut self,
        source: &S,
        evaluate: impl FnOnce() -> Vec<EvaluationResult>,
    ) -> Vec<EvaluationResult> {
        self.key.clear();
        for field in &self.fields {
            self.key.push('\u{1}');
            let value = match field {
                KeyField::Known(f) => source.field(*f),
                KeyField::Other(name) => source.other_field(name),
            };
            push_value(&mut self.key, value.as_ref());
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
/// a value can make two different keys equal). Written without `fmt`, which would cost more than
/// the rest of a cache hit.
fn push_value(out: &mut String, value: Option<&EventValue<'_>>) {
    match value {
        None => out.push('-'),
        Some(EventValue::Null) => out.push('n'),
        Some(EventValue::Str(s)) => push_str(out, s),
        Some(EventValue::Int(i)) => {
            out.push('i');
            if *i < 0 {
                out.push('-');
            }
            push_num(out, i.unsigned_abs());
        }
        Some(EventValue::Float(f)) => {
            out.push('f');
            push_num(out, f.to_bits());
        }
        Some(EventValue::Bool(b)) => out.push(if *b { 'T' } else { 'F' }),
        Some(EventValue::Array(items)) => {
            out.push('a');
            push_num(out, items.len() as u64);
            for item in items {
                push_value(out, Some(item));
            }
        }
        Some(EventValue::Map(entries)) => {
            out.push('m');
            push_num(out, entries.len() as u64);
            for (k, v) in entries {
                push_str(out, k);
                push_value(out, Some(v));
            }
        }
    }
}

fn push_str(out: &mut String, s: &str) {
    out.push('s');
    push_num(out, s.len() as u64);
    out.push(':');
    out.push_str(s);
}

fn push_num(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
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
        let mut n = String::new();
        push_num(&mut n, 0);
        push_num(&mut n, 1234567890);
        push_num(&mut n, u64::MAX);
        assert_eq!(n, format!("01234567890{}", u64::MAX));
        let mut x = String::new();
        push_value(&mut x, Some(&EventValue::Int(-5)));
        let mut y = String::new();
        push_value(&mut y, Some(&EventValue::Int(5)));
        assert_ne!(x, y);
    }
}
