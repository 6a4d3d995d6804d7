//! [`SessionError`]: what went wrong in a session-layer operation, with its category and
//! whether trying again can help (DESIGN.md principle 4).

use std::fmt;

pub use sip_message::ErrorCategory;

/// A session-layer error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// Bad input: what and why.
    InvalidInput(String),
    /// The session is not in a state where this can be done.
    InvalidState {
        /// What was asked.
        operation: &'static str,
        /// The state it met.
        state: String,
    },
    /// No session, account or call by that id.
    NotFound(String),
    /// The request reached nobody: its destination did not resolve, or every target
    /// refused it or never answered (the cause is the [`source`](std::error::Error::source)).
    Unreachable(Unreachable),
    /// Our own transports failed (a listening address in use, a socket error).
    Transport(sip_transport::TransportError),
    /// No answer in time.
    Timeout,
    /// The peer answered with a failure.
    Rejected {
        /// The final status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// Authentication failed (wrong credentials, or none for a challenge).
    AuthFailed(String),
    /// Media could not be set up or used: no free port, a bad SDP, no common codec, or a
    /// call whose media is not ours (the [`source`](std::error::Error::source) says which).
    Media(MediaFailure),
    /// The SIP client side (register, OPTIONS, raw requests) was not enabled in the builder.
    SipClientDisabled,
    /// The coordinator has shut down.
    Closed,
    /// The dialog layer refused the operation (its error is the [`source`](std::error::Error::source)).
    Signaling(sip_dialog::DialogError),
    /// The DNS resolver could not be set up (no usable name-server configuration).
    Resolver(sip_resolve::ResolveError),
    /// An invariant of sipline itself broke (a bug: please report it with the text).
    Bug(&'static str),
}

/// What went wrong with a call's media.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaFailure {
    /// No RTP/RTCP port pair could be bound (media-core's error).
    Bind(media_core::MediaError),
    /// The peer's SDP does not parse.
    Sdp(media_core::SdpError),
    /// The offer or answer cannot be accepted, e.g. no codec in common (RFC 3264: 488).
    Negotiation(media_core::NegotiationError),
    /// The call carries no media of ours: the application supplied its own SDP.
    NotOurs,
    /// Audio could not be played, recorded or pushed (a file that cannot be read or
    /// written, a format that cannot be played, too much pushed audio).
    Audio(media_core::AudioError),
    /// DTMF digits could not be sent (not a digit, too many waiting).
    Dtmf(media_core::DtmfError),
}

impl MediaFailure {
    /// The shared category: a port range used up is a resource, a bad SDP malformed, a
    /// refused offer the peer's (network), media that is not ours the call's state.
    pub fn category(&self) -> ErrorCategory {
        match self {
            MediaFailure::Bind(e) if e.is_recoverable() => ErrorCategory::Resource,
            MediaFailure::Bind(_) => ErrorCategory::Input,
            MediaFailure::Sdp(_) => ErrorCategory::Malformed,
            MediaFailure::Negotiation(_) => ErrorCategory::Network,
            MediaFailure::NotOurs => ErrorCategory::State,
            MediaFailure::Audio(media_core::AudioError::Full) => ErrorCategory::Resource,
            MediaFailure::Audio(_) => ErrorCategory::Input,
            MediaFailure::Dtmf(media_core::DtmfError::QueueFull) => ErrorCategory::Resource,
            MediaFailure::Dtmf(_) => ErrorCategory::Input,
        }
    }
}

impl fmt::Display for MediaFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaFailure::Bind(e) => write!(f, "{e}"),
            MediaFailure::Sdp(e) => write!(f, "bad SDP: {e}"),
            MediaFailure::Negotiation(e) => write!(f, "{e}"),
            MediaFailure::NotOurs => f.write_str("this call has no media of ours (the application owns it)"),
            MediaFailure::Audio(e) => write!(f, "{e}"),
            MediaFailure::Dtmf(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MediaFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MediaFailure::Bind(e) => Some(e),
            MediaFailure::Sdp(e) => Some(e),
            MediaFailure::Negotiation(e) => Some(e),
            MediaFailure::NotOurs => None,
            MediaFailure::Audio(e) => Some(e),
            MediaFailure::Dtmf(e) => Some(e),
        }
    }
}

/// Why a request reached nobody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// Where it was going: the URI it was resolved from, or the last target tried.
    pub destination: String,
    /// What happened there.
    pub cause: UnreachableCause,
}

/// What stopped a request before any response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnreachableCause {
    /// RFC 3263 found nowhere to send it (no such name, no usable record, DNS failing).
    Resolve(sip_resolve::ResolveError),
    /// The transport could not deliver it (a refused connection, a TLS failure, ...).
    Transport(sip_transport::TransportError),
    /// No response came in time (Timer B or F, 64·T1).
    Timeout,
    /// It cannot be routed as it is: the reason says why (not a sip:/sips: URI, ...).
    Unroutable(String),
}

impl Unreachable {
    /// The shared category: the resolver's or the transport's, a time-out is the network's,
    /// an unroutable URI the caller's input.
    pub fn category(&self) -> ErrorCategory {
        match &self.cause {
            UnreachableCause::Resolve(e) => e.category(),
            UnreachableCause::Transport(e) => e.category(),
            UnreachableCause::Timeout => ErrorCategory::Network,
            UnreachableCause::Unroutable(_) => ErrorCategory::Input,
        }
    }

    /// Can trying again help? After a time-out or a failure DNS or the network may get
    /// over, yes; for a name that does not exist or a URI that cannot be routed, no.
    pub fn is_recoverable(&self) -> bool {
        match &self.cause {
            UnreachableCause::Resolve(e) => e.is_recoverable(),
            UnreachableCause::Transport(e) => e.is_recoverable(),
            UnreachableCause::Timeout => true,
            UnreachableCause::Unroutable(_) => false,
        }
    }
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.destination, self.cause)
    }
}

impl fmt::Display for UnreachableCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnreachableCause::Resolve(e) => write!(f, "{e}"),
            UnreachableCause::Transport(e) => write!(f, "{e}"),
            UnreachableCause::Timeout => write!(f, "no response (timed out)"),
            UnreachableCause::Unroutable(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            UnreachableCause::Resolve(e) => Some(e),
            UnreachableCause::Transport(e) => Some(e),
            UnreachableCause::Timeout | UnreachableCause::Unroutable(_) => None,
        }
    }
}

impl From<sip_dialog::DialogError> for SessionError {
    fn from(e: sip_dialog::DialogError) -> SessionError {
        use sip_dialog::DialogError as D;
        match e {
            D::NotFound => SessionError::NotFound("call".into()),
            D::InvalidState(what) => SessionError::InvalidState { operation: "do that to", state: what.into() },
            D::InviteInProgress => {
                SessionError::InvalidState { operation: "re-INVITE", state: "re-negotiating".into() }
            }
            other => SessionError::Signaling(other),
        }
    }
}

impl SessionError {
    /// The category of the error, shared by every sipline crate; a wrapped error keeps
    /// the category of the error it wraps.
    pub fn category(&self) -> ErrorCategory {
        match self {
            SessionError::InvalidInput(_) | SessionError::SipClientDisabled => ErrorCategory::Input,
            SessionError::InvalidState { .. } => ErrorCategory::State,
            SessionError::NotFound(_) => ErrorCategory::NotFound,
            SessionError::Unreachable(u) => u.category(),
            SessionError::Transport(e) => e.category(),
            SessionError::Timeout | SessionError::Rejected { .. } => ErrorCategory::Network,
            SessionError::AuthFailed(_) => ErrorCategory::Security,
            SessionError::Media(m) => m.category(),
            SessionError::Resolver(e) => e.category(),
            SessionError::Bug(_) => ErrorCategory::Resource,
            SessionError::Signaling(e) => e.category(),
            SessionError::Closed => ErrorCategory::Closed,
        }
    }

    /// Can trying the same operation again later succeed? Timeouts, unreachable peers and
    /// 5xx/6xx-free transient statuses (408, 480, 486, 5xx) can; bad input, wrong state,
    /// wrong credentials and a closed stack cannot.
    pub fn is_recoverable(&self) -> bool {
        match self {
            SessionError::Timeout => true,
            SessionError::Unreachable(u) => u.is_recoverable(),
            SessionError::Transport(e) => e.is_recoverable(),
            SessionError::Rejected { status, .. } => matches!(status, 408 | 480 | 486 | 491 | 500..=599),
            SessionError::Media(MediaFailure::Bind(e)) => e.is_recoverable(),
            SessionError::Media(_) => false,
            SessionError::Signaling(e) => e.is_recoverable(),
            SessionError::Resolver(e) => e.is_recoverable(),
            _ => false,
        }
    }
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::InvalidInput(m) => write!(f, "invalid input: {m}"),
            SessionError::InvalidState { operation, state } => {
                write!(f, "cannot {operation} a session that is {state}")
            }
            SessionError::NotFound(what) => write!(f, "{what} not found"),
            SessionError::Unreachable(u) => write!(f, "unreachable: {u}"),
            SessionError::Transport(e) => write!(f, "transport: {e}"),
            SessionError::Timeout => f.write_str("timed out"),
            SessionError::Rejected { status, reason } => write!(f, "rejected with {status} {reason}"),
            SessionError::AuthFailed(m) => write!(f, "authentication failed: {m}"),
            SessionError::Media(m) => write!(f, "media: {m}"),
            SessionError::SipClientDisabled => {
                f.write_str("the SIP client is not enabled (SessionManagerBuilder::enable_sip_client)")
            }
            SessionError::Closed => f.write_str("the session coordinator has shut down"),
            SessionError::Signaling(e) => write!(f, "signaling: {e}"),
            SessionError::Resolver(e) => write!(f, "DNS resolver: {e}"),
            SessionError::Bug(what) => write!(f, "internal error (a bug in sipline): {what}"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Signaling(e) => Some(e),
            SessionError::Unreachable(u) => Some(u),
            SessionError::Media(m) => Some(m),
            SessionError::Transport(e) => Some(e),
            SessionError::Resolver(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_recovery() {
        assert!(SessionError::Timeout.is_recoverable());
        assert!(SessionError::Rejected { status: 503, reason: "Service Unavailable".into() }.is_recoverable());
        assert!(!SessionError::Rejected { status: 404, reason: "Not Found".into() }.is_recoverable());
        assert!(!SessionError::AuthFailed("wrong password".into()).is_recoverable());
        assert_eq!(SessionError::Closed.category(), ErrorCategory::Closed);
        assert_eq!(SessionError::AuthFailed("wrong password".into()).category(), ErrorCategory::Security);
        assert_eq!(
            SessionError::InvalidState { operation: "hold", state: "ringing".into() }.to_string(),
            "cannot hold a session that is ringing"
        );
    }

    #[test]
    fn a_wrapped_error_keeps_its_category_and_its_source() {
        use std::error::Error;
        let inner = sip_dialog::DialogError::Build(sip_message::BuildError::RandomUnavailable);
        let wrapped = SessionError::from(inner.clone());
        assert_eq!(wrapped.category(), inner.category());
        assert_eq!(wrapped.category(), ErrorCategory::Resource);
        assert!(wrapped.is_recoverable(), "the random source may come back");
        let source = wrapped.source().expect("the dialog error is the source");
        assert_eq!(source.to_string(), inner.to_string());
        // A resolver that cannot be set up keeps the resolver's error, typed.
        let dns = SessionError::Resolver(sip_resolve::ResolveError::Config { reason: "no name server given".into() });
        assert_eq!(dns.category(), ErrorCategory::Input);
        assert!(!dns.is_recoverable());
        assert!(dns.source().is_some_and(|s| s.to_string().contains("no name server")));
        // State problems of the dialog layer read as the session's own.
        assert_eq!(SessionError::from(sip_dialog::DialogError::InviteInProgress).category(), ErrorCategory::State);
    }
}
