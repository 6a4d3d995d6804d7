//! `sipline options URI`: is this SIP server reachable? Sends OPTIONS through client-core,
//! which follows RFC 3263 to the server's addresses (moving past a silent target, a refused
//! connection or a 503), and prints each target left behind, the answer, the transport used
//! and the round-trip time.

use super::client::{self, ClientArgs, Failure};
use client_core::{ClientError, SessionError, SipResponse, Transport, UnreachableCause};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `sipline options`.
#[derive(clap::Args)]
pub struct Args {
    /// The server or user to probe, e.g. `sip:example.com` or `sips:[::1]:5061`.
    uri: String,
    /// The transport to use (default: from the URI, else UDP; TLS for sips:).
    #[arg(long, value_parser = parse_transport)]
    transport: Option<Transport>,
    /// Also trust the CA certificates in this PEM file (for TLS and WSS).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Give up on a target after this many seconds and try the next (default: the
    /// transaction's 64*T1 = 32 s).
    #[arg(long)]
    timeout: Option<f64>,
    #[command(flatten)]
    client: ClientArgs,
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    Transport::from_token(&s.to_ascii_uppercase()).ok_or_else(|| format!("'{s}' is not one of udp, tcp, tls, ws, wss"))
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("options", async move {
        match probe(args).await {
            Ok(code) => code,
            Err(f) => f.exit("options"),
        }
    })
}

/// `uri` with `;transport=` set to `forced`: how a URI asks RFC 3263 for one transport.
fn with_transport(uri: &str, forced: Option<Transport>) -> Result<String, Failure> {
    let parsed =
        client_core::message::Uri::parse(uri).map_err(|e| Failure::Usage(format!("'{uri}' is not a URI: {e}")))?;
    let client_core::message::Uri::Sip(sip) = &parsed else {
        return Err(Failure::Usage(format!("'{uri}' is not a sip: or sips: URI")));
    };
    let Some(forced) = forced else { return Ok(uri.to_owned()) };
    if sip.is_secure() && !forced.is_secure() {
        return Err(Failure::Usage(format!("a sips: URI needs TLS or WSS, not {forced}")));
    }
    let token = forced.as_str().to_ascii_lowercase();
    match sip.transport() {
        Some(t) if t.eq_ignore_ascii_case(&token) => Ok(uri.to_owned()),
        Some(t) => Err(Failure::Usage(format!("the URI says transport={t} but --transport says {token}"))),
        // URI parameters come before any ?headers.
        None => Ok(match uri.split_once('?') {
            Some((base, headers)) => format!("{base};transport={token}?{headers}"),
            None => format!("{uri};transport={token}"),
        }),
    }
}

async fn probe(args: Args) -> Result<ExitCode, Failure> {
    let timeout = match args.timeout {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            return Err(Failure::Usage("--timeout must be a positive number of seconds".into()))
        }
        t => t.map(Duration::from_secs_f64),
    };
    let uri = with_transport(&args.uri, args.transport)?;
    let mut config = args.client.config(Some(&uri))?;
    if let Some(ca) = &args.ca {
        config.security.ca_file = Some(ca.clone());
    }
    let target = uri.clone();
    let answer =
        client::one_request(&args.client, config, |client| async move { client.send_options(&target, timeout).await })
            .await?;
    report(&uri, timeout, answer, &["Server", "User-Agent", "Allow", "Supported", "Accept"])
}

/// Prints the outcome of a request outside calls — each target left behind, the answer
/// with its transport and round trip, and the `headers` named — and gives the exit code: 0
/// for a 2xx, 1 for anything else.
pub(super) fn report(
    uri: &str,
    timeout: Option<Duration>,
    answer: Result<SipResponse, ClientError>,
    headers: &[&str],
) -> Result<ExitCode, Failure> {
    let answer = match answer {
        Ok(a) => a,
        Err(ClientError::Session(SessionError::Unreachable(u))) => {
            let why = match &u.cause {
                UnreachableCause::Timeout => match timeout {
                    Some(t) => format!("no answer from {} within {:.1} s", u.destination, t.as_secs_f64()),
                    None => format!("no answer from {}", u.destination),
                },
                _ => format!("cannot reach {u}"),
            };
            return Err(Failure::Run(why));
        }
        Err(e) => return Err(Failure::Run(format!("{uri}: {e}"))),
    };
    for t in &answer.failed_over {
        match t.status {
            Some(status) => {
                println!("{status} {} from {} over {}; trying the next address", t.reason, t.addr, t.transport)
            }
            None => println!("no answer from {} over {}: {}; trying the next address", t.addr, t.transport, t.reason),
        }
    }
    let from = match answer.answered_by {
        Some((transport, addr)) => format!(" from {addr} over {transport}"),
        None => String::new(),
    };
    println!("{} {}{from} in {:.2} ms", answer.status, answer.reason, answer.elapsed.as_secs_f64() * 1000.0);
    for name in headers {
        if let Some(v) = answer.header(name) {
            println!("  {name}: {v}");
        }
    }
    Ok(ExitCode::from(if (200..300).contains(&answer.status) { 0 } else { 1 }))
}
