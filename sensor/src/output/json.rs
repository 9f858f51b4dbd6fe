//! A minimal JSON writer into a reused byte buffer, for the event hot path: no intermediate
//! `serde_json::Value` tree, no per-field allocation. Strings are escaped as serde_json does
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control bytes as `\u00XX`), so a reader sees
//! the same values.

use crate::text;

/// Writes JSON tokens into a byte buffer, inserting commas where they belong.
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// A value was just completed at the current level, so the next key or element needs a
    /// comma first.
    comma: bool,
    /// Some untrusted bytes written with [`Writer::text`] or [`Writer::text_join`] had to be
    /// escaped.
    pub escaped: bool,
}

impl<'a> Writer<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Writer<'a> {
        Writer {
            out,
            comma: false,
            escaped: false,
        }
    }

    #[inline(always)]
    fn pre_value(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
    }

    /// Starts an object (as a value or an array element).
    #[inline(always)]
    pub fn begin_object(&mut self) {
        self.pre_value();
        self.out.push(b'{');
        self.comma = false;
    }

    /// Ends the current object.
    #[inline(always)]
    pub fn end_object(&mut self) {
        self.out.push(b'}');
        self.comma = true;
    }

    /// Starts an array.
    pub fn begin_array(&mut self) {
        self.pre_value();
        self.out.push(b'[');
        self.comma = false;
    }

    /// Ends the current array.
    pub fn end_array(&mut self) {
        self.out.push(b']');
        self.comma = true;
    }

    /// Writes an object key; `key` must need no escaping (our own field names). Always inlined:
    /// at a call site the key's length is a constant, so its copy becomes a few moves instead
    /// of a `memcpy` call (keys were a twentieth of the daemon's time at high exec rates).
    #[inline(always)]
    pub fn key(&mut self, key: &str) {
        self.pre_value();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.comma = false;
    }

    /// Writes a string value.
    pub fn str(&mut self, s: &str) {
        self.pre_value();
        quote(self.out, s.as_bytes());
        self.comma = true;
    }

    /// Writes untrusted bytes as a string, escaped with [`crate::text::escape`] first.
    pub fn text(&mut self, bytes: &[u8]) {
        if plain(bytes) {
            // Printable ASCII without quotes or backslashes: the same bytes either way.
            self.pre_value();
            self.out.push(b'"');
            self.out.extend_from_slice(bytes);
            self.out.push(b'"');
            self.comma = true;
            return;
        }
        let (s, was) = text::escape(bytes);
        self.escaped |= was;
        self.str(&s);
    }

    /// Writes Unix-epoch nanoseconds as an RFC 3339 string ([`crate::time::rfc3339`]).
    pub fn timestamp(&mut self, unix_ns: i128) {
        self.pre_value();
        self.out.push(b'"');
        crate::time::write_rfc3339(self.out, unix_ns);
        self.out.push(b'"');
        self.comma = true;
    }

    /// Writes `parts` joined by `sep` as one string, escaped like [`Writer::text`] of the
    /// joined bytes, without building the joined bytes when no part needs escaping.
    pub fn text_join(&mut self, parts: &[Vec<u8>], sep: u8, scratch: &mut Vec<u8>) {
        if !parts.iter().all(|p| plain(p)) && parts.iter().any(|p| text::needs_escape(p)) {
            scratch.clear();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    scratch.push(sep);
                }
                scratch.extend_from_slice(part);
            }
            let (s, was) = text::escape(scratch);
            self.escaped |= was;
            self.str(&s);
            return;
        }
        self.pre_value();
        self.out.push(b'"');
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                escape_into(self.out, &[sep]);
            }
            if plain(part) {
                self.out.extend_from_slice(part);
            } else {
                escape_into(self.out, part);
            }
        }
        self.out.push(b'"');
        self.comma = true;
    }

    /// Writes an unsigned integer.
    pub fn uint(&mut self, v: u64) {
        self.pre_value();
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self.comma = true;
    }

    /// Writes a signed integer.
    pub fn int(&mut self, v: i64) {
        if v < 0 {
            self.pre_value();
            self.out.push(b'-');
            self.comma = false;
        }
        self.uint(v.unsigned_abs());
    }

    /// Writes an unsigned integer as a JSON string (ECS ids are strings).
    pub fn uint_str(&mut self, v: u64) {
        self.pre_value();
        self.out.push(b'"');
        self.comma = false;
        self.uint(v);
        self.out.push(b'"');
    }

    /// Writes an IP address as a string.
    pub fn ip(&mut self, ip: std::net::IpAddr) {
        self.pre_value();
        self.out.push(b'"');
        crate::text::push_ip(self.out, ip);
        self.out.push(b'"');
        self.comma = true;
    }

    /// Writes a boolean.
    pub fn bool(&mut self, v: bool) {
        self.pre_value();
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        self.comma = true;
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.pre_value();
        self.out.extend_from_slice(b"null");
        self.comma = true;
    }

    /// Writes `json`, one complete value this writer's rules produced earlier (a cached
    /// rendering), as the next value.
    pub fn raw_value(&mut self, json: &[u8]) {
        self.pre_value();
        self.out.extend_from_slice(json);
        self.comma = true;
    }

    /// How many bytes the output holds (a mark for [`Writer::since`]).
    pub fn mark(&self) -> usize {
        self.out.len()
    }

    /// What was written since `mark`.
    pub fn since(&self, mark: usize) -> &[u8] {
        self.out.get(mark..).unwrap_or_default()
    }

    /// Writes `json`, tokens this writer produced earlier from the same state and that ended
    /// with a completed value (a cached rendering of the rest of an object, say).
    pub fn raw_tokens(&mut self, json: &[u8]) {
        self.out.extend_from_slice(json);
        self.comma = true;
    }

    /// Writes a value whose text comes from `Display` (addresses, timestamps), as a string.
    pub fn display(&mut self, v: impl std::fmt::Display) {
        use std::io::Write as _;
        self.pre_value();
        self.out.push(b'"');
        let start = self.out.len();
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "{v}");
        if self.out[start..].iter().any(|&b| needs_json_escape(b)) {
            let raw = self.out.split_off(start);
            escape_into(self.out, &raw);
        }
        self.out.push(b'"');
        self.comma = true;
    }
}

fn needs_json_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Printable ASCII without quotes and backslashes: needs no escaping of either kind. Branch-free per
/// block so that the compiler can vectorise the scan of long arguments.
fn plain(bytes: &[u8]) -> bool {
    bytes.chunks(32).all(|block| {
        !block.iter().fold(false, |bad, &b| {
            bad | !(0x20..0x7f).contains(&b) | (b == b'"') | (b == b'\\')
        })
    })
}

fn quote(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    if plain(bytes) {
        out.extend_from_slice(bytes);
    } else {
        escape_into(out, bytes);
    }
    out.push(b'"');
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_json_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_parses_and_matches_serde_json() {
        let hostile = "q\"b\\s\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é\u{2028}";
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.begin_object();
        w.key("s");
        w.str(hostile);
        w.key("n");
        w.int(-42);
        w.key("u");
        w.uint(u64::MAX);
        w.key("z");
        w.uint(0);
        w.key("id");
        w.uint_str(1000);
        w.key("a");
        w.begin_array();
        w.bool(true);
        w.null();
        w.begin_object();
        w.end_object();
        w.text(b"bad\xff\n");
        w.text_join(&[b"ls".to_vec(), b"-l\"".to_vec()], b' ', &mut Vec::new());
        w.text_join(&[b"a\n".to_vec(), b"b".to_vec()], b' ', &mut Vec::new());
        w.display(std::net::IpAddr::from([127, 0, 0, 1]));
        w.ip(std::net::IpAddr::from([10, 0, 0, 255]));
        w.timestamp(0);
        w.end_array();
        w.end_object();
        let parsed: serde_json::Value = serde_json::from_slice(&buf).expect("valid JSON");
        let expected = serde_json::json!({
            "s": hostile, "n": -42, "u": u64::MAX, "z": 0, "id": "1000",
            "a": [true, null, {}, "bad\\xff\\x0a", "ls -l\"", "a\\x0a b", "127.0.0.1", "10.0.0.255",
                  "1970-01-01T00:00:00.000000000Z"],
        });
        assert_eq!(parsed, expected);
        let reference = serde_json::to_vec(&serde_json::json!(hostile)).expect("serialise");
        let mut ours = Vec::new();
        quote(&mut ours, hostile.as_bytes());
        assert_eq!(ours, reference);
        assert!(w_escaped_flag());
    }

    fn w_escaped_flag() -> bool {
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        w.text(b"clean \"quoted\" \\ text");
        let clean = !w.escaped;
        w.text(b"tab\t");
        clean && w.escaped
    }
}
