//! [`EndpointError`]: why an endpoint operation failed.

use sip_transaction::TxError;
use sip_transport::TransportError;
use std::fmt;

/// Why an endpoint operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// Starting the transports failed.
    Transport(TransportError),
    /// The transaction layer refused the operation.
    Transaction(TxError),
    /// A message could not be built from the request.
    Build(sip_message::BuildError),
    /// No final response arrived in time (Timer B or F).
    Timeout,
    /// The transport could not deliver the request; the reason, if the transport gave one.
    Unreachable(Option<TransportError>),
    /// The endpoint has shut down.
    Closed,
}

impl EndpointError {
    /// Can the same operation succeed if tried again (later, or on another target)?
    pub fn is_recoverable(&self) -> bool {
        match self {
            EndpointError::Timeout => true,
            EndpointError::Unreachable(e) => e.as_ref().is_none_or(TransportError::is_recoverable),
            EndpointError::Transport(e) => e.is_recoverable(),
            EndpointError::Transaction(_) | EndpointError::Build(_) | EndpointError::Closed => false,
        }
    }
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Transport(e) => write!(f, "transport: {e}"),
            EndpointError::Transaction(e) => write!(f, "transaction: {e}"),
            EndpointError::Build(e) => write!(f, "cannot build the message: {e}"),
            EndpointError::Timeout => f.write_str("no final response in time (64*T1)"),
            EndpointError::Unreachable(Some(e)) => write!(f, "unreachable: {e}"),
            EndpointError::Unreachable(None) => f.write_str("unreachable"),
            EndpointError::Closed => f.write_str("the endpoint has shut down"),
        }
    }
}

impl std::error::Error for EndpointError {}
