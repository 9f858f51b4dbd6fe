//! The smallest HTTP/1.1 client the webhook needs: one POST per connection
//! (`Connection: close`), a status line read back, every step under a timeout; over rustls for
//! `https://` URLs.
//!
//! Written here rather than pulled in because the request needs ~80 lines, while a client crate
//! brings an async stack we do not otherwise use (see docs/outputs.md). One connection per
//! batch costs a TLS handshake per batch; rustls resumes sessions from its in-memory ticket
//! cache, so after the first one these are abbreviated handshakes.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

use super::OutputError;
use super::dest::WebhookUrl;

/// Most bytes of a response head read before giving up on finding the status.
const MAX_HEAD: usize = 16 * 1024;

/// POSTs `body` and returns the response status code. `tls` is required for `https://` URLs
/// (the router builds it at startup).
pub(super) fn post(
    url: &WebhookUrl,
    tls: Option<&Arc<ClientConfig>>,
    content_type: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<u16, OutputError> {
    let timeout = timeout.max(Duration::from_millis(1));
    let io_err = |what: &str, e: io::Error| OutputError::io(format!("{what} {}", url.addr), e);
    let addr = url
        .addr
        .to_socket_addrs()
        .map_err(|e| io_err("resolving", e))?
        .next()
        .ok_or_else(|| {
            io_err(
                "resolving",
                io::Error::new(io::ErrorKind::NotFound, "no address"),
            )
        })?;
    let stream =
        TcpStream::connect_timeout(&addr, timeout).map_err(|e| io_err("connecting to", e))?;
    stream
        .set_write_timeout(Some(timeout))
        .and_then(|()| stream.set_read_timeout(Some(timeout)))
        .map_err(|e| io_err("configuring", e))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: sensor/{}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.host,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    if !url.tls {
        return exchange(stream, head.as_bytes(), body, &io_err);
    }
    let config = tls.ok_or_else(|| OutputError::Tls {
        addr: url.addr.clone(),
        reason: "no TLS configuration for an https:// URL".to_owned(),
    })?;
    let mut tls = handshake(url, config, stream)?;
    // No close_notify: the server closes after its answer, and only the status line is read.
    exchange(&mut tls, head.as_bytes(), body, &io_err)
}

/// Connects TLS over `tcp` and completes the handshake, so that a certificate problem is
/// reported as such rather than as a failed write.
fn handshake(
    url: &WebhookUrl,
    config: &Arc<ClientConfig>,
    mut tcp: TcpStream,
) -> Result<StreamOwned<ClientConnection, TcpStream>, OutputError> {
    let tls_err = |reason: String| OutputError::Tls {
        addr: url.addr.clone(),
        reason,
    };
    let name = ServerName::try_from(url.host_name.clone()).map_err(|e| {
        tls_err(format!(
            "{:?} is not a valid server name: {e}",
            url.host_name
        ))
    })?;
    let mut conn =
        ClientConnection::new(Arc::clone(config), name).map_err(|e| tls_err(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| {
            // rustls reports its own errors (a certificate the roots do not vouch for...) as
            // the io::Error's inner error; a plain I/O error is a connection problem.
            match e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                Some(tls) => tls_err(format!(
                    "handshake refused: {tls} (is the receiver's CA in the system store or \
                     --webhook-ca-file?)"
                )),
                None => OutputError::io(format!("TLS handshake with {}", url.addr), e),
            }
        })?;
    }
    Ok(StreamOwned::new(conn, tcp))
}

/// Sends the request and reads back the status.
fn exchange(
    mut stream: impl Read + Write,
    head: &[u8],
    body: &[u8],
    io_err: &dyn Fn(&str, io::Error) -> OutputError,
) -> Result<u16, OutputError> {
    stream
        .write_all(head)
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(|e| io_err("sending to", e))?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < MAX_HEAD {
        let n = stream
            .read(&mut chunk)
            .map_err(|e| io_err("reading from", e))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    parse_status(&buf).ok_or(OutputError::BadResponse)
}

/// The status code of `HTTP/1.x NNN ...`.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code: u16 = parts.next()?.parse().ok()?;
    (100..600).contains(&code).then_some(code)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(parse_status(b"HTTP/1.0 503\r\n\r\n"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-x\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 99999 x\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }
}
