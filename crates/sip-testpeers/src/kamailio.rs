//! kamailio 5.6 as a registrar and record-routing proxy on loopback.

use std::fmt;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::certs::TestCerts;
use crate::ports::{free_ports, ipv6_loopback_available, random_u64};
use crate::process::{run, tail, PeerProcess};
use crate::{which, PeerError};

/// The config template (`peers/kamailio.cfg`), rendered by [`Kamailio::start`].
pub const CONFIG_TEMPLATE: &str = include_str!("../peers/kamailio.cfg");

/// Shared and private memory for kamailio, in MB (`-m`, `-M`): small, as PEERS.md advises.
const SHM_MB: &str = "64";
const PKG_MB: &str = "8";

/// A SIP transport kamailio listens on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (TLS 1.2 or 1.3) over TCP.
    Tls,
    /// SIP over WebSocket (RFC 7118), `ws://`.
    Ws,
    /// SIP over secure WebSocket, `wss://`.
    Wss,
}

impl Transport {
    /// Every transport, in port order.
    pub const ALL: [Transport; 5] = [Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss];

    /// The value of the `transport=` URI parameter (lower case).
    pub fn param(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Ws => "ws",
            Transport::Wss => "wss",
        }
    }

    /// Whether this transport runs over TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.param())
    }
}

/// The ports kamailio listens on: one per transport, the same on 127.0.0.1 and ::1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KamailioPorts {
    /// SIP over UDP.
    pub udp: u16,
    /// SIP over TCP.
    pub tcp: u16,
    /// SIP over TLS.
    pub tls: u16,
    /// WebSocket (`ws://127.0.0.1:PORT/`).
    pub ws: u16,
    /// Secure WebSocket (`wss://127.0.0.1:PORT/`).
    pub wss: u16,
}

impl KamailioPorts {
    /// The port of `transport`.
    pub fn get(&self, transport: Transport) -> u16 {
        match transport {
            Transport::Udp => self.udp,
            Transport::Tcp => self.tcp,
            Transport::Tls => self.tls,
            Transport::Ws => self.ws,
            Transport::Wss => self.wss,
        }
    }
}

/// A subscriber kamailio knows: digest credentials for REGISTER (and for other requests when
/// [`KamailioOptions::challenge_requests`] is set).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user name (the user part of the AOR and the digest username).
    pub name: String,
    /// The plaintext password (kamailio computes HA1 from it).
    pub password: String,
}

/// How [`Kamailio::start`] sets kamailio up.
#[derive(Clone, Debug)]
pub struct KamailioOptions {
    /// The subscribers. None by default: a REGISTER is then always refused (401 forever).
    pub users: Vec<User>,
    /// Challenge initial requests other than REGISTER (INVITE, MESSAGE, ...) with 407, as a
    /// PBX does. Off by default: such requests are relayed without credentials. REGISTER is
    /// always challenged (401); OPTIONS to the proxy itself never is.
    pub challenge_requests: bool,
    /// Listen on ::1 too. Defaults to whether ::1 can be bound on this machine.
    pub ipv6: bool,
    /// How long to wait for kamailio to answer on its ports. 20 s by default.
    pub startup_timeout: Duration,
    /// kamailio's log level (`debug=`): 2 (info) by default, 3 for debug output.
    pub log_level: u8,
    /// The shortest registration kamailio grants (registrar `min_expires`), in seconds: 60
    /// by default as in kamailio; a test that wants to see a refresh sets a few seconds.
    pub min_expires: u32,
    /// Domain names kamailio takes as its own (port-less aliases), so that
    /// `sip:user@DOMAIN` reaches its location service. A name, never an IP address: a
    /// port-less alias of 127.0.0.1 would make every UA on loopback look like the proxy.
    pub domains: Vec<String>,
    /// A Flow-Timer (RFC 5626 §4.4.1, seconds) in every 2xx to a REGISTER: how often
    /// clients must keep their flow alive. None by default.
    pub flow_timer: Option<u32>,
    /// Challenge with `algorithm=SHA-256` (RFC 8760) instead of kamailio's default, MD5.
    pub digest_sha256: bool,
    /// Grant GRUUs (RFC 5627) to REGISTERs that ask (`Supported: gruu`, `+sip.instance`),
    /// and route requests addressed to one — in a dialog too — by the location service.
    /// Off by default, as in this proxy's configuration before.
    pub gruu: bool,
}

impl Default for KamailioOptions {
    fn default() -> Self {
        KamailioOptions {
            users: Vec::new(),
            challenge_requests: false,
            ipv6: ipv6_loopback_available(),
            startup_timeout: Duration::from_secs(20),
            log_level: 2,
            min_expires: 60,
            domains: Vec::new(),
            flow_timer: None,
            digest_sha256: false,
            gruu: false,
        }
    }
}

impl KamailioOptions {
    /// The defaults: no users, REGISTER challenged, other requests relayed, IPv6 when ::1
    /// works.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subscriber. Names and passwords must not be empty nor contain `:`, `\`, `@`,
    /// whitespace or control characters (db_text's escaping is not worth the trouble).
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push(User { name: name.into(), password: password.into() });
        self
    }

    /// Sets [`flow_timer`](Self::flow_timer).
    pub fn flow_timer(mut self, seconds: u32) -> Self {
        self.flow_timer = Some(seconds);
        self
    }

    /// Sets [`digest_sha256`](Self::digest_sha256).
    pub fn digest_sha256(mut self, yes: bool) -> Self {
        self.digest_sha256 = yes;
        self
    }

    /// Sets [`gruu`](Self::gruu).
    pub fn gruu(mut self, yes: bool) -> Self {
        self.gruu = yes;
        self
    }

    /// Sets [`challenge_requests`](Self::challenge_requests).
    pub fn challenge_requests(mut self, yes: bool) -> Self {
        self.challenge_requests = yes;
        self
    }

    /// Sets [`ipv6`](Self::ipv6).
    pub fn ipv6(mut self, yes: bool) -> Self {
        self.ipv6 = yes;
        self
    }

    /// Sets [`min_expires`](Self::min_expires).
    pub fn min_expires(mut self, seconds: u32) -> Self {
        self.min_expires = seconds;
        self
    }

    /// Adds a domain to [`domains`](Self::domains).
    pub fn domain(mut self, name: impl Into<String>) -> Self {
        self.domains.push(name.into());
        self
    }

    /// Sets [`log_level`](Self::log_level).
    pub fn log_level(mut self, level: u8) -> Self {
        self.log_level = level;
        self
    }

    fn validate(&self) -> Result<(), PeerError> {
        let bad = |s: &str| {
            s.is_empty() || s.chars().any(|c| matches!(c, ':' | '\\' | '@') || c.is_whitespace() || c.is_control())
        };
        for user in &self.users {
            if bad(&user.name) || bad(&user.password) {
                return Err(PeerError::Config(format!(
                    "user {:?}: names and passwords must be non-empty, without ':', '\\', '@', \
                     whitespace or control characters",
                    user.name
                )));
            }
        }
        if self.log_level > 4 {
            return Err(PeerError::Config("kamailio log_level is 0..=4".into()));
        }
        Ok(())
    }
}

/// A running kamailio: registrar (digest auth against the configured users, registrations
/// in memory) and record-routing proxy, on 127.0.0.1 and ::1.
///
/// What it does with a request (see `peers/kamailio.cfg`):
/// - OPTIONS to the proxy itself (no user part): 200 OK, statelessly, no authentication;
/// - REGISTER: 401 challenge, then `save("location")`;
/// - initial requests to a registered user (`sip:alice@127.0.0.1:PORT`): record-routed and
///   relayed to the registered contact (404 when not registered), over the connection the
///   user registered on for TCP, TLS, WS and WSS;
/// - in-dialog requests: loose-routed;
/// - anything whose next hop is not a loopback IP literal: 403, nothing leaves loopback.
///
/// Dropping it stops kamailio (SIGTERM, then SIGKILL to its process group) and removes its
/// directory, unless the thread is panicking or `SIP_TESTPEERS_KEEP=1` is set: then the
/// directory is kept and its path printed, for the log.
pub struct Kamailio {
    process: PeerProcess,
    dir: Option<TempDir>,
    root: PathBuf,
    ports: KamailioPorts,
    ipv6: bool,
    certs: TestCerts,
    config: PathBuf,
    log: PathBuf,
    run_dir: PathBuf,
    users: Vec<User>,
}

impl fmt::Debug for Kamailio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kamailio")
            .field("pid", &self.pid())
            .field("ports", &self.ports)
            .field("ipv6", &self.ipv6)
            .field("dir", &self.root)
            .finish()
    }
}

impl Kamailio {
    /// Starts kamailio and waits until it answers.
    ///
    /// In a fresh temporary directory: generates the test CA and server certificate,
    /// writes the db_text tables and renders the config template with five free ports,
    /// checks it with `kamailio -c`, runs `kamailio -f CFG -DD -E -m 64 -M 8 -Y RUNDIR`
    /// with its standard error in [`log_path`](Self::log_path), then waits (up to
    /// [`KamailioOptions::startup_timeout`]) until the TCP port accepts a connection and an
    /// OPTIONS over UDP (to 127.0.0.1, and to ::1 with IPv6) gets 200. When the ports were
    /// taken meanwhile by someone else it starts again with others (three tries).
    ///
    /// # Errors
    ///
    /// [`PeerError::Missing`] when `kamailio` or `openssl` is not installed;
    /// [`PeerError::Config`] for unusable options; [`PeerError::Command`] when the rendered
    /// config fails `kamailio -c` (a module missing, say); [`PeerError::Startup`] when
    /// kamailio exits or does not answer in time (its directory is then kept for the log).
    pub fn start(options: KamailioOptions) -> Result<Kamailio, PeerError> {
        options.validate()?;
        let binary = which("kamailio")?;
        which("openssl")?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::start_once(&binary, &options, attempt == 3) {
                Err(PeerError::Startup { ref log_tail, .. })
                    if attempt < 3 && log_tail.contains("Address already in use") =>
                {
                    continue;
                }
                result => return result,
            }
        }
    }

    fn start_once(binary: &Path, options: &KamailioOptions, last_try: bool) -> Result<Kamailio, PeerError> {
        let dir = tempfile::Builder::new()
            .prefix("sip-testpeers-kamailio-")
            .tempdir()
            .map_err(|e| PeerError::io("creating kamailio's temporary directory", e))?;
        let root = dir.path().to_path_buf();
        let db_dir = root.join("db");
        let run_dir = root.join("run");
        for d in [&db_dir, &run_dir] {
            std::fs::create_dir(d).map_err(|e| PeerError::io(format!("creating {}", d.display()), e))?;
        }
        let certs = TestCerts::generate(&root)?;
        write_db(&db_dir, &options.users)?;

        let p = free_ports(5, options.ipv6)?;
        let ports = KamailioPorts { udp: p[0], tcp: p[1], tls: p[2], ws: p[3], wss: p[4] };
        let rendered = render(CONFIG_TEMPLATE, options, &ports, &db_dir, &run_dir, &certs)?;
        let config = root.join("kamailio.cfg");
        std::fs::write(&config, rendered).map_err(|e| PeerError::io(format!("writing {}", config.display()), e))?;

        let mut check = Command::new(binary);
        check
            .arg("-c")
            .arg("-f")
            .arg(&config)
            .args(["-m", SHM_MB, "-M", PKG_MB, "-Y"])
            .arg(&run_dir)
            .current_dir(&root);
        run(check, Duration::from_secs(20))?;

        let log = root.join("kamailio.log");
        File::create(&log).map_err(|e| PeerError::io(format!("creating {}", log.display()), e))?;
        let process = spawn(binary, &config, &run_dir, &root, &log)?;

        let mut kamailio = Kamailio {
            process,
            dir: Some(dir),
            root,
            ports,
            ipv6: options.ipv6,
            certs,
            config,
            log,
            run_dir,
            users: options.users.clone(),
        };
        if let Err(reason) = kamailio.wait_ready(options.startup_timeout) {
            let _ = kamailio.process.stop(Duration::from_secs(5));
            let error = PeerError::Startup {
                peer: "kamailio",
                reason,
                log: kamailio.log.clone(),
                log_tail: tail(&kamailio.log, 30),
            };
            let will_retry = !last_try && tail(&kamailio.log, 30).contains("Address already in use");
            if !will_retry {
                // Keep the directory: the error names its log.
                if let Some(dir) = kamailio.dir.take() {
                    let _ = dir.keep();
                }
            }
            return Err(error);
        }
        Ok(kamailio)
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut tcp = false;
        let mut udp4 = false;
        let mut udp6 = !self.ipv6;
        loop {
            if self.process.has_exited() {
                return Err("kamailio exited during start-up".into());
            }
            tcp = tcp || TcpStream::connect_timeout(&self.addr(Transport::Tcp), Duration::from_millis(200)).is_ok();
            udp4 = udp4 || options_answered(self.addr(Transport::Udp));
            if !udp6 {
                if let Some(addr) = self.addr_v6(Transport::Udp) {
                    udp6 = options_answered(addr);
                }
            }
            if tcp && udp4 && udp6 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not ready after {timeout:?} (TCP accepts: {tcp}, OPTIONS over UDP answered \
                     on 127.0.0.1: {udp4}, on ::1: {udp6})"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops kamailio and starts it again on the same ports with the same configuration,
    /// as an operator restarting a registrar does: every connection to it is closed and its
    /// location service (in memory) forgets every registration. Returns once it answers
    /// again; the log goes on in the same file.
    pub fn restart(&mut self, down_for: Duration) -> Result<(), PeerError> {
        let binary = which("kamailio")?;
        self.process.stop(Duration::from_secs(5))?;
        thread::sleep(down_for);
        self.process = spawn(&binary, &self.config, &self.run_dir, &self.root, &self.log)?;
        self.wait_ready(Duration::from_secs(20)).map_err(|reason| PeerError::Startup {
            peer: "kamailio",
            reason,
            log: self.log.clone(),
            log_tail: tail(&self.log, 30),
        })
    }

    /// kamailio's PID (the main process; its workers are in the process group of that id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether kamailio is still running.
    pub fn is_running(&self) -> bool {
        !self.process.has_exited()
    }

    /// The ports of every transport.
    pub fn ports(&self) -> KamailioPorts {
        self.ports
    }

    /// The port of `transport`.
    pub fn port(&self, transport: Transport) -> u16 {
        self.ports.get(transport)
    }

    /// `127.0.0.1:PORT` of `transport`.
    pub fn addr(&self, transport: Transport) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), self.port(transport))
    }

    /// `[::1]:PORT` of `transport`, `None` when kamailio does not listen on ::1.
    pub fn addr_v6(&self, transport: Transport) -> Option<SocketAddr> {
        self.ipv6.then(|| SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), self.port(transport)))
    }

    /// A SIP URI of the proxy for `transport`: `sip:127.0.0.1:PORT;transport=tcp`.
    pub fn uri(&self, transport: Transport) -> String {
        format!("sip:127.0.0.1:{};transport={}", self.port(transport), transport.param())
    }

    /// The WebSocket URL: `ws://127.0.0.1:PORT/`, or `wss://localhost:PORT/` when `secure`
    /// (the name the certificate carries; it also carries 127.0.0.1). The handshake must
    /// offer the `sip` subprotocol.
    pub fn ws_url(&self, secure: bool) -> String {
        if secure {
            format!("wss://localhost:{}/", self.ports.wss)
        } else {
            format!("ws://127.0.0.1:{}/", self.ports.ws)
        }
    }

    /// The test CA's certificate (PEM): what a TLS client must trust to accept kamailio.
    pub fn ca_cert_path(&self) -> &Path {
        &self.certs.ca_cert
    }

    /// All the certificate files (CA and kamailio's server certificate and key).
    pub fn certs(&self) -> &TestCerts {
        &self.certs
    }

    /// The rendered config file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// kamailio's log (its standard output and error): print it when a test fails.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// What kamailio has logged so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }

    /// The temporary directory holding config, certificates, tables and log.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The control socket, for `kamcmd -s unix:PATH`.
    pub fn ctl_socket(&self) -> PathBuf {
        self.run_dir.join("kamailio_ctl")
    }

    /// The configured subscribers.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// Runs `kamcmd` against this kamailio and returns its output, e.g.
    /// `kamcmd(&["ul.dump"])` lists the registrations.
    pub fn kamcmd(&self, args: &[&str]) -> Result<String, PeerError> {
        let mut command = Command::new(which("kamcmd")?);
        command.arg("-s").arg(format!("unix:{}", self.ctl_socket().display())).args(args);
        run(command, Duration::from_secs(10))
    }

    /// The contacts registered for `user` right now (from `ul.dump`).
    pub fn registered_contacts(&self, user: &str) -> Result<Vec<String>, PeerError> {
        let dump = self.kamcmd(&["ul.dump"])?;
        let mut contacts = Vec::new();
        let mut in_aor = false;
        for line in dump.lines() {
            let line = line.trim();
            if let Some(aor) = line.strip_prefix("AoR:") {
                in_aor = aor.trim() == user;
            } else if in_aor {
                if let Some(address) = line.strip_prefix("Address:") {
                    contacts.push(address.trim().to_string());
                }
            }
        }
        Ok(contacts)
    }

    /// Stops kamailio now (as dropping it does).
    pub fn stop(self) {}
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let _ = self.process.stop(Duration::from_secs(5));
        keep_or_remove(self.dir.take(), "kamailio", &self.log);
    }
}

/// Starts kamailio in the foreground with `config`, its output appended to `log`.
fn spawn(binary: &Path, config: &Path, run_dir: &Path, root: &Path, log: &Path) -> Result<PeerProcess, PeerError> {
    let log_file = std::fs::OpenOptions::new()
        .append(true)
        .open(log)
        .map_err(|e| PeerError::io(format!("opening {}", log.display()), e))?;
    let log_file2 = log_file.try_clone().map_err(|e| PeerError::io("duplicating the log file handle", e))?;
    let mut command = Command::new(binary);
    command
        .arg("-f")
        .arg(config)
        .args(["-DD", "-E", "-m", SHM_MB, "-M", PKG_MB, "-Y"])
        .arg(run_dir)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_file2);
    PeerProcess::spawn(command, "kamailio")
}

/// Removes a peer's directory, or keeps it (and says where) when the thread is panicking or
/// `SIP_TESTPEERS_KEEP=1`.
pub(crate) fn keep_or_remove(dir: Option<TempDir>, peer: &str, log: &Path) {
    let Some(dir) = dir else { return };
    let keep = std::env::var("SIP_TESTPEERS_KEEP").is_ok_and(|v| v == "1");
    if thread::panicking() || keep {
        let path = dir.keep();
        eprintln!("sip-testpeers: kept {peer}'s directory {} (log: {})", path.display(), log.display());
        if thread::panicking() {
            eprintln!("--- last lines of {peer}'s log ---\n{}", tail(log, 40));
        }
    }
}

/// Sends one OPTIONS to `target` over UDP; true when a 200 comes back within 300 ms.
fn options_answered(target: SocketAddr) -> bool {
    let bind: SocketAddr =
        if target.is_ipv6() { (Ipv6Addr::LOCALHOST, 0).into() } else { (Ipv4Addr::LOCALHOST, 0).into() };
    let Ok(socket) = UdpSocket::bind(bind) else {
        return false;
    };
    let Ok(local) = socket.local_addr() else {
        return false;
    };
    let id = random_u64();
    let request = format!(
        "OPTIONS sip:{target} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-ready-{id:x}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:ready@{local}>;tag={id:x}\r\n\
         To: <sip:{target}>\r\n\
         Call-ID: ready-{id:x}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    if socket.send_to(request.as_bytes(), target).is_err()
        || socket.set_read_timeout(Some(Duration::from_millis(300))).is_err()
    {
        return false;
    }
    let mut buf = [0u8; 4096];
    matches!(socket.recv(&mut buf), Ok(n) if buf[..n].starts_with(b"SIP/2.0 200 "))
}

/// The db_text tables auth_db reads: `subscriber` (plaintext passwords) and `version`.
fn write_db(db_dir: &Path, users: &[User]) -> Result<(), PeerError> {
    let mut subscriber =
        String::from("id(int,auto) username(str) domain(str,null) password(str) ha1(str,null) ha1b(str,null)\n");
    for (i, user) in users.iter().enumerate() {
        subscriber.push_str(&format!("{}:{}::{}::\n", i + 1, user.name, user.password));
    }
    let version = "table_name(str) table_version(int)\nsubscriber:7\n";
    for (name, text) in [("subscriber", subscriber.as_str()), ("version", version)] {
        let path = db_dir.join(name);
        std::fs::write(&path, text).map_err(|e| PeerError::io(format!("writing {}", path.display()), e))?;
    }
    Ok(())
}

/// Fills the template's placeholders; fails if one is left.
fn render(
    template: &str,
    options: &KamailioOptions,
    ports: &KamailioPorts,
    db_dir: &Path,
    run_dir: &Path,
    certs: &TestCerts,
) -> Result<String, PeerError> {
    let mut addrs = vec!["127.0.0.1"];
    if options.ipv6 {
        addrs.push("[::1]");
    }
    let mut listen = String::new();
    for addr in &addrs {
        for (proto, port) in
            [("udp", ports.udp), ("tcp", ports.tcp), ("tls", ports.tls), ("tcp", ports.ws), ("tls", ports.wss)]
        {
            listen.push_str(&format!("listen={proto}:{addr}:{port}\n"));
        }
    }
    let mut aliases: String =
        Transport::ALL.iter().map(|t| format!("alias=\"localhost:{}\"\n", ports.get(*t))).collect();
    for d in &options.domains {
        if d.parse::<std::net::IpAddr>().is_ok()
            || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(PeerError::Config(format!("domain alias '{d}' must be a host name")));
        }
        aliases.push_str(&format!("alias=\"{d}\"\n"));
    }
    let mut defines = format!("#!define LOG_LEVEL {}\n", options.log_level);
    if options.challenge_requests {
        defines.push_str("#!define WITH_REQUEST_AUTH\n");
    }
    if options.gruu {
        defines.push_str("#!define WITH_GRUU\n");
    }
    if options.digest_sha256 {
        defines.push_str("#!define WITH_SHA256\n");
    }
    if let Some(seconds) = options.flow_timer {
        defines.push_str(&format!("#!define FLOW_TIMER_HEADER \"Flow-Timer: {seconds}\\r\\n\"\n"));
    }
    let path = |p: &Path| -> Result<String, PeerError> {
        let s = p.to_str().ok_or_else(|| PeerError::Config(format!("path {} is not UTF-8", p.display())))?;
        if s.contains(['"', '\n']) {
            return Err(PeerError::Config(format!("path {s} cannot be quoted in kamailio's config")));
        }
        Ok(s.to_string())
    };
    let values = [
        ("DEFINES", defines),
        ("MIN_EXPIRES", options.min_expires.to_string()),
        ("LISTEN", listen),
        ("ALIASES", aliases),
        ("WS_PORT", ports.ws.to_string()),
        ("WSS_PORT", ports.wss.to_string()),
        ("DB_DIR", path(db_dir)?),
        ("RUN_DIR", path(run_dir)?),
        ("CERT", path(&certs.cert)?),
        ("KEY", path(&certs.key)?),
    ];
    let mut text = template.to_string();
    for (name, value) in values {
        let placeholder = format!("{{{{{name}}}}}");
        if !text.contains(&placeholder) {
            return Err(PeerError::Config(format!("the kamailio template has no {placeholder}")));
        }
        text = text.replace(&placeholder, value.trim_end());
    }
    if let Some(at) = text.find("{{") {
        let rest: String = text[at..].chars().take(40).collect();
        return Err(PeerError::Config(format!("placeholder left in the rendered kamailio config: {rest}")));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certs() -> TestCerts {
        TestCerts {
            ca_cert: "/t/ca.pem".into(),
            ca_key: "/t/ca.key".into(),
            cert: "/t/server.pem".into(),
            key: "/t/server.key".into(),
        }
    }

    #[test]
    fn template_renders_every_placeholder() {
        let ports = KamailioPorts { udp: 21001, tcp: 21002, tls: 21003, ws: 21004, wss: 21005 };
        let options = KamailioOptions::new().ipv6(true).challenge_requests(true);
        let text =
            render(CONFIG_TEMPLATE, &options, &ports, Path::new("/t/db"), Path::new("/t/run"), &certs()).unwrap();
        assert!(!text.contains("{{"));
        assert!(text.contains("listen=udp:127.0.0.1:21001\n"));
        assert!(text.contains("listen=tls:[::1]:21005\n"));
        assert!(text.contains("alias=\"localhost:21003\""));
        assert!(text.lines().any(|l| l == "#!define WITH_REQUEST_AUTH"));
        assert!(text.contains("\"text:///t/db\""));
        assert!(text.contains("$Rp != 21004 && $Rp != 21005"));
        // Never a port-less alias (it would make every 127.0.0.1 contact "myself").
        assert!(!text.contains("alias=\"127.0.0.1\""));
        assert!(!text.lines().any(|l| l.starts_with("listen=") && !l.contains("127.0.0.1") && !l.contains("[::1]")));

        let v4 = render(
            CONFIG_TEMPLATE,
            &KamailioOptions::new().ipv6(false),
            &ports,
            Path::new("/t/db"),
            Path::new("/t/run"),
            &certs(),
        )
        .unwrap();
        assert!(!v4.lines().any(|l| l.starts_with("listen=") && l.contains("[::1]")));
        assert!(!v4.lines().any(|l| l.starts_with("#!define WITH_REQUEST_AUTH")));
    }

    #[test]
    fn bad_users_are_refused() {
        for (name, password) in [("a:b", "pw"), ("alice", ""), ("al ice", "pw"), ("a@b", "pw")] {
            let options = KamailioOptions::new().user(name, password);
            assert!(matches!(options.validate(), Err(PeerError::Config(_))));
        }
        assert!(KamailioOptions::new().user("alice", "pw-1.x").validate().is_ok());
    }
}
