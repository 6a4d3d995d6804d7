//! [`DialogError`]: why the dialog layer refused an operation, with a category and whether
//! retrying can help (DESIGN.md, principle 4).

use sip_message::auth::AuthError;
use sip_message::{BuildError, ParseError};
use std::fmt;

pub use sip_message::ErrorCategory;

/// Why an operation of the dialog layer failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// A message given to the layer lacks a header it needs, or a value does not parse.
    Invalid(ParseError),
    /// A message could not be built.
    Build(BuildError),
    /// A message lacks something specific: `what` names it (e.g. "a To tag in the response").
    Missing(&'static str),
    /// The operation does not fit the current state: `why` says what the state is.
    InvalidState(&'static str),
    /// Another INVITE transaction is in progress on the dialog, in either direction; a new
    /// one must wait (RFC 3261 §14.1).
    InviteInProgress,
    /// The method, status code or argument is not one this operation takes.
    Unsupported(&'static str),
    /// No call, transaction or registration with this identifier exists (any more).
    NotFound,
    /// Digest credentials could not be computed.
    Auth(AuthError),
}

impl DialogError {
    /// The broad kind of this error.
    pub fn category(&self) -> ErrorCategory {
        match self {
            DialogError::Invalid(_) | DialogError::Missing(_) => ErrorCategory::Malformed,
            DialogError::Build(e) => e.category(),
            DialogError::Auth(e) => e.category(),
            DialogError::Unsupported(_) => ErrorCategory::Input,
            DialogError::InvalidState(_) | DialogError::InviteInProgress => ErrorCategory::State,
            DialogError::NotFound => ErrorCategory::NotFound,
        }
    }

    /// Would the same operation succeed later? True when only the state is in the way (an
    /// INVITE in progress ends) or the random source failed (it may recover).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, DialogError::InviteInProgress) || self.category() == ErrorCategory::Resource
    }
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::Invalid(e) => write!(f, "invalid message: {e}"),
            DialogError::Build(e) => write!(f, "cannot build the message: {e}"),
            DialogError::Missing(what) => write!(f, "the message lacks {what}"),
            DialogError::InvalidState(why) => write!(f, "not allowed now: {why}"),
            DialogError::InviteInProgress => {
                f.write_str("another INVITE transaction is in progress on this dialog (RFC 3261 §14.1)")
            }
            DialogError::Unsupported(what) => write!(f, "unsupported: {what}"),
            DialogError::NotFound => f.write_str("no such call, transaction or registration"),
            DialogError::Auth(e) => write!(f, "digest authentication: {e}"),
        }
    }
}

impl std::error::Error for DialogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DialogError::Invalid(e) => Some(e),
            DialogError::Build(e) => Some(e),
            DialogError::Auth(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for DialogError {
    fn from(e: ParseError) -> DialogError {
        DialogError::Invalid(e)
    }
}

impl From<BuildError> for DialogError {
    fn from(e: BuildError) -> DialogError {
        DialogError::Build(e)
    }
}

impl From<AuthError> for DialogError {
    fn from(e: AuthError) -> DialogError {
        DialogError::Auth(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_recoverability() {
        assert_eq!(DialogError::InviteInProgress.category(), ErrorCategory::State);
        assert!(DialogError::InviteInProgress.is_recoverable());
        assert!(!DialogError::NotFound.is_recoverable());
        assert_eq!(DialogError::Build(BuildError::RandomUnavailable).category(), ErrorCategory::Resource);
        assert!(DialogError::Build(BuildError::RandomUnavailable).is_recoverable());
        assert_eq!(DialogError::Missing("a To tag").to_string(), "the message lacks a To tag");
    }
}
