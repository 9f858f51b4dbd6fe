//! TLS client settings of `https://` webhooks: rustls with the `ring` provider, the server
//! verified against the system's trusted roots plus an optional CA file, and an optional
//! client certificate for mutual TLS.
//!
//! The configuration is built once, at startup, so that a missing or unreadable file is a
//! startup error naming it rather than a delivery failure retried forever. There is no way to
//! skip verification: a receiver with a private CA is trusted by giving that CA's certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::debug;

/// The files of the TLS settings (`--webhook-ca-file`, `--webhook-client-cert`,
/// `--webhook-client-key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificates trusted in addition to the system roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain presented to the server (mutual TLS).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert` (PKCS#8, PKCS#1 or SEC1).
    pub client_key: Option<PathBuf>,
}

/// Errors building the TLS client configuration; each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds no usable PEM item.
    #[error("webhook TLS: {path}: {reason}")]
    File {
        /// The file as given.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// Only one of the client certificate and key was given.
    #[error(
        "webhook TLS: --webhook-client-cert and --webhook-client-key go together (mutual TLS needs both)"
    )]
    HalfClientIdentity,
    /// No trusted root at all: neither the system's nor a CA file.
    #[error(
        "webhook TLS: no trusted root certificates (system store: {system}); install the \
         ca-certificates package or give the receiver's CA with --webhook-ca-file"
    )]
    NoRoots {
        /// Why the system store gave nothing.
        system: String,
    },
    /// rustls refused the configuration (for example a key that does not match the
    /// certificate).
    #[error("webhook TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsFiles {
    /// The rustls client configuration these files describe.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        // A partly unreadable system store is common (stray files in /etc/ssl/certs) and not a
        // reason to refuse to start; only a store with nothing usable at all is.
        if let Some(first) = system.errors.first() {
            debug!(error = %first, errors = system.errors.len(), "reading the system trust store");
        }
        debug!(added, ignored, "system root certificates");
        if let Some(path) = &self.ca_file {
            let certs = read_certs(path)?;
            let (ok, bad) = roots.add_parsable_certificates(certs);
            if ok == 0 {
                return Err(file_error(
                    path,
                    format!("none of its {bad} certificates is usable as a trust anchor"),
                ));
            }
        }
        if roots.is_empty() {
            let system = system
                .errors
                .first()
                .map_or_else(|| "empty".to_owned(), ToString::to_string);
            return Err(TlsError::NoRoots { system });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let config = match (&self.client_cert, &self.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert)?;
                let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    file_error(
                        key,
                        format!("no PEM private key read ({e}); expected PKCS#8, PKCS#1 or SEC1"),
                    )
                })?;
                builder.with_client_auth_cert(chain, key_der)?
            }
            _ => return Err(TlsError::HalfClientIdentity),
        };
        Ok(Arc::new(config))
    }
}

/// Every certificate of a PEM file; an empty or unreadable file is an error naming it.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(path, format!("reading PEM certificates: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(
            path,
            "no certificate in it (expected PEM blocks `-----BEGIN CERTIFICATE-----`)".to_owned(),
        ));
    }
    Ok(certs)
}

fn file_error(path: &Path, reason: String) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on an unexpected error"
)]
mod tests {
    use super::*;

    #[test]
    fn system_roots_alone_are_enough() {
        // The CI machine has ca-certificates (curl and git depend on it).
        TlsFiles::default().client_config().unwrap();
    }

    #[test]
    fn bad_files_are_named() {
        let dir = crate::output::spool::tests::temp_dir("tls-files");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let missing = dir.join("missing.pem");
        for files in [
            TlsFiles {
                ca_file: Some(empty.clone()),
                ..TlsFiles::default()
            },
            TlsFiles {
                ca_file: Some(missing.clone()),
                ..TlsFiles::default()
            },
        ] {
            let err = files.client_config().unwrap_err().to_string();
            let path = files.ca_file.unwrap();
            assert!(err.contains(&path.display().to_string()), "{err}");
        }
        let half = TlsFiles {
            client_cert: Some(empty),
            ..TlsFiles::default()
        };
        assert!(matches!(
            half.client_config(),
            Err(TlsError::HalfClientIdentity)
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
