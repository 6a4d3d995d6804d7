//! The one error type of the digest module.
//!
//! Error texts never contain a password, an HA1 or a request-digest: they
//! name a parameter or a position, and at most echo a parameter *name* or an
//! algorithm token taken from the input.

use std::fmt;

pub use crate::ErrorCategory;

/// Everything that can go wrong while parsing, choosing, answering or
/// verifying digest authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The header value breaks the auth-param grammar (RFC 7235 §2.1,
    /// RFC 3261 §25.1): `expected` says what was wanted at byte `offset`.
    Syntax {
        /// What the parser expected to find.
        expected: &'static str,
        /// Byte offset into the parsed value.
        offset: usize,
    },
    /// More parameters than the parser accepts.
    TooManyParams {
        /// The cap that was exceeded.
        limit: usize,
    },
    /// A parameter occurs twice (RFC 7235 §2.1 forbids it).
    DuplicateParam {
        /// The repeated parameter name as written in the input.
        name: String,
    },
    /// A parameter that the RFCs require is absent.
    MissingParam {
        /// The name of the missing parameter.
        name: &'static str,
    },
    /// A parameter is present but its value is not acceptable.
    InvalidParam {
        /// The name of the offending parameter.
        name: &'static str,
        /// Why the value was refused.
        reason: &'static str,
    },
    /// The auth-scheme is not `Digest`.
    UnsupportedScheme,
    /// No algorithm this module implements was offered; `token` is the
    /// (first) one that was.
    UnsupportedAlgorithm {
        /// The algorithm token as written in the input.
        token: String,
    },
    /// The only algorithm offered that this module implements is one the credentials refuse
    /// ([`Credentials::without_md5`](super::Credentials::without_md5)); `token` names it.
    AlgorithmRefused {
        /// The algorithm token as written in the input.
        token: String,
    },
    /// The challenge offers qop values but none of `auth` / `auth-int`.
    UnsupportedQop,
    /// An empty list of challenges was given to choose from.
    NoChallenge,
    /// The nonce-count for a nonce reached `ffffffff`; a fresh challenge
    /// is needed (RFC 7616 §3.4: nc is 8 hex digits).
    NonceCountExhausted,
    /// The credentials do not match what the verifier expects in `field`.
    Mismatch {
        /// Which parameter differs: `realm`, `algorithm`, `qop`, `opaque`,
        /// `uri` or `cnonce`.
        field: &'static str,
    },
    /// A precomputed HA1 is not lowercase-or-uppercase hex of the length the
    /// algorithm's hash produces.
    InvalidHa1,
    /// The operating system's random source failed to produce a nonce or
    /// cnonce.
    Random,
}

impl AuthError {
    /// The broad kind of this error.
    pub fn category(&self) -> ErrorCategory {
        match self {
            AuthError::Syntax { .. }
            | AuthError::TooManyParams { .. }
            | AuthError::DuplicateParam { .. }
            | AuthError::MissingParam { .. }
            | AuthError::InvalidParam { .. } => ErrorCategory::Malformed,
            AuthError::UnsupportedScheme | AuthError::UnsupportedAlgorithm { .. } | AuthError::UnsupportedQop => {
                ErrorCategory::Input
            }
            AuthError::Mismatch { .. } | AuthError::AlgorithmRefused { .. } => ErrorCategory::Security,
            AuthError::NoChallenge | AuthError::NonceCountExhausted | AuthError::InvalidHa1 => ErrorCategory::Input,
            AuthError::Random => ErrorCategory::Resource,
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Syntax { expected, offset } => {
                write!(f, "malformed auth header: expected {expected} at byte {offset}")
            }
            AuthError::TooManyParams { limit } => {
                write!(f, "auth header has more than {limit} parameters")
            }
            AuthError::DuplicateParam { name } => {
                write!(f, "auth parameter `{name}` occurs more than once")
            }
            AuthError::MissingParam { name } => {
                write!(f, "auth header lacks the required `{name}` parameter")
            }
            AuthError::InvalidParam { name, reason } => {
                write!(f, "auth parameter `{name}` is invalid: {reason}")
            }
            AuthError::UnsupportedScheme => f.write_str("auth scheme is not Digest"),
            AuthError::UnsupportedAlgorithm { token } => {
                write!(f, "unsupported digest algorithm `{token}`")
            }
            AuthError::AlgorithmRefused { token } => {
                write!(f, "the server offers only digest algorithm `{token}`, which this account refuses")
            }
            AuthError::UnsupportedQop => f.write_str("challenge offers no supported qop (auth or auth-int)"),
            AuthError::NoChallenge => f.write_str("no digest challenge to answer"),
            AuthError::NonceCountExhausted => {
                f.write_str("nonce-count exhausted for this nonce; a fresh challenge is needed")
            }
            AuthError::Mismatch { field } => {
                write!(f, "credentials do not match the challenge: `{field}` differs")
            }
            AuthError::InvalidHa1 => f.write_str("precomputed HA1 is not hex of the algorithm's digest length"),
            AuthError::Random => f.write_str("the system random source failed"),
        }
    }
}

impl std::error::Error for AuthError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_expectation_and_offset() {
        let e = AuthError::Syntax { expected: "closing quote", offset: 17 };
        assert_eq!(e.to_string(), "malformed auth header: expected closing quote at byte 17");
        assert_eq!(e.category(), ErrorCategory::Malformed);
    }

    #[test]
    fn categories() {
        assert_eq!(AuthError::UnsupportedAlgorithm { token: "X".into() }.category(), ErrorCategory::Input);
        assert_eq!(AuthError::Mismatch { field: "realm" }.category(), ErrorCategory::Security);
        assert_eq!(AuthError::NonceCountExhausted.category(), ErrorCategory::Input);
        assert_eq!(AuthError::Random.category(), ErrorCategory::Resource);
    }
}
