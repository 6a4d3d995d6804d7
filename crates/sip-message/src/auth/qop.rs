//! The quality of protection (`qop`) and how a client picks one.

use std::fmt;

use super::error::AuthError;

/// A quality-of-protection value (RFC 2617 §3.2.1, RFC 7616 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authenticates method and digest-uri.
    Auth,
    /// `auth-int`: also covers the message body, as `H(body)` in A2.
    AuthInt,
    /// Any other token, as written; never chosen by a client.
    Other(String),
}

impl Qop {
    /// Interprets a qop token (case-insensitive).
    pub fn from_token(token: &str) -> Qop {
        if token.eq_ignore_ascii_case("auth") {
            Qop::Auth
        } else if token.eq_ignore_ascii_case("auth-int") {
            Qop::AuthInt
        } else {
            Qop::Other(token.to_owned())
        }
    }

    /// The canonical token (the original text for [`Qop::Other`]).
    pub fn as_str(&self) -> &str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
            Qop::Other(token) => token,
        }
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which qop a client prefers when a challenge offers both.
///
/// `auth` is the default: SIP bodies are often rewritten by intermediaries
/// (and `auth-int` costs a hash of the body), so body integrity is chosen
/// only when asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QopPreference {
    /// Prefer `auth`, then `auth-int`, then no qop.
    #[default]
    Auth,
    /// Prefer `auth-int` (body integrity), then `auth`, then no qop.
    AuthInt,
}

impl QopPreference {
    /// Rank of answering with `qop` under this preference; higher is better.
    /// `None` (the RFC 2069 mode without qop) is always the worst.
    pub(crate) fn rank(self, qop: Option<&Qop>) -> u8 {
        match (self, qop) {
            (QopPreference::Auth, Some(Qop::Auth)) => 2,
            (QopPreference::Auth, Some(Qop::AuthInt)) => 1,
            (QopPreference::AuthInt, Some(Qop::AuthInt)) => 2,
            (QopPreference::AuthInt, Some(Qop::Auth)) => 1,
            _ => 0,
        }
    }

    /// Picks the qop to answer a challenge offering `offered`.
    ///
    /// An empty list means the server uses the RFC 2069 mode: `Ok(None)`.
    /// A non-empty list without `auth` or `auth-int` cannot be answered
    /// (RFC 2617 §3.2.2: the client must use one of the offered values).
    pub(crate) fn choose(self, offered: &[Qop]) -> Result<Option<Qop>, AuthError> {
        if offered.is_empty() {
            return Ok(None);
        }
        offered
            .iter()
            .filter(|q| !matches!(q, Qop::Other(_)))
            .max_by_key(|q| self.rank(Some(q)))
            .cloned()
            .map(Some)
            .ok_or(AuthError::UnsupportedQop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(Qop::from_token("AUTH"), Qop::Auth);
        assert_eq!(Qop::from_token("auth-int"), Qop::AuthInt);
        assert_eq!(Qop::from_token("x"), Qop::Other("x".into()));
        assert_eq!(Qop::AuthInt.to_string(), "auth-int");
    }

    #[test]
    fn choice() {
        let both = [Qop::AuthInt, Qop::Auth];
        assert_eq!(QopPreference::Auth.choose(&both), Ok(Some(Qop::Auth)));
        assert_eq!(QopPreference::AuthInt.choose(&both), Ok(Some(Qop::AuthInt)));
        assert_eq!(QopPreference::Auth.choose(&[Qop::AuthInt]), Ok(Some(Qop::AuthInt)));
        assert_eq!(QopPreference::AuthInt.choose(&[Qop::Auth]), Ok(Some(Qop::Auth)));
        assert_eq!(QopPreference::Auth.choose(&[]), Ok(None));
        assert_eq!(QopPreference::Auth.choose(&[Qop::Other("x".into())]), Err(AuthError::UnsupportedQop));
    }
}
