//! PJSIP 2.15 (the PyPI wheel `pjsua2-python`): a pjsua2 softphone in Python
//! (`peers/pjsua/agent.py`) driven over its standard input and output.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::baresip::{AnswerMode, Registration};
use crate::kamailio::keep_or_remove;
use crate::phone::{media_state, EventKind, EventLog, PhoneEvent, RtpStats};
use crate::ports::{free_port_pair, free_ports};
use crate::process::{tail, PeerProcess};
use crate::PeerError;

/// The agent script, written into each instance's directory.
pub const AGENT_SCRIPT: &str = include_str!("../peers/pjsua/agent.py");

/// The environment variable that overrides where the pjsua2 virtualenv is.
pub const PJSUA2_VENV_ENV: &str = "SIPLINE_PJSUA2_VENV";

/// Where `scripts/install-peers` makes the virtualenv with `pjsua2-python` (made with
/// Debian's `/usr/bin/python3`), unless [`PJSUA2_VENV_ENV`] says otherwise.
pub const PJSUA2_VENV_DEFAULT: &str = "/opt/sipline-peers/pjsua2";

/// How long an agent command may take to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The pjsua2 virtualenv: `$SIPLINE_PJSUA2_VENV`, else [`PJSUA2_VENV_DEFAULT`].
pub fn pjsua2_venv() -> PathBuf {
    std::env::var_os(PJSUA2_VENV_ENV).filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or(PJSUA2_VENV_DEFAULT.into())
}

/// The virtualenv's interpreter, `VENV/bin/python3`.
pub fn pjsua2_python() -> PathBuf {
    pjsua2_venv().join("bin").join("python3")
}

/// Whether the virtualenv looks usable: its interpreter exists and some `pjsua2` module is in
/// its `site-packages` (a cheap check; [`Pjsua::start`] imports it for real).
pub fn pjsua2_installed() -> bool {
    let venv = pjsua2_venv();
    if !pjsua2_python().is_file() {
        return false;
    }
    let Ok(libs) = std::fs::read_dir(venv.join("lib")) else {
        return false;
    };
    libs.flatten().any(|python_dir| {
        std::fs::read_dir(python_dir.path().join("site-packages"))
            .map(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("pjsua2")))
            .unwrap_or(false)
    })
}

/// How [`Pjsua::start`] sets the pjsua2 agent up.
#[derive(Clone, Debug)]
pub struct PjsuaOptions {
    /// The user part of the local account, `sip:USER@127.0.0.1:PORT` (incoming direct calls,
    /// and outgoing calls without a registration). `"pjsua"` by default.
    pub user: String,
    /// Register at start (then calls go out from the registered account). `None` by default.
    pub registration: Option<Registration>,
    /// Manual (default: 180, then wait for [`Pjsua::answer`]) or automatic (200 at once).
    pub answer_mode: AnswerMode,
    /// The frequency of the tone every call sends (a `ToneGenerator`), 440 Hz by default.
    pub tone_hz: u32,
    /// SRTP (SDES): off by default. PJSIP is told to allow SDES over plain UDP signaling.
    pub srtp: crate::PeerSrtp,
    /// Require reliable provisional responses (RFC 3262): `Require: 100rel` in its INVITEs,
    /// and its own 180/183 sent reliably. Off by default (PJSIP then only supports 100rel).
    pub require_100rel: bool,
    /// Use session timers (RFC 4028) with this interval in seconds: `Session-Expires` in
    /// its INVITEs and answers. `None` (PJSIP's default: only when the peer asks) by default.
    pub session_expires: Option<u32>,
    /// PJSIP's log level (into [`Pjsua::log_path`]): 4 by default, 5 for full SIP messages
    /// (which level 4 already includes), 6 for everything.
    pub log_level: u8,
    /// How long to wait for the endpoint and, with a registration, the REGISTER. 20 s by
    /// default.
    pub startup_timeout: Duration,
}

impl Default for PjsuaOptions {
    fn default() -> Self {
        PjsuaOptions {
            user: "pjsua".into(),
            registration: None,
            answer_mode: AnswerMode::Manual,
            tone_hz: 440,
            srtp: crate::PeerSrtp::Off,
            require_100rel: false,
            session_expires: None,
            log_level: 4,
            startup_timeout: Duration::from_secs(20),
        }
    }
}

impl PjsuaOptions {
    /// No registration, manual answer, user `pjsua`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`user`](Self::user) (without a registration).
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Registers as `user` with `registrar` (UDP), authenticating with `password`, at start.
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

    /// Sets [`srtp`](Self::srtp).
    pub fn srtp(mut self, srtp: crate::PeerSrtp) -> Self {
        self.srtp = srtp;
        self
    }

    /// Sets [`require_100rel`](Self::require_100rel).
    pub fn require_100rel(mut self) -> Self {
        self.require_100rel = true;
        self
    }

    /// Sets [`session_expires`](Self::session_expires).
    pub fn session_expires(mut self, seconds: u32) -> Self {
        self.session_expires = Some(seconds);
        self
    }

    /// Sets [`tone_hz`](Self::tone_hz).
    pub fn tone_hz(mut self, hz: u32) -> Self {
        self.tone_hz = hz;
        self
    }

    /// Sets [`log_level`](Self::log_level).
    pub fn log_level(mut self, level: u8) -> Self {
        self.log_level = level;
        self
    }
}

/// A running pjsua2 agent: one PJSIP endpoint (null audio device, no VAD, UDP on a free port
/// of 127.0.0.1, one call at a time, each call sending a tone), driven with one JSON command
/// per line on its standard input and reporting one JSON event per line on its standard
/// output (see `peers/pjsua/agent.py` for the protocol).
///
/// Methods that drive it wait (up to 10 s) for the agent's reply to the command (an error
/// reply becomes [`PeerError::Refused`]); what happens next comes as [`PhoneEvent`]s, waited
/// for with [`wait_for`](Self::wait_for). pjsua reports call states (`Calling`, `Ringing`,
/// `Established`, `Closed` with the last status code) and media states
/// ([`PhoneEvent::Media`]: active, local hold, remote hold).
///
/// Dropping it sends `quit` (the agent hangs up, drops its calls and accounts, destroys the
/// library), then stops the process by PID if it has not exited in 3 s, and removes its
/// directory unless the thread is panicking or `SIP_TESTPEERS_KEEP=1` is set.
pub struct Pjsua {
    process: PeerProcess,
    dir: Option<TempDir>,
    root: PathBuf,
    log: PathBuf,
    stderr_log: PathBuf,
    port: u16,
    local_uri: String,
    registration: Mutex<Option<Registration>>,
    stdin: Mutex<Option<ChildStdin>>,
    replies: Mutex<Receiver<Value>>,
    next_id: AtomicU64,
    events: EventLog,
}

impl fmt::Debug for Pjsua {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pjsua").field("pid", &self.pid()).field("uri", &self.uri()).field("dir", &self.root).finish()
    }
}

impl Pjsua {
    /// Starts the agent with the virtualenv's Python and waits until its endpoint is up and,
    /// with a registration, until the REGISTER succeeded (that [`PhoneEvent::Registered`] is
    /// consumed).
    ///
    /// # Errors
    ///
    /// [`PeerError::Missing`] when the pjsua2 virtualenv is missing (install it with
    /// `scripts/install-peers`, or point `SIPLINE_PJSUA2_VENV` at one);
    /// [`PeerError::Startup`] when the agent exits (`import pjsua2` failing, say), does not
    /// come up, or does not register in time (its directory is then kept).
    pub fn start(options: PjsuaOptions) -> Result<Pjsua, PeerError> {
        let python = pjsua2_python();
        if !python.is_file() {
            return Err(PeerError::Missing(format!(
                "{} (the pjsua2 virtualenv; set {PJSUA2_VENV_ENV} to use another)",
                python.display()
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix("sip-testpeers-pjsua-")
            .tempdir()
            .map_err(|e| PeerError::io("creating pjsua's temporary directory", e))?;
        let root = dir.path().to_path_buf();
        let script = root.join("agent.py");
        std::fs::write(&script, AGENT_SCRIPT).map_err(|e| PeerError::io(format!("writing {}", script.display()), e))?;
        let port = free_ports(1, false)?[0];
        // RTP on this one, RTCP on the next (pjsua may walk up a little if they are taken).
        let rtp_port = free_port_pair()?;
        let log = root.join("pjsua.log");
        let stderr_log = root.join("agent.stderr");
        let stderr =
            File::create(&stderr_log).map_err(|e| PeerError::io(format!("creating {}", stderr_log.display()), e))?;

        let mut command = Command::new(&python);
        command
            .arg("-u")
            .arg(&script)
            .args(["--port", &port.to_string(), "--user", &options.user, "--log"])
            .arg(&log)
            .args(["--log-level", &options.log_level.to_string(), "--tone-hz", &options.tone_hz.to_string()])
            .args(["--rtp-port", &rtp_port.to_string()])
            .args([
                "--srtp",
                match options.srtp {
                    crate::PeerSrtp::Off => "0",
                    crate::PeerSrtp::Optional => "1",
                    crate::PeerSrtp::Mandatory => "2",
                },
            ])
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        if options.answer_mode == AnswerMode::Auto {
            command.arg("--auto-answer");
        }
        if options.require_100rel {
            command.arg("--require-100rel");
        }
        if let Some(seconds) = options.session_expires {
            command.args(["--session-expires", &seconds.to_string()]);
        }
        let mut process = PeerProcess::spawn(command, "the pjsua2 agent")?;
        let (stdin, stdout) = process.take_pipes();
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(PeerError::Config("the pjsua2 agent's pipes are missing".into()));
        };
        let events = EventLog::default();
        let (tx, rx) = mpsc::channel();
        {
            let events = events.clone();
            thread::Builder::new()
                .name(format!("pjsua-agent-{port}"))
                .spawn(move || read_agent(stdout, tx, events))
                .map_err(|e| PeerError::io("spawning the pjsua agent's reader thread", e))?;
        }
        let pjsua = Pjsua {
            process,
            dir: Some(dir),
            root,
            log,
            stderr_log,
            port,
            local_uri: format!("sip:{}@127.0.0.1:{port}", options.user),
            registration: Mutex::new(None),
            stdin: Mutex::new(Some(stdin)),
            replies: Mutex::new(rx),
            next_id: AtomicU64::new(1),
            events,
        };
        let deadline = Instant::now() + options.startup_timeout;
        let ready = pjsua.events.wait(
            "pjsua",
            "ready event",
            options.startup_timeout,
            |e| matches!(e, PhoneEvent::Other { kind, .. } if kind == "ready" || kind == "fatal"),
        );
        match ready {
            Ok(PhoneEvent::Other { kind, .. }) if kind == "ready" => {}
            Ok(other) => return Err(pjsua.into_startup_error(format!("the agent failed: {other}"))),
            Err(e) => return Err(pjsua.into_startup_error(e.to_string())),
        }
        if let Some(reg) = &options.registration {
            let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1));
            if let Err(e) = pjsua.register_within(reg, left) {
                return Err(pjsua.into_startup_error(e.to_string()));
            }
        }
        Ok(pjsua)
    }

    fn into_startup_error(mut self, reason: String) -> PeerError {
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
        let _ = self.process.stop(Duration::from_secs(3));
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
        let log_tail =
            format!("{}\n--- agent's standard error ---\n{}", tail(&self.log, 20), tail(&self.stderr_log, 20));
        PeerError::Startup { peer: "pjsua", reason, log: self.log.clone(), log_tail }
    }

    /// Sends one command (`{"cmd": NAME, ...fields}`) and returns the agent's `ok` reply.
    ///
    /// # Errors
    ///
    /// [`PeerError::Refused`] for an `error` reply (its message in `detail`);
    /// [`PeerError::Timeout`] without a reply in 10 s; [`PeerError::Io`] when the agent is
    /// gone.
    pub fn command(&self, name: &str, fields: Value) -> Result<Value, PeerError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = match fields {
            Value::Object(map) => Value::Object(map),
            _ => Value::Object(Default::default()),
        };
        message["cmd"] = Value::String(name.to_string());
        message["id"] = Value::from(id);
        let replies = self.replies.lock().unwrap_or_else(|e| e.into_inner());
        while replies.try_recv().is_ok() {}
        {
            let mut stdin = self.stdin.lock().unwrap_or_else(|e| e.into_inner());
            let Some(stdin) = stdin.as_mut() else {
                return Err(PeerError::Config("the pjsua agent's input is closed".into()));
            };
            stdin
                .write_all(format!("{message}\n").as_bytes())
                .and_then(|()| stdin.flush())
                .map_err(|e| PeerError::io(format!("sending `{name}` to the pjsua agent"), e))?;
        }
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            match replies.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(reply) if reply["id"].as_u64() == Some(id) => {
                    return if reply["event"] == "ok" {
                        Ok(reply)
                    } else {
                        Err(PeerError::Refused {
                            peer: "pjsua",
                            what: message.to_string(),
                            detail: reply["message"].as_str().unwrap_or("").to_string(),
                        })
                    };
                }
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(PeerError::Timeout(format!(
                        "the pjsua agent did not answer `{name}` in {COMMAND_TIMEOUT:?}"
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PeerError::io(
                        format!("waiting for the pjsua agent's answer to `{name}`"),
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            format!("the agent exited; its stderr:\n{}", tail(&self.stderr_log, 20)),
                        ),
                    ))
                }
            }
        }
    }

    /// Registers with `registrar` (UDP) as `user` and waits up to 10 s for the 2xx.
    ///
    /// # Errors
    ///
    /// [`PeerError::Refused`] when the agent refuses (one registration per agent) or the
    /// REGISTER fails, [`PeerError::Timeout`] when it is not answered in time.
    pub fn register(&self, user: &str, password: &str, registrar: SocketAddr) -> Result<(), PeerError> {
        let reg = Registration { user: user.into(), password: password.into(), registrar };
        self.register_within(&reg, Duration::from_secs(10))
    }

    fn register_within(&self, reg: &Registration, timeout: Duration) -> Result<(), PeerError> {
        self.command(
            "register",
            serde_json::json!({ "user": reg.user, "password": reg.password, "registrar": reg.registrar.to_string() }),
        )?;
        *self.registration.lock().unwrap_or_else(|e| e.into_inner()) = Some(reg.clone());
        match self.wait_until(timeout, |e| matches!(e.kind(), EventKind::Registered | EventKind::RegisterFailed))? {
            PhoneEvent::Registered => Ok(()),
            other => Err(PeerError::Refused {
                peer: "pjsua",
                what: format!("register {}@{}", reg.user, reg.registrar),
                detail: other.to_string(),
            }),
        }
    }

    /// Calls `uri` (from the registered account if there is one). Wait for
    /// [`PhoneEvent::Established`] next.
    pub fn call(&self, uri: &str) -> Result<(), PeerError> {
        self.command("call", serde_json::json!({ "uri": uri })).map(drop)
    }

    /// Answers the ringing incoming call with `code` (200 to accept, 486, 603 ... to refuse).
    pub fn answer(&self, code: u16) -> Result<(), PeerError> {
        self.command("answer", serde_json::json!({ "code": code })).map(drop)
    }

    /// Answers the ringing incoming call with 200 (as [`Baresip::accept`](crate::Baresip::accept)).
    pub fn accept(&self) -> Result<(), PeerError> {
        self.answer(200)
    }

    /// Hangs up the current call (BYE, CANCEL, or 603 for a ringing incoming one).
    pub fn hangup(&self) -> Result<(), PeerError> {
        self.command("hangup", serde_json::json!({})).map(drop)
    }

    /// Transfers the far end of the current call to `uri` (`xfer`: a blind REFER). When
    /// PJSIP is the one transferred, it accepts, calls the target (sending its tone), and
    /// reports `PhoneEvent::Other { kind: "transfer", .. }`; the new call is the phone's
    /// call once answered.
    pub fn transfer(&self, uri: &str) -> Result<(), PeerError> {
        self.command("transfer", serde_json::json!({ "uri": uri })).map(drop)
    }

    /// Puts the call on hold (`setHold`: a re-INVITE with `a=sendonly`). Expect
    /// [`PhoneEvent::Media`]`(`[`MediaState::LocalHold`](crate::MediaState::LocalHold)`)`.
    pub fn hold(&self) -> Result<(), PeerError> {
        self.command("hold", serde_json::json!({})).map(drop)
    }

    /// Takes the call off hold (a re-INVITE with the `PJSUA_CALL_UNHOLD` flag). Expect
    /// [`PhoneEvent::Media`]`(`[`MediaState::Active`](crate::MediaState::Active)`)`.
    pub fn resume(&self) -> Result<(), PeerError> {
        self.command("resume", serde_json::json!({})).map(drop)
    }

    /// Sends DTMF digits on the call: RFC 4733 when negotiated, SIP INFO otherwise
    /// (PJSIP's choice). The other side's digits come as [`PhoneEvent::Dtmf`].
    pub fn dial_dtmf(&self, digits: &str) -> Result<(), PeerError> {
        self.command("dtmf", serde_json::json!({ "digits": digits })).map(drop)
    }

    /// Records what the call hears to a 16-bit PCM WAV file at PJSIP's conference rate.
    /// PJSIP writes the header's lengths only when the recorder is destroyed, which the
    /// Python binding leaves to its garbage collector: read the samples on disk, not the
    /// lengths the header claims.
    pub fn record(&self, path: &Path) -> Result<(), PeerError> {
        self.command("record", serde_json::json!({ "path": path.to_string_lossy() })).map(drop)
    }

    /// Stops recording (the samples written so far stay in the file).
    pub fn stop_recording(&self) -> Result<(), PeerError> {
        self.command("stop_record", serde_json::json!({})).map(drop)
    }

    /// RTP packets of the current call (its audio stream's counters, polled every 100 ms
    /// and summed over the streams that re-INVITEs replaced), or of the last call once it
    /// has ended (as last polled); zeros before any call.
    pub fn rtp_stats(&self) -> Result<RtpStats, PeerError> {
        let reply = self.command("stats", serde_json::json!({}))?;
        Ok(RtpStats {
            rx_packets: reply["rx_packets"].as_u64().unwrap_or(0),
            tx_packets: reply["tx_packets"].as_u64().unwrap_or(0),
        })
    }

    /// Waits up to `timeout` for the next event of `kind` (events before it are skipped, and
    /// consumed with it). See [`wait_until`](Self::wait_until).
    pub fn wait_for(&self, kind: EventKind, timeout: Duration) -> Result<PhoneEvent, PeerError> {
        self.events.wait("pjsua", &format!("{kind:?} event"), timeout, |e| e.kind() == kind)
    }

    /// Waits up to `timeout` for the next event `pred` accepts, e.g.
    /// `|e| *e == PhoneEvent::Media(MediaState::LocalHold)`. Each wait consumes the events up
    /// to and including the one it returns.
    ///
    /// # Errors
    ///
    /// [`PeerError::Timeout`] (listing the last events) when none comes in time or the agent
    /// exits.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl FnMut(&PhoneEvent) -> bool,
    ) -> Result<PhoneEvent, PeerError> {
        self.events.wait("pjsua", "matching event", timeout, pred)
    }

    /// Every event reported so far, waited for or not.
    pub fn events(&self) -> Vec<PhoneEvent> {
        self.events.all()
    }

    /// The AOR: `sip:USER@REGISTRAR` once registered, else the local account's URI. Call
    /// this from another phone.
    pub fn uri(&self) -> String {
        match &*self.registration.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(reg) => format!("sip:{}@{}", reg.user, reg.registrar),
            None => self.local_uri.clone(),
        }
    }

    /// The local account's URI, `sip:USER@127.0.0.1:PORT`: where the agent itself listens.
    pub fn contact_uri(&self) -> String {
        self.local_uri.clone()
    }

    /// `127.0.0.1:PORT`, the agent's SIP address (UDP).
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The agent's PID (the Python interpreter).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the agent is still running.
    pub fn is_running(&self) -> bool {
        !self.process.has_exited()
    }

    /// PJSIP's log (SIP messages at level 4 and up).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What PJSIP has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// The agent's standard error (Python tracebacks, pjlib's first lines).
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_log
    }

    /// The temporary directory (agent script, logs).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Stops the agent now (as dropping it does).
    pub fn stop(self) {}
}

impl Drop for Pjsua {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("sip-testpeers: pjsua's events: {:?}", self.events.all());
        }
        if !self.process.has_exited() {
            // A clean exit: hang up, drop Call/Account objects, libDestroy.
            let _ = self.command("quit", serde_json::json!({}));
        }
        self.stdin.lock().unwrap_or_else(|e| e.into_inner()).take();
        let _ = self.process.wait_timeout(Duration::from_secs(3));
        let _ = self.process.stop(Duration::from_secs(2));
        keep_or_remove(self.dir.take(), "pjsua", &self.log);
    }
}

/// Reads the agent's events until its standard output closes: replies (`ok`, `error`) to
/// `replies`, the rest to `events`.
fn read_agent(stdout: std::process::ChildStdout, replies: mpsc::Sender<Value>, events: EventLog) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            // Not an event (the agent keeps its stdout for events only; be lenient anyway).
            continue;
        };
        match value["event"].as_str() {
            Some("ok" | "error") if value.get("id").is_some_and(|id| !id.is_null()) => {
                let _ = replies.send(value);
            }
            _ => events.push(map_event(&value)),
        }
    }
    events.end("the pjsua agent's output closed (it exited)".into());
}

/// An agent event as a [`PhoneEvent`].
fn map_event(value: &Value) -> PhoneEvent {
    let name = value["event"].as_str().unwrap_or("");
    let code = value["code"].as_u64().and_then(|c| u16::try_from(c).ok());
    let reason = value["reason"].as_str().unwrap_or("").to_string();
    let other = || PhoneEvent::Other { kind: name.to_string(), detail: value.to_string() };
    match name {
        "registered" => PhoneEvent::Registered,
        "reg_failed" => PhoneEvent::RegisterFailed { code, reason },
        "incoming" => PhoneEvent::Incoming { from: value["from"].as_str().unwrap_or("").to_string() },
        "state" => match value["state"].as_str().unwrap_or("") {
            "CALLING" => PhoneEvent::Calling,
            "EARLY" => PhoneEvent::Ringing { code },
            "CONFIRMED" => PhoneEvent::Established,
            "DISCONNECTED" => PhoneEvent::Closed { code, reason },
            _ => other(),
        },
        "media" => match value["state"].as_str().and_then(media_state) {
            Some(state) => PhoneEvent::Media(state),
            None => other(),
        },
        "dtmf" => match value["digit"].as_str().and_then(|d| d.chars().next()) {
            Some(digit) => PhoneEvent::Dtmf { digit },
            None => other(),
        },
        _ => other(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaState;

    #[test]
    fn agent_events() {
        let parse = |s: &str| map_event(&serde_json::from_str(s).unwrap());
        assert_eq!(parse(r#"{"event":"registered","code":200}"#), PhoneEvent::Registered);
        assert_eq!(
            parse(r#"{"event":"state","state":"DISCONNECTED","code":486,"reason":"Busy Here"}"#),
            PhoneEvent::Closed { code: Some(486), reason: "Busy Here".into() }
        );
        assert_eq!(parse(r#"{"event":"state","state":"EARLY","code":180}"#), PhoneEvent::Ringing { code: Some(180) });
        assert_eq!(parse(r#"{"event":"media","state":"remote_hold"}"#), PhoneEvent::Media(MediaState::RemoteHold));
        assert_eq!(parse(r#"{"event":"ready","port":1}"#).kind(), EventKind::Other);
    }

    #[test]
    fn the_venv_can_be_overridden() {
        // Only reads the variable; the default applies when it is unset or empty.
        let venv = pjsua2_venv();
        assert!(venv.is_absolute() || std::env::var_os(PJSUA2_VENV_ENV).is_some());
        assert!(pjsua2_python().ends_with("bin/python3"));
    }
}
