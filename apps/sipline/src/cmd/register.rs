//! `sipline register`: registers an account through session-core's `SipClient`, shows every
//! state change and refresh, and unregisters on Ctrl-C (or at once with `--once`).

use super::agent;
use session_core::{Account, RegistrationState, SessionEvent, SipClient, Transport};
use sip_message::Uri;
use std::process::ExitCode;
use std::time::Instant;
use tokio::sync::broadcast;

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
    /// The transport to use (default UDP).
    #[arg(long, value_parser = super::options::parse_transport)]
    transport: Option<Transport>,
    /// Print every SIP message sent and received.
    #[arg(long)]
    trace: bool,
    /// Ask this DNS server (ADDR:PORT) instead of the system's, for RFC 3263 lookups.
    #[arg(long = "dns-server")]
    dns_server: Vec<std::net::SocketAddr>,
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

/// Prints the registration events that have arrived, in order.
fn print_pending(events: &mut broadcast::Receiver<SessionEvent>) {
    while let Ok(e) = events.try_recv() {
        if let SessionEvent::Registration { state, .. } = e {
            println!("{}", describe(&state, Instant::now()));
        }
    }
}

async fn run_async(args: Args) -> ExitCode {
    let host = match Uri::parse(&args.registrar) {
        Ok(Uri::Sip(u)) => u.host_str().to_owned(),
        _ => {
            eprintln!("sipline register: the registrar must be a sip: or sips: URI");
            return ExitCode::from(2);
        }
    };
    let mut builder = agent::builder(None, Some(&args.registrar), &args.dns_server, args.trace).await;
    if let Some(t) = args.transport {
        builder = builder.transports(&[t]);
    }
    let agent = match builder.build().await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sipline register: {e}");
            return ExitCode::from(1);
        }
    };
    let mut events = agent.subscribe_events();
    let mut account = Account::new(args.user.clone(), args.password.clone(), args.registrar.clone());
    account.expires = args.expires;
    println!("registering sip:{}@{host} at {}", args.user, args.registrar);
    let id = match agent.register(account).await {
        Ok(id) => id,
        Err(e) => {
            // The states on the way (a retry the first failure scheduled) no longer apply:
            // a first attempt that fails ends the account.
            println!("registration failed: {e}");
            agent.shutdown().await;
            return ExitCode::from(1);
        }
    };
    print_pending(&mut events);
    if !args.once {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(SessionEvent::Registration { state, .. }) => println!("{}", describe(&state, Instant::now())),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return ExitCode::from(1),
                },
                _ = &mut ctrl_c => {
                    println!("unregistering (Ctrl-C)");
                    break;
                }
            }
        }
    }
    let result = agent.unregister(id).await;
    print_pending(&mut events);
    agent.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("unregistration failed: {e}");
            ExitCode::from(1)
        }
    }
}
