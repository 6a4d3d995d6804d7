//! [`Transport`], the protocols named in Via headers and `transport=` parameters, and [`Peer`],
//! the far end of a message: plain data shared by the transport and transaction layers.

use std::fmt;
use std::net::SocketAddr;

/// A SIP transport protocol (RFC 3261 §18, RFC 7118 for WebSocket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// UDP: unreliable; requests and responses are retransmitted by the transaction layer.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// SCTP.
    Sctp,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Parses a Via transport token or a `transport=` value, case-insensitively.
    pub fn from_token(s: &str) -> Option<Transport> {
        [Transport::Udp, Transport::Tcp, Transport::Tls, Transport::Sctp, Transport::Ws, Transport::Wss]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }

    /// The Via token, upper-case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Does the transport itself deliver reliably (so no retransmissions are needed)?
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// Is it a stream carrying a byte stream that must be framed (TCP, TLS)?
    pub const fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// Is it encrypted?
    pub const fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// The default port: 5060, 5061 for TLS, 80 / 443 for WS / WSS (RFC 7118 §5).
    pub const fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
            _ => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Transport {
    type Err = crate::ParseError;
    fn from_str(s: &str) -> Result<Transport, crate::ParseError> {
        Transport::from_token(s).ok_or_else(|| crate::ParseError::syntax(0, "UDP, TCP, TLS, SCTP, WS or WSS"))
    }
}

/// Identifies one connection (flow) of a connection-oriented transport. Chosen by the
/// transport layer; the layers above only hand it back so that a response leaves on the
/// connection its request came in on (RFC 3261 §18.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

/// The far end of a message: transport, address and, for a connection, which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport protocol.
    pub transport: Transport,
    /// The remote address.
    pub addr: SocketAddr,
    /// The connection, if the message came or should go over an existing one.
    pub flow: Option<FlowId>,
}

impl Peer {
    /// A peer without a particular connection.
    pub fn new(transport: Transport, addr: SocketAddr) -> Peer {
        Peer { transport, addr, flow: None }
    }

    /// Is the transport reliable (no retransmissions)?
    pub fn is_reliable(&self) -> bool {
        self.transport.is_reliable()
    }
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transport, self.addr)?;
        if let Some(flow) = self.flow {
            write!(f, "#{}", flow.0)?;
        }
        Ok(())
    }
}
