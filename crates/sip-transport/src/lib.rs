//! # sip-transport
//!
//! SIP over UDP, TCP, TLS (rustls), WebSocket and secure WebSocket (RFC 7118) on tokio.
//!
//! This crate owns sockets and connections: binding listeners, opening and reusing
//! connections (RFC 3261 §18), framing byte streams into messages, TLS with the server's
//! certificate and name verified, the WebSocket `sip` subprotocol, RFC 5626 CRLF keep-alives,
//! and the bounds that stop a peer from holding memory (message size, idle and
//! incomplete-message timeouts, connection count, send queues). It makes no protocol decision:
//! which transaction a message belongs to, when to retransmit and where a response goes are
//! decided above it, in the sans-IO `sip-transaction` crate, and handed down as a
//! [`sip_message::Peer`].
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod config;
mod connect;
mod error;
mod event;
mod flow;
mod icmp;
mod inner;
mod layer;
mod listen;
mod noise;
mod stream;
pub mod stun;
mod tls;
mod udp;
mod ws;

pub use config::{Identity, TransportConfig, TrustRoots};
pub use error::{TransportError, TransportErrorKind};
pub use event::TransportEvent;
pub use layer::TransportLayer;
pub use noise::Noise;
pub use sip_message::ErrorCategory;
