//! A throw-away test CA and a server certificate for `localhost`, made with `openssl`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::run;
use crate::{which, PeerError};

/// The certificate files [`TestCerts::generate`] writes (all PEM).
///
/// The server certificate names `localhost`, `127.0.0.1` and `::1` (subjectAltName), is
/// valid for both server and client authentication, and is signed by the test CA: a TLS
/// client that trusts [`ca_cert`](Self::ca_cert) accepts it for any of those names. The keys
/// are ECDSA P-256; everything is valid for 7 days and lives in the directory given.
#[derive(Clone, Debug)]
pub struct TestCerts {
    /// The CA certificate: what a TLS client trusts.
    pub ca_cert: PathBuf,
    /// The CA private key.
    pub ca_key: PathBuf,
    /// The server certificate (leaf only).
    pub cert: PathBuf,
    /// The server private key (PKCS#8).
    pub key: PathBuf,
}

const TIMEOUT: Duration = Duration::from_secs(20);

impl TestCerts {
    /// Generates a CA and a server certificate into `dir` (files `ca.pem`, `ca.key`,
    /// `server.pem`, `server.key`), with the `openssl` binary.
    pub fn generate(dir: &Path) -> Result<TestCerts, PeerError> {
        let openssl = which("openssl")?;
        let certs = TestCerts {
            ca_cert: dir.join("ca.pem"),
            ca_key: dir.join("ca.key"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        let csr = dir.join("server.csr");
        let ext = dir.join("server.ext");
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth,clientAuth\n\
             subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n",
        )
        .map_err(|e| PeerError::io(format!("writing {}", ext.display()), e))?;

        let mut ca = Command::new(&openssl);
        ca.args(["req", "-x509", "-newkey", "ec"])
            .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .arg("-keyout")
            .arg(&certs.ca_key)
            .arg("-out")
            .arg(&certs.ca_cert)
            .args(["-days", "7", "-subj", "/CN=sip-testpeers test CA"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        run(ca, TIMEOUT)?;

        let mut req = Command::new(&openssl);
        req.args(["req", "-newkey", "ec"])
            .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
            .arg("-keyout")
            .arg(&certs.key)
            .arg("-out")
            .arg(&csr)
            .args(["-subj", "/CN=localhost"]);
        run(req, TIMEOUT)?;

        let mut sign = Command::new(&openssl);
        sign.args(["x509", "-req", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(&certs.ca_cert)
            .arg("-CAkey")
            .arg(&certs.ca_key)
            .args(["-set_serial", "2", "-days", "7", "-extfile"])
            .arg(&ext)
            .arg("-out")
            .arg(&certs.cert);
        run(sign, TIMEOUT)?;

        let mut verify = Command::new(&openssl);
        verify.arg("verify").arg("-CAfile").arg(&certs.ca_cert).arg(&certs.cert);
        run(verify, TIMEOUT)?;
        Ok(certs)
    }
}
