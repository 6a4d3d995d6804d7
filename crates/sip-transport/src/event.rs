//! [`TransportEvent`]: what the transport layer reports upward.

use crate::error::TransportError;
use sip_message::{FlowId, Message, Peer};

/// Something that happened on the network.
#[derive(Debug)]
pub enum TransportEvent {
    /// A message arrived.
    Message {
        /// The parsed message.
        message: Message,
        /// Where it came from (with the connection, for stream transports).
        source: Peer,
    },
    /// A send could not be completed. `token` is the one given to
    /// [`crate::TransportLayer::send`].
    SendFailed {
        /// The caller's token (the transaction id, for the transaction layer).
        token: u64,
        /// Where it was going.
        to: Peer,
        /// Why it failed.
        error: TransportError,
    },
    /// A STUN response arrived on a UDP socket (the answer to a keep-alive Binding
    /// request, RFC 5626 §4.4.2; read it with [`crate::stun::parse_binding_response`]).
    /// STUN requests and indications are dropped: we are no STUN server.
    Stun {
        /// The datagram.
        bytes: bytes::Bytes,
        /// Where it came from.
        source: Peer,
    },
    /// A connection closed; sends to its flow will open a new one.
    FlowClosed {
        /// The flow.
        flow: FlowId,
        /// Its far end.
        peer: Peer,
        /// Why, in words.
        reason: String,
    },
}
