//! [`ClientError`]: what can go wrong in the client, with the [`ErrorCategory`] of the layer
//! that failed kept through every wrapper, so retry decisions ([`ClientError::is_recoverable`])
//! and error metrics see the same category at every level.

use crate::{CallId, CallState, RegistrationId};
use session_core::{ErrorCategory, SessionError};
use std::fmt;
use std::time::Duration;

/// A configuration value that cannot work: which field, what is wrong with it, and how to
/// fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The field's path as written in the TOML file (`media.rtp_port_min`,
    /// `accounts[1].registrar`), or `toml` for a file that does not parse.
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to write instead.
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.problem, self.fix)
    }
}

impl std::error::Error for ConfigError {}

/// An error of the client API.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The configuration cannot work.
    Config(ConfigError),
    /// The client has not been started.
    NotRunning,
    /// The client was stopped; a stopped client does not start again (build a new one).
    Stopped,
    /// No call with this id, active or in the history.
    CallNotFound(CallId),
    /// No registration with this id.
    RegistrationNotFound(RegistrationId),
    /// The call is not in a state where this can be done.
    InvalidCallState {
        /// What was asked.
        operation: &'static str,
        /// The call's state.
        state: CallState,
    },
    /// An operation ran out of time.
    Timeout {
        /// What timed out.
        operation: String,
        /// After how long.
        after: Duration,
    },
    /// The session layer failed; its category and source are kept.
    Session(SessionError),
}

impl ClientError {
    /// The kind of failure, the same category the failing layer gave it.
    pub fn category(&self) -> ErrorCategory {
        match self {
            ClientError::Config(_) => ErrorCategory::Input,
            ClientError::NotRunning | ClientError::Stopped => ErrorCategory::Closed,
            ClientError::CallNotFound(_) | ClientError::RegistrationNotFound(_) => ErrorCategory::NotFound,
            ClientError::InvalidCallState { .. } => ErrorCategory::State,
            ClientError::Timeout { .. } => ErrorCategory::Network,
            ClientError::Session(e) => e.category(),
        }
    }

    /// Can the same operation succeed if tried again later (a timeout, a server that did not
    /// answer, a port range exhausted for now)? Wrong input, a wrong password or a missing
    /// call never can.
    pub fn is_recoverable(&self) -> bool {
        match self {
            ClientError::Timeout { .. } => true,
            ClientError::Session(e) => e.is_recoverable(),
            _ => false,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Config(e) => write!(f, "configuration: {e}"),
            ClientError::NotRunning => f.write_str("the client is not running (call start first)"),
            ClientError::Stopped => f.write_str("the client was stopped (build a new one to start again)"),
            ClientError::CallNotFound(id) => write!(f, "no call {id}"),
            ClientError::RegistrationNotFound(id) => write!(f, "no registration {id}"),
            ClientError::InvalidCallState { operation, state } => {
                write!(f, "cannot {operation} a call that is {state}")
            }
            ClientError::Timeout { operation, after } => write!(f, "{operation}: no outcome after {after:?}"),
            ClientError::Session(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Config(e) => Some(e),
            ClientError::Session(e) => e.source(),
            _ => None,
        }
    }
}

impl From<SessionError> for ClientError {
    fn from(e: SessionError) -> ClientError {
        ClientError::Session(e)
    }
}

impl From<ConfigError> for ClientError {
    fn from(e: ConfigError) -> ClientError {
        ClientError::Config(e)
    }
}

/// The client's results.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_the_category_and_the_retry_verdict() {
        let auth = ClientError::from(SessionError::AuthFailed("wrong password".into()));
        assert_eq!(auth.category(), SessionError::AuthFailed(String::new()).category());
        assert!(!auth.is_recoverable());
        let timeout = ClientError::from(SessionError::Timeout);
        assert!(timeout.is_recoverable());
        assert_eq!(timeout.category(), SessionError::Timeout.category());
        assert_eq!(ClientError::CallNotFound(CallId(7)).category(), ErrorCategory::NotFound);
    }
}
