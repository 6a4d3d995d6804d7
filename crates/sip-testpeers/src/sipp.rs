//! sipp 3.6 running the scenarios of `peers/sipp/`, or a scenario file of the caller's.

use std::fmt;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::kamailio::keep_or_remove;
use crate::ports::{free_ports, port_bound};
use crate::process::{exit_code, tail, PeerProcess};
use crate::{which, PeerError};

/// A sipp scenario: one of the files in `peers/sipp/`, or a file of the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// `options_uas.xml`: answers every OPTIONS with 200 OK (one call per Call-ID).
    OptionsUas,
    /// `options_uas_drop_first.xml`: ignores the first copy of each OPTIONS and answers its
    /// retransmission with 200 OK. UDP only; run with `-nr` (added automatically).
    OptionsUasDropFirst,
    /// `invite_uas_drop_first.xml`: ignores the first copy of each INVITE, answers the
    /// retransmission with 486 Busy Here and expects its ACK. UDP only; `-nr` added.
    InviteUasDropFirst,
    /// `options_uac.xml`: sends OPTIONS (one per call) to the remote address and expects 200.
    OptionsUac,
    /// `invite_uas_answer.xml`: answers each INVITE with 180 and 200 (SDP, PCMU), takes the
    /// ACK, answers the BYE.
    InviteUasAnswer,
    /// `invite_uas_fork.xml`: a forking proxy's answer: 180 with To tag `forkA`, 180 with
    /// `forkB` (two early dialogs), then 200 from `forkB` (Contact user `forkB`); expects the
    /// ACK and later the BYE.
    InviteUasFork,
    /// `invite_uas_fork_two_200.xml`: as [`InviteUasFork`](Self::InviteUasFork), then a late
    /// 200 from `forkA` too, which the caller must ACK and end with a BYE; the call with
    /// `forkB` goes on until its BYE.
    InviteUasForkTwo200,
    /// `invite_uas_cancel.xml`: rings (180) and never answers; answers the CANCEL with 200 and
    /// the INVITE with 487, expects the 487's ACK.
    InviteUasCancel,
    /// `invite_uas_reinvite_491.xml`: answers the INVITE, meets the first re-INVITE with 491
    /// Request Pending (glare), accepts the retried one (SDP `recvonly`), answers the BYE.
    InviteUasReinvite491,
    /// `invite_uas_reinvite_crossing.xml`: a real glare: answers the INVITE, then meets the
    /// first re-INVITE with a re-INVITE of its own (expecting 491 and ACKing it) before
    /// answering the first with 491; accepts the retried one (SDP `recvonly`), answers the
    /// BYE.
    InviteUasReinviteCrossing,
    /// `invite_uas_redirect.xml`: answers each INVITE with 302 Moved Temporarily to
    /// `<sip:target@HOST:PORT>`, the address given with [`SippOptions::set`]`("target", ..)`.
    InviteUasRedirect,
    /// `register_uas_423.xml`: a registrar: the REGISTER asking for 60 s gets 423 with
    /// `Min-Expires: 120`, one asking for 120 gets 200, one with `Expires: 0` gets 200. `-nd`
    /// added.
    RegisterUas423,
    /// `register_uas_stale_nonce.xml`: a registrar (user `alice`, password `alicepw`, realm
    /// `sipline.test`): 401, the authorized REGISTER checked and challenged again with
    /// `stale=true` and a new nonce, the next one checked and accepted (200), then the
    /// unregistration accepted. `-nd` added.
    RegisterUasStaleNonce,
    /// A scenario file of the caller's (`-sf PATH`); a UAS unless a remote is given.
    File(PathBuf),
}

impl Scenario {
    /// The scenario's name (its file name without `.xml`).
    pub fn name(&self) -> String {
        match self {
            Scenario::OptionsUas => "options_uas".into(),
            Scenario::OptionsUasDropFirst => "options_uas_drop_first".into(),
            Scenario::InviteUasDropFirst => "invite_uas_drop_first".into(),
            Scenario::OptionsUac => "options_uac".into(),
            Scenario::InviteUasAnswer => "invite_uas_answer".into(),
            Scenario::InviteUasFork => "invite_uas_fork".into(),
            Scenario::InviteUasForkTwo200 => "invite_uas_fork_two_200".into(),
            Scenario::InviteUasCancel => "invite_uas_cancel".into(),
            Scenario::InviteUasReinvite491 => "invite_uas_reinvite_491".into(),
            Scenario::InviteUasReinviteCrossing => "invite_uas_reinvite_crossing".into(),
            Scenario::InviteUasRedirect => "invite_uas_redirect".into(),
            Scenario::RegisterUas423 => "register_uas_423".into(),
            Scenario::RegisterUasStaleNonce => "register_uas_stale_nonce".into(),
            Scenario::File(path) => {
                path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into())
            }
        }
    }

    /// The XML text of a shipped scenario (`None` for [`Scenario::File`]).
    pub fn xml(&self) -> Option<&'static str> {
        match self {
            Scenario::OptionsUas => Some(include_str!("../peers/sipp/options_uas.xml")),
            Scenario::OptionsUasDropFirst => Some(include_str!("../peers/sipp/options_uas_drop_first.xml")),
            Scenario::InviteUasDropFirst => Some(include_str!("../peers/sipp/invite_uas_drop_first.xml")),
            Scenario::OptionsUac => Some(include_str!("../peers/sipp/options_uac.xml")),
            Scenario::InviteUasAnswer => Some(include_str!("../peers/sipp/invite_uas_answer.xml")),
            Scenario::InviteUasFork => Some(include_str!("../peers/sipp/invite_uas_fork.xml")),
            Scenario::InviteUasForkTwo200 => Some(include_str!("../peers/sipp/invite_uas_fork_two_200.xml")),
            Scenario::InviteUasCancel => Some(include_str!("../peers/sipp/invite_uas_cancel.xml")),
            Scenario::InviteUasReinvite491 => Some(include_str!("../peers/sipp/invite_uas_reinvite_491.xml")),
            Scenario::InviteUasReinviteCrossing => Some(include_str!("../peers/sipp/invite_uas_reinvite_crossing.xml")),
            Scenario::InviteUasRedirect => Some(include_str!("../peers/sipp/invite_uas_redirect.xml")),
            Scenario::RegisterUas423 => Some(include_str!("../peers/sipp/register_uas_423.xml")),
            Scenario::RegisterUasStaleNonce => Some(include_str!("../peers/sipp/register_uas_stale_nonce.xml")),
            Scenario::File(_) => None,
        }
    }

    /// Whether the scenario starts by receiving (a server).
    pub fn is_uas(&self) -> bool {
        !matches!(self, Scenario::OptionsUac)
    }

    /// Whether it needs `-nr`: two `<recv>` steps for the two copies of one request only
    /// work with sipp's retransmission handling off (see the scenario's comment).
    fn needs_no_retransmission(&self) -> bool {
        matches!(self, Scenario::OptionsUasDropFirst | Scenario::InviteUasDropFirst)
    }

    /// Whether it is a registrar, run with `-nd`: without it sipp would end an aborted
    /// REGISTER "call" with a BYE of its own (PEERS.md).
    fn is_registrar(&self) -> bool {
        matches!(self, Scenario::RegisterUas423 | Scenario::RegisterUasStaleNonce)
    }

    /// Every scenario shipped in `peers/sipp/`.
    pub fn shipped() -> Vec<Scenario> {
        vec![
            Scenario::OptionsUas,
            Scenario::OptionsUasDropFirst,
            Scenario::InviteUasDropFirst,
            Scenario::OptionsUac,
            Scenario::InviteUasAnswer,
            Scenario::InviteUasFork,
            Scenario::InviteUasForkTwo200,
            Scenario::InviteUasCancel,
            Scenario::InviteUasReinvite491,
            Scenario::InviteUasReinviteCrossing,
            Scenario::InviteUasRedirect,
            Scenario::RegisterUas423,
            Scenario::RegisterUasStaleNonce,
        ]
    }
}

/// The transport sipp uses (`-t u1` or `-t t1`: one socket for all calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SippTransport {
    /// UDP, one socket.
    Udp,
    /// TCP, one connection.
    Tcp,
}

/// How [`Sipp::start`] runs sipp. Build it with [`SippOptions::uas`] or [`SippOptions::uac`].
#[derive(Clone, Debug)]
pub struct SippOptions {
    /// The scenario.
    pub scenario: Scenario,
    /// UDP (default) or TCP.
    pub transport: SippTransport,
    /// The loopback address sipp binds (`-i`): 127.0.0.1 by default, ::1 for IPv6.
    pub local_ip: IpAddr,
    /// The port sipp binds (`-p`); a free one is picked when `None`. (sipp's own default is
    /// 5060, or the next free port up from it: never left to sipp.)
    pub local_port: Option<u16>,
    /// Where a UAC sends its requests (a loopback address).
    pub remote: Option<SocketAddr>,
    /// `-m`: exit after this many calls (transactions, for the OPTIONS scenarios) have
    /// ended. Without it a UAS runs until stopped and a UAC keeps calling.
    pub calls: Option<u64>,
    /// `-r`: calls started per second by a UAC (sipp's default is 10).
    pub rate: Option<f64>,
    /// `-l`: most calls open at once.
    pub limit: Option<u64>,
    /// `-lost`: the percentage of scenario messages sipp drops at random, sent and received
    /// (see `options_uac.xml`).
    pub lost: Option<u8>,
    /// `-d`: the length of a `<pause/>` in milliseconds. In `options_uas.xml` it is how long
    /// a transaction stays to answer retransmissions after its 200 (default 0).
    pub pause_ms: Option<u64>,
    /// `-s`: the user part of the Request-URI a UAC sends to (`[service]`).
    pub service: Option<String>,
    /// Further command-line arguments, appended last.
    pub args: Vec<String>,
    /// How long [`Sipp::start`] waits for a UAS to bind its port. 10 s by default.
    pub startup_timeout: Duration,
    /// Run sipp inside this network namespace (`ip netns exec`), one the test made itself
    /// (a [`LossyWire`](crate::LossyWire) end): its addresses there need not be loopback.
    pub netns: Option<String>,
}

impl SippOptions {
    /// A server on 127.0.0.1, a free UDP port.
    pub fn uas(scenario: Scenario) -> Self {
        SippOptions {
            scenario,
            transport: SippTransport::Udp,
            local_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_port: None,
            remote: None,
            calls: None,
            rate: None,
            limit: None,
            lost: None,
            pause_ms: None,
            service: None,
            args: Vec::new(),
            startup_timeout: Duration::from_secs(10),
            netns: None,
        }
    }

    /// A client sending to `remote` (a loopback address), from the loopback address of the
    /// same family.
    pub fn uac(scenario: Scenario, remote: SocketAddr) -> Self {
        let local_ip = match remote.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        };
        SippOptions { remote: Some(remote), local_ip, ..SippOptions::uas(scenario) }
    }

    /// Sets [`transport`](Self::transport).
    pub fn transport(mut self, transport: SippTransport) -> Self {
        self.transport = transport;
        self
    }

    /// Sets [`local_ip`](Self::local_ip) (must be a loopback address).
    pub fn local_ip(mut self, ip: IpAddr) -> Self {
        self.local_ip = ip;
        self
    }

    /// Sets [`local_port`](Self::local_port).
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = Some(port);
        self
    }

    /// Sets [`calls`](Self::calls) (`-m`).
    pub fn calls(mut self, calls: u64) -> Self {
        self.calls = Some(calls);
        self
    }

    /// Sets [`rate`](Self::rate) (`-r`, per second).
    pub fn rate(mut self, per_second: f64) -> Self {
        self.rate = Some(per_second);
        self
    }

    /// Sets [`limit`](Self::limit) (`-l`).
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Sets [`lost`](Self::lost) (`-lost`, percent).
    pub fn lost(mut self, percent: u8) -> Self {
        self.lost = Some(percent);
        self
    }

    /// Sets [`pause_ms`](Self::pause_ms) (`-d`).
    pub fn pause_ms(mut self, ms: u64) -> Self {
        self.pause_ms = Some(ms);
        self
    }

    /// Sets [`service`](Self::service) (`-s`).
    pub fn service(mut self, user: impl Into<String>) -> Self {
        self.service = Some(user.into());
        self
    }

    /// Sets the scenario's global variable `name` to `value` (`-set NAME VALUE`; the
    /// scenario must declare it with `<Global variables="NAME"/>`).
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.extend(["-set".to_owned(), name.into(), value.into()]);
        self
    }

    /// Echoes RTP (`-rtp_echo`): whatever arrives on the media port (`[media_port]` in the
    /// scenario, a free one: `-mp`) or two above it goes back to its sender, so a UA that
    /// sends to the address a scenario's SDP names hears itself.
    pub fn rtp_echo(mut self) -> Result<Self, PeerError> {
        let port = crate::ports::free_port_run(4)?;
        self.args.extend(["-mp".to_owned(), port.to_string(), "-rtp_echo".to_owned()]);
        Ok(self)
    }

    /// Sets [`netns`](Self::netns).
    pub fn in_netns(mut self, name: impl Into<String>) -> Self {
        self.netns = Some(name.into());
        self
    }

    /// Appends a command-line argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    fn validate(&self) -> Result<(), PeerError> {
        // Inside a namespace of the test's own, every address is the test's.
        let own = self.netns.is_some();
        if !own && !self.local_ip.is_loopback() {
            return Err(PeerError::Config(format!("sipp must bind a loopback address, not {}", self.local_ip)));
        }
        if let Some(remote) = self.remote {
            if !own && !remote.ip().is_loopback() {
                return Err(PeerError::Config(format!("sipp may only send to loopback, not {remote}")));
            }
            if remote.is_ipv6() != self.local_ip.is_ipv6() {
                return Err(PeerError::Config("sipp's local and remote addresses are of different families".into()));
            }
        } else if !self.scenario.is_uas() {
            return Err(PeerError::Config(format!(
                "scenario {} is a UAC: give it a remote address",
                self.scenario.name()
            )));
        }
        if self.scenario.needs_no_retransmission() && self.transport != SippTransport::Udp {
            return Err(PeerError::Config(format!(
                "scenario {} ignores a first copy until its retransmission: UDP only",
                self.scenario.name()
            )));
        }
        if self.lost.is_some_and(|p| p > 100) {
            return Err(PeerError::Config("-lost is a percentage".into()));
        }
        if self.rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return Err(PeerError::Config("-r must be positive".into()));
        }
        Ok(())
    }
}

/// Figures from sipp's statistics file (`-trace_stat`), cumulative over the run.
#[derive(Clone, Debug, Default)]
pub struct SippStats {
    /// `SuccessfulCall(C)`: calls that reached the end of the scenario.
    pub successful_calls: u64,
    /// `FailedCall(C)`: calls that failed (timeouts, unexpected messages, ...).
    pub failed_calls: u64,
    /// `Retransmissions(C)`: messages sipp retransmitted.
    pub retransmissions: u64,
    /// `IncomingCall(C)`: calls a request created (UAS).
    pub incoming_calls: u64,
    /// `OutgoingCall(C)`: calls sipp started (UAC).
    pub outgoing_calls: u64,
    /// Every column of the last line, by header name.
    pub columns: Vec<(String, String)>,
}

impl SippStats {
    /// The value of a column of the statistics file, e.g. `FailedMaxUDPRetrans(C)`.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.columns.iter().find(|(name, _)| name == column).map(|(_, value)| value.as_str())
    }

    fn parse(text: &str) -> Option<SippStats> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines.next()?.split(';').collect();
        let last: Vec<&str> = lines.next_back()?.split(';').collect();
        let columns: Vec<(String, String)> =
            header.iter().zip(last.iter()).map(|(h, v)| (h.trim().to_string(), v.trim().to_string())).collect();
        let mut stats = SippStats { columns, ..SippStats::default() };
        let number = |s: &SippStats, name: &str| -> u64 { s.get(name).and_then(|v| v.parse().ok()).unwrap_or(0) };
        stats.successful_calls = number(&stats, "SuccessfulCall(C)");
        stats.failed_calls = number(&stats, "FailedCall(C)");
        stats.retransmissions = number(&stats, "Retransmissions(C)");
        stats.incoming_calls = number(&stats, "IncomingCall(C)");
        stats.outgoing_calls = number(&stats, "OutgoingCall(C)");
        Some(stats)
    }
}

/// A running sipp.
///
/// Exit codes (from [`wait`](Self::wait)): 0 every call succeeded, 1 at least one failed,
/// 97 stopped by an internal command, 99 ended with no call processed, 255 a fatal error
/// (a bad argument, a port in use), 128 + N killed by signal N.
///
/// Dropping it stops sipp (SIGTERM, then SIGKILL) and removes its directory, unless the
/// thread is panicking or `SIP_TESTPEERS_KEEP=1` is set.
pub struct Sipp {
    process: PeerProcess,
    dir: Option<TempDir>,
    root: PathBuf,
    scenario: Scenario,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    command_line: String,
    log: PathBuf,
    errors: PathBuf,
    stats: PathBuf,
    screen: PathBuf,
    exit: Option<i32>,
}

impl fmt::Debug for Sipp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sipp")
            .field("pid", &self.pid())
            .field("scenario", &self.scenario.name())
            .field("local", &self.local)
            .field("remote", &self.remote)
            .field("dir", &self.root)
            .finish()
    }
}

impl Sipp {
    /// Starts sipp with `options`, in a fresh temporary directory.
    ///
    /// Always passes `-nostdin`, `-i` (a loopback address), `-p` (a free port unless one is
    /// given), `-t u1`/`t1`, `-trace_err`, `-trace_stat` (every second), `-trace_screen`,
    /// and `-nr` for the drop-first scenarios. A UAS is waited for (up to
    /// [`SippOptions::startup_timeout`]) until its port is bound; a UAC starts sending at
    /// once.
    ///
    /// # Errors
    ///
    /// [`PeerError::Missing`] when `sipp` is not installed, [`PeerError::Config`] for
    /// unusable options (non-loopback addresses, a UAC without a remote, a drop-first
    /// scenario over TCP), [`PeerError::Startup`] when a UAS exits or does not bind in time.
    pub fn start(options: SippOptions) -> Result<Sipp, PeerError> {
        options.validate()?;
        let binary = which("sipp")?;
        let dir = tempfile::Builder::new()
            .prefix("sip-testpeers-sipp-")
            .tempdir()
            .map_err(|e| PeerError::io("creating sipp's temporary directory", e))?;
        let root = dir.path().to_path_buf();

        let scenario_path = match (&options.scenario, options.scenario.xml()) {
            (Scenario::File(path), _) => {
                std::fs::canonicalize(path).map_err(|e| PeerError::io(format!("scenario {}", path.display()), e))?
            }
            (scenario, Some(xml)) => {
                let xml = scenario_text(scenario, xml, options.transport)?;
                let path = root.join(format!("{}.xml", scenario.name()));
                std::fs::write(&path, xml).map_err(|e| PeerError::io(format!("writing {}", path.display()), e))?;
                path
            }
            (_, None) => unreachable!("only Scenario::File has no shipped XML"),
        };

        let port = match options.local_port {
            Some(port) => port,
            None => free_ports(1, options.local_ip.is_ipv6())?[0],
        };
        let local = SocketAddr::new(options.local_ip, port);
        let log = root.join("sipp.log");
        let errors = root.join("errors.log");
        let stats = root.join("stats.csv");
        let screen = root.join("screen.log");

        let mut command = match &options.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        if let Some(remote) = options.remote {
            command.arg(remote.to_string());
        }
        command
            .arg("-sf")
            .arg(&scenario_path)
            .arg("-nostdin")
            .args(["-i", &options.local_ip.to_string()])
            .args(["-p", &port.to_string()])
            .args([
                "-t",
                match options.transport {
                    SippTransport::Udp => "u1",
                    SippTransport::Tcp => "t1",
                },
            ])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&errors)
            .arg("-trace_stat")
            .arg("-stf")
            .arg(&stats)
            .args(["-fd", "1"])
            .arg("-trace_screen")
            .arg("-screen_file")
            .arg(&screen);
        if options.scenario.needs_no_retransmission() {
            command.arg("-nr");
        }
        if options.scenario.is_registrar() {
            command.arg("-nd");
        }
        if let Some(calls) = options.calls {
            command.args(["-m", &calls.to_string()]);
        }
        if let Some(rate) = options.rate {
            command.args(["-r", &rate.to_string()]);
        }
        if let Some(limit) = options.limit {
            command.args(["-l", &limit.to_string()]);
        }
        if let Some(lost) = options.lost {
            command.args(["-lost", &lost.to_string()]);
        }
        if let Some(ms) = options.pause_ms {
            command.args(["-d", &ms.to_string()]);
        }
        if let Some(service) = &options.service {
            command.args(["-s", service]);
        }
        command.args(&options.args);
        let command_line = format!("{command:?}");

        let log_file = File::create(&log).map_err(|e| PeerError::io(format!("creating {}", log.display()), e))?;
        let log_file2 = log_file.try_clone().map_err(|e| PeerError::io("duplicating the log file handle", e))?;
        command.current_dir(&root).stdin(Stdio::null()).stdout(log_file).stderr(log_file2);
        let process = PeerProcess::spawn(command, "sipp")?;
        let mut sipp = Sipp {
            process,
            dir: Some(dir),
            root,
            scenario: options.scenario.clone(),
            local,
            remote: options.remote,
            command_line,
            log,
            errors,
            stats,
            screen,
            exit: None,
        };

        if options.remote.is_none() {
            let tcp = options.transport == SippTransport::Tcp;
            let deadline = Instant::now() + options.startup_timeout;
            loop {
                if port_bound(port, tcp) {
                    break;
                }
                let reason = if sipp.process.has_exited() {
                    Some("sipp exited during start-up".to_string())
                } else if Instant::now() >= deadline {
                    Some(format!("sipp did not bind {local} within {:?}", options.startup_timeout))
                } else {
                    None
                };
                if let Some(reason) = reason {
                    let _ = sipp.process.stop(Duration::from_secs(2));
                    let error = PeerError::Startup {
                        peer: "sipp",
                        reason: format!("{reason} ({})", sipp.command_line),
                        log: sipp.log.clone(),
                        log_tail: tail(&sipp.log, 30),
                    };
                    if let Some(dir) = sipp.dir.take() {
                        let _ = dir.keep();
                    }
                    return Err(error);
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(sipp)
    }

    /// `options_uas.xml` on a free UDP port of 127.0.0.1, until stopped.
    pub fn options_uas() -> Result<Sipp, PeerError> {
        Sipp::start(SippOptions::uas(Scenario::OptionsUas))
    }

    /// `options_uas_drop_first.xml` on a free UDP port of 127.0.0.1, until stopped.
    pub fn options_uas_drop_first() -> Result<Sipp, PeerError> {
        Sipp::start(SippOptions::uas(Scenario::OptionsUasDropFirst))
    }

    /// `invite_uas_drop_first.xml` on a free UDP port of 127.0.0.1, until stopped.
    pub fn invite_uas_drop_first() -> Result<Sipp, PeerError> {
        Sipp::start(SippOptions::uas(Scenario::InviteUasDropFirst))
    }

    /// `options_uac.xml` over UDP: `calls` OPTIONS to `target` at `rate` per second, then
    /// exit (0 when every one got its 200). Add `-lost` with
    /// `Sipp::start(SippOptions::uac(Scenario::OptionsUac, target).calls(n).lost(20))`.
    pub fn options_uac(target: SocketAddr, calls: u64, rate: f64) -> Result<Sipp, PeerError> {
        Sipp::start(SippOptions::uac(Scenario::OptionsUac, target).calls(calls).rate(rate))
    }

    /// sipp's PID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The address sipp is bound to (where a UAS listens).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where a UAC sends.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.remote
    }

    /// The scenario it runs.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// Waits up to `timeout` for sipp to exit by itself and returns its exit code (see the
    /// type's documentation). sipp's own `-timeout` is not relied upon: once sipp 3.6 has
    /// received a retransmission it no longer honours it.
    ///
    /// # Errors
    ///
    /// [`PeerError::Timeout`] when sipp is still running (it is left running; dropping it
    /// stops it).
    pub fn wait(&mut self, timeout: Duration) -> Result<i32, PeerError> {
        if let Some(code) = self.exit {
            return Ok(code);
        }
        match self.process.wait_timeout(timeout)? {
            Some(status) => {
                let code = exit_code(status);
                self.exit = Some(code);
                Ok(code)
            }
            None => Err(PeerError::Timeout(format!("sipp ({}) still running after {timeout:?}", self.scenario.name()))),
        }
    }

    /// The exit code if sipp has exited, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<i32>, PeerError> {
        if self.exit.is_none() {
            if let Some(status) = self.process.try_status()? {
                self.exit = Some(exit_code(status));
            }
        }
        Ok(self.exit)
    }

    /// Stops sipp with SIGTERM (it writes its final statistics and screen), SIGKILL after
    /// 3 s, and returns its exit code. sipp 3.6 exits 0 on SIGTERM even with calls open or
    /// failed: read [`stats`](Self::stats) for the outcome.
    pub fn terminate(&mut self) -> Result<i32, PeerError> {
        if let Some(code) = self.exit {
            return Ok(code);
        }
        let code = exit_code(self.process.stop(Duration::from_secs(3))?);
        self.exit = Some(code);
        Ok(code)
    }

    /// The figures of the statistics file so far (written every second and at exit).
    pub fn stats(&self) -> Result<SippStats, PeerError> {
        let text = std::fs::read_to_string(&self.stats)
            .map_err(|e| PeerError::io(format!("reading {}", self.stats.display()), e))?;
        SippStats::parse(&text)
            .ok_or_else(|| PeerError::Config(format!("no statistics yet in {}", self.stats.display())))
    }

    /// sipp's standard output and error (its screens).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The `-trace_err` file: unexpected messages (absent when there were none).
    pub fn error_log_path(&self) -> &Path {
        &self.errors
    }

    /// The `-trace_stat` file (CSV, `;`-separated).
    pub fn stats_path(&self) -> &Path {
        &self.stats
    }

    /// The `-trace_screen` file: the final screens, written at exit.
    pub fn screen_path(&self) -> &Path {
        &self.screen
    }

    /// The temporary directory of this sipp.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The command line sipp was started with.
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    /// What a failing test should print: the command line, the last lines of the log, of
    /// the error trace and of the final screen, and where the files are.
    pub fn report(&self) -> String {
        let mut out = format!(
            "sipp {} (pid {}, dir {})\n{}\n",
            self.scenario.name(),
            self.pid(),
            self.root.display(),
            self.command_line
        );
        for (what, path, lines) in [("errors", &self.errors, 30), ("screen", &self.screen, 40), ("log", &self.log, 20)]
        {
            if path.exists() {
                out.push_str(&format!("--- {what} ({}) ---\n{}\n", path.display(), tail(path, lines)));
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.process.stop(Duration::from_secs(3));
        }
        keep_or_remove(self.dir.take(), "sipp", &self.log);
    }
}

/// The XML sipp gets for a shipped scenario. Over TCP the `<pause />` that keeps an
/// `options_uas` transaction alive for retransmissions goes: there are none over TCP, and a
/// client that closes its connection right after the 200 would make sipp count the calls
/// still pausing as failed ("FailedTcpClosed").
fn scenario_text(scenario: &Scenario, xml: &'static str, transport: SippTransport) -> Result<String, PeerError> {
    if *scenario == Scenario::OptionsUas && transport == SippTransport::Tcp {
        const PAUSE: &str = "  <pause />\n";
        if xml.matches(PAUSE).count() != 1 {
            return Err(PeerError::Config("options_uas.xml must hold exactly one `  <pause />` line".into()));
        }
        return Ok(xml.replacen(PAUSE, "", 1));
    }
    Ok(xml.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_are_named_after_their_files() {
        for scenario in Scenario::shipped() {
            let xml = scenario.xml().unwrap();
            assert!(xml.contains(&format!("<scenario name=\"{}\">", scenario.name())), "{}", scenario.name());
        }
    }

    #[test]
    fn tcp_options_uas_has_no_pause() {
        let xml = Scenario::OptionsUas.xml().unwrap();
        let tcp = scenario_text(&Scenario::OptionsUas, xml, SippTransport::Tcp).unwrap();
        assert!(xml.contains("<pause />"));
        assert!(!tcp.contains("<pause />"));
        let udp = scenario_text(&Scenario::OptionsUas, xml, SippTransport::Udp).unwrap();
        assert_eq!(udp, xml);
    }

    #[test]
    fn options_are_checked() {
        let remote: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        assert!(SippOptions::uac(Scenario::OptionsUac, remote).validate().is_ok());
        let outside: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        assert!(SippOptions::uac(Scenario::OptionsUac, outside).validate().is_err());
        assert!(SippOptions::uas(Scenario::OptionsUac).validate().is_err());
        assert!(SippOptions::uas(Scenario::OptionsUasDropFirst).transport(SippTransport::Tcp).validate().is_err());
        assert!(SippOptions::uas(Scenario::OptionsUas).local_ip("10.0.0.1".parse().unwrap()).validate().is_err());
        let v6: SocketAddr = "[::1]:5060".parse().unwrap();
        let uac = SippOptions::uac(Scenario::OptionsUac, v6);
        assert!(uac.local_ip.is_ipv6() && uac.validate().is_ok());
    }

    #[test]
    fn stats_parse_the_last_line() {
        let text = "StartTime;SuccessfulCall(C);FailedCall(C);Retransmissions(C);\n\
                    t0;1;0;0;\n\
                    t1;48;2;38;\n";
        let stats = SippStats::parse(text).unwrap();
        assert_eq!(stats.successful_calls, 48);
        assert_eq!(stats.failed_calls, 2);
        assert_eq!(stats.retransmissions, 38);
        assert_eq!(stats.get("StartTime"), Some("t1"));
    }
}
