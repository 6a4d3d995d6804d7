//! `sipline register`: registers an account, shows every state change and refresh, and
//! unregisters on Ctrl-C (or at once with `--once`).

use super::options::local_ip_towards;
use super::target::{resolve, ResolveFailure};
use rand::SeedableRng;
use sip_dialog::register::{AccountConfig, Registration, RegistrationEvent, RegistrationState};
use sip_dialog::{failure_response, Output, TxFailure, ViaTemplate};
use sip_endpoint::{Endpoint, EndpointConfig, EndpointError};
use sip_message::auth::Credentials;
use sip_message::{Peer, Request, Response, Transport, Uri};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Arguments of `sipline register`.
#[derive(clap::Args)]
pub struct Args {
    /// The user name (the address of record is sip:USER@registrar-host).
    #[arg(long)]
    user: String,
    /// The password for digest authentication.
    #[arg(long)]
    password: Option<String>,
    /// The registrar, e.g. sip:example.com or sip:127.0.0.1:5060.
    #[arg(long)]
    registrar: String,
    /// Register, print the outcome, unregister and exit: 0 on success, 1 on failure.
    #[arg(long)]
    once: bool,
    /// The expiry to ask for, in seconds.
    #[arg(long, default_value_t = 3600)]
    expires: u32,
    /// The transport to use (default: RFC 3263, UDP for sip:).
    #[arg(long, value_parser = super::options::parse_transport)]
    transport: Option<Transport>,
    /// Print every SIP message sent and received.
    #[arg(long)]
    trace: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run_async(args)),
        Err(e) => {
            eprintln!("sipline register: cannot start the runtime: {e}");
            ExitCode::from(1)
        }
    }
}

fn describe(state: &RegistrationState, now: Instant) -> String {
    match state {
        RegistrationState::Unregistered => "unregistered".to_owned(),
        RegistrationState::Registering => "registering".to_owned(),
        RegistrationState::Registered { expires_at, refresh_at } => format!(
            "registered (expires in {} s, refresh in {} s)",
            expires_at.saturating_duration_since(now).as_secs(),
            refresh_at.saturating_duration_since(now).as_secs()
        ),
        RegistrationState::Refreshing { .. } => "refreshing".to_owned(),
        RegistrationState::RetryWait { retry_at, failures, last_status } => format!(
            "failed with {} ({failures} in a row); retrying in {} s",
            last_status.as_u16(),
            retry_at.saturating_duration_since(now).as_secs()
        ),
        RegistrationState::Unregistering => "unregistering".to_owned(),
        RegistrationState::AuthFailed { reason } => format!("authentication failed: {reason}"),
        RegistrationState::Failed { last_status } => format!("gave up after {}", last_status.as_u16()),
    }
}

async fn run_async(args: Args) -> ExitCode {
    let targets = match resolve(&args.registrar, args.transport, &[]).await {
        Ok(t) => t,
        Err(ResolveFailure::Usage(e)) => {
            eprintln!("sipline register: {e}");
            return ExitCode::from(2);
        }
        Err(ResolveFailure::NotFound(e)) => {
            eprintln!("sipline register: {e}");
            return ExitCode::from(1);
        }
    };
    let Some(target) = targets.first().cloned() else { return ExitCode::from(1) };
    let host = match Uri::parse(&args.registrar) {
        Ok(Uri::Sip(u)) => u.host_str().to_owned(),
        _ => {
            eprintln!("sipline register: the registrar must be a sip: or sips: URI");
            return ExitCode::from(2);
        }
    };
    let local_ip = local_ip_towards(target.addr);
    let mut config = EndpointConfig::default();
    config.transport.listen = vec![(Transport::Udp, SocketAddr::new(local_ip, 0))];
    let endpoint = match Endpoint::start(config).await {
        Ok((e, _incoming)) => e,
        Err(e) => {
            eprintln!("sipline register: {e}");
            return ExitCode::from(1);
        }
    };
    let local = endpoint.local_addr(Transport::Udp).unwrap_or(SocketAddr::new(local_ip, 0));
    let via = ViaTemplate::new(target.transport.as_str(), local.to_string());
    let aor = format!("sip:{}@{host}", args.user);
    let transport_param = target.transport.as_str().to_ascii_lowercase();
    let contact = format!("sip:{}@{local};transport={transport_param}", args.user);
    let mut account = AccountConfig::new(args.registrar.clone(), aor.clone(), contact, via);
    account.expires = args.expires;
    account.credentials = args.password.as_ref().map(|p| Credentials::new(args.user.clone(), p.clone()));
    if args.once {
        account.max_failures = Some(1);
    }
    let rng = Box::new(rand::rngs::StdRng::from_entropy());
    let mut reg = match Registration::new(account, rng) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sipline register: {e}");
            return ExitCode::from(2);
        }
    };
    let peer = Peer::new(target.transport, target.addr);
    println!("registering {aor} at {} over {}", target.addr, target.transport);
    let (resp_tx, mut resp_rx) = mpsc::unbounded_channel::<Response>();
    let start = Instant::now();
    if let Err(e) = reg.register(start) {
        eprintln!("sipline register: {e}");
        return ExitCode::from(1);
    }
    let mut registered_once = false;
    let mut unregistering = false;
    let deadline = start + Duration::from_secs(60);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        while let Some(out) = reg.poll_output() {
            match out {
                Output::Request(request) => {
                    send(&endpoint, request, peer, target.host.clone(), resp_tx.clone(), args.trace)
                }
                Output::Event(RegistrationEvent::StateChanged { to, .. }) => {
                    let now = Instant::now();
                    println!("{}", describe(&to, now));
                    match &to {
                        RegistrationState::Registered { .. } => {
                            registered_once = true;
                            if args.once && !unregistering {
                                unregistering = true;
                                let _ = reg.unregister(now);
                            }
                        }
                        RegistrationState::Unregistered if unregistering => return ExitCode::from(0),
                        RegistrationState::AuthFailed { .. } | RegistrationState::Failed { .. } => {
                            return ExitCode::from(if registered_once && unregistering { 0 } else { 1 })
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        let wake = reg.poll_timeout().map(tokio::time::Instant::from_std);
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(resp) = resp_rx.recv() => {
                reg.handle_response(Instant::now(), &resp);
            }
            _ = sleep => reg.handle_timeout(Instant::now()),
            _ = &mut ctrl_c, if !unregistering => {
                unregistering = true;
                println!("unregistering (Ctrl-C)");
                if reg.unregister(Instant::now()).is_err() {
                    return ExitCode::from(1);
                }
            }
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)), if args.once => {
                eprintln!("sipline register: no outcome within 60 s");
                return ExitCode::from(1);
            }
        }
    }
}

/// Starts a client transaction for `request` and feeds its final response (or the 408/503 a
/// failure stands for) back to the registration.
fn send(
    endpoint: &Endpoint,
    request: Request,
    peer: Peer,
    host: String,
    back: mpsc::UnboundedSender<Response>,
    trace: bool,
) {
    let endpoint = endpoint.clone();
    tokio::spawn(async move {
        if trace {
            println!("--> {peer}\n{}", String::from_utf8_lossy(&request.to_bytes()));
        }
        let result = match endpoint.send_request_named(request.clone(), peer, Some(host)).await {
            Ok(mut tx) => tx.final_response().await,
            Err(e) => Err(e),
        };
        let response = match result {
            Ok(r) => Some(r),
            Err(EndpointError::Timeout) => failure_response(&request, TxFailure::Timeout),
            Err(e) => {
                eprintln!("sipline register: {e}");
                failure_response(&request, TxFailure::Transport)
            }
        };
        if let Some(r) = response {
            if trace {
                println!("<-- {peer}\n{}", String::from_utf8_lossy(&r.to_bytes()));
            }
            let _ = back.send(r);
        }
    });
}
