//! What goes in (the transports the caller can use, the address families it wants) and what
//! comes out ([`Target`]) of a resolution.

use sip_message::Transport;
use std::fmt;
use std::net::SocketAddr;

/// One place to send a request: a transport, an address and the name to authenticate.
///
/// A resolution yields a list of these, best first. The caller tries them in order and moves to
/// the next one when the current one fails at the transport (connection refused or reset, ICMP
/// unreachable, a TLS handshake failure, a transaction time-out) or answers 503 (Service
/// Unavailable), as RFC 3263 §4.3 asks. The fail-over loop is the caller's; this crate only
/// decides the order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The transport to use.
    pub transport: Transport,
    /// Where to send.
    pub addr: SocketAddr,
    /// The name to put in TLS SNI and to match the server's certificate against: the domain of
    /// the URI (or its `maddr`), never a name learnt from NAPTR or SRV records, which an
    /// attacker could forge (RFC 5922 §4). For an IP-literal URI it is the address as text.
    pub host: String,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.transport, self.addr, self.host)
    }
}

/// The transports the caller can use, and the one the user insists on, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transports {
    supported: Vec<Transport>,
    forced: Option<Transport>,
}

impl Transports {
    /// The transports the caller's transport layer can open. Order does not matter: when the
    /// server states no preference, the resolver prefers TLS, then TCP, then UDP, then SCTP
    /// (see [`Plan`](crate::Plan)).
    pub fn new(supported: impl IntoIterator<Item = Transport>) -> Transports {
        let mut list: Vec<Transport> = Vec::new();
        for t in supported {
            if !list.contains(&t) {
                list.push(t);
            }
        }
        Transports { supported: list, forced: None }
    }

    /// Uses `transport` whatever the URI and DNS say (a user's `--transport` choice). It takes
    /// precedence over the URI's `transport` parameter and skips the NAPTR step, exactly as
    /// the parameter would (RFC 3263 §4.1). For a `sips:` URI, TCP means TLS and WS means WSS.
    pub fn force(mut self, transport: Transport) -> Transports {
        self.forced = Some(transport);
        self
    }

    /// The transports the caller can open.
    pub fn supported(&self) -> &[Transport] {
        &self.supported
    }

    /// The forced transport, if any.
    pub fn forced(&self) -> Option<Transport> {
        self.forced
    }

    /// Can the caller open `transport`?
    pub fn supports(&self, transport: Transport) -> bool {
        self.supported.contains(&transport)
    }
}

/// Which address families to look up, and which to list first for each host.
///
/// Within one family the order the DNS answer gave is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IpFamilies {
    /// A and AAAA; the IPv4 addresses of each host first.
    #[default]
    Ipv4ThenIpv6,
    /// A and AAAA; the IPv6 addresses of each host first.
    Ipv6ThenIpv4,
    /// A only.
    Ipv4Only,
    /// AAAA only.
    Ipv6Only,
}

impl IpFamilies {
    /// Are IPv4 addresses wanted?
    pub fn wants_ipv4(self) -> bool {
        !matches!(self, IpFamilies::Ipv6Only)
    }

    /// Are IPv6 addresses wanted?
    pub fn wants_ipv6(self) -> bool {
        !matches!(self, IpFamilies::Ipv4Only)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_deduplicate_and_force() {
        let t = Transports::new([Transport::Udp, Transport::Tcp, Transport::Udp]).force(Transport::Tcp);
        assert_eq!(t.supported(), &[Transport::Udp, Transport::Tcp]);
        assert_eq!(t.forced(), Some(Transport::Tcp));
        assert!(t.supports(Transport::Udp));
        assert!(!t.supports(Transport::Tls));
    }

    #[test]
    fn families() {
        assert!(IpFamilies::default().wants_ipv4() && IpFamilies::default().wants_ipv6());
        assert!(!IpFamilies::Ipv4Only.wants_ipv6());
        assert!(!IpFamilies::Ipv6Only.wants_ipv4());
    }
}
