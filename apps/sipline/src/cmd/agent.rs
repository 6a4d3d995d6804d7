//! What `sipline call`, `answer` and `demo` share: the account options, starting a
//! session-core coordinator on the right address, printing the SIP trace, and one readable
//! line per event.

use super::options::local_ip_towards;
use super::target::resolve;
use session_core::{
    Account, AccountId, EndInfo, RegistrationState, RtpStats, SessionCoordinator, SessionEvent, SessionId,
    SessionManagerBuilder, SipClient, WireDirection, WireTap,
};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// Runs `work` on a runtime sized to the CPUs this process may use (its affinity mask): one
/// CPU gets a single-threaded runtime, since a second thread on the same core only adds
/// wake-ups and context switches; more get a worker each, up to four. Exit 1 when no
/// runtime can be made.
pub fn run(command: &str, work: impl std::future::Future<Output = std::process::ExitCode>) -> std::process::ExitCode {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(cpus.min(4)).enable_all().build()
    };
    match runtime {
        Ok(rt) => rt.block_on(work),
        Err(e) => {
            eprintln!("sipline {command}: cannot start the runtime: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// `--user --password --registrar`: an account to register first.
#[derive(clap::Args, Clone)]
pub struct AccountArgs {
    /// The user name (address of record sip:USER@registrar-host); needs --registrar.
    #[arg(long, requires = "registrar")]
    pub user: Option<String>,
    /// The digest password.
    #[arg(long, requires = "user")]
    pub password: Option<String>,
    /// The registrar, e.g. sip:example.com or sip:127.0.0.1:5060.
    #[arg(long, requires = "user")]
    pub registrar: Option<String>,
    /// Print every SIP message sent and received.
    #[arg(long)]
    pub trace: bool,
}

impl AccountArgs {
    pub fn account(&self) -> Option<Account> {
        let (user, registrar) = (self.user.clone()?, self.registrar.clone()?);
        Some(Account::new(user, self.password.clone(), registrar))
    }
}

/// The IP to use towards `uri` (the interface the system routes through; loopback for a
/// loopback peer), looking names up at `dns` (the system's servers when empty).
pub async fn ip_towards(uri: &str, dns: &[SocketAddr]) -> Option<IpAddr> {
    let targets = resolve(uri, None, dns).await.ok()?;
    targets.first().map(|t| local_ip_towards(t.addr))
}

/// A builder listening on `listen` (or on the interface towards `towards` with a free
/// port), asking `dns` for RFC 3263 lookups (the system's servers when empty), printing the
/// wire when asked.
pub async fn builder(
    listen: Option<SocketAddr>,
    towards: Option<&str>,
    dns: &[SocketAddr],
    trace: bool,
) -> SessionManagerBuilder {
    let addr = match listen {
        Some(a) => a,
        None => {
            let ip = match towards {
                Some(uri) => ip_towards(uri, dns).await,
                None => None,
            };
            SocketAddr::new(ip.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), 0)
        }
    };
    let mut b = SessionManagerBuilder::new().local_address(addr).enable_sip_client().dns_servers(dns.to_vec());
    if trace {
        b = b.wire_tap(WireTap::new(|dir, peer, bytes| {
            let arrow = match dir {
                WireDirection::Sent => "-->",
                WireDirection::Received => "<--",
            };
            println!("{arrow} {peer}\n{}", String::from_utf8_lossy(bytes));
        }));
    }
    b
}

/// Registers `account`, printing the outcome; `None` (after printing why) on failure.
pub async fn register(agent: &SessionCoordinator, account: Account) -> Option<AccountId> {
    let aor = format!("{}@{}", account.user, account.registrar);
    println!("registering {aor}");
    match agent.register(account).await {
        Ok(id) => Some(id),
        Err(e) => {
            println!("registration failed: {e}");
            None
        }
    }
}

/// Prints one line per event until the coordinator goes away. `name` prefixes each line
/// when several agents share the output (the demo).
pub fn print_events(agent: &Arc<SessionCoordinator>, name: &'static str) -> tokio::task::JoinHandle<()> {
    let mut rx = agent.subscribe_events();
    let start = Instant::now();
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(e) => {
                    if let Some(line) = describe(&e) {
                        let t = start.elapsed().as_secs_f64();
                        if name.is_empty() {
                            println!("[{t:6.2}] {line}");
                        } else {
                            println!("[{t:6.2}] {name}: {line}");
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

fn describe(e: &SessionEvent) -> Option<String> {
    Some(match e {
        SessionEvent::IncomingCall { id, from } => format!("{id} incoming call from {from}"),
        SessionEvent::Progress { id, status, reason } => format!("{id} {status} {reason}"),
        SessionEvent::StateChanged { id, new, old } => match new {
            session_core::SessionState::Ringing => format!("{id} ringing"),
            session_core::SessionState::Active if *old == session_core::SessionState::OnHold => format!("{id} resumed"),
            session_core::SessionState::Active => format!("{id} answered (active)"),
            session_core::SessionState::OnHold => format!("{id} held"),
            session_core::SessionState::Terminating => format!("{id} hanging up"),
            _ => return None,
        },
        SessionEvent::RemoteHold { id, held: true } => format!("{id} held by the remote side"),
        SessionEvent::RemoteHold { id, held: false } => format!("{id} resumed by the remote side"),
        SessionEvent::Ended { id, info } => format!("{id} ended: {info}"),
        SessionEvent::Registration { account, state, .. } => format!("{account} {}", registration(state)),
        _ => return None,
    })
}

fn registration(state: &RegistrationState) -> String {
    let now = Instant::now();
    match state {
        RegistrationState::Registered { expires_at, .. } => {
            format!("registered (expires in {} s)", expires_at.saturating_duration_since(now).as_secs())
        }
        RegistrationState::Registering => "registering".into(),
        RegistrationState::Refreshing { .. } => "refreshing".into(),
        RegistrationState::Unregistering => "unregistering".into(),
        RegistrationState::Unregistered => "unregistered".into(),
        RegistrationState::RetryWait { last_status, failures, .. } => {
            format!("registration failed with {} ({failures} in a row), retrying", last_status.as_u16())
        }
        RegistrationState::AuthFailed { reason } => format!("authentication failed: {reason}"),
        RegistrationState::Failed { last_status } => format!("registration failed: {}", last_status.as_u16()),
    }
}

/// A line about a call's RTP.
pub fn rtp_line(id: SessionId, s: &RtpStats) -> String {
    format!(
        "{id} rtp: sent {} packets, received {} ({} lost, jitter {:.1} ms)",
        s.packets_sent, s.packets_received, s.packets_lost, s.jitter_ms
    )
}

/// Did the call end the way a finished call ends (a BYE either way)?
pub fn ended_normally(info: &EndInfo) -> bool {
    matches!(info.cause, session_core::EndCause::LocalHangup | session_core::EndCause::RemoteHangup)
}
