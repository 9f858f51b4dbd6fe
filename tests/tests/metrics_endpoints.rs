//! Issue 7: the HTTP endpoints answer what they should, and slow or hostile clients stall
//! neither a concurrent scrape nor the event pipeline.

mod metrics_support;

use std::io::Write as _;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use metrics_support::{exchange, get, start_sensor};
use sensor_tests::{field_str, require_root, unique};

#[test]
fn endpoints_answer_and_reject_unknown_paths_and_methods() -> anyhow::Result<()> {
    if !require_root("endpoints_answer_and_reject_unknown_paths_and_methods") {
        return Ok(());
    }
    let (sensor, addr) = start_sensor()?;
    assert_eq!(get(addr, "/healthz")?, (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "/readyz")?, (200, "ready\n".to_owned()));
    let (status, body) = get(addr, "/metrics?debug=1")?;
    assert_eq!(status, 200);
    assert!(body.contains("sensor_ready 1"), "{body}");
    for path in ["/", "/metricsx", "/metrics/", "/../etc/passwd", "/%00"] {
        assert_eq!(get(addr, path)?.0, 404, "{path}");
    }
    for method in ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"] {
        let request = format!("{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        let (status, head, _) = exchange(addr, request.as_bytes())?;
        assert_eq!(status, 405, "{method}: {head}");
        assert!(head.contains("Allow: GET"), "{head}");
    }
    let (status, _, _) = exchange(addr, b"\x16\x03\x01 garbage\r\n\r\n")?;
    assert_eq!(status, 400);
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    // The server may close before reading everything; either way it must not be a 200.
    match exchange(addr, huge.as_bytes()) {
        Ok((status, _, _)) => assert_eq!(status, 431),
        Err(err) => eprintln!("oversized request cut off: {err}"),
    }
    sensor.stop()?;
    Ok(())
}

#[test]
fn idle_and_trickling_clients_stall_neither_scrapes_nor_events() -> anyhow::Result<()> {
    if !require_root("idle_and_trickling_clients_stall_neither_scrapes_nor_events") {
        return Ok(());
    }
    let (mut sensor, addr) = start_sensor()?;

    // A client that trickles a request one byte every 200 ms, which would never end: the
    // server must cut it off at its read deadline. Returns what the server answered, and when.
    let trickler = std::thread::spawn(move || -> std::io::Result<(String, Duration)> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_millis(200)))?;
        let started = Instant::now();
        let mut answer = Vec::new();
        let mut chunk = [0u8; 512];
        for b in b"GET /metrics HTTP/1.1\r\nX-Slow: "
            .iter()
            .chain(std::iter::repeat(&b'a'))
        {
            if started.elapsed() > Duration::from_secs(15) || stream.write_all(&[*b]).is_err() {
                break;
            }
            match std::io::Read::read(&mut stream, &mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&chunk[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => break,
            }
        }
        Ok((
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        ))
    });
    std::thread::sleep(Duration::from_millis(300));
    // Clients that connect and send nothing, more than the server serves at once.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(addr))
        .collect::<Result<_, _>>()?;
    std::thread::sleep(Duration::from_millis(300));

    // A scrape is answered at once: served, or refused with 503 while the slots are full,
    // never left hanging.
    let started = Instant::now();
    let (status, _) = get(addr, "/metrics")?;
    assert!(status == 200 || status == 503, "unexpected status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "scrape took {:?} behind idle clients",
        started.elapsed()
    );

    // Events still flow while the idle clients hold their connections.
    let name = unique("metrics-busy-");
    let program = std::env::temp_dir().join(&name);
    std::fs::copy("/bin/true", &program)?;
    assert!(Command::new(&program).status()?.success());
    let wanted = program.to_string_lossy().into_owned();
    sensor.wait_for(Duration::from_secs(5), |e| {
        field_str(e, "process.executable") == Some(wanted.as_str())
    })?;
    std::fs::remove_file(&program)?;

    // The read deadline (5 s) frees the slots: idle clients get 408 and scrapes are served.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = get(addr, "/metrics")?;
        if status == 200 {
            assert!(body.contains("sensor_events_total{type=\"exec\"}"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "scrapes still refused after 10 s"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut first = idle.into_iter().next().expect("an idle client");
    first.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut first, &mut answer)?;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let (answer, after) = trickler.join().expect("trickler thread")?;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "trickler got {answer:?}"
    );
    assert!(
        after < Duration::from_secs(8),
        "trickler was cut off only after {after:?}"
    );
    sensor.stop()?;
    Ok(())
}
