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

/// What is not a network connection is not reported as one: a UDP disconnect (a connect to
/// `AF_UNSPEC`, after which the socket holds no destination) and connects of Unix-domain sockets,
/// successful or not. The kernel side takes a successful connect's destination from the socket,
/// so these are the cases where the socket alone must not be trusted.
#[test]
fn udp_disconnect_and_unix_connects_are_not_reported() -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::{UnixListener, UnixStream};

    if !require_root("udp_disconnect_and_unix_connects_are_not_reported") {
        return Ok(());
    }
    let me = std::process::id();
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    let first = UdpSocket::bind("127.0.0.1:0")?;
    let second = UdpSocket::bind("127.0.0.1:0")?;
    let udp = UdpSocket::bind("127.0.0.1:0")?;
    // The disconnect gives an autobound port back, so the socket is known by its fd.
    let udp_fd = i64::from(udp.as_raw_fd());
    udp.connect(first.local_addr()?)?;
    let unspec = libc::sockaddr {
        sa_family: libc::AF_UNSPEC as libc::sa_family_t,
        sa_data: [0; 14],
    };
    // SAFETY: `unspec` is a valid sockaddr for the duration of the call.
    let rc = unsafe {
        libc::connect(
            udp.as_raw_fd(),
            &raw const unspec,
            std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
        )
    };
    anyhow::ensure!(rc == 0, "disconnect: {}", std::io::Error::last_os_error());

    let dir = std::env::temp_dir().join(sensor_tests::unique("sensor-unix-connect"));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("listener.sock");
    let listener = UnixListener::bind(&path)?;
    let unix = UnixStream::connect(&path)?;
    let missing = UnixStream::connect(dir.join("missing.sock"));
    assert!(
        missing.is_err(),
        "a connect to a missing socket file succeeded"
    );
    let (_accepted, _) = listener.accept()?;

    // Marks the end: the events above are in the ring before this one.
    udp.connect(second.local_addr()?)?;
    sensor.wait_for(WAIT, |e| {
        is_action_of(e, "connect", me)
            && endpoint(e, "destination")
                == ends(second.local_addr().unwrap_or(SocketAddr::from(([0; 4], 0))))
    })?;
    let events = sensor.drain()?;
    let from_udp: Vec<(String, i64)> = events
        .iter()
        .filter(|e| is_action_of(e, "connect", me) && int(e, "sensor.network.fd") == Some(udp_fd))
        .map(|e| endpoint(e, "destination"))
        .collect();
    assert_eq!(
        from_udp,
        vec![ends(first.local_addr()?), ends(second.local_addr()?)],
        "the disconnect was reported as a connection"
    );
    let unix_fd = i64::from(unix.as_raw_fd());
    let from_unix: Vec<&Value> = events
        .iter()
        .filter(|e| is_action_of(e, "connect", me) && int(e, "sensor.network.fd") == Some(unix_fd))
        .collect();
    assert!(
        from_unix.is_empty(),
        "a Unix-domain connect was reported: {from_unix:?}"
    );
    drop((unix, listener));
    std::fs::remove_dir_all(&dir)?;
    sensor.stop()?;
    Ok(())
}

/// A connect is reported with the destination the kernel connected to, not with what the
/// caller's sockaddr holds by the time the syscall returns: another thread rewrites it while the
/// connect is blocked (its SYN dropped by a listener whose accept queue is full), and the event
/// still names the real port.
#[test]
fn a_sockaddr_rewritten_during_the_connect_does_not_change_the_destination() -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Instant;

    if !require_root("a_sockaddr_rewritten_during_the_connect_does_not_change_the_destination") {
        return Ok(());
    }
    let me = std::process::id();
    let mut sensor = Sensor::start(&["run", "--events", "-"])?;

    // A listener with a backlog of 0: one queued connection fills it, and the next SYN is
    // dropped until that one is accepted (the client retries after its 1 s initial RTO).
    let listener = tcp_socket()?;
    let mut addr = sockaddr_in([127, 0, 0, 1], 0);
    // SAFETY: `addr` is a valid sockaddr_in and outlives the calls; sizes are passed.
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    unsafe {
        anyhow::ensure!(
            libc::bind(listener.as_raw_fd(), (&raw const addr).cast(), len) == 0
                && libc::listen(listener.as_raw_fd(), 0) == 0
                && libc::getsockname(listener.as_raw_fd(), (&raw mut addr).cast(), &mut len) == 0,
            "listener: {}",
            std::io::Error::last_os_error()
        );
    }
    let port = u16::from_be(addr.sin_port);
    let listener = TcpListener::from(listener);
    let _queued = TcpStream::connect(("127.0.0.1", port))?;

    // The blocked client's sockaddr, as words another thread may rewrite: family and port in
    // the first, the address in the second.
    let fake_port: u16 = 9;
    let words: &'static [AtomicU32; 4] = Box::leak(Box::new([
        AtomicU32::new(u32::from(libc::AF_INET as u16) | (u32::from(port.to_be()) << 16)),
        AtomicU32::new(u32::from_ne_bytes([127, 0, 0, 1])),
        AtomicU32::new(0),
        AtomicU32::new(0),
    ]));
    let rewriter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        words[0].store(
            u32::from(libc::AF_INET as u16) | (u32::from(fake_port.to_be()) << 16),
            Ordering::SeqCst,
        );
        std::thread::sleep(Duration::from_millis(200));
        listener.accept().map(|(stream, _)| (stream, listener))
    });
    let client = tcp_socket()?;
    let started = Instant::now();
    // SAFETY: `words` is 16 bytes laid out as a sockaddr_in and lives for the program's life.
    let rc = unsafe { libc::connect(client.as_raw_fd(), words.as_ptr().cast(), 16) };
    let blocked = started.elapsed();
    anyhow::ensure!(rc == 0, "connect: {}", std::io::Error::last_os_error());
    let _accepted = rewriter
        .join()
        .map_err(|_| anyhow::anyhow!("rewriter thread panicked"))??;
    assert!(
        blocked >= Duration::from_millis(400),
        "the connect returned after {blocked:?}, before the rewrite: the test proves nothing"
    );
    let mut local = sockaddr_in([0; 4], 0);
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: as above.
    unsafe { libc::getsockname(client.as_raw_fd(), (&raw mut local).cast(), &mut len) };
    let local_port = i64::from(u16::from_be(local.sin_port));

    let event = sensor.wait_for(WAIT, |e| {
        is_action_of(e, "connect", me) && int(e, "source.port") == Some(local_port)
    })?;
    assert_eq!(
        endpoint(&event, "destination"),
        ("127.0.0.1".to_owned(), i64::from(port)),
        "{event}"
    );
    assert_eq!(int(&event, "sensor.network.result"), Some(0));
    sensor.stop()?;
    Ok(())
}

fn tcp_socket() -> anyhow::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket creation; the fd is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    anyhow::ensure!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a new fd owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

fn sockaddr_in(ip: [u8; 4], port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(ip),
        },
        sin_zero: [0; 8],
    }
}
