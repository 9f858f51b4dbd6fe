//! HTTPS webhook, in process: a rustls receiver with certificates generated at test time (a
//! private CA, a server certificate for 127.0.0.1, a client certificate for mutual TLS).
//!
//! Checked: delivery after an outage (every alert once, in order), a server whose CA is not
//! trusted is refused with an error that says what to do while its alerts stay spooled and are
//! delivered once the right CA is given, and mutual TLS.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{Value, json};

use super::tests_outage::{config, free_port, metrics, read_request};
use super::tls::TlsFiles;
use super::{Destination, Router, RouterConfig, http_client};

/// Certificates of one test, written as PEM files under `dir`.
struct Pki {
    dir: PathBuf,
    /// The CA that signed the server and client certificates.
    ca: PathBuf,
    /// A CA that signed nothing here.
    other_ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    server_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    server_key: Vec<u8>,
    ca_der: rustls::pki_types::CertificateDer<'static>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = super::spool::tests::temp_dir(tag);
        let ca = ca("sensor test CA");
        let other = ca_pem(&dir, "other-ca.pem", &self::ca("some other CA"));
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["sensor.test".to_owned()]).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "sensor");
        let client = client_params.signed_by(&client_key, &ca).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Pki {
            ca: ca_pem(&dir, "ca.pem", &ca),
            other_ca: other,
            client_cert: write("client.pem", client.pem()),
            client_key: write("client.key", client_key.serialize_pem()),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            ca_der: ca.der().clone(),
            dir,
        }
    }

    fn server_config(&self, mutual: bool) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if mutual {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        Arc::new(
            builder
                .with_single_cert(self.server_chain.clone(), key)
                .unwrap(),
        )
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ca_pem(dir: &Path, name: &str, ca: &CertifiedIssuer<'static, KeyPair>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, ca.pem()).unwrap();
    path
}

/// A loopback HTTPS receiver recording the `event.id` of every document it is POSTed, and how
/// many connections it accepted (including those whose handshake failed).
struct Receiver {
    ids: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    fn start(port: u16, config: Arc<ServerConfig>) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ids2, conns2, stop2) = (
            Arc::clone(&ids),
            Arc::clone(&connections),
            Arc::clone(&stop),
        );
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((tcp, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                conns2.fetch_add(1, Ordering::Relaxed);
                tcp.set_nonblocking(false).unwrap();
                tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let conn = ServerConnection::new(Arc::clone(&config)).unwrap();
                let mut tls = StreamOwned::new(conn, tcp);
                // A refused handshake ends here, with nothing read.
                let Some(body) = read_request(&mut tls) else {
                    continue;
                };
                let docs: Vec<Value> = serde_json::from_slice(&body).unwrap();
                ids2.lock().unwrap().extend(
                    docs.iter()
                        .map(|d| d["event"]["id"].as_str().unwrap().to_owned()),
                );
                let _ = std::io::Write::write_all(
                    &mut tls,
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                tls.conn.send_close_notify();
                let _ = std::io::Write::flush(&mut tls);
            }
        });
        Receiver {
            ids,
            connections,
            stop,
            thread: Some(thread),
        }
    }

    fn ids(&self) -> Vec<String> {
        self.ids.lock().unwrap().clone()
    }

    /// Waits until `n` documents arrived (or 20 s passed) and returns them.
    fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.ids().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.ids()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

fn https_config(port: u16, spool: &Path, tls: TlsFiles) -> RouterConfig {
    let mut c = config(port, spool);
    c.alerts = vec![Destination::parse(&format!("https://127.0.0.1:{port}/hook")).unwrap()];
    c.webhook_tls = tls;
    c
}

fn trusting(ca: &Path) -> TlsFiles {
    TlsFiles {
        ca_file: Some(ca.to_owned()),
        ..TlsFiles::default()
    }
}

/// Sends `n` alerts and returns their ids.
fn send(router: &Router, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let mut doc = json!({"event": {"kind": "alert"}, "rule": {"level": "high"}, "seq": i});
            router.alert(&mut doc);
            doc["event"]["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn https_delivers_every_alert_once_in_order_after_an_outage() {
    let pki = Pki::new("tls-outage");
    let port = free_port();
    let spool = pki.dir.join("spool");
    let router = Router::start(&https_config(port, &spool, trusting(&pki.ca)), metrics()).unwrap();
    // The receiver is down while the first half is produced.
    let mut sent = send(&router, 60);
    std::thread::sleep(Duration::from_millis(600));
    let receiver = Receiver::start(port, pki.server_config(false));
    sent.extend(send(&router, 60));
    let got = receiver.wait_for(sent.len());
    assert!(router.shutdown(Duration::from_secs(5)));
    assert_eq!(got, sent, "every alert exactly once, in order, over TLS");
}

#[test]
fn untrusted_server_is_refused_and_its_alerts_stay_spooled() {
    let pki = Pki::new("tls-wrong-ca");
    let port = free_port();
    let spool = pki.dir.join("spool");
    let receiver = Receiver::start(port, pki.server_config(false));

    // The error of one attempt says what went wrong and what to do.
    let url = match Destination::parse(&format!("https://127.0.0.1:{port}/hook")).unwrap() {
        Destination::Webhook(url) => url,
        other => panic!("{other:?}"),
    };
    let wrong = trusting(&pki.other_ca).client_config().unwrap();
    let err = http_client::post(
        &url,
        Some(&wrong),
        "application/json",
        b"[]",
        Duration::from_secs(2),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("127.0.0.1"), "{err}");
    assert!(err.contains("--webhook-ca-file"), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // Trusting the wrong CA: handshakes are attempted and refused, nothing is delivered.
    let router = Router::start(
        &https_config(port, &spool, trusting(&pki.other_ca)),
        metrics(),
    )
    .unwrap();
    let sent = send(&router, 40);
    let start = Instant::now();
    while receiver.connections.load(Ordering::Relaxed) < 3
        && start.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        receiver.connections.load(Ordering::Relaxed) >= 3,
        "the sender should retry"
    );
    assert!(router.shutdown(Duration::from_secs(2)));
    assert!(
        receiver.ids().is_empty(),
        "nothing may reach an untrusted server"
    );

    // The alerts were spooled, not lost: with the right CA they are delivered, once, in order.
    let router = Router::start(&https_config(port, &spool, trusting(&pki.ca)), metrics()).unwrap();
    let got = receiver.wait_for(sent.len());
    assert!(router.shutdown(Duration::from_secs(5)));
    assert_eq!(got, sent);
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let pki = Pki::new("tls-mutual");
    let port = free_port();
    let receiver = Receiver::start(port, pki.server_config(true));
    let url = match Destination::parse(&format!("https://127.0.0.1:{port}/hook")).unwrap() {
        Destination::Webhook(url) => url,
        other => panic!("{other:?}"),
    };
    let post = |files: &TlsFiles| {
        let config = files.client_config().unwrap();
        http_client::post(
            &url,
            Some(&config),
            "application/json",
            b"[]",
            Duration::from_secs(2),
        )
    };
    assert!(
        post(&trusting(&pki.ca)).is_err(),
        "no client certificate: refused"
    );
    let mutual = TlsFiles {
        ca_file: Some(pki.ca.clone()),
        client_cert: Some(pki.client_cert.clone()),
        client_key: Some(pki.client_key.clone()),
    };
    assert_eq!(post(&mutual).unwrap(), 200);
    drop(receiver);
}
