//! Builders: new requests (RFC 3261 §8.1.1), responses to a request (§8.2.6), the ACK for a
//! non-2xx final response (§17.1.1.3) and CANCEL (§9.1).

mod random;
mod request;
mod response;

pub use random::{new_branch, new_call_id, new_tag};
pub use request::RequestBuilder;

use crate::error::ParseError;
use std::fmt;

/// Why a message could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// A URI, header value or the request being answered did not parse.
    Invalid(ParseError),
    /// A header the RFC requires was not given.
    Missing(&'static str),
    /// The operating system's random source failed.
    RandomUnavailable,
    /// The operation does not apply (e.g. CANCEL of a non-INVITE, ACK for a 2xx).
    NotApplicable(&'static str),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Invalid(e) => write!(f, "invalid input: {e}"),
            BuildError::Missing(h) => write!(f, "missing {h}"),
            BuildError::RandomUnavailable => f.write_str("the system random source is unavailable"),
            BuildError::NotApplicable(why) => f.write_str(why),
        }
    }
}

impl BuildError {
    /// The random source failing is a local resource; the rest is the caller's input.
    pub fn category(&self) -> crate::ErrorCategory {
        match self {
            BuildError::RandomUnavailable => crate::ErrorCategory::Resource,
            BuildError::Invalid(_) | BuildError::Missing(_) | BuildError::NotApplicable(_) => {
                crate::ErrorCategory::Input
            }
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Invalid(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ParseError> for BuildError {
    fn from(e: ParseError) -> BuildError {
        BuildError::Invalid(e)
    }
}

#[cfg(test)]
mod tests;
