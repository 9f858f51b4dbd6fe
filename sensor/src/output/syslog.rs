//! Syslog, RFC 5424, over a Unix datagram socket (one message per datagram, as `/dev/log`
//! expects) or TCP with octet-counting framing (RFC 6587 §3.4.1: `LEN SP MSG`).
//!
//! Each message is `<PRI>1 TIMESTAMP HOST sensor PID MSGID - JSON`: facility `local0`, the
//! severity from the document (events `informational`; alerts by level: critical → `crit`,
//! high → `err`, medium → `warning`, low → `notice`, informational → `info`), MSGID `event` or
//! `alert`, no structured data, and the ECS JSON document as MSG (no BOM: MSG-ANY).

use std::io::{self, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Doc, OutputError, Sink, SinkFailure, Stream};

/// Facility `local0` (RFC 5424 code 16).
const FACILITY: u8 = 16;
/// How long one send may block before the sink gives up on the destination.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Where syslog messages go.
#[derive(Debug, Clone)]
pub enum Transport {
    /// A Unix datagram socket such as `/dev/log`.
    Unix(PathBuf),
    /// A TCP collector, `HOST:PORT`.
    Tcp(String),
}

enum Conn {
    Unix(UnixDatagram),
    Tcp(io::BufWriter<TcpStream>),
}

/// Sends documents as RFC 5424 messages.
pub struct SyslogSink {
    transport: Transport,
    conn: Option<Conn>,
    header_host: String,
    pid: u32,
    buf: Vec<u8>,
}

impl SyslogSink {
    /// A sink for `transport`; connects lazily (and again after an error).
    pub fn new(transport: Transport) -> SyslogSink {
        SyslogSink {
            transport,
            conn: None,
            header_host: hostname(),
            pid: std::process::id(),
            buf: Vec::with_capacity(4096),
        }
    }

    fn connect(&self) -> io::Result<Conn> {
        match &self.transport {
            Transport::Unix(path) => {
                let sock = UnixDatagram::unbound()?;
                sock.connect(path)?;
                sock.set_write_timeout(Some(SEND_TIMEOUT))?;
                Ok(Conn::Unix(sock))
            }
            Transport::Tcp(addr) => {
                let addr = std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let stream = TcpStream::connect_timeout(&addr, SEND_TIMEOUT)?;
                stream.set_write_timeout(Some(SEND_TIMEOUT))?;
                Ok(Conn::Tcp(io::BufWriter::with_capacity(64 * 1024, stream)))
            }
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        match &mut self.conn {
            Some(Conn::Unix(sock)) => sock.send(&self.buf).map(drop),
            Some(Conn::Tcp(stream)) => {
                write!(stream, "{} ", self.buf.len())?;
                stream.write_all(&self.buf)
            }
            None => Ok(()),
        }
    }

    fn where_(&self) -> String {
        match &self.transport {
            Transport::Unix(p) => format!("sending to syslog socket {}", p.display()),
            Transport::Tcp(a) => format!("sending to syslog tcp:{a}"),
        }
    }
}

/// Formats one RFC 5424 message into `out` (cleared first).
pub fn format_message(out: &mut Vec<u8>, doc: &Doc, unix_ns: i128, host: &str, pid: u32) {
    out.clear();
    let pri = u16::from(FACILITY) * 8 + u16::from(severity(doc));
    let msgid = match doc.stream {
        Stream::Events => "event",
        Stream::Alerts => "alert",
    };
    // RFC 5424 allows at most 6 fractional digits: cut the nanoseconds to microseconds.
    let mut ts = crate::time::rfc3339(unix_ns);
    if ts.len() > 4 {
        ts.replace_range(ts.len() - 4..ts.len() - 1, "");
    }
    let _ = write!(out, "<{pri}>1 {ts} {host} sensor {pid} {msgid} - ");
    out.extend_from_slice(&doc.json);
}

/// Syslog severity of a document.
fn severity(doc: &Doc) -> u8 {
    match (doc.stream, doc.priority) {
        (Stream::Events, _) => 6,
        (Stream::Alerts, 5) => 2,
        (Stream::Alerts, 4) => 3,
        (Stream::Alerts, 3) => 4,
        (Stream::Alerts, 2) => 5,
        (Stream::Alerts, _) => 6,
    }
}

/// This host's name as RFC 5424 HOSTNAME: printable ASCII without spaces, or `-`.
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`, which outlives the call.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let name = if rc == 0 {
        crate::text::until_nul(&buf)
    } else {
        &[]
    };
    let clean: String = name
        .iter()
        .filter(|b| b.is_ascii_graphic())
        .map(|b| char::from(*b))
        .take(255)
        .collect();
    if clean.is_empty() { "-".into() } else { clean }
}

impl Sink for SyslogSink {
    fn write_batch(&mut self, docs: &[Doc]) -> Result<usize, SinkFailure> {
        let mut too_large = 0;
        for (written, doc) in docs.iter().enumerate() {
            let mut buf = std::mem::take(&mut self.buf);
            format_message(
                &mut buf,
                doc,
                crate::time::now_unix_ns(),
                &self.header_host,
                self.pid,
            );
            self.buf = buf;
            let mut result = self.send();
            if let Err(err) = &result {
                if err.raw_os_error() == Some(libc::EMSGSIZE) {
                    too_large += 1;
                    continue;
                }
                // One reconnect: the collector or journald may have restarted.
                self.conn = None;
                result = self.send();
            }
            if let Err(err) = result {
                self.conn = None;
                return Err(SinkFailure {
                    written,
                    reason: "write_error",
                    error: OutputError::io(self.where_(), err),
                });
            }
        }
        self.flush(Instant::now()).map_err(|error| SinkFailure {
            written: docs.len(),
            reason: "write_error",
            error,
        })?;
        Ok(too_large)
    }

    fn flush(&mut self, _deadline: Instant) -> Result<(), OutputError> {
        if let Some(Conn::Tcp(stream)) = &mut self.conn
            && let Err(err) = stream.flush()
        {
            self.conn = None;
            return Err(OutputError::io(self.where_(), err));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::io::Read;

    fn alert(priority: u8, json: &'static str) -> Doc {
        Doc {
            stream: Stream::Alerts,
            priority,
            json: Bytes::from_static(json.as_bytes()),
        }
    }

    #[test]
    fn rfc5424_golden() {
        let mut out = Vec::new();
        // 2026-11-26T04:24:12.123456789Z
        let ns = 1_795_667_052_123_456_789i128;
        format_message(&mut out, &alert(4, r#"{"a":1}"#), ns, "host-1", 42);
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"<131>1 2026-11-26T04:24:12.123456Z host-1 sensor 42 alert - {"a":1}"#
        );
        let event = Doc::event(&serde_json::json!({"b": "x"}));
        format_message(&mut out, &event, ns, "-", 7);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<134>1 2026-11-26T04:24:12.123456Z - sensor 7 event - {"b":"x"}"#
        );
    }

    #[test]
    fn tcp_uses_octet_counting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let reader = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut all = String::new();
            conn.read_to_string(&mut all).unwrap();
            all
        });
        let mut sink = SyslogSink::new(Transport::Tcp(addr));
        let docs = [alert(5, r#"{"id":"1"}"#), alert(1, r#"{"id":"2"}"#)];
        assert_eq!(sink.write_batch(&docs).unwrap(), 0);
        drop(sink);
        let all = reader.join().unwrap();
        // Parse the frames back: LEN SP MSG, repeated.
        let mut rest = all.as_str();
        let mut msgs = Vec::new();
        while !rest.is_empty() {
            let (len, tail) = rest.split_once(' ').unwrap();
            let len: usize = len.parse().unwrap();
            msgs.push(&tail[..len]);
            rest = &tail[len..];
        }
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].starts_with("<130>1 "), "{}", msgs[0]);
        assert!(msgs[0].ends_with(r#"alert - {"id":"1"}"#), "{}", msgs[0]);
        assert!(msgs[1].starts_with("<134>1 ") && msgs[1].ends_with(r#"alert - {"id":"2"}"#));
    }

    #[test]
    fn unix_datagram_one_message_each() {
        let dir = crate::output::spool::tests::temp_dir("syslog");
        let path = dir.join("log.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut sink = SyslogSink::new(Transport::Unix(path.clone()));
        let docs = [
            alert(3, r#"{"x":"a"}"#),
            Doc::event(&serde_json::json!({"y": 2})),
        ];
        assert_eq!(sink.write_batch(&docs).unwrap(), 0);
        let mut buf = [0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let first = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            first.starts_with("<132>1 ") && first.ends_with(r#"alert - {"x":"a"}"#),
            "{first}"
        );
        let n = server.recv(&mut buf).unwrap();
        let second = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            second.starts_with("<134>1 ") && second.ends_with(r#"event - {"y":2}"#),
            "{second}"
        );
        // The socket goes away: the batch fails and is reported, nothing panics.
        drop(server);
        std::fs::remove_file(&path).unwrap();
        let failure = sink.write_batch(&docs).unwrap_err();
        assert_eq!((failure.written, failure.reason), (0, "write_error"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
