//! [`TransportError`]: why a message could not be sent or a listener not started.

use std::fmt;

/// The broad class of a transport failure, for deciding what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCategory {
    /// The network refused or dropped the connection or datagram (retrying another target or
    /// later may help).
    Network,
    /// TLS failed: the certificate was not trusted or did not name the host, or the handshake
    /// broke. Retrying the same target will not help.
    Tls,
    /// The WebSocket handshake failed (no `sip` subprotocol, bad response).
    WebSocket,
    /// A configured bound was hit (queue full, too many connections, message too large).
    Limit,
    /// The configuration or the request was wrong (no listener for that transport, bad
    /// certificate file).
    Config,
}

/// A transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError {
    category: ErrorCategory,
    message: String,
}

impl TransportError {
    /// A new error.
    pub fn new(category: ErrorCategory, message: impl Into<String>) -> TransportError {
        TransportError { category, message: message.into() }
    }

    pub(crate) fn io(what: &str, e: &std::io::Error) -> TransportError {
        TransportError::new(ErrorCategory::Network, format!("{what}: {e}"))
    }

    /// The class of failure.
    pub fn category(&self) -> ErrorCategory {
        self.category
    }

    /// Can trying again (another target, a new connection, later) help?
    pub fn is_recoverable(&self) -> bool {
        matches!(self.category, ErrorCategory::Network | ErrorCategory::Limit)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}
