//! The server in-process on a loopback port: no root needed.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Readiness, Server, ServerConfig, State};
use crate::metrics::{BuildInfo, Metrics};

fn server(read_timeout: Duration) -> (Server, Arc<Readiness>) {
    let metrics = Arc::new(Metrics::new(&BuildInfo::current()).expect("metrics"));
    let readiness = Arc::new(Readiness::new());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.read_timeout = read_timeout;
    config.max_connections = 2;
    let server = Server::spawn(config, metrics, Arc::clone(&readiness)).expect("spawn");
    (server, readiness)
}

fn ask(addr: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn readyz_follows_the_state_and_metrics_mirror_it() {
    let (server, readiness) = server(Duration::from_secs(5));
    let addr = server.local_addr();
    let loading = ask(addr, "GET /readyz HTTP/1.1\r\n\r\n");
    assert!(loading.starts_with("HTTP/1.1 503"), "{loading}");
    assert!(loading.ends_with("loading\n"), "{loading}");
    assert!(ask(addr, "GET /metrics HTTP/1.1\r\n\r\n").contains("\nsensor_ready 0\n"));
    readiness.set(State::Ready);
    assert!(ask(addr, "GET /readyz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
    assert!(ask(addr, "GET /metrics HTTP/1.1\r\n\r\n").contains("\nsensor_ready 1\n"));
    assert!(ask(addr, "GET /healthz HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
    assert!(ask(addr, "GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(ask(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    server.shutdown();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after shutdown"
    );
}

#[test]
fn silent_clients_time_out_and_excess_ones_are_refused_at_once() {
    let (server, _) = server(Duration::from_millis(300));
    let addr = server.local_addr();
    let silent: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let started = Instant::now();
    let refused = ask(addr, "GET /metrics HTTP/1.1\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(started.elapsed() < Duration::from_millis(250));
    for mut client in silent {
        let mut answer = String::new();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        client.read_to_string(&mut answer).expect("read");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
    // Slots come back once the server has seen the clients go.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !ask(addr, "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200") {
        assert!(Instant::now() < deadline, "slots not released");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn binding_a_taken_address_is_a_clear_error() {
    let (server, _) = server(Duration::from_secs(1));
    let metrics = Arc::new(Metrics::new(&BuildInfo::current()).expect("metrics"));
    let taken = Server::spawn(
        ServerConfig::new(server.local_addr()),
        metrics,
        Arc::new(Readiness::new()),
    );
    let err = taken.err().expect("second bind must fail").to_string();
    assert!(err.contains(&server.local_addr().to_string()), "{err}");
}
