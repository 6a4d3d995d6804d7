//! baresip 1.0, a real softphone, headless on loopback and driven over its ctrl_tcp interface.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::kamailio::keep_or_remove;
use crate::phone::{EventKind, EventLog, PhoneEvent, RtpStats};
use crate::ports::{free_port_pair, free_ports};
use crate::process::{tail, PeerProcess};
use crate::{which, PeerError};

/// Where baresip's modules are (Debian's `baresip-core`).
pub const BARESIP_MODULE_PATH: &str = "/usr/lib/baresip/modules";

/// How long a ctrl_tcp command may take to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a softphone answers incoming calls by itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AnswerMode {
    /// Ring until told to answer (the default).
    #[default]
    Manual,
    /// Answer every incoming call at once with 200.
    Auto,
}

impl AnswerMode {
    fn param(self) -> &'static str {
        match self {
            AnswerMode::Manual => "manual",
            AnswerMode::Auto => "auto",
        }
    }
}

/// Digest credentials and the registrar a softphone registers with (over UDP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The user name: the user part of the AOR and the digest username.
    pub user: String,
    /// The password.
    pub password: String,
    /// The registrar, e.g. `kamailio.addr(Transport::Udp)`. The AOR is
    /// `sip:USER@REGISTRAR` (so calls to it go through the registrar).
    pub registrar: SocketAddr,
}

/// How [`Baresip::start`] sets baresip up.
#[derive(Clone, Debug)]
pub struct BaresipOptions {
    /// The user part of the local AOR when there is no registration (`sip:USER@127.0.0.1:PORT`).
    /// `"baresip"` by default.
    pub user: String,
    /// Register with a registrar; `None` (the default): no REGISTER, reached directly at
    /// [`Baresip::contact_uri`].
    pub registration: Option<Registration>,
    /// Manual (default) or automatic answer.
    pub answer_mode: AnswerMode,
    /// The audio source's tone, in Hz (`ausine`): 440 by default.
    pub tone_hz: u32,
    /// SRTP (SDES): off by default.
    pub srtp: crate::PeerSrtp,
    /// The codecs offered and accepted, best first (`audio_codecs`): `pcmu,pcma` by default.
    pub audio_codecs: String,
    /// How long to wait for baresip's control port and, with a registration, for the
    /// REGISTER to succeed. 15 s by default.
    pub startup_timeout: Duration,
    /// RTCP on the RTP port (RFC 5761, `rtcp_mux`): off by default.
    pub rtcp_mux: bool,
}

impl Default for BaresipOptions {
    fn default() -> Self {
        BaresipOptions {
            user: "baresip".into(),
            registration: None,
            answer_mode: AnswerMode::Manual,
            tone_hz: 440,
            srtp: crate::PeerSrtp::Off,
            audio_codecs: "pcmu,pcma".into(),
            startup_timeout: Duration::from_secs(15),
            rtcp_mux: false,
        }
    }
}

impl BaresipOptions {
    /// No registration, manual answer, user `baresip`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`user`](Self::user) (without a registration).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Registers as `user` with `registrar` (UDP), authenticating with `password`.
    pub fn register(mut self, user: impl Into<String>, password: impl Into<String>, registrar: SocketAddr) -> Self {
        let user = user.into();
        self.user = user.clone();
        self.registration = Some(Registration { user, password: password.into(), registrar });
        self
    }

    /// Sets [`answer_mode`](Self::answer_mode).
    pub fn answer_mode(mut self, mode: AnswerMode) -> Self {
        self.answer_mode = mode;
        self
    }

    /// Sets [`rtcp_mux`](Self::rtcp_mux).
    pub fn rtcp_mux(mut self, yes: bool) -> Self {
        self.rtcp_mux = yes;
        self
    }

    /// Sets [`srtp`](Self::srtp).
    pub fn srtp(mut self, srtp: crate::PeerSrtp) -> Self {
        self.srtp = srtp;
        self
    }

    /// Sets [`audio_codecs`](Self::audio_codecs), e.g. `g722,pcmu`.
    pub fn audio_codecs(mut self, codecs: impl Into<String>) -> Self {
        self.audio_codecs = codecs.into();
        self
    }

    /// Sets [`tone_hz`](Self::tone_hz).
    pub fn tone_hz(mut self, hz: u32) -> Self {
        self.tone_hz = hz;
        self
    }

    fn validate(&self) -> Result<(), PeerError> {
        let bad = |s: &str| {
            s.is_empty()
                || s.chars().any(|c| matches!(c, ':' | '\\' | '@' | ';' | '<' | '>' | '"') || c.is_whitespace())
        };
        if bad(&self.user) {
            return Err(PeerError::Config(format!("baresip user {:?}: not a plain user name", self.user)));
        }
        if let Some(reg) = &self.registration {
            if bad(&reg.password) {
                return Err(PeerError::Config("baresip password: not a plain token".into()));
            }
            if !reg.registrar.ip().is_loopback() || reg.registrar.is_ipv6() {
                return Err(PeerError::Config(format!("baresip registrar {}: 127.x only", reg.registrar)));
            }
        }
        Ok(())
    }
}

/// Call state the reader thread keeps for [`Baresip::rtp_stats`].
#[derive(Default)]
struct CallTrack {
    /// A call is established and not closed yet.
    in_call: bool,
    /// The length of the log when the last call was established: its RTP summary comes after.
    log_offset_at_start: Option<u64>,
    /// The figures of the last `CALL_RTCP` event of the current call.
    rtcp: Option<RtpStats>,
}

/// A response to a ctrl_tcp command.
struct Response {
    token: String,
    ok: bool,
    data: String,
}

/// A running baresip: one user agent (one account), headless, on 127.0.0.1.
///
/// Set up as PEERS.md says: audio source `ausine` (a 440 Hz tone), player `aubridge`
/// (nothing is played), codecs PCMU and PCMA (`g711`), `net_interface 127.0.0.1`, SIP on
/// UDP and TCP at a free port (baresip also binds TLS on the next port, which is kept free),
/// RTP in 32000–32767, driven through `ctrl_tcp` (JSON netstrings) on another free port, with
/// the `menu` module for the commands. Its standard output and error are
/// [`log_path`](Self::log_path).
///
/// Every method that drives it sends a ctrl_tcp command and waits (up to 10 s) for baresip's
/// response; what happens next comes as [`PhoneEvent`]s, waited for with
/// [`wait_for`](Self::wait_for).
///
/// Dropping it stops baresip by PID (SIGTERM, then SIGKILL to its process group) and removes
/// its directory, unless the thread is panicking or `SIP_TESTPEERS_KEEP=1` is set.
pub struct Baresip {
    process: PeerProcess,
    dir: Option<TempDir>,
    root: PathBuf,
    log: PathBuf,
    sip_port: u16,
    ctrl_port: u16,
    user: String,
    registration: Option<Registration>,
    ctrl: Mutex<TcpStream>,
    responses: Mutex<Receiver<Response>>,
    next_token: AtomicU64,
    events: EventLog,
    track: Arc<Mutex<CallTrack>>,
}

impl fmt::Debug for Baresip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Baresip")
            .field("pid", &self.pid())
            .field("uri", &self.uri())
            .field("sip_port", &self.sip_port)
            .field("ctrl_port", &self.ctrl_port)
            .field("dir", &self.root)
            .finish()
    }
}

impl Baresip {
    /// Starts baresip, waits until its control port answers, adds the account (`uanew`)
    /// and, with a registration, waits until the REGISTER succeeded (that
    /// [`PhoneEvent::Registered`] is consumed).
    ///
    /// # Errors
    ///
    /// [`PeerError::Missing`] when `baresip` is not installed; [`PeerError::Config`] for
    /// unusable options; [`PeerError::Startup`] when baresip exits, does not open its control
    /// port, or does not register within [`BaresipOptions::startup_timeout`] (its directory
    /// is then kept for the log).
    pub fn start(options: BaresipOptions) -> Result<Baresip, PeerError> {
        options.validate()?;
        let binary = which("baresip")?;
        let dir = tempfile::Builder::new()
            .prefix("sip-testpeers-baresip-")
            .tempdir()
            .map_err(|e| PeerError::io("creating baresip's temporary directory", e))?;
        let root = dir.path().to_path_buf();
        let sip_port = free_port_pair()?;
        let ctrl_port = free_ports(1, false)?[0];
        let write = |name: &str, text: &str| {
            let path = root.join(name);
            std::fs::write(&path, text).map_err(|e| PeerError::io(format!("writing {}", path.display()), e))
        };
        write("config", &config(sip_port, ctrl_port, &options))?;
        // No account at start: it is added over ctrl_tcp (`uanew`) once connected, or its
        // REGISTER_OK would come before anyone listens and be lost.
        write("accounts", "")?;
        write("contacts", "")?;

        let log = root.join("baresip.log");
        let log_file = File::create(&log).map_err(|e| PeerError::io(format!("creating {}", log.display()), e))?;
        let log_file2 = log_file.try_clone().map_err(|e| PeerError::io("duplicating the log file handle", e))?;
        let mut command = Command::new(binary);
        command.arg("-f").arg(&root).current_dir(&root).stdin(Stdio::null()).stdout(log_file).stderr(log_file2);
        let process = PeerProcess::spawn(command, "baresip")?;

        let fail = |process: &mut PeerProcess, dir: TempDir, reason: String| {
            let _ = process.stop(Duration::from_secs(3));
            let error = PeerError::Startup { peer: "baresip", reason, log: log.clone(), log_tail: tail(&log, 30) };
            let _ = dir.keep();
            error
        };
        let mut process = process;
        let deadline = Instant::now() + options.startup_timeout;
        let ctrl_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, ctrl_port));
        let stream = loop {
            if process.has_exited() {
                return Err(fail(&mut process, dir, "baresip exited during start-up".into()));
            }
            if let Ok(stream) = TcpStream::connect_timeout(&ctrl_addr, Duration::from_millis(200)) {
                break stream;
            }
            if Instant::now() >= deadline {
                return Err(fail(
                    &mut process,
                    dir,
                    format!("ctrl_tcp port {ctrl_port} not open after {:?}", options.startup_timeout),
                ));
            }
            thread::sleep(Duration::from_millis(50));
        };
        let reader = match stream.try_clone() {
            Ok(reader) => reader,
            Err(e) => return Err(fail(&mut process, dir, format!("cloning the ctrl_tcp socket: {e}"))),
        };
        let events = EventLog::default();
        let track = Arc::new(Mutex::new(CallTrack::default()));
        let (tx, rx) = mpsc::channel();
        {
            let events = events.clone();
            let track = track.clone();
            let log = log.clone();
            thread::Builder::new()
                .name(format!("baresip-ctrl-{ctrl_port}"))
                .spawn(move || read_ctrl(reader, tx, events, track, log))
                .map_err(|e| PeerError::io("spawning baresip's reader thread", e))?;
        }
        let baresip = Baresip {
            process,
            dir: Some(dir),
            root,
            log,
            sip_port,
            ctrl_port,
            user: options.user.clone(),
            registration: options.registration.clone(),
            ctrl: Mutex::new(stream),
            responses: Mutex::new(rx),
            next_token: AtomicU64::new(1),
            events,
            track,
        };
        let account = account_line(&options, sip_port);
        if let Err(e) = baresip.command("uanew", Some(account.trim_end())) {
            return Err(baresip.into_startup_error(format!("adding the account: {e}")));
        }
        if baresip.registration.is_some() {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
            match baresip.wait_until(left, |e| matches!(e.kind(), EventKind::Registered | EventKind::RegisterFailed)) {
                Ok(PhoneEvent::Registered) => {}
                Ok(other) => return Err(baresip.into_startup_error(format!("REGISTER failed: {other}"))),
                Err(e) => return Err(baresip.into_startup_error(e.to_string())),
            }
        }
        Ok(baresip)
    }

    fn into_startup_error(mut self, reason: String) -> PeerError {
        let _ = self.process.stop(Duration::from_secs(3));
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        PeerError::Startup { peer: "baresip", reason, log: self.log.clone(), log_tail: tail(&self.log, 30) }
    }

    /// Sends a ctrl_tcp command (a `menu` command's long name, `dial`, `accept`,
    /// `callstat`, `reginfo` ...) with optional parameters and returns the response's data
    /// (what the command printed).
    ///
    /// # Errors
    ///
    /// [`PeerError::Refused`] when baresip answers `ok: false`; [`PeerError::Timeout`] when
    /// it does not answer in 10 s; [`PeerError::Io`] when the connection is gone.
    pub fn command(&self, command: &str, params: Option<&str>) -> Result<String, PeerError> {
        let token = format!("t{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let mut message = serde_json::json!({ "command": command, "token": token });
        if let Some(params) = params {
            message["params"] = Value::String(params.to_string());
        }
        let body = message.to_string();
        let netstring = format!("{}:{body},", body.len());
        let responses = self.responses.lock().unwrap_or_else(|e| e.into_inner());
        // Responses to earlier commands that timed out are dropped here.
        while responses.try_recv().is_ok() {}
        self.ctrl
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(netstring.as_bytes())
            .map_err(|e| PeerError::io(format!("sending `{command}` to baresip"), e))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match responses.recv_timeout(left) {
                Ok(response) if response.token == token => {
                    return if response.ok {
                        Ok(response.data)
                    } else {
                        Err(PeerError::Refused {
                            peer: "baresip",
                            what: format!("{command} {}", params.unwrap_or("")).trim_end().to_string(),
                            detail: response.data,
                        })
                    };
                }
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(PeerError::Timeout(format!(
                        "baresip did not answer `{command}` in {COMMAND_TIMEOUT:?}"
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PeerError::io(
                        format!("waiting for baresip's answer to `{command}`"),
                        std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "ctrl_tcp connection closed"),
                    ))
                }
            }
        }
    }

    /// Calls `uri` (`/dial`): e.g. `sip:carol@127.0.0.1:KAMAILIO_PORT` through the registrar,
    /// or another UA's contact directly. Wait for [`PhoneEvent::Established`] next.
    pub fn dial(&self, uri: &str) -> Result<(), PeerError> {
        self.command("dial", Some(uri)).map(drop)
    }

    /// Sends DTMF digits on the current call (`/sndcode`, RFC 4733 telephone-events). The
    /// other side's digits come as [`PhoneEvent::Dtmf`].
    pub fn send_dtmf(&self, digits: &str) -> Result<(), PeerError> {
        self.command("sndcode", Some(digits)).map(drop)
    }

    /// Answers the ringing incoming call (`/accept`).
    pub fn accept(&self) -> Result<(), PeerError> {
        self.command("accept", None).map(drop)
    }

    /// Hangs up the current call (`/hangup`): a BYE when it is established, CANCEL while it
    /// rings out, 486 for a ringing incoming call.
    pub fn hangup(&self) -> Result<(), PeerError> {
        self.command("hangup", None).map(drop)
    }

    /// Puts the current call on hold (`/hold`: a re-INVITE with `a=sendonly`).
    pub fn hold(&self) -> Result<(), PeerError> {
        self.command("hold", None).map(drop)
    }

    /// Takes the current call off hold (`/resume`: a re-INVITE with `a=sendrecv`).
    pub fn resume(&self) -> Result<(), PeerError> {
        self.command("resume", None).map(drop)
    }

    /// Switches between manual and automatic answer (`/answermode`).
    pub fn set_answer_mode(&self, mode: AnswerMode) -> Result<(), PeerError> {
        self.command("answermode", Some(mode.param())).map(drop)
    }

    /// Waits up to `timeout` for the next event of `kind` (events before it are skipped, and
    /// consumed with it). See [`wait_until`](Self::wait_until).
    pub fn wait_for(&self, kind: EventKind, timeout: Duration) -> Result<PhoneEvent, PeerError> {
        self.events.wait("baresip", &format!("{kind:?} event"), timeout, |e| e.kind() == kind)
    }

    /// Waits up to `timeout` for the next event `pred` accepts. Each wait consumes the events
    /// up to and including the one it returns, so a test's consecutive waits follow the call.
    ///
    /// # Errors
    ///
    /// [`PeerError::Timeout`] (listing the last events) when none comes in time or baresip's
    /// control connection closes.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl FnMut(&PhoneEvent) -> bool,
    ) -> Result<PhoneEvent, PeerError> {
        self.events.wait("baresip", "matching event", timeout, pred)
    }

    /// Every event reported so far, waited for or not.
    pub fn events(&self) -> Vec<PhoneEvent> {
        self.events.all()
    }

    /// RTP packets of the current or last call.
    ///
    /// While a call is established: the figures of the last `CALL_RTCP` event (baresip
    /// reports its RTP counters along with each RTCP report, about every 5 s; `None` before
    /// the first). Once the call has ended: the exact totals baresip writes to its log at
    /// the end of each call (`rtp_stats yes`: `packets: TX RX`), waited for up to 2 s;
    /// `None` when no call was ever established.
    pub fn rtp_stats(&self) -> Option<RtpStats> {
        let (in_call, offset, rtcp) = {
            let track = self.track.lock().unwrap_or_else(|e| e.into_inner());
            (track.in_call, track.log_offset_at_start, track.rtcp)
        };
        if in_call {
            return rtcp;
        }
        let offset = offset?;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(stats) = read_log_from(&self.log, offset).and_then(|text| parse_call_summary(&text)) {
                return Some(stats);
            }
            if Instant::now() >= deadline {
                return rtcp;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The AOR: `sip:USER@REGISTRAR` with a registration, else the same as
    /// [`contact_uri`](Self::contact_uri). Dial this from another phone.
    pub fn uri(&self) -> String {
        match &self.registration {
            Some(reg) => format!("sip:{}@{}", reg.user, reg.registrar),
            None => self.contact_uri(),
        }
    }

    /// Where baresip itself listens: `sip:USER@127.0.0.1:PORT`.
    pub fn contact_uri(&self) -> String {
        format!("sip:{}@{}", self.user, self.sip_addr())
    }

    /// `127.0.0.1:PORT`: baresip's SIP address (UDP and TCP; TLS is on PORT + 1).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.sip_port))
    }

    /// The ctrl_tcp address.
    pub fn ctrl_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.ctrl_port))
    }

    /// baresip's PID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether baresip is still running.
    pub fn is_running(&self) -> bool {
        !self.process.has_exited()
    }

    /// baresip's log (its standard output and error).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What baresip has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// The temporary directory (config, accounts, log).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Stops baresip now (as dropping it does).
    pub fn stop(self) {}
}

impl Drop for Baresip {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("sip-testpeers: baresip's events: {:?}", self.events.all());
        }
        let _ = self.process.stop(Duration::from_secs(3));
        keep_or_remove(self.dir.take(), "baresip", &self.log);
    }
}

/// The config file (`key<TAB>value` lines). Only the codec modules that `audio_codecs`
/// names are loaded, in its order: baresip 1.0 offers every codec loaded, in load order.
fn config(sip_port: u16, ctrl_port: u16, options: &BaresipOptions) -> String {
    let tone_hz = options.tone_hz;
    let mut codec_modules: Vec<&str> = Vec::new();
    for name in options.audio_codecs.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        let module = match name.as_str() {
            "pcmu" | "pcma" => "g711.so",
            "g722" => "g722.so",
            "opus" => "opus.so",
            _ => continue,
        };
        if !codec_modules.contains(&module) {
            codec_modules.push(module);
        }
    }
    let mut lines: Vec<(&str, String)> = codec_modules.into_iter().map(|m| ("module", m.to_owned())).collect();
    lines.extend([
        ("poll_method", "epoll".into()),
        ("module_path", BARESIP_MODULE_PATH.into()),
        ("sip_listen", format!("127.0.0.1:{sip_port}")),
        ("net_interface", "127.0.0.1".into()),
        ("call_local_timeout", "120".into()),
        ("call_max_calls", "4".into()),
        ("audio_source", format!("ausine,{tone_hz}")),
        ("ausrc_srate", "48000".into()),
        ("ausrc_channels", "2".into()),
        ("audio_player", "aubridge,nil".into()),
        ("audio_alert", "aubridge,nil".into()),
        // Between the peers' SIP ports (20000..32000) and the kernel's ephemeral range.
        ("rtp_ports", "32000-32767".into()),
        ("rtcp_mux", if options.rtcp_mux { "yes" } else { "no" }.into()),
        // Prints `packets: TX RX` at the end of each call: Baresip::rtp_stats reads it.
        ("rtp_stats", "yes".into()),
        ("module", "srtp.so".into()),
        ("module", "ausine.so".into()),
        ("module", "aubridge.so".into()),
        ("module_tmp", "uuid.so".into()),
        ("module_tmp", "account.so".into()),
        ("module_app", "menu.so".into()),
        ("module_app", "ctrl_tcp.so".into()),
        ("ctrl_tcp_listen", format!("127.0.0.1:{ctrl_port}")),
    ]);
    lines.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect()
}

/// The one line of the `accounts` file.
fn account_line(options: &BaresipOptions, sip_port: u16) -> String {
    let mut common = format!("answermode={};audio_codecs={}", options.answer_mode.param(), options.audio_codecs);
    match options.srtp {
        crate::PeerSrtp::Off => {}
        crate::PeerSrtp::Optional => common.push_str(";mediaenc=srtp"),
        crate::PeerSrtp::Mandatory => common.push_str(";mediaenc=srtp-mand"),
    }
    match &options.registration {
        Some(reg) => format!(
            "<sip:{}@{};transport=udp>;auth_pass={};regint=600;{common}\n",
            reg.user, reg.registrar, reg.password
        ),
        None => format!("<sip:{}@127.0.0.1:{sip_port};transport=udp>;regint=0;{common}\n", options.user),
    }
}

/// Reads the ctrl_tcp netstrings until the connection closes: responses to `responses`,
/// events to `events` (and the call state to `track`).
fn read_ctrl(
    stream: TcpStream,
    responses: mpsc::Sender<Response>,
    events: EventLog,
    track: Arc<Mutex<CallTrack>>,
    log: PathBuf,
) {
    let mut reader = BufReader::new(stream);
    let end = loop {
        let message = match read_netstring(&mut reader) {
            Ok(Some(message)) => message,
            Ok(None) => break "ctrl_tcp connection closed".to_string(),
            Err(e) => break format!("ctrl_tcp: {e}"),
        };
        let Ok(value) = serde_json::from_slice::<Value>(&message) else {
            events.push(PhoneEvent::Other {
                kind: "unparsable".into(),
                detail: String::from_utf8_lossy(&message).into_owned(),
            });
            continue;
        };
        if value.get("response").is_some() {
            let _ = responses.send(Response {
                token: value["token"].as_str().unwrap_or("").to_string(),
                ok: value["ok"].as_bool().unwrap_or(false),
                data: value["data"].as_str().unwrap_or("").to_string(),
            });
        } else if value.get("event").is_some() {
            let event = map_event(&value);
            let mut t = track.lock().unwrap_or_else(|e| e.into_inner());
            match &event {
                PhoneEvent::Established => {
                    t.in_call = true;
                    t.rtcp = None;
                    t.log_offset_at_start = Some(std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0));
                }
                PhoneEvent::Closed { .. } => t.in_call = false,
                PhoneEvent::Other { kind, .. } if kind == "CALL_RTCP" => {
                    if let Some(stats) = rtcp_figures(&value) {
                        t.rtcp = Some(stats);
                    }
                }
                _ => {}
            }
            drop(t);
            events.push(event);
        }
    };
    events.end(end);
}

/// One netstring (`LEN:BYTES,`); `None` at a clean end of stream.
fn read_netstring(reader: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = 0usize;
    let mut digits = 0;
    let mut byte = [0u8; 1];
    loop {
        if reader.read(&mut byte)? == 0 {
            return if digits == 0 {
                Ok(None)
            } else {
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "netstring cut"))
            };
        }
        match byte[0] {
            b'0'..=b'9' if digits < 9 => {
                len = len * 10 + usize::from(byte[0] - b'0');
                digits += 1;
            }
            b':' if digits > 0 => break,
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("bad netstring length byte {other:#04x}"),
                ))
            }
        }
    }
    let mut body = vec![0u8; len + 1];
    reader.read_exact(&mut body)?;
    if body.pop() != Some(b',') {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "netstring without its ','"));
    }
    Ok(Some(body))
}

/// A baresip event (`{"event":true,"type":...,"param":...}`) as a [`PhoneEvent`].
fn map_event(value: &Value) -> PhoneEvent {
    let kind = value["type"].as_str().unwrap_or("");
    let param = value["param"].as_str().unwrap_or("").to_string();
    match kind {
        "REGISTER_OK" => PhoneEvent::Registered,
        "REGISTER_FAIL" => PhoneEvent::RegisterFailed { code: None, reason: param },
        "CALL_INCOMING" => PhoneEvent::Incoming { from: value["peeruri"].as_str().unwrap_or(&param).to_string() },
        "CALL_RINGING" | "CALL_PROGRESS" => PhoneEvent::Ringing { code: None },
        "CALL_ESTABLISHED" => PhoneEvent::Established,
        "CALL_CLOSED" => PhoneEvent::Closed { code: None, reason: param },
        "CALL_RTPESTAB" => PhoneEvent::RtpStarted,
        "CALL_DTMF_START" if param.chars().count() == 1 => {
            PhoneEvent::Dtmf { digit: param.chars().next().unwrap_or_default() }
        }
        _ => {
            let detail = if kind == "CALL_RTCP" { value["rtcp_stats"].to_string() } else { param };
            PhoneEvent::Other { kind: kind.to_string(), detail }
        }
    }
}

/// The RTP counters in a `CALL_RTCP` event: `rtcp_stats.tx.sent` (packets sent) and
/// `rtcp_stats.rx.sent` (packets received).
fn rtcp_figures(value: &Value) -> Option<RtpStats> {
    let stats = value.get("rtcp_stats")?;
    Some(RtpStats { tx_packets: stats["tx"]["sent"].as_u64()?, rx_packets: stats["rx"]["sent"].as_u64()? })
}

fn read_log_from(path: &Path, offset: u64) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let start = usize::try_from(offset).ok()?.min(bytes.len());
    Some(String::from_utf8_lossy(&bytes[start..]).into_owned())
}

/// The first end-of-call summary in `text`:
///
/// ```text
/// audio           Transmit:     Receive:
/// packets:            275          274
/// ```
fn parse_call_summary(text: &str) -> Option<RtpStats> {
    let line = text.lines().find_map(|l| l.trim_start().strip_prefix("packets:"))?;
    let mut numbers = line.split_whitespace().map(|n| n.parse::<u64>());
    let tx = numbers.next()?.ok()?;
    let rx = numbers.next()?.ok()?;
    Some(RtpStats { rx_packets: rx, tx_packets: tx })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_account_lines() {
        let text = config(21000, 22000, &BaresipOptions::new());
        assert!(text.contains("sip_listen\t127.0.0.1:21000\n"));
        assert!(text.starts_with("module\tg711.so\n") && !text.contains("g722.so"), "{text}");
        let wideband = config(21000, 22000, &BaresipOptions::new().audio_codecs("g722,pcmu"));
        assert!(wideband.starts_with("module\tg722.so\nmodule\tg711.so\n"), "{wideband}");
        let secure = BaresipOptions::new().srtp(crate::PeerSrtp::Mandatory);
        assert!(account_line(&secure, 21000).ends_with(";mediaenc=srtp-mand\n"));
        assert!(text.contains("ctrl_tcp_listen\t127.0.0.1:22000\n"));
        assert!(text.contains("audio_source\tausine,440\n"));
        let registrar: SocketAddr = "127.0.0.1:23000".parse().unwrap();
        let options = BaresipOptions::new().register("bob", "bobpw", registrar).answer_mode(AnswerMode::Auto);
        assert_eq!(
            account_line(&options, 21000),
            "<sip:bob@127.0.0.1:23000;transport=udp>;auth_pass=bobpw;regint=600;answermode=auto;\
             audio_codecs=pcmu,pcma\n"
        );
        assert!(account_line(&BaresipOptions::new(), 21000).starts_with("<sip:baresip@127.0.0.1:21000;"));
        assert!(BaresipOptions::new().user("a b").validate().is_err());
    }

    #[test]
    fn netstrings_and_events() {
        let mut input: &[u8] = b"5:hello,0:,";
        assert_eq!(read_netstring(&mut input).unwrap().unwrap(), b"hello");
        assert_eq!(read_netstring(&mut input).unwrap().unwrap(), b"");
        assert!(read_netstring(&mut input).unwrap().is_none());
        let mut bad: &[u8] = b"3:abc;";
        assert!(read_netstring(&mut bad).is_err());

        let closed: Value = serde_json::from_str(
            r#"{"event":true,"type":"CALL_CLOSED","class":"call","param":"Connection reset by peer"}"#,
        )
        .unwrap();
        assert_eq!(map_event(&closed), PhoneEvent::Closed { code: None, reason: "Connection reset by peer".into() });
        let rtcp: Value = serde_json::from_str(
            r#"{"event":true,"type":"CALL_RTCP","rtcp_stats":{"tx":{"sent":250,"lost":0},"rx":{"sent":249}}}"#,
        )
        .unwrap();
        assert_eq!(rtcp_figures(&rtcp), Some(RtpStats { rx_packets: 249, tx_packets: 250 }));
    }

    #[test]
    fn call_summary_from_the_log() {
        let text = "[0:00:07] audio=31573/31573 (bit/s)    sip:x: session closed\n\
                    audio           Transmit:     Receive:\n\
                    packets:            275          274\n\
                    avg. bitrate:      50.2         50.0  (kbit/s)\n";
        assert_eq!(parse_call_summary(text), Some(RtpStats { rx_packets: 274, tx_packets: 275 }));
        assert_eq!(parse_call_summary("nothing"), None);
    }
}
