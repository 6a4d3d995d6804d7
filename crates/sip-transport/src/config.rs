//! [`TransportConfig`]: listeners, TLS identities and trust, and the bounds of every flow.

use sip_message::{Limits, Transport};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where TLS clients find the certificates they trust.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TrustRoots {
    /// The operating system's store (`/etc/ssl/certs` on Debian).
    #[default]
    System,
    /// Only the CA certificates in this PEM file (a private CA, a test CA).
    PemFile(PathBuf),
    /// The system store plus the certificates in this PEM file.
    SystemAndPemFile(PathBuf),
}

/// A certificate chain and its private key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The certificate chain, leaf first.
    pub cert_chain: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
}

/// Everything the transport layer needs to start.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// The listeners to open. Port 0 picks a free port ([`crate::TransportLayer::local_addr`]
    /// tells which). UDP is also what outgoing UDP requests leave from.
    pub listen: Vec<(Transport, SocketAddr)>,
    /// The server identity, required for TLS and WSS listeners.
    pub server_identity: Option<Identity>,
    /// What outgoing TLS and WSS connections trust. The server's certificate and host name
    /// are always verified.
    pub trust: TrustRoots,
    /// A client certificate to present to TLS servers that ask for one.
    pub client_identity: Option<Identity>,
    /// How long an outgoing connection may take to establish (TCP, TLS and WebSocket
    /// handshakes together).
    pub connect_timeout: Duration,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// How long a partial message may sit in a connection's buffer before the peer is cut
    /// off (a peer that never finishes a message may not hold memory).
    pub message_timeout: Duration,
    /// RFC 5626 §4.4.1 CRLF keep-alive interval on connections we opened; `None` sends none.
    pub keepalive_interval: Option<Duration>,
    /// How long to wait for the pong after a ping before the flow is considered dead (10 s in
    /// RFC 5626).
    pub pong_timeout: Duration,
    /// Message size, header count and header length limits for every transport.
    pub limits: Limits,
    /// The most connections (in and out) at once; more incoming ones are refused.
    pub max_connections: usize,
    /// Messages that may wait to be written on one connection.
    pub send_queue: usize,
    /// The kernel receive buffer asked for each UDP socket, in bytes (the kernel caps it at
    /// `net.core.rmem_max`). A burst of requests that arrives while the receiver is busy
    /// waits here instead of being dropped (and retransmitted by its sender 500 ms later).
    pub udp_receive_buffer: usize,
}

impl Default for TransportConfig {
    fn default() -> TransportConfig {
        TransportConfig {
            listen: Vec::new(),
            server_identity: None,
            trust: TrustRoots::System,
            client_identity: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            message_timeout: Duration::from_secs(32),
            keepalive_interval: None,
            pong_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            max_connections: 10_000,
            send_queue: 256,
            udp_receive_buffer: 4 << 20,
        }
    }
}
