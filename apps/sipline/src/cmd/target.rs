//! Turning a URI and a `--transport` choice into the list of places to try.

use sip_message::{Host, SipUri, Transport, Uri};
use std::net::{IpAddr, SocketAddr};

/// One place to send to, with the name TLS verifies.
#[derive(Debug, Clone)]
pub struct Target {
    pub transport: Transport,
    pub addr: SocketAddr,
    pub host: String,
}

/// The transport a URI asks for, or the user's choice, or the RFC 3263 default for an
/// explicit address (UDP for sip, TLS for sips).
fn transport_for(uri: &SipUri<'_>, forced: Option<Transport>) -> Result<Transport, String> {
    let from_uri =
        uri.transport().map(|t| Transport::from_token(t).ok_or_else(|| format!("unknown transport '{t}' in the URI")));
    let t = match (forced, from_uri) {
        (Some(f), _) => f,
        (None, Some(t)) => t?,
        (None, None) if uri.is_secure() => Transport::Tls,
        (None, None) => Transport::Udp,
    };
    if uri.is_secure() && !t.is_secure() {
        return Err(format!("a sips: URI needs TLS or WSS, not {t}"));
    }
    Ok(t)
}

/// Resolves `uri` to targets. IP literals need no lookup; names are looked up (A/AAAA).
pub async fn resolve(uri: &str, forced: Option<Transport>) -> Result<(Vec<Target>, Transport), String> {
    let parsed = Uri::parse(uri).map_err(|e| format!("'{uri}' is not a SIP URI: {e}"))?;
    let Uri::Sip(sip) = parsed else { return Err(format!("'{uri}' is not a sip: or sips: URI")) };
    let transport = transport_for(&sip, forced)?;
    let port = sip.port().unwrap_or(transport.default_port());
    let host = sip.host_str().trim_start_matches('[').trim_end_matches(']').to_owned();
    let addrs: Vec<SocketAddr> = match sip.host() {
        Host::Ipv4(a) => vec![SocketAddr::new(IpAddr::V4(a), port)],
        Host::Ipv6(a) => vec![SocketAddr::new(IpAddr::V6(a), port)],
        Host::Domain(d) => {
            tokio::net::lookup_host((d, port)).await.map_err(|e| format!("cannot resolve {d}: {e}"))?.collect()
        }
    };
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok((addrs.into_iter().map(|addr| Target { transport, addr, host: host.clone() }).collect(), transport))
}
