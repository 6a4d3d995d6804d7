//! What `call`, `answer`, `register`, `demo` and `agent` share: the runtime, the options
//! every command takes (`--config`, the account, `--trace`, `--metrics`, `--listen`,
//! `--dns-server`), building a client-core client from them, and one readable line per
//! event.

use super::pcap::Capture;
use client_core::{
    AccountConfig, CallId, ClientBuilder, ClientConfig, ClientEvent, ClientManager, EndCause, EndInfo, RtpStats,
    WireDirection, WireTap,
};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs `work` on a runtime sized to the CPUs this process may use (its affinity mask): one
/// CPU gets a single-threaded runtime, since a second thread on the same core only adds
/// wake-ups and context switches; more get a worker each, up to four. Exit 1 when no
/// runtime can be made.
pub fn run(command: &str, work: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cpus.min(4)).enable_all().build()
    };
    match runtime {
        Ok(rt) => {
            let code = rt.block_on(work);
            // A blocking read of standard input (the agent's line mode) would hold a plain
            // drop of the runtime forever.
            rt.shutdown_timeout(Duration::from_millis(200));
            code
        }
        Err(e) => {
            eprintln!("sipline {command}: cannot start the runtime: {e}");
            ExitCode::from(1)
        }
    }
}

/// The options of every command that runs a client.
#[derive(clap::Args, Clone, Default)]
pub struct ClientArgs {
    /// A TOML configuration file (client-core's ClientConfig; the flags below override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// The user name (address of record sip:USER@registrar-host); needs --registrar.
    #[arg(long, requires = "registrar")]
    pub user: Option<String>,
    /// The digest password.
    #[arg(long, requires = "user")]
    pub password: Option<String>,
    /// The registrar, e.g. sip:example.com or sip:127.0.0.1:5060.
    #[arg(long, requires = "user")]
    pub registrar: Option<String>,
    /// Never answer a digest challenge with MD5 (only SHA-256 or SHA-512/256): a server
    /// offering nothing stronger fails the registration or request, saying so.
    #[arg(long = "no-md5")]
    pub no_md5: bool,
    /// Ask the registrar for a GRUU (RFC 5627) and make it the Contact of the account's
    /// calls, so that a call outlives the connections it was set up over.
    #[arg(long, requires = "user")]
    pub gruu: bool,
    /// Print every SIP message sent and received, as a ladder.
    #[arg(long)]
    pub trace: bool,
    /// Write the SIP and RTP of the run to this capture file (pcap; Wireshark opens it).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<std::path::PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics while running.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Listen on this address (default: a free port on the interface towards the peer).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Ask this DNS server (ADDR:PORT) instead of the system's, for RFC 3263 lookups.
    #[arg(long = "dns-server")]
    pub dns_server: Vec<SocketAddr>,
}

/// Bad usage (exit 2) or a failure to run (exit 1), with its one-line reason.
pub enum Failure {
    /// Exit 2.
    Usage(String),
    /// Exit 1.
    Run(String),
}

impl Failure {
    /// Prints the reason and gives the exit code.
    pub fn exit(self, command: &str) -> ExitCode {
        match self {
            Failure::Usage(why) => {
                eprintln!("sipline {command}: {why}");
                ExitCode::from(2)
            }
            Failure::Run(why) => {
                eprintln!("sipline {command}: {why}");
                ExitCode::from(1)
            }
        }
    }
}

impl ClientArgs {
    /// The account the flags give (not part of the configuration: the command registers
    /// it itself, so that a failure can end the command).
    pub fn account(&self) -> Option<AccountConfig> {
        let (user, registrar) = (self.user.clone()?, self.registrar.clone()?);
        let mut account = AccountConfig::new(user, self.password.clone(), registrar);
        account.gruu = self.gruu;
        Some(account)
    }

    /// The configuration: the file's (or the defaults), then the flags. `towards` is the
    /// peer the client mainly talks to: without --listen or a configured address the
    /// client listens on the interface that reaches it.
    pub fn config(&self, towards: Option<&str>) -> Result<ClientConfig, Failure> {
        let mut config = match &self.config {
            Some(path) => ClientConfig::from_file(path).map_err(|e| Failure::Usage(e.to_string()))?,
            None => ClientConfig::default(),
        };
        let n = &mut config.network;
        match self.listen {
            Some(addr) => n.local_address = addr,
            // A client following address changes listens on every interface (the file says so).
            None if (self.config.is_none() || n.local_address.ip().is_unspecified())
                && n.listen_towards.is_none()
                && !n.follow_address_changes =>
            {
                n.listen_towards = towards.map(str::to_owned).or_else(|| Some("sip:127.0.0.1".into()));
            }
            None => {}
        }
        if !self.dns_server.is_empty() {
            n.dns_servers = self.dns_server.clone();
        }
        config.security.refuse_md5 |= self.no_md5;
        config.validate().map_err(|e| Failure::Usage(e.to_string()))?;
        Ok(config)
    }

    /// Serves the metrics when asked.
    pub fn serve_metrics(&self) -> Result<(), Failure> {
        let Some(addr) = self.metrics else { return Ok(()) };
        metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .install()
            .map_err(|e| Failure::Run(format!("metrics on {addr}: {e}")))?;
        println!("metrics at http://{addr}/metrics");
        Ok(())
    }

    /// A builder for `config`, with the trace and the capture file when asked.
    pub fn builder(&self, config: ClientConfig) -> Result<(ClientBuilder, Option<Capture>), Failure> {
        let mut b = ClientBuilder::from_config(config);
        let capture = match &self.pcap {
            Some(path) => {
                Some(Capture::create(path).map_err(|e| Failure::Run(format!("cannot write {}: {e}", path.display())))?)
            }
            None => None,
        };
        let taps: Vec<WireTap> =
            [self.trace.then(|| trace_tap("")), capture.as_ref().map(Capture::sip_tap)].into_iter().flatten().collect();
        if !taps.is_empty() {
            b = b.wire_tap(WireTap::new(move |dir, peer, bytes| {
                for t in &taps {
                    t.see(dir, peer, bytes);
                }
            }));
        }
        if let Some(c) = &capture {
            b = b.media_tap(c.media_tap());
        }
        Ok((b, capture))
    }
}

/// A wire tap printing each message with its direction and peer, like sngrep's ladder
/// (`name` marks whose messages they are when several clients share the output).
pub fn trace_tap(name: &'static str) -> WireTap {
    let start = Instant::now();
    WireTap::new(move |dir, peer, bytes| {
        let arrow = match dir {
            WireDirection::Sent => "-->",
            WireDirection::Received => "<--",
        };
        let t = start.elapsed().as_secs_f64();
        // SIP is text; a datagram starting with a control byte is a STUN keep-alive.
        if bytes.first().is_some_and(|b| *b < 0x20 && !matches!(b, b'\r' | b'\n')) {
            println!("[{t:6.2}] {name}{arrow} {peer}  STUN keep-alive ({} bytes)", bytes.len());
            return;
        }
        let text = String::from_utf8_lossy(bytes);
        let first = text.lines().next().unwrap_or_default();
        println!("[{t:6.2}] {name}{arrow} {peer}  {first}\n{text}");
    })
}

/// Starts `client` (telling the capture file its address) and registers `account` when
/// given, printing each step; a failure is the reason to print.
pub async fn start(
    client: &Arc<ClientManager>,
    capture: Option<&Capture>,
    account: Option<AccountConfig>,
) -> Result<Option<client_core::RegistrationId>, String> {
    client.start().await.map_err(|e| e.to_string())?;
    if let (Some(c), Ok(addr)) = (capture, client.local_address()) {
        c.set_local_sip(addr);
    }
    let Some(account) = account else { return Ok(None) };
    println!("registering {} at {} (waiting for the registrar)", account.aor(), account.registrar);
    match client.register(account).await {
        Ok(id) => Ok(Some(id)),
        Err(e) => Err(format!("registration failed: {e}")),
    }
}

/// A client built from the flags and started: its events printing, its account (when the
/// flags give one) registered.
pub struct Launched {
    pub client: Arc<ClientManager>,
    /// Every event from before the start on.
    pub events: client_core::broadcast::Receiver<ClientEvent>,
    pub registration: Option<client_core::RegistrationId>,
    printer: tokio::task::JoinHandle<()>,
    capture: Option<Capture>,
}

impl Launched {
    /// Unregisters (when `unregister`), stops the client, lets the printer finish and closes
    /// the capture file.
    pub async fn finish(self, unregister: bool) {
        if let (true, Some(id)) = (unregister, self.registration) {
            let _ = self.client.unregister(id).await;
        }
        finish(self.client, self.printer, self.capture).await;
    }

    /// Stops without waiting more than a second (a call still waiting to be cancelled must
    /// not hold the program), and closes the capture file.
    pub async fn finish_now(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), finish(self.client, self.printer, None)).await;
        close_capture(self.capture);
    }
}

/// Builds a client from `config` and the flags, starts it with its events printing, and
/// registers the flags' account. `Ok(Err(code))`: the start or the registration failed;
/// that was printed and the client stopped.
pub async fn launch(args: &ClientArgs, config: ClientConfig) -> Result<Result<Launched, ExitCode>, Failure> {
    args.serve_metrics()?;
    let (builder, capture) = args.builder(config)?;
    let client = builder.build().await.map_err(|e| Failure::Usage(e.to_string()))?;
    let events = client.subscribe_events();
    let printer = print_events(&client, "");
    match start(&client, capture.as_ref(), args.account()).await {
        Ok(registration) => Ok(Ok(Launched { client, events, registration, printer, capture })),
        Err(why) => {
            println!("{why}");
            finish(client, printer, capture).await;
            Ok(Err(ExitCode::from(1)))
        }
    }
}

/// Prints one line per event until the client goes away. `name` prefixes each line when
/// several clients share the output (the demo).
pub fn print_events(client: &ClientManager, name: &'static str) -> tokio::task::JoinHandle<()> {
    let mut rx = client.subscribe_events();
    let start = Instant::now();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ClientEvent::MediaQuality { .. }) => {}
                Ok(e) => {
                    let t = start.elapsed().as_secs_f64();
                    if name.is_empty() {
                        println!("[{t:6.2}] {e}");
                    } else {
                        println!("[{t:6.2}] {name}: {e}");
                    }
                }
                Err(client_core::broadcast::error::RecvError::Lagged(n)) => println!("({n} events not shown)"),
                Err(client_core::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

/// Stops the client, lets the printer finish, and closes the capture file.
pub async fn finish(client: Arc<ClientManager>, printer: tokio::task::JoinHandle<()>, capture: Option<Capture>) {
    client.stop().await;
    drop(client);
    let _ = tokio::time::timeout(Duration::from_secs(1), printer).await;
    close_capture(capture);
}

/// Writes out the capture file, saying where it went.
pub fn close_capture(capture: Option<Capture>) {
    if let Some(c) = capture {
        match c.finish() {
            Ok(()) => println!("capture written to {}", c.path().display()),
            Err(e) => println!("capture incomplete ({}): {e}", c.path().display()),
        }
    }
}

/// Runs one request outside calls with a client made from `config` and the flags: the
/// account flags are the credentials a challenging server gets (nothing is registered),
/// `--trace` and `--pcap` see the request, and the client is stopped afterwards.
pub async fn one_request<F, Fut>(
    args: &ClientArgs,
    mut config: ClientConfig,
    request: F,
) -> Result<Result<client_core::SipResponse, client_core::ClientError>, Failure>
where
    F: FnOnce(Arc<ClientManager>) -> Fut,
    Fut: std::future::Future<Output = Result<client_core::SipResponse, client_core::ClientError>>,
{
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        config.security.credentials = Some(client_core::Credentials { user: user.clone(), password: password.clone() });
    }
    config.validate().map_err(|e| Failure::Usage(e.to_string()))?;
    args.serve_metrics()?;
    let (builder, capture) = args.builder(config)?;
    let client = builder.build().await.map_err(|e| Failure::Usage(e.to_string()))?;
    start(&client, capture.as_ref(), None).await.map_err(Failure::Run)?;
    let answer = request(client.clone()).await;
    client.stop().await;
    close_capture(capture);
    Ok(answer)
}

/// A line about a call's RTP.
pub fn rtp_line(id: CallId, s: &RtpStats) -> String {
    format!(
        "{id} rtp: sent {} packets, received {} ({} lost, jitter {:.1} ms)",
        s.packets_sent, s.packets_received, s.packets_lost, s.jitter_ms
    )
}

/// Did the call end the way a finished call ends (a BYE either way)?
pub fn ended_normally(info: &EndInfo) -> bool {
    matches!(info.cause, EndCause::LocalHangup | EndCause::RemoteHangup)
}

/// Seconds from a flag, or the usage error naming it.
pub fn seconds(s: f64, flag: &str) -> Result<Duration, Failure> {
    if s.is_finite() && s >= 0.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(Failure::Usage(format!("--{flag} must be a number of seconds")))
    }
}
