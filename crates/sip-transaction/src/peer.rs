//! [`Peer`]: where a message came from or goes to, as far as the transaction layer cares.

use sip_message::Transport;
use std::fmt;
use std::net::SocketAddr;

/// Identifies one connection (flow) of a connection-oriented transport. Chosen by the
/// transport layer; the transaction layer only hands it back so a response leaves on the
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
