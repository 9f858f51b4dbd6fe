//! Turning untrusted bytes (argv, paths, comm) into strings without losing or hiding anything.
//!
//! Bytes that are valid UTF-8 without control characters pass through unchanged. Anything else
//! is escaped losslessly: invalid bytes and control characters become `\xNN` and a backslash
//! becomes `\\`, and the caller marks the field as escaped so a reader knows to undo it. JSON
//! output stays valid and log lines cannot be forged with embedded newlines or ANSI escapes.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Whether [`escape`] would change `bytes` (invalid UTF-8 or a control character).
pub fn needs_escape(bytes: &[u8]) -> bool {
    // Printable ASCII, the common case, needs no UTF-8 decoding.
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        return false;
    }
    !std::str::from_utf8(bytes).is_ok_and(|s| !s.chars().any(char::is_control))
}

/// Returns the bytes as text, and whether they had to be escaped.
pub fn escape(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if !needs_escape(bytes)
        && let Ok(s) = std::str::from_utf8(bytes)
    {
        return (Cow::Borrowed(s), false);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() && c.is_ascii() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    (Cow::Owned(out), true)
}

/// Reverses [`escape`] for a string that was marked as escaped.
pub fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..pos]);
        let tail = &rest[pos + 1..];
        if let Some(after) = tail.strip_prefix('\\') {
            out.push(b'\\');
            rest = after;
        } else if let Some(hex) = tail.strip_prefix('x').and_then(|t| t.get(..2))
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            // `\xNN` is an ASCII control character or a byte that was not valid UTF-8;
            // non-ASCII control characters were written as `\u{..}`.
            out.push(b);
            rest = &tail[3..];
        } else if let Some(body) = tail.strip_prefix("u{")
            && let Some(end) = body.find('}')
            && let Some(c) = u32::from_str_radix(&body[..end], 16)
                .ok()
                .and_then(char::from_u32)
        {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            rest = &body[end + 1..];
        } else {
            out.push(b'\\');
            rest = tail;
        }
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

/// Strips the NUL padding of a fixed-size kernel string such as `comm`.
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes, |end| &bytes[..end])
}

/// Appends `ip` as text, as its `Display` writes it. IPv4 addresses are written octet by octet
/// without `core::fmt`, which was 4-5% of the daemon's time on a loopback connect storm (two
/// addresses per event); IPv6 goes through `Display` for its zero compression.
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(itoa::Buffer::new().format(octet).as_bytes());
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write as _;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

/// `ip` as a `String` (see [`push_ip`]).
pub fn ip_string(ip: IpAddr) -> String {
    let mut out = Vec::with_capacity(15);
    push_ip(&mut out, ip);
    // Digits, dots, colons and hex letters only.
    String::from_utf8(out).unwrap_or_else(|_| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_passes_through() {
        let (s, escaped) = escape(b"/usr/bin/ls -la \"x y\"");
        assert_eq!(s, "/usr/bin/ls -la \"x y\"");
        assert!(!escaped);
    }

    #[test]
    fn control_and_invalid_bytes_are_escaped_losslessly() {
        for input in [
            &b"a\nb"[..],
            b"\x1b[31mred",
            b"bad\xffbyte",
            b"back\\slash\x00",
            "caf\u{e9}\u{85}".as_bytes(),
        ] {
            let (s, escaped) = escape(input);
            assert!(escaped, "{input:?}");
            assert!(!s.chars().any(char::is_control), "{s:?}");
            assert_eq!(unescape(&s), input, "{s:?}");
        }
        assert_eq!(escape(b"a\nb").0, "a\\x0ab");
    }

    #[test]
    fn until_nul_trims_padding() {
        assert_eq!(until_nul(b"bash\0\0\0"), b"bash");
        assert_eq!(until_nul(b"full"), b"full");
    }

    #[test]
    fn ip_text_matches_display() {
        let mut ips: Vec<IpAddr> = vec![
            IpAddr::from([0, 0, 0, 0]),
            IpAddr::from([255, 255, 255, 255]),
            IpAddr::from([127, 0, 0, 1]),
            IpAddr::from([198, 51, 100, 7]),
            IpAddr::from([10, 0, 20, 100]),
            "::".parse().expect("v6"),
            "::1".parse().expect("v6"),
            "::ffff:127.0.0.1".parse().expect("v6"),
            "2001:db8::8a2e:370:7334".parse().expect("v6"),
        ];
        // Every octet value in every position.
        for b in 0..=255u8 {
            ips.push(IpAddr::from([
                b,
                b.wrapping_mul(7),
                b.wrapping_add(100),
                255 - b,
            ]));
        }
        for ip in ips {
            let mut out = b"x".to_vec();
            push_ip(&mut out, ip);
            assert_eq!(out, format!("x{ip}").into_bytes());
            assert_eq!(ip_string(ip), ip.to_string());
        }
    }
}
