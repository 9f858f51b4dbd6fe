//! Issue 3: connect and accept capture on loopback: IPv4 and IPv6 TCP with both ends, a refused
//! connect, a UDP connect, and the accept side of a listener.

mod capture_support;

use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use capture_support::{int, is_action_of};
use sensor_tests::{Sensor, field_str, require_root};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn endpoint(doc: &Value, side: &str) -> (String, i64) {
    (
        field_str(doc, &format!("{side}.ip"))
            .unwrap_or_default()
            .to_owned(),
        int(doc, &format!("{side}.port")).unwrap_or(-1),
    )
}

fn ends(addr: SocketAddr) -> (String, i64) {
    (addr.ip().to_string(), i64::from(addr.port()))
}

/// Connects to a fresh listener on `host` and checks the connect and accept events.
fn tcp_pair(sensor: &mut Sensor, host: &str, network_type: &str) -> anyhow::Result<()> {
    let me = std::process::id();
    let listener = TcpListener::bind((host, 0))?;
    let server = listener.local_addr()?;
    let client = TcpStream::connect(server)?;
    let (_accepted, peer) = listener.accept()?;
    let local = client.local_addr()?;
    assert_eq!(peer, local);

    let connect = sensor.wait_for(WAIT, |e| {
        is_action_of(e, "connect", me) && endpoint(e, "destination") == ends(server)
    })?;
    assert_eq!(endpoint(&connect, "source"), ends(local), "{connect}");
    assert_eq!(field_str(&connect, "network.transport"), Some("tcp"));
    assert_eq!(field_str(&connect, "network.type"), Some(network_type));
    assert_eq!(field_str(&connect, "network.direction"), Some("egress"));
    assert_eq!(field_str(&connect, "event.outcome"), Some("success"));
    assert_eq!(int(&connect, "sensor.network.result"), Some(0));

    let accept = sensor.wait_for(WAIT, |e| {
        is_action_of(e, "accept", me) && endpoint(e, "destination") == ends(server)
    })?;
    assert_eq!(endpoint(&accept, "source"), ends(local), "{accept}");
    assert_eq!(field_str(&accept, "network.transport"), Some("tcp"));
    assert_eq!(field_str(&accept, "network.type"), Some(network_type));
    assert_eq!(field_str(&accept, "network.direction"), Some("ingress"));
    assert!(int(&accept, "sensor.network.fd").is_some_and(|fd| fd >= 0));
    Ok(())
}

#[test]
fn ipv4_and_ipv6_tcp_connect_and_accept() -> anyhow::Result<()> {
    if !require_root("ipv4_and_ipv6_tcp_connect_and_accept") {
        return Ok(());
    }
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;
    tcp_pair(&mut sensor, "127.0.0.1", "ipv4")?;
    tcp_pair(&mut sensor, "::1", "ipv6")?;
    sensor.stop()?;
    Ok(())
}

#[test]
fn refused_and_udp_connects() -> anyhow::Result<()> {
    if !require_root("refused_and_udp_connects") {
        return Ok(());
    }
    let me = std::process::id();
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    // A port that was just free: bind, note, close.
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let err = TcpStream::connect(closed).err();
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
    let refused = sensor.wait_for(WAIT, |e| {
        is_action_of(e, "connect", me) && endpoint(e, "destination") == ends(closed)
    })?;
    assert_eq!(field_str(&refused, "event.outcome"), Some("failure"));
    assert_eq!(int(&refused, "sensor.network.result"), Some(-111));
    assert_eq!(
        field_str(&refused, "sensor.network.errno"),
        Some("ECONNREFUSED")
    );
    assert_eq!(field_str(&refused, "network.transport"), Some("tcp"));

    let peer = UdpSocket::bind("127.0.0.1:0")?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    udp.connect(peer.local_addr()?)?;
    let event = sensor.wait_for(WAIT, |e| {
        is_action_of(e, "connect", me)
            && endpoint(e, "destination") == ends(peer.local_addr().unwrap_or(closed))
    })?;
    assert_eq!(
        field_str(&event, "network.transport"),
        Some("udp"),
        "{event}"
    );
    assert_eq!(field_str(&event, "network.type"), Some("ipv4"));
    assert_eq!(endpoint(&event, "source"), ends(udp.local_addr()?));
    assert_eq!(int(&event, "sensor.network.result"), Some(0));
    sensor.stop()?;
    Ok(())
}
