//! [`ResolveError`]: why no target could be chosen, with a category and whether retrying helps.

use sip_message::Transport;
use std::fmt;

pub use sip_message::ErrorCategory;

/// Why a SIP URI could not be turned into targets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolveError {
    /// Only `sip:` and `sips:` URIs name a SIP server; this one has another scheme.
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// The `maddr` parameter is not a host name or an IP address.
    InvalidMaddr {
        /// The parameter as written.
        maddr: String,
    },
    /// The `transport` parameter names a transport this stack does not know.
    UnknownTransport {
        /// The parameter as written.
        token: String,
    },
    /// A `sips:` URI may only be reached over TLS (RFC 3261 §26.2.2); this transport cannot
    /// carry it.
    InsecureTransport {
        /// The transport that was asked for.
        transport: Transport,
    },
    /// The transport the URI or the user asked for is not among those the caller supports.
    TransportNotSupported {
        /// The transport that was asked for.
        transport: Transport,
    },
    /// None of the caller's transports can reach this URI (for example a `sips:` URI and no
    /// TLS-based transport).
    NoUsableTransport,
    /// DNS says the target does not exist, or has no usable record.
    NotFound {
        /// The domain name that was resolved.
        name: String,
    },
    /// DNS lookups failed and nothing usable was found.
    LookupFailed {
        /// The name of the last lookup that failed.
        name: String,
        /// What the DNS layer reported.
        reason: String,
    },
    /// [`Plan::finish`](crate::Plan::finish) was called while lookups were still outstanding.
    Unfinished,
    /// The resolver could not be configured.
    Config {
        /// What went wrong.
        reason: String,
    },
}

impl ResolveError {
    /// The class of the failure.
    pub fn category(&self) -> ErrorCategory {
        match self {
            ResolveError::UnsupportedScheme { .. }
            | ResolveError::InvalidMaddr { .. }
            | ResolveError::UnknownTransport { .. }
            | ResolveError::InsecureTransport { .. }
            | ResolveError::TransportNotSupported { .. }
            | ResolveError::NoUsableTransport
            | ResolveError::Unfinished => ErrorCategory::Input,
            ResolveError::NotFound { .. } => ErrorCategory::NotFound,
            // DNS itself did not answer usefully (time-out, SERVFAIL): the network's doing.
            ResolveError::LookupFailed { .. } => ErrorCategory::Network,
            // The resolver could not be set up (the system configuration is unreadable).
            ResolveError::Config { .. } => ErrorCategory::Input,
        }
    }

    /// Would repeating the resolution later help? Only when DNS itself failed: a time-out or
    /// a server failure may pass. A negative answer or a bad request will not change by retrying.
    pub fn is_recoverable(&self) -> bool {
        matches!(self, ResolveError::LookupFailed { .. })
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::UnsupportedScheme { scheme } => {
                write!(f, "a {scheme}: URI does not name a SIP server (sip: or sips: needed)")
            }
            ResolveError::InvalidMaddr { maddr } => write!(f, "maddr {maddr:?} is not a host"),
            ResolveError::UnknownTransport { token } => write!(f, "unknown transport {token:?}"),
            ResolveError::InsecureTransport { transport } => {
                write!(f, "a sips: URI cannot be reached over {transport}")
            }
            ResolveError::TransportNotSupported { transport } => {
                write!(f, "transport {transport} is not supported here")
            }
            ResolveError::NoUsableTransport => f.write_str("none of the supported transports can reach this URI"),
            ResolveError::NotFound { name } => write!(f, "no SIP server found for {name}"),
            ResolveError::LookupFailed { name, reason } => write!(f, "DNS lookup of {name} failed: {reason}"),
            ResolveError::Unfinished => f.write_str("the plan still has DNS lookups outstanding"),
            ResolveError::Config { reason } => write!(f, "resolver configuration: {reason}"),
        }
    }
}

impl std::error::Error for ResolveError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dns_failures_are_recoverable() {
        let dns = ResolveError::LookupFailed { name: "example.test".into(), reason: "timed out".into() };
        assert_eq!(dns.category(), ErrorCategory::Network);
        assert!(dns.is_recoverable());
        for e in [
            ResolveError::NotFound { name: "example.test".into() },
            ResolveError::NoUsableTransport,
            ResolveError::InsecureTransport { transport: Transport::Udp },
            ResolveError::Config { reason: "unreadable".into() },
        ] {
            assert!(!e.is_recoverable(), "{e}");
        }
        assert_eq!(ResolveError::NotFound { name: "x".into() }.category(), ErrorCategory::NotFound);
        assert_eq!(ResolveError::Unfinished.category(), ErrorCategory::Input);
    }
}
