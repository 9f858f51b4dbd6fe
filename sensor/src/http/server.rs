//! The listener: its own thread and runtime, a cap on concurrent connections, and deadlines on
//! reading the request and writing the answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tracing::{debug, warn};

use super::request::{self, RequestError, Route};
use super::{Readiness, State};
use crate::metrics::Metrics;

/// Where `--metrics-addr` listens unless told otherwise: loopback only, port 9760.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9760";

/// How long a closing connection drains what the client still sends (see `linger`).
const LINGER: Duration = Duration::from_millis(500);

/// Connections answered 503 at once can be at most this many at a time; beyond, new
/// connections are closed without an answer.
const MAX_BUSY_REPLIES: usize = 64;

/// Limits of the server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// Connections served at once; more are answered 503 and closed without reading.
    pub max_connections: usize,
    /// Largest request head accepted.
    pub max_request_bytes: usize,
    /// The whole request head must arrive within this, however it is trickled.
    pub read_timeout: Duration,
    /// The whole response must be taken by the client within this.
    pub write_timeout: Duration,
}

impl ServerConfig {
    /// Defaults suited to a Prometheus scrape every few seconds.
    pub fn new(addr: SocketAddr) -> ServerConfig {
        ServerConfig {
            addr,
            max_connections: 32,
            max_request_bytes: 8 * 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why binding failed.
        source: std::io::Error,
    },
    /// The server thread or its runtime could not start.
    #[error("starting the HTTP server thread: {0}")]
    Start(std::io::Error),
}

/// A running server. Dropping it (or [`Server::shutdown`]) stops it.
pub struct Server {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `config.addr` now (so a bad address is a start-up error) and serves on a new
    /// thread.
    pub fn spawn(
        config: ServerConfig,
        metrics: Arc<Metrics>,
        readiness: Arc<Readiness>,
    ) -> Result<Server, HttpError> {
        let bind = |source| HttpError::Bind {
            addr: config.addr,
            source,
        };
        let listener = std::net::TcpListener::bind(config.addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let local_addr = listener.local_addr().map_err(bind)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(HttpError::Start)?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("sensor-http".into())
            .spawn(move || {
                // Serving needs no capability; this thread starts before the main one drops.
                if let Err(err) = crate::privilege::drop_all_in_this_thread() {
                    warn!(%err, "HTTP server thread keeps its capabilities");
                }
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(listener) => {
                            tokio::select! {
                                () = serve(listener, config, metrics, readiness) => {}
                                _ = stopped => {}
                            }
                        }
                        Err(err) => warn!(%err, "HTTP listener unusable"),
                    }
                });
            })
            .map_err(HttpError::Start)?;
        Ok(Server {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, drops open connections and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
) {
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let busy_slots = Arc::new(Semaphore::new(MAX_BUSY_REPLIES));
    let config = Arc::new(config);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // EMFILE and friends: back off instead of spinning.
                debug!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
            // Answer and close at once, so the backlog keeps moving and a real scrape
            // queued behind idle connections is not left waiting.
            if let Ok(busy) = Arc::clone(&busy_slots).try_acquire_owned() {
                let write_timeout = config.write_timeout;
                tokio::spawn(async move {
                    reply_busy(stream, write_timeout).await;
                    drop(busy);
                });
            }
            continue;
        };
        let (config, metrics, readiness) = (
            Arc::clone(&config),
            Arc::clone(&metrics),
            Arc::clone(&readiness),
        );
        tokio::spawn(async move {
            if let Err(err) = handle(stream, &config, &metrics, &readiness).await {
                debug!(%peer, %err, "HTTP connection ended");
            }
            drop(permit);
        });
    }
}

async fn reply_busy(mut stream: TcpStream, write_timeout: Duration) {
    let busy = request::response(
        "503 Service Unavailable",
        "text/plain; charset=utf-8",
        "Retry-After: 1\r\n",
        b"too many connections\n",
    );
    if let Ok(Ok(())) = tokio::time::timeout(write_timeout, stream.write_all(&busy)).await {
        let _ = linger(&mut stream).await;
    }
}

/// Ends our side, then reads and discards what the client still sends for a moment: closing
/// with unread request bytes makes the kernel send a reset, which can destroy the answer
/// before the client reads it.
async fn linger(stream: &mut TcpStream) -> std::io::Result<()> {
    stream.shutdown().await?;
    let mut sink = [0u8; 1024];
    let mut left = 64 * 1024usize;
    let _ = tokio::time::timeout(LINGER, async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
    Ok(())
}

async fn handle(
    mut stream: TcpStream,
    config: &ServerConfig,
    metrics: &Metrics,
    readiness: &Readiness,
) -> std::io::Result<()> {
    let answer = match tokio::time::timeout(
        config.read_timeout,
        read_head(&mut stream, config.max_request_bytes),
    )
    .await
    {
        Err(_elapsed) => request::response(
            "408 Request Timeout",
            "text/plain; charset=utf-8",
            "",
            b"request not received in time\n",
        ),
        Ok(Err(err)) => return Err(err),
        Ok(Ok(Err(RequestError::TooLarge(_)))) => request::response(
            "431 Request Header Fields Too Large",
            "text/plain; charset=utf-8",
            "",
            b"request too large\n",
        ),
        Ok(Ok(Err(RequestError::Malformed))) => request::response(
            "400 Bad Request",
            "text/plain; charset=utf-8",
            "",
            b"malformed request\n",
        ),
        Ok(Ok(Ok(head))) => match request::parse(&head) {
            Ok(parsed) => answer(request::route(&parsed), metrics, readiness),
            Err(_) => request::response(
                "400 Bad Request",
                "text/plain; charset=utf-8",
                "",
                b"malformed request\n",
            ),
        },
    };
    match tokio::time::timeout(config.write_timeout, async {
        stream.write_all(&answer).await?;
        linger(&mut stream).await
    })
    .await
    {
        Ok(result) => result,
        Err(_elapsed) => Err(std::io::ErrorKind::TimedOut.into()),
    }
}

/// Reads until the end of the request head, at most `limit` bytes.
async fn read_head(
    stream: &mut TcpStream,
    limit: usize,
) -> std::io::Result<Result<Vec<u8>, RequestError>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Err(RequestError::Malformed));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if let Some(len) = request::head_len(&buf) {
            buf.truncate(len);
            return Ok(Ok(buf));
        }
        if buf.len() >= limit {
            return Ok(Err(RequestError::TooLarge(limit)));
        }
    }
}

fn answer(route: Route, metrics: &Metrics, readiness: &Readiness) -> Vec<u8> {
    const TEXT: &str = "text/plain; charset=utf-8";
    match route {
        Route::Metrics => {
            metrics.set_ready(readiness.get() == State::Ready);
            match metrics.encode() {
                Ok(body) => {
                    request::response("200 OK", Metrics::content_type(), "", body.as_bytes())
                }
                Err(err) => {
                    warn!(%err, "encoding metrics failed");
                    request::response("500 Internal Server Error", TEXT, "", b"encoding failed\n")
                }
            }
        }
        Route::Health => request::response("200 OK", TEXT, "", b"ok\n"),
        Route::Ready => {
            let state = readiness.get();
            let status = if state == State::Ready {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            request::response(status, TEXT, "", format!("{}\n", state.name()).as_bytes())
        }
        Route::NotFound => request::response("404 Not Found", TEXT, "", b"not found\n"),
        Route::MethodNotAllowed => request::response(
            "405 Method Not Allowed",
            TEXT,
            "Allow: GET\r\n",
            b"method not allowed\n",
        ),
    }
}
