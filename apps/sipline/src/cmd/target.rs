//! Turning a URI and a `--transport` choice into the list of places to try (RFC 3263, by
//! `sip-resolve`).

use sip_message::{Transport, Uri};
use sip_resolve::{ErrorCategory, Resolver, ResolverConfig, Target, Transports};
use std::net::SocketAddr;

/// Why no target could be found: the user's input, or the network's answer.
pub enum ResolveFailure {
    /// The URI or the transport choice is wrong (exit 2).
    Usage(String),
    /// DNS found nothing usable (exit 1).
    NotFound(String),
}

/// Resolves `uri` to targets in the order to try them. `dns` replaces the system's name
/// servers.
pub async fn resolve(uri: &str, forced: Option<Transport>, dns: &[SocketAddr]) -> Result<Vec<Target>, ResolveFailure> {
    let parsed = Uri::parse(uri).map_err(|e| ResolveFailure::Usage(format!("'{uri}' is not a URI: {e}")))?;
    let mut transports =
        Transports::new([Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Ws, Transport::Wss]);
    if let Some(t) = forced {
        transports = transports.force(t);
    }
    let config =
        if dns.is_empty() { ResolverConfig::system() } else { ResolverConfig::with_name_servers(dns.iter().copied()) };
    let resolver = Resolver::new(config).map_err(|e| ResolveFailure::NotFound(format!("DNS resolver: {e}")))?;
    resolver.resolve(&parsed, &transports).await.map_err(|e| match e.category() {
        ErrorCategory::Input => ResolveFailure::Usage(format!("{uri}: {e}")),
        _ => ResolveFailure::NotFound(format!("{uri}: {e}")),
    })
}
