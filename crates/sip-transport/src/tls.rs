//! rustls configuration: what a TLS client trusts and what a TLS server presents.

use crate::config::{Identity, TransportConfig, TrustRoots};
use crate::error::{TransportError, TransportErrorKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;

fn config_error(msg: String) -> TransportError {
    TransportError::new(TransportErrorKind::Config, msg)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let data = std::fs::read(path).map_err(|e| config_error(format!("cannot read {}: {e}", path.display())))?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut data.as_slice()).collect();
    let certs = certs.map_err(|e| config_error(format!("bad PEM in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(config_error(format!("no certificate in {}", path.display())));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TransportError> {
    let data = std::fs::read(path).map_err(|e| config_error(format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut data.as_slice())
        .map_err(|e| config_error(format!("bad PEM in {}: {e}", path.display())))?
        .ok_or_else(|| config_error(format!("no private key in {}", path.display())))
}

/// The client configuration: trust roots per [`TrustRoots`], an optional client certificate.
pub(crate) fn client_config(cfg: &TransportConfig) -> Result<Arc<rustls::ClientConfig>, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    let (system, file) = match &cfg.trust {
        TrustRoots::System => (true, None),
        TrustRoots::PemFile(p) => (false, Some(p)),
        TrustRoots::SystemAndPemFile(p) => (true, Some(p)),
    };
    if system {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::warn!(error = %e, "while loading the system's trusted certificates");
        }
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::debug!(added, ignored, "system trust roots");
    }
    if let Some(p) = file {
        for cert in load_certs(p)? {
            roots.add(cert).map_err(|e| config_error(format!("unusable CA certificate in {}: {e}", p.display())))?;
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS versions: {e}")))?
        .with_root_certificates(roots);
    let config = match &cfg.client_identity {
        Some(id) => builder
            .with_client_auth_cert(load_certs(&id.cert_chain)?, load_key(&id.private_key)?)
            .map_err(|e| config_error(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The server configuration presenting `identity`.
pub(crate) fn server_config(identity: &Identity) -> Result<Arc<rustls::ServerConfig>, TransportError> {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS versions: {e}")))?
        .with_no_client_auth()
        .with_single_cert(load_certs(&identity.cert_chain)?, load_key(&identity.private_key)?)
        .map_err(|e| config_error(format!("server certificate: {e}")))?;
    Ok(Arc::new(config))
}

/// The name a TLS client verifies the server certificate against: a DNS name or an IP.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, TransportError> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| TransportError::new(TransportErrorKind::Tls, format!("'{name}' is not a valid TLS server name")))
}

/// Explains a failed handshake in a user's words, naming the reason (unknown issuer, wrong
/// name, expired...).
pub(crate) fn handshake_error(peer: &str, e: &std::io::Error) -> TransportError {
    let reason = match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(c)) => format!("the server certificate is not valid: {c:?}"),
        Some(other) => other.to_string(),
        None => e.to_string(),
    };
    TransportError::new(TransportErrorKind::Tls, format!("TLS handshake with {peer} failed: {reason}"))
}
