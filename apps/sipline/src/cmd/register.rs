//! `sipline register`: registers an account, prints every state change and refresh, and
//! unregisters on Ctrl-C; `--once` registers, unregisters and exits (0 on success, 1 on
//! failure, 2 on bad usage).

use super::client::{self, ClientArgs, Failure};
use client_core::{AccountConfig, ClientEvent, RegistrationState};
use std::process::ExitCode;
use std::time::Instant;

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
    /// Never answer the registrar's challenge with MD5 (only SHA-256 or SHA-512/256): a
    /// registrar offering nothing stronger fails the registration, saying so.
    #[arg(long = "no-md5")]
    no_md5: bool,
    /// The expiry to ask for, in seconds.
    #[arg(long, default_value_t = 3600)]
    expires: u32,
    /// The transport to listen on and use (default UDP).
    #[arg(long)]
    transport: Option<String>,
    /// A TOML configuration file (client-core's ClientConfig; the flags override it).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Print every SIP message sent and received, as a ladder.
    #[arg(long)]
    trace: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while running.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// Write the SIP of the run to this capture file (pcap; Wireshark opens it).
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// Listen on this address (default: a free port on the interface towards the registrar).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Ask this DNS server (ADDR:PORT) instead of the system's, for RFC 3263 lookups.
    #[arg(long = "dns-server")]
    dns_server: Vec<std::net::SocketAddr>,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("register", async move {
        match register(args).await {
            Ok(code) => code,
            Err(f) => f.exit("register"),
        }
    })
}

/// A state as `register` prints it: with the refresh time, which only this command shows.
fn describe(state: &RegistrationState, now: Instant) -> String {
    match state {
        RegistrationState::Registered { expires_at, refresh_at } => format!(
            "registered (expires in {} s, refresh in {} s)",
            expires_at.saturating_duration_since(now).as_secs(),
            refresh_at.saturating_duration_since(now).as_secs()
        ),
        RegistrationState::RetryWait { retry_at, failures, last_status } => format!(
            "failed with {} ({failures} in a row); retrying in {} s",
            last_status.as_u16(),
            retry_at.saturating_duration_since(now).as_secs()
        ),
        RegistrationState::Failed { last_status } => format!("gave up after {}", last_status.as_u16()),
        other => client_core::describe_registration(other),
    }
}

fn print_pending(events: &mut client_core::broadcast::Receiver<ClientEvent>) {
    while let Ok(e) = events.try_recv() {
        if let ClientEvent::RegistrationStateChanged { state, .. } = e {
            println!("{}", describe(&state, Instant::now()));
        }
    }
}

async fn register(args: Args) -> Result<ExitCode, Failure> {
    if !args.registrar.starts_with("sip:") && !args.registrar.starts_with("sips:") {
        return Err(Failure::Usage("the registrar must be a sip: or sips: URI".into()));
    }
    let shared = ClientArgs {
        config: args.config.clone(),
        trace: args.trace,
        metrics: args.metrics,
        pcap: args.pcap.clone(),
        listen: args.listen,
        dns_server: args.dns_server.clone(),
        no_md5: args.no_md5,
        ..ClientArgs::default()
    };
    let mut config = shared.config(Some(&args.registrar))?;
    if let Some(t) = &args.transport {
        config.network.transports = vec![t.to_ascii_lowercase()];
        config.validate().map_err(|e| Failure::Usage(e.to_string()))?;
    }
    shared.serve_metrics()?;
    let (builder, capture) = shared.builder(config)?;
    let client = builder.build().await.map_err(|e| Failure::Usage(e.to_string()))?;
    let mut events = client.subscribe_events();
    client.start().await.map_err(|e| Failure::Run(e.to_string()))?;
    if let (Some(c), Ok(addr)) = (&capture, client.local_address()) {
        c.set_local_sip(addr);
    }
    let mut account = AccountConfig::new(args.user.clone(), args.password.clone(), args.registrar.clone());
    account.expires = args.expires;
    println!("registering {} at {} (waiting for the registrar)", account.aor(), args.registrar);
    let id = match client.register(account).await {
        Ok(id) => id,
        Err(e) => {
            print_pending(&mut events);
            println!("registration failed: {e}");
            client.stop().await;
            client::close_capture(capture);
            return Ok(ExitCode::from(1));
        }
    };
    print_pending(&mut events);
    if !args.once {
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ClientEvent::RegistrationStateChanged { state, .. }) => println!("{}", describe(&state, Instant::now())),
                    Ok(ClientEvent::AddressChanged { from, to }) => println!("address changed: {from} -> {to}"),
                    Ok(_) | Err(client_core::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(client_core::broadcast::error::RecvError::Closed) => {
                        client::close_capture(capture);
                        return Ok(ExitCode::from(1));
                    }
                },
                _ = &mut ctrl_c => {
                    println!("unregistering (Ctrl-C)");
                    break;
                }
            }
        }
    }
    let result = client.unregister(id).await;
    if result.is_ok() {
        // The event of the removed binding may still be on its way through the client.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            while let Ok(e) = events.recv().await {
                if let ClientEvent::RegistrationStateChanged { state, .. } = e {
                    println!("{}", describe(&state, Instant::now()));
                    if state == RegistrationState::Unregistered {
                        break;
                    }
                }
            }
        })
        .await;
    }
    print_pending(&mut events);
    client.stop().await;
    client::close_capture(capture);
    Ok(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("unregistration failed: {e}");
            ExitCode::from(1)
        }
    })
}
