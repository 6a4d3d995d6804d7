//! Real third-party SIP peers for sipline's interop tests, started and stopped from Rust.
//!
//! A dev-only crate (`publish = false`): other crates add it under `[dev-dependencies]` and
//! start what their tests talk to:
//!
//! - [`Kamailio`]: a registrar with digest authentication and a record-routing proxy,
//!   listening on 127.0.0.1 and ::1 over UDP, TCP, TLS, WebSocket and secure WebSocket,
//!   each on its own free port, with a test CA whose certificate a TLS client can trust.
//! - [`Sipp`]: sipp 3.6 running one of the scenarios shipped in `peers/sipp/` (an OPTIONS
//!   UAS, UASes that ignore the first copy of a request, an OPTIONS UAC for load and loss
//!   runs) or a scenario file of the caller's.
//!
//! Every peer runs in its own temporary directory (config, certificates, logs), is bound to
//! loopback only, and is stopped by PID (and its process group) when dropped. When a test
//! panics while a peer is alive, the directory is kept and its path printed, so the peer's
//! log can be read; `SIP_TESTPEERS_KEEP=1` keeps it always.
//!
//! The binaries come from Debian packages that `scripts/install-peers` installs. A test
//! calls [`require_peers`] first: a missing peer fails the test with a message that says how
//! to install it (the same locally and in CI; no test silently skips).
//!
//! ```no_run
//! use std::time::Duration;
//! use sip_testpeers::{require_peers, Kamailio, KamailioOptions, Sipp, Transport};
//!
//! require_peers();
//! let kamailio = Kamailio::start(KamailioOptions::new().user("alice", "alicepw"))?;
//! let registrar = kamailio.addr(Transport::Tls); // 127.0.0.1:PORT
//! let trust = kamailio.ca_cert_path(); // PEM of the test CA
//! # let _ = (registrar, trust);
//!
//! let mut uas = Sipp::options_uas()?; // answers OPTIONS on UDP 127.0.0.1
//! let target = uas.local_addr();
//! // ... send OPTIONS to `target` ...
//! let code = uas.terminate()?;
//! # let _ = (target, code, Duration::ZERO);
//! # Ok::<(), sip_testpeers::PeerError>(())
//! ```

mod baresip;
mod certs;
mod dns;
mod error;
mod kamailio;
mod phone;
mod pjsua;
mod ports;
mod process;
mod sipp;

use std::path::PathBuf;

pub use baresip::{AnswerMode, Baresip, BaresipOptions, Registration, BARESIP_MODULE_PATH};
pub use certs::TestCerts;
pub use dns::{DnsServer, DnsZone};
pub use error::PeerError;
pub use hickory_proto::rr::RecordType;
pub use kamailio::{Kamailio, KamailioOptions, KamailioPorts, Transport, User};
pub use phone::{EventKind, MediaState, PhoneEvent, RtpStats};
pub use pjsua::{
    pjsua2_installed, pjsua2_python, pjsua2_venv, Pjsua, PjsuaOptions, AGENT_SCRIPT, PJSUA2_VENV_DEFAULT,
    PJSUA2_VENV_ENV,
};
pub use sipp::{Scenario, Sipp, SippOptions, SippStats, SippTransport};

/// The binaries of the peers this crate starts, with the Debian package of each.
///
/// PJSIP is no binary on `PATH` but a virtualenv: [`require_peers`] checks it too
/// ([`pjsua2_installed`]).
pub const PEER_BINARIES: &[(&str, &str)] = &[
    ("kamailio", "kamailio"),
    ("kamcmd", "kamailio"),
    ("sipp", "sip-tester"),
    ("openssl", "openssl"),
    ("baresip", "baresip"),
];

/// Finds `binary` on `PATH`, as the shell would.
///
/// Returns [`PeerError::Missing`] naming the binary when no executable file of that name is
/// on `PATH`.
pub fn which(binary: &str) -> Result<PathBuf, PeerError> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(binary);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(PeerError::Missing(binary.to_string()))
}

/// The peer binaries of [`PEER_BINARIES`] that are not on `PATH`, and `"pjsua2"` when the
/// pjsua2 virtualenv ([`pjsua2_venv`]) is missing or has no `pjsua2` module.
pub fn missing_peers() -> Vec<&'static str> {
    let mut missing: Vec<&'static str> =
        PEER_BINARIES.iter().filter(|(binary, _)| which(binary).is_err()).map(|(binary, _)| *binary).collect();
    if !pjsua2_installed() {
        missing.push("pjsua2");
    }
    missing
}

/// Fails the calling test when a peer binary is missing.
///
/// Call it first in every test that starts a peer. Interop tests never skip: a missing peer
/// is a broken test machine, in CI (`CI=true`) as locally, and the panic message says which
/// binaries are missing and how to install them (`scripts/install-peers`, as root).
///
/// # Panics
///
/// When any binary of [`PEER_BINARIES`] is not on `PATH`.
pub fn require_peers() {
    let missing = missing_peers();
    if missing.is_empty() {
        return;
    }
    let mut packages: Vec<String> = PEER_BINARIES
        .iter()
        .filter(|(binary, _)| missing.contains(binary))
        .map(|(_, package)| package.to_string())
        .collect();
    packages.dedup();
    if missing.contains(&"pjsua2") {
        packages.push(format!(
            "the PyPI wheel pjsua2-python in a virtualenv at {} (${PJSUA2_VENV_ENV} overrides the path)",
            pjsua2_venv().display()
        ));
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    panic!(
        "SIP peers missing: {} (to install: {}). Install them with `scripts/install-peers` \
         as root (scripts/test does it). {}",
        missing.join(", "),
        packages.join(", "),
        if ci {
            "CI=true: the CI script must install them before the tests run."
        } else {
            "Interop tests do not skip when a peer is missing."
        }
    );
}
