//! # sip-transaction
//!
//! The SIP transaction layer, sans-IO: the four state machines of RFC 3261 §17 (INVITE and
//! non-INVITE, client and server) with the Accepted state of RFC 6026, timers A–M from T1, T2
//! and T4, and the matching rules of §17.1.3 and §17.2.3 (with the RFC 2543 fall-back).
//!
//! It owns *when* a message is (re)sent and *which* transaction a message belongs to. It does
//! not own sockets, connections, name resolution or the clock: the driver feeds it messages,
//! transport errors and `now`, sends what [`TransactionLayer::poll_output`] returns, and wakes
//! it at [`TransactionLayer::poll_timeout`]. Every behaviour can therefore be tested on a
//! simulated clock in microseconds.
//!
//! ```
//! use sip_message::{Method, RequestBuilder, Transport};
//! use sip_transaction::{Config, Event, Output, Peer, TransactionLayer};
//! use std::time::{Duration, Instant};
//!
//! let mut layer = TransactionLayer::new(Config::default());
//! let options = RequestBuilder::new(Method::Options, "sip:bob@127.0.0.1")
//!     .from(None, "sip:alice@127.0.0.1").to(None, "sip:bob@127.0.0.1")
//!     .via("UDP", "127.0.0.1:5070").build().unwrap();
//! let start = Instant::now();
//! let peer = Peer::new(Transport::Udp, "127.0.0.1:5060".parse().unwrap());
//! let tx = layer.send_request(start, options, peer).unwrap();
//! assert!(matches!(layer.poll_output(), Some(Output::Transmit { .. })));
//! // Nothing answers: Timer E retransmits after T1 ...
//! layer.handle_timeout(start + Duration::from_millis(500));
//! assert!(matches!(layer.poll_output(), Some(Output::Transmit { .. })));
//! // ... and Timer F gives up after 64·T1.
//! let mut now = start;
//! while let Some(at) = layer.poll_timeout() { now = at; layer.handle_timeout(now); }
//! let events: Vec<_> = std::iter::from_fn(|| layer.poll_output()).collect();
//! assert!(events.contains(&Output::Event(Event::Timeout { tx })));
//! assert_eq!(now - start, Duration::from_secs(32));
//! ```
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod client_invite;
mod client_non_invite;
mod config;
mod event;
mod key;
mod layer;
mod outbox;
mod server_invite;
mod server_non_invite;
pub mod via_rules;

pub use client_invite::ClientInviteState;
pub use client_non_invite::ClientNonInviteState;
pub use config::Config;
pub use event::{Event, Output, TxId};
pub use layer::TransactionLayer;
pub use server_invite::ServerInviteState;
pub use server_non_invite::ServerNonInviteState;
pub use sip_message::{FlowId, Peer};

use std::fmt;

/// Why the transaction layer refused an operation of its user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxError {
    /// The request or response lacks what the operation needs.
    Invalid(sip_message::ParseError),
    /// The top Via has no RFC 3261 (`z9hG4bK`) branch.
    MissingBranch,
    /// A client transaction with the same branch and method exists.
    Duplicate,
    /// ACK is not sent in a transaction of its own: use `send_stateless`.
    AckIsNotATransaction,
    /// No live transaction has this id.
    NoSuchTransaction,
    /// Responses are sent in server transactions only.
    NotAServerTransaction,
    /// The transaction's state does not allow this response (e.g. a second final response).
    InvalidState,
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Invalid(e) => write!(f, "invalid message: {e}"),
            TxError::MissingBranch => f.write_str("the top Via needs a branch starting with z9hG4bK"),
            TxError::Duplicate => f.write_str("a client transaction with this branch and method already exists"),
            TxError::AckIsNotATransaction => f.write_str("ACK is sent statelessly, not in a transaction"),
            TxError::NoSuchTransaction => f.write_str("no such transaction (it may have ended)"),
            TxError::NotAServerTransaction => f.write_str("responses are sent in server transactions"),
            TxError::InvalidState => f.write_str("the transaction's state does not allow this response"),
        }
    }
}

impl std::error::Error for TxError {}

impl TxError {
    /// Would repeating the operation later help? Only for a transaction that does not exist
    /// *yet* — never here; all these are usage errors.
    pub fn is_recoverable(&self) -> bool {
        false
    }
}
