//! `sipline options URI`: is this SIP server reachable? Sends OPTIONS, following RFC 3263 to
//! the server's addresses, and prints the answer, the transport used and the round-trip time.

use super::target::{resolve, ResolveFailure};
use sip_endpoint::{Endpoint, EndpointConfig, EndpointError};
use sip_message::{Method, Peer, RequestBuilder, Transport};
use sip_resolve::Target;
use sip_transport::TrustRoots;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
    /// Give up on a target after this many seconds (default: the transaction's 64*T1 = 32 s).
    #[arg(long)]
    timeout: Option<f64>,
    /// Print the request sent and the response received.
    #[arg(long)]
    trace: bool,
    /// Ask this DNS server (ADDR:PORT) instead of the system's, for RFC 3263 lookups.
    #[arg(long = "dns-server")]
    dns_server: Vec<SocketAddr>,
}

pub(crate) fn parse_transport(s: &str) -> Result<Transport, String> {
    Transport::from_token(s).ok_or_else(|| format!("'{s}' is not one of udp, tcp, tls, ws, wss"))
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sipline options: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(run_async(args))
}

/// The local address the system would use to reach `remote` (no packet is sent).
pub(crate) fn local_ip_towards(remote: SocketAddr) -> IpAddr {
    let any: SocketAddr =
        if remote.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { (std::net::Ipv6Addr::UNSPECIFIED, 0).into() };
    UdpSocket::bind(any)
        .and_then(|s| s.connect(remote).and_then(|_| s.local_addr()))
        .map(|a| a.ip())
        .unwrap_or(any.ip())
}

async fn run_async(args: Args) -> ExitCode {
    if let Some(t) = args.timeout {
        if !(t.is_finite() && t > 0.0) {
            eprintln!("sipline options: --timeout must be a positive number of seconds");
            return ExitCode::from(2);
        }
    }
    let targets = match resolve(&args.uri, args.transport, &args.dns_server).await {
        Ok(t) => t,
        Err(ResolveFailure::Usage(e)) => {
            eprintln!("sipline options: {e}");
            return ExitCode::from(2);
        }
        Err(ResolveFailure::NotFound(e)) => {
            eprintln!("sipline options: {e}");
            return ExitCode::from(1);
        }
    };
    let count = targets.len();
    for (i, target) in targets.into_iter().enumerate() {
        let last = i + 1 == count;
        match probe(&args, &target).await {
            Outcome::Answered(code) => return ExitCode::from(code),
            Outcome::TryNext(why) if !last => println!("{why}; trying the next address"),
            Outcome::TryNext(why) => {
                println!("{why}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::from(1)
}

enum Outcome {
    /// A final response other than 503: the exit code.
    Answered(u8),
    /// No usable answer from this target (transport error, timeout, 503).
    TryNext(String),
}

async fn probe(args: &Args, target: &Target) -> Outcome {
    let local_ip = local_ip_towards(target.addr);
    let mut config = EndpointConfig::default();
    config.transport.listen = vec![(Transport::Udp, SocketAddr::new(local_ip, 0))];
    if let Some(ca) = &args.ca {
        config.transport.trust = TrustRoots::SystemAndPemFile(ca.clone());
    }
    let endpoint = match Endpoint::start(config).await {
        Ok((endpoint, _incoming)) => endpoint,
        Err(e) => return Outcome::TryNext(format!("cannot start a local endpoint on {local_ip}: {e}")),
    };
    let local = endpoint.local_addr(Transport::Udp).unwrap_or(SocketAddr::new(local_ip, 0));
    let host = if local.is_ipv6() { format!("[{}]", local.ip()) } else { local.ip().to_string() };
    let request = RequestBuilder::new(Method::Options, args.uri.clone())
        .from(Some("sipline"), format!("sip:sipline@{host}"))
        .to(None, args.uri.clone())
        .via(target.transport.as_str(), local.to_string())
        .rport()
        .contact(format!("sip:sipline@{local};transport={}", target.transport.as_str().to_ascii_lowercase()))
        .header("Accept", "application/sdp")
        .header("User-Agent", concat!("sipline/", env!("CARGO_PKG_VERSION")))
        .build();
    let request = match request {
        Ok(r) => r,
        Err(e) => return Outcome::Answered(fail(&format!("cannot build the request: {e}"), 2)),
    };
    if args.trace {
        println!("--> to {} over {}\n{}", target.addr, target.transport, String::from_utf8_lossy(&request.to_bytes()));
    }
    let peer = Peer::new(target.transport, target.addr);
    let start = Instant::now();
    let mut tx = match endpoint.send_request_named(request, peer, Some(target.host.clone())).await {
        Ok(tx) => tx,
        Err(e) => return Outcome::TryNext(format!("{}: {e}", target.addr)),
    };
    let waited = match args.timeout {
        Some(secs) => tokio::time::timeout(Duration::from_secs_f64(secs), tx.final_response()).await,
        None => Ok(tx.final_response().await),
    };
    let rtt = start.elapsed();
    let used = tx.peer();
    match waited {
        Err(_) | Ok(Err(EndpointError::Timeout)) => Outcome::TryNext(format!(
            "no answer from {} over {} within {:.1} s",
            target.addr,
            used.transport,
            rtt.as_secs_f64()
        )),
        Ok(Err(EndpointError::Unreachable(Some(e)))) => {
            Outcome::TryNext(format!("cannot reach {} over {}: {e}", target.addr, used.transport))
        }
        Ok(Err(e)) => Outcome::TryNext(format!("cannot reach {} over {}: {e}", target.addr, used.transport)),
        Ok(Ok(resp)) => {
            if args.trace {
                println!("<-- from {}\n{}", target.addr, String::from_utf8_lossy(&resp.to_bytes()));
            }
            let status = resp.status();
            println!(
                "{} {} from {} over {} in {:.2} ms",
                status.as_u16(),
                resp.reason(),
                target.addr,
                used.transport,
                rtt.as_secs_f64() * 1000.0
            );
            for name in ["Server", "User-Agent", "Allow", "Supported", "Accept"] {
                if let Some(v) = resp.headers().get(name) {
                    println!("  {name}: {v}");
                }
            }
            if status.as_u16() == 503 {
                return Outcome::TryNext(format!("{} is unavailable (503)", target.addr));
            }
            Outcome::Answered(if status.is_success() { 0 } else { 1 })
        }
    }
}

fn fail(msg: &str, code: u8) -> u8 {
    eprintln!("sipline options: {msg}");
    code
}
