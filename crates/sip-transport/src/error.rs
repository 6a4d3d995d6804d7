//! [`TransportError`]: why a message could not be sent or a listener not started.

use std::fmt;

use sip_message::ErrorCategory;

/// What failed in the transport, in its own terms ([`TransportError::category`] gives the
/// classification every sipline error shares).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
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
    kind: TransportErrorKind,
    message: String,
}

impl TransportError {
    /// A new error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> TransportError {
        TransportError { kind, message: message.into() }
    }

    pub(crate) fn io(what: &str, e: &std::io::Error) -> TransportError {
        TransportError::new(TransportErrorKind::Network, format!("{what}: {e}"))
    }

    /// What failed, in the transport's terms.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The shared classification: a TLS failure is [`ErrorCategory::Security`], a bound hit
    /// [`ErrorCategory::Resource`], a bad configuration [`ErrorCategory::Input`], the rest
    /// [`ErrorCategory::Network`].
    pub fn category(&self) -> ErrorCategory {
        match self.kind {
            TransportErrorKind::Network | TransportErrorKind::WebSocket => ErrorCategory::Network,
            TransportErrorKind::Tls => ErrorCategory::Security,
            TransportErrorKind::Limit => ErrorCategory::Resource,
            TransportErrorKind::Config => ErrorCategory::Input,
        }
    }

    /// Can trying again (another target, a new connection, later) help?
    pub fn is_recoverable(&self) -> bool {
        matches!(self.kind, TransportErrorKind::Network | TransportErrorKind::Limit)
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransportError {}
