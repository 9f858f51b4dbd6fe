//! [`FieldSource`] over a recorded event: one ECS JSON object as `sensor run --events` writes it.
//! Known fields are read at their ECS path; any other dotted name is looked up as written, so
//! rules can use every ECS field a recording carries.

use std::borrow::Cow;
use std::cell::OnceCell;

use rsigma_eval::event::EventValue;
use serde_json::Value;

use super::accessor::{Category, FieldSource};
use super::fields::Field;
use super::launcher::{Hop, launcher};

/// A recorded event as the evaluator sees it.
pub struct RecordedEvent<'v> {
    doc: &'v Value,
    time_unix_ns: i128,
    category: Category,
    // Rules read the same few fields again and again; each nested-map walk is done once.
    found: [OnceCell<Option<&'v Value>>; Field::COUNT],
}

impl<'v> RecordedEvent<'v> {
    /// Wraps a parsed event; its time comes from `@timestamp` (0 when absent or unparsable).
    pub fn new(doc: &'v Value) -> Self {
        let time_unix_ns = lookup(doc, "@timestamp")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .unwrap_or(0);
        RecordedEvent {
            doc,
            time_unix_ns,
            category: categorize(doc),
            found: std::array::from_fn(|_| OnceCell::new()),
        }
    }

    /// The value stored at `field`'s ECS path, looked up at most once per event.
    fn at(&self, field: Field) -> Option<&'v Value> {
        let doc = self.doc;
        match self.found.get(field as usize) {
            Some(cell) => *cell.get_or_init(|| lookup(doc, field.ecs_path())),
            None => lookup(doc, field.ecs_path()),
        }
    }
}

/// Reads a dotted path, first as nested objects, then as a flat key (`"process.pid": 1`).
pub fn lookup<'v>(doc: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = doc;
    let mut nested = true;
    for part in path.split('.') {
        match cur.get(part) {
            Some(next) => cur = next,
            None => {
                nested = false;
                break;
            }
        }
    }
    if nested { Some(cur) } else { doc.get(path) }
}

fn categorize(doc: &Value) -> Category {
    let action = lookup(doc, "event.action").and_then(Value::as_str);
    match action {
        Some("exec") if lookup(doc, "event.outcome").and_then(Value::as_str) != Some("failure") => {
            Category::ProcessCreation
        }
        Some("exec") => Category::Other,
        Some("connect" | "accept") => Category::NetworkConnection,
        Some("executable-deleted") => Category::ProcessTampering,
        Some("open") => {
            let types = lookup(doc, "event.type");
            let has = |t: &str| match types {
                Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(t)),
                Some(Value::String(s)) => s == t,
                _ => false,
            };
            if has("creation") || has("change") {
                Category::FileEvent
            } else {
                Category::FileAccess
            }
        }
        _ => Category::Other,
    }
}

impl FieldSource for RecordedEvent<'_> {
    fn field(&self, field: Field) -> Option<EventValue<'_>> {
        match field {
            Field::Initiated => {
                let action = self.at(Field::EventAction)?.as_str()?;
                let initiated = match action {
                    "connect" => "true",
                    "accept" => "false",
                    _ => return None,
                };
                Some(EventValue::Str(Cow::Borrowed(initiated)))
            }
            Field::CommandLine | Field::ParentCommandLine => {
                let args = if field == Field::CommandLine {
                    "process.args"
                } else {
                    "process.parent.args"
                };
                if let Some(v) = self.at(field) {
                    return Some(EventValue::from(v));
                }
                // Older recordings carry only the argument vector.
                let args = lookup(self.doc, args)?.as_array()?;
                let joined: Vec<&str> = args.iter().filter_map(Value::as_str).collect();
                Some(EventValue::Str(Cow::Owned(joined.join(" "))))
            }
            Field::LauncherEntityId => match self.at(field) {
                Some(v) => Some(EventValue::from(v)),
                None => recorded_launcher(self.doc).map(|id| EventValue::Str(Cow::Borrowed(id))),
            },
            Field::Stdin | Field::Stdout | Field::Stderr => {
                if let Some(v) = self.at(field) {
                    return Some(EventValue::from(v));
                }
                // `sensor run --events` writes the three kinds as one array, fd order.
                let fd = match field {
                    Field::Stdin => 0,
                    Field::Stdout => 1,
                    _ => 2,
                };
                let kinds = lookup(self.doc, "sensor.stdio")?.as_array()?;
                kinds.get(fd).map(EventValue::from)
            }
            _ => self.at(field).map(EventValue::from),
        }
    }

    fn other_field(&self, name: &str) -> Option<EventValue<'_>> {
        lookup(self.doc, name).map(EventValue::from)
    }

    fn category(&self) -> Category {
        self.category
    }

    fn time_unix_ns(&self) -> i128 {
        self.time_unix_ns
    }

    fn document(&self) -> Value {
        self.doc.clone()
    }
}

/// The launcher computed from a recording's `process.ancestors` (parent first), or from
/// `process.parent` alone in recordings without ancestry.
fn recorded_launcher(doc: &Value) -> Option<&str> {
    // `process.previous` is written once a process has exec'd; an exec event is one itself.
    let exec_d = lookup(doc, "process.previous").is_some()
        || lookup(doc, "event.action").and_then(Value::as_str) == Some("exec");
    let forked = lookup(doc, "process.executable")
        .and_then(Value::as_str)
        .filter(|_| !exec_d)
        .map(str::as_bytes);
    fn hop(a: &Value) -> Option<Hop<'_, Vec<&[u8]>>> {
        let args = a.get("args").and_then(Value::as_array).map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::as_bytes)
                .collect()
        });
        Some(Hop {
            // Partial recordings may omit it: such an ancestor is an ordinary program.
            executable: a
                .get("executable")
                .and_then(Value::as_str)
                .unwrap_or("")
                .as_bytes(),
            args: args.unwrap_or_default(),
            entity_id: a.get("entity_id").and_then(Value::as_str)?,
        })
    }
    match lookup(doc, "process.ancestors").and_then(Value::as_array) {
        Some(list) if !list.is_empty() => launcher(forked, list.iter().map_while(hop)),
        _ => launcher(forked, lookup(doc, "process.parent").and_then(hop)),
    }
}

/// Parses an RFC 3339 UTC or offset timestamp (`2026-11-26T04:24:12.123456789Z`) to Unix ns.
pub fn parse_rfc3339(s: &str) -> Option<i128> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-') || b.get(13) != Some(&b':') || !(1..=12).contains(&month) {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if digits < 9 {
                nanos = nanos * 10 + i128::from(c - b'0');
                digits += 1;
            }
            i += 1;
        }
        for _ in digits..9 {
            nanos *= 10;
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z' | b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let h = num(i + 1, 2)?;
            let m = num(i + 4, 2)?;
            let off = h * 3600 + m * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips_with_time_module() {
        for ns in [0i128, 1_764_131_052_123_456_789, 951_782_400_000_000_001] {
            let s = crate::time::rfc3339(ns);
            assert_eq!(parse_rfc3339(&s), Some(ns), "{s}");
        }
        assert_eq!(
            parse_rfc3339("1970-01-01T01:00:00+01:00"),
            Some(0),
            "offsets are applied"
        );
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn stdio_reads_the_event_outputs_array_and_the_named_form() {
        let array = serde_json::json!({"sensor": {"stdio": ["socket", "pipe", "tty"]}});
        let named = serde_json::json!({"sensor": {"stdio": {"stdin": "socket"}}});
        let str_of = |doc: &Value, f: Field| {
            RecordedEvent::new(doc)
                .field(f)
                .and_then(|v| v.as_str().map(|s| s.into_owned()))
        };
        assert_eq!(str_of(&array, Field::Stdin).as_deref(), Some("socket"));
        assert_eq!(str_of(&array, Field::Stdout).as_deref(), Some("pipe"));
        assert_eq!(str_of(&array, Field::Stderr).as_deref(), Some("tty"));
        assert_eq!(str_of(&named, Field::Stdin).as_deref(), Some("socket"));
        assert_eq!(str_of(&named, Field::Stdout), None);
    }

    #[test]
    fn dotted_and_flat_keys_both_resolve() {
        let v = serde_json::json!({"process": {"pid": 5}, "a.b": 1});
        assert_eq!(lookup(&v, "process.pid"), Some(&serde_json::json!(5)));
        assert_eq!(lookup(&v, "a.b"), Some(&serde_json::json!(1)));
        assert_eq!(lookup(&v, "process.ppid"), None);
    }
}
