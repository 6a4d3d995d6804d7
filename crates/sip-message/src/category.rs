//! [`ErrorCategory`]: the one classification every sipline error carries.
//!
//! Each crate has its own error types, with the detail its callers need; all of them answer
//! `category()` with this enum, and an error that wraps another keeps the inner one's
//! category (DESIGN.md principle 4). So an application decides what to do about any failure
//! from any layer — fix its input, retry, try another server, ask for a password — by one
//! `match`.

use std::fmt;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// The caller's input or configuration is wrong: a URI that does not parse, a status out
    /// of range, an option this stack does not implement, a certificate file that cannot be
    /// read. The same call fails the same way until the input changes.
    Input,
    /// A message or header received breaks the grammar, or lacks what the operation needs.
    Malformed,
    /// The operation does not fit the current state (hold before the answer, a second
    /// INVITE transaction on a dialog). It may succeed once the state changes.
    State,
    /// Nothing by that identifier or name exists (any more): a call, a registration, a
    /// domain with no SIP server.
    NotFound,
    /// The network or a peer failed: a refused or dropped connection, no answer in time, a
    /// DNS server not answering, an error response. Another target or a later try may work.
    Network,
    /// Authentication or a certificate check refused us: wrong credentials, an untrusted
    /// server, a challenge we cannot answer.
    Security,
    /// A local resource ran out or a configured bound was hit: no free port, a full queue,
    /// too many connections, the random source.
    Resource,
    /// The stack has shut down.
    Closed,
}

impl ErrorCategory {
    /// A short name for logs and metrics labels ("input", "network", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCategory::Input => "input",
            ErrorCategory::Malformed => "malformed",
            ErrorCategory::State => "state",
            ErrorCategory::NotFound => "not-found",
            ErrorCategory::Network => "network",
            ErrorCategory::Security => "security",
            ErrorCategory::Resource => "resource",
            ErrorCategory::Closed => "closed",
        }
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
