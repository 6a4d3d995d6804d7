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
//!   runs, INVITE UASes that fork, ring until cancelled, answer a re-INVITE with 491 or
//!   redirect, registrars that answer 423 or a stale nonce) or a scenario file of the
//!   caller's.
//! - [`Baresip`]: baresip 1.0, a real softphone (a 440 Hz tone as its microphone, PCMU/PCMA),
//!   driven over its `ctrl_tcp` JSON interface: [`dial`](Baresip::dial),
//!   [`accept`](Baresip::accept), [`hangup`](Baresip::hangup), [`hold`](Baresip::hold),
//!   [`resume`](Baresip::resume), [`rtp_stats`](Baresip::rtp_stats).
//! - [`Pjsua`]: PJSIP 2.15 (the `pjsua2-python` wheel) in a small Python agent
//!   (`peers/pjsua/agent.py`) driven over stdin/stdout JSON lines: [`call`](Pjsua::call),
//!   [`answer`](Pjsua::answer), [`hangup`](Pjsua::hangup), [`hold`](Pjsua::hold),
//!   [`resume`](Pjsua::resume), [`rtp_stats`](Pjsua::rtp_stats), and media-state events
//!   (active, local hold, remote hold).
//! - [`LossyWire`]: not a peer but a bad network path — two network namespaces joined by a
//!   user-space relay between TUN devices (`peers/lossy_wire.py`) that loses, duplicates
//!   and reorders packets at given rates, for SIP and RTP alike (the kernel here has no
//!   netem). [`SippOptions::in_netns`] runs sipp at one end.
//!
//! Both phones register with a registrar (a [`Kamailio`]) or run without one (reached at
//! their own address), answer manually or automatically ([`AnswerMode`]), and report what
//! happens as [`PhoneEvent`]s, awaited with a bounded `wait_for(EventKind, timeout)` that
//! consumes events in order (so a test's consecutive waits follow the call) and fails with
//! the last events when none comes.
//!
//! Every peer runs in its own temporary directory (config, certificates, logs), is bound to
//! loopback only, and is stopped by PID (and its process group) when dropped. When a test
//! panics while a peer is alive, the directory is kept and its path printed, so the peer's
//! log can be read; `SIP_TESTPEERS_KEEP=1` keeps it always.
//!
//! The binaries come from Debian packages that `scripts/install-peers` installs, PJSIP from
//! PyPI into a virtualenv (default `/opt/sipline-peers/pjsua2`, or `$SIPLINE_PJSUA2_VENV`). A test
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
//!
//! Two softphones calling each other through kamailio (see `tests/softphones.rs`):
//!
//! ```no_run
//! use std::time::Duration;
//! use sip_testpeers::*;
//!
//! require_peers();
//! let t = Duration::from_secs(10);
//! let kamailio = Kamailio::start(KamailioOptions::new().user("bob", "bobpw").user("carol", "carolpw"))?;
//! let registrar = kamailio.addr(Transport::Udp);
//! let bob = Baresip::start(BaresipOptions::new().register("bob", "bobpw", registrar))?; // registered
//! let carol = Pjsua::start(PjsuaOptions::new().register("carol", "carolpw", registrar))?;
//!
//! bob.dial(&carol.uri())?; // sip:carol@127.0.0.1:KAMAILIO_PORT
//! carol.wait_for(EventKind::Incoming, t)?;
//! carol.answer(200)?;
//! bob.wait_for(EventKind::Established, t)?;
//! carol.hold()?;
//! carol.wait_until(t, |e| *e == PhoneEvent::Media(MediaState::LocalHold))?;
//! carol.resume()?;
//! carol.wait_until(t, |e| *e == PhoneEvent::Media(MediaState::Active))?;
//! bob.hangup()?;
//! carol.wait_for(EventKind::Closed, t)?;
//! assert!(bob.rtp_stats().is_some_and(|s| s.both_ways(40)));
//! # Ok::<(), sip_testpeers::PeerError>(())
//! ```
//!
//! # Softphone pitfalls (found while writing this; see also `shared/PEERS.md`)
//!
//! - **baresip's events before the ctrl_tcp connection are lost**: an account in the
//!   `accounts` file registers at start-up, and its `REGISTER_OK` goes to nobody. So the
//!   accounts file is left empty and the account is added with the `uanew` command once
//!   connected; `uanew` registers at once.
//! - baresip needs `module_path /usr/lib/baresip/modules` in its config, or every module
//!   fails to load (`./g711.so: cannot open shared object file`) and it still says "ready".
//! - `hold`/`resume` are not in baresip's `/help` until a call is up (the menu registers its
//!   in-call commands then); over ctrl_tcp they work by their long names.
//! - baresip's `callstat` shows no packet counts in 1.0. Its RTP counters come (a) with every
//!   `CALL_RTCP` event, about every 5 s (`rtcp_stats.tx.sent` sent, `rtcp_stats.rx.sent`
//!   received), and (b) exactly, at the end of each call, in its log when `rtp_stats yes`
//!   (`packets: TX RX`). [`Baresip::rtp_stats`] uses (a) during a call and (b) after it.
//!   baresip stops sending while held (it answers `sendonly` with `recvonly`).
//! - baresip's `CALL_CLOSED` reason tells who hung up: "Connection reset by user" (this side),
//!   "Connection reset by peer" (a BYE came), or the status ("486 Busy Here").
//! - Debian's `baresip` recommends its GTK/X11/ffmpeg/gstreamer modules; `baresip-core` alone
//!   has every module a headless test needs: install with `--no-install-recommends`.
//! - pjlib prints its first log lines to standard output during `libCreate`, before the log
//!   config applies: the agent keeps the real stdout for its events and points fd 1 at stderr.
//! - PJSIP restarts a stream's RTP counters when a re-INVITE (hold, resume) replaces the
//!   stream: the agent polls `getStreamStat(0)` every 100 ms and sums over streams, so counts
//!   may miss up to 100 ms of packets at each re-INVITE.
//! - pjsua reports each media negotiation, so the same `Media` state often comes twice; wait
//!   for the state you want rather than counting events.
//! - The pjsua2 wheel is self-contained (manylinux, its own OpenSSL 1.0.2); it only needs the
//!   Python it was installed with. The virtualenv is made with `/usr/bin/python3`: a pyenv
//!   `python3` first on `PATH` would make a venv that a fresh machine does not have.

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
mod wire;

use std::path::PathBuf;

pub use baresip::{AnswerMode, Baresip, BaresipOptions, Registration, BARESIP_MODULE_PATH};
pub use certs::TestCerts;
pub use dns::{DnsServer, DnsZone};
pub use error::PeerError;
pub use hickory_proto::rr::RecordType;
pub use kamailio::{Kamailio, KamailioOptions, KamailioPorts, Transport, User};
pub use phone::{EventKind, MediaState, PeerSrtp, PhoneEvent, RtpStats};
pub use pjsua::{
    pjsua2_installed, pjsua2_python, pjsua2_venv, Pjsua, PjsuaOptions, AGENT_SCRIPT, PJSUA2_VENV_DEFAULT,
    PJSUA2_VENV_ENV,
};
pub use sipp::{Scenario, Sipp, SippOptions, SippStats, SippTransport};
pub use wire::{DirectionStats, End, LossyWire, WireOptions};

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
    ("tmux", "tmux"),
    ("tshark", "tshark"),
    ("svmap", "sipvicious"),
    ("svwar", "sipvicious"),
    ("svcrack", "sipvicious"),
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

/// Fails the calling test when a peer is missing.
///
/// Call it first in every test that starts a peer. Interop tests never skip: a missing peer
/// is a broken test machine, in CI (`CI=true`) as locally, and the panic message says which
/// peers are missing and how to install them (`scripts/install-peers`, as root).
///
/// # Panics
///
/// When any binary of [`PEER_BINARIES`] is not on `PATH`, or the pjsua2 virtualenv
/// ([`pjsua2_venv`]) has no `pjsua2` module.
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
