//! Destination syntax of `--events` and `--alerts`:
//!
//! | Form | Destination |
//! |------|-------------|
//! | `-`, `stdout` | standard output |
//! | `file:/path`, or any other string without a scheme | a file, appended, rotated |
//! | `syslog`, `syslog:unix:/dev/log` | RFC 5424 over a Unix datagram socket |
//! | `syslog:tcp:HOST:PORT` | RFC 5424 over TCP with octet-counting framing (RFC 6587) |
//! | `http://HOST[:PORT][/PATH]` | a webhook, batched POSTs, spooled on disk |
//! | `https://HOST[:PORT][/PATH]` | the same over TLS (rustls, server certificate verified) |

use std::path::PathBuf;

use super::OutputError;

/// Where documents go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file, appended to and rotated by size.
    File(PathBuf),
    /// Syslog over a Unix datagram socket (usually `/dev/log`).
    SyslogUnix(PathBuf),
    /// Syslog over TCP, `HOST:PORT`.
    SyslogTcp(String),
    /// An HTTP webhook.
    Webhook(WebhookUrl),
}

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    /// True for `https://`: the connection is TLS and the server certificate is verified
    /// against `host_name`.
    pub tls: bool,
    /// The host alone (no port, no IPv6 brackets): the name the certificate must carry.
    pub host_name: String,
    /// `HOST:PORT` to connect to.
    pub addr: String,
    /// The `Host` header value (as given, port included when it was).
    pub host: String,
    /// Request path, starting with `/`.
    pub path: String,
}

impl Destination {
    /// Parses one `--events`/`--alerts` value.
    pub fn parse(text: &str) -> Result<Destination, OutputError> {
        let bad = |reason| OutputError::BadDestination {
            dest: text.to_owned(),
            reason,
        };
        if text.is_empty() {
            return Err(bad("empty destination"));
        }
        if text == "-" || text == "stdout" {
            return Ok(Destination::Stdout);
        }
        if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err(bad("file: needs a path"));
            }
            return Ok(Destination::File(PathBuf::from(path)));
        }
        if text == "syslog" {
            return Ok(Destination::SyslogUnix(PathBuf::from("/dev/log")));
        }
        if let Some(rest) = text.strip_prefix("syslog:") {
            if let Some(path) = rest.strip_prefix("unix:") {
                if path.is_empty() {
                    return Err(bad("syslog:unix: needs a socket path"));
                }
                return Ok(Destination::SyslogUnix(PathBuf::from(path)));
            }
            if let Some(addr) = rest.strip_prefix("tcp:") {
                if !has_port(addr) {
                    return Err(bad("syslog:tcp: needs HOST:PORT"));
                }
                return Ok(Destination::SyslogTcp(addr.to_owned()));
            }
            return Err(bad(
                "syslog destinations are syslog:unix:PATH or syslog:tcp:HOST:PORT",
            ));
        }
        let scheme = [("http://", false, 80), ("https://", true, 443)]
            .into_iter()
            .find_map(|(prefix, tls, port)| Some((text.strip_prefix(prefix)?, tls, port)));
        if let Some((rest, tls, default_port)) = scheme {
            let (authority, path) = rest.find('/').map_or((rest, "/"), |i| rest.split_at(i));
            if authority.is_empty() || authority.contains('@') {
                return Err(bad("the URL needs a host (user info is not supported)"));
            }
            let addr = if has_port(authority) {
                authority.to_owned()
            } else {
                format!("{authority}:{default_port}")
            };
            let host_name = addr
                .rsplit_once(':')
                .map_or(authority, |(h, _)| h)
                .trim_start_matches('[')
                .trim_end_matches(']');
            if host_name.is_empty() {
                return Err(bad("the URL needs a host"));
            }
            return Ok(Destination::Webhook(WebhookUrl {
                tls,
                host_name: host_name.to_owned(),
                addr,
                host: authority.to_owned(),
                path: path.to_owned(),
            }));
        }
        if text.contains("://") {
            return Err(bad("unknown scheme"));
        }
        Ok(Destination::File(PathBuf::from(text)))
    }

    /// The `output` label of the output metrics: the kind of destination.
    pub fn kind(&self) -> &'static str {
        match self {
            Destination::Stdout => "stdout",
            Destination::File(_) => "file",
            Destination::SyslogUnix(_) | Destination::SyslogTcp(_) => "syslog",
            Destination::Webhook(_) => "webhook",
        }
    }
}

/// `HOST:PORT` or `[V6]:PORT` with a numeric port.
fn has_port(addr: &str) -> bool {
    addr.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let p = |s| Destination::parse(s).unwrap();
        assert_eq!(p("-"), Destination::Stdout);
        assert_eq!(
            p("/var/log/x.json"),
            Destination::File("/var/log/x.json".into())
        );
        assert_eq!(p("file:rel.json"), Destination::File("rel.json".into()));
        assert_eq!(p("syslog"), Destination::SyslogUnix("/dev/log".into()));
        assert_eq!(
            p("syslog:unix:/run/s"),
            Destination::SyslogUnix("/run/s".into())
        );
        assert_eq!(
            p("syslog:tcp:127.0.0.1:514"),
            Destination::SyslogTcp("127.0.0.1:514".into())
        );
        let Destination::Webhook(url) = p("http://127.0.0.1:8080/hook?x=1") else {
            panic!("not a webhook");
        };
        assert_eq!(url.addr, "127.0.0.1:8080");
        assert_eq!(url.path, "/hook?x=1");
        let Destination::Webhook(url) = p("http://example.invalid") else {
            panic!("not a webhook");
        };
        assert_eq!(
            (url.addr.as_str(), url.path.as_str()),
            ("example.invalid:80", "/")
        );
        assert!(!url.tls);
        let Destination::Webhook(url) = p("https://[::1]/h") else {
            panic!("not a webhook");
        };
        assert!(url.tls);
        assert_eq!(
            (url.addr.as_str(), url.host_name.as_str()),
            ("[::1]:443", "::1")
        );
        let Destination::Webhook(url) = p("https://siem.example.invalid:8443") else {
            panic!("not a webhook");
        };
        assert_eq!(url.host_name, "siem.example.invalid");
        assert_eq!(url.addr, "siem.example.invalid:8443");
    }

    #[test]
    fn rejects_bad_forms_clearly() {
        for bad in [
            "",
            "file:",
            "syslog:tcp:host",
            "syslog:udp:x:1",
            "https://",
            "https://u@h/",
            "ftp://x",
            "http:///p",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }
}
