//! Parsing the request head and choosing what to answer. Only the request line matters: we
//! serve three read-only resources and every response closes the connection.

/// The parts of a request line we use.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    /// The method, as sent.
    pub method: &'a str,
    /// The path without its query string.
    pub path: &'a str,
}

/// Why a request could not be parsed.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request line is not `METHOD SP TARGET SP HTTP/x.y`.
    #[error("malformed request line")]
    Malformed,
    /// The head did not end within the size limit.
    #[error("request head larger than {0} bytes")]
    TooLarge(usize),
}

/// What to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /metrics`.
    Metrics,
    /// `GET /healthz`.
    Health,
    /// `GET /readyz`.
    Ready,
    /// A path we do not serve (404).
    NotFound,
    /// A method other than GET on a path we serve (405).
    MethodNotAllowed,
}

/// Length of the head (through the blank line) once `buf` holds all of it.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    // Tolerate bare LF line endings, as RFC 9112 allows recipients to.
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses the request line of a complete head.
pub fn parse(head: &[u8]) -> Result<Head<'_>, RequestError> {
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(RequestError::Malformed)?;
    let line = head.get(..line_end).ok_or(RequestError::Malformed)?;
    let line = std::str::from_utf8(line).map_err(|_| RequestError::Malformed)?;
    let mut parts = line.trim_end_matches('\r').split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(RequestError::Malformed);
    };
    let token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic());
    if !token(method) || !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Err(RequestError::Malformed);
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Ok(Head { method, path })
}

/// Chooses the answer to `head`.
pub fn route(head: &Head<'_>) -> Route {
    let resource = match head.path {
        "/metrics" => Route::Metrics,
        "/healthz" => Route::Health,
        "/readyz" => Route::Ready,
        _ => return Route::NotFound,
    };
    if head.method == "GET" {
        resource
    } else {
        Route::MethodNotAllowed
    }
}

/// A complete `Connection: close` response.
pub fn response(status: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::{Head, RequestError, Route, head_len, parse, route};

    #[test]
    fn routes_get_and_rejects_other_methods_and_paths() {
        let cases = [
            ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", Route::Metrics),
            ("GET /metrics?x=1 HTTP/1.0\r\n\r\n", Route::Metrics),
            ("GET /healthz HTTP/1.1\r\n\r\n", Route::Health),
            ("GET /readyz HTTP/1.1\r\n\r\n", Route::Ready),
            ("GET /nope HTTP/1.1\r\n\r\n", Route::NotFound),
            ("POST /metrics HTTP/1.1\r\n\r\n", Route::MethodNotAllowed),
            ("HEAD /readyz HTTP/1.1\r\n\r\n", Route::MethodNotAllowed),
            ("DELETE /other HTTP/1.1\r\n\r\n", Route::NotFound),
        ];
        for (raw, expected) in cases {
            let head = parse(raw.as_bytes()).expect(raw);
            assert_eq!(route(&head), expected, "{raw}");
        }
    }

    #[test]
    fn malformed_request_lines_are_errors_not_panics() {
        for raw in [
            &b"\n"[..],
            b"GET\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/2 extra\r\n\r\n",
            b"G\xffT /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics SMTP\r\n\r\n",
            b"no newline at all",
        ] {
            assert_eq!(parse(raw), Err(RequestError::Malformed), "{raw:?}");
        }
    }

    #[test]
    fn head_end_is_found_with_crlf_or_lf() {
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody"), Some(24));
        assert_eq!(head_len(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_len(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
        assert_eq!(
            parse(b"GET /readyz HTTP/1.1\n\n"),
            Ok(Head {
                method: "GET",
                path: "/readyz"
            })
        );
    }
}
