//! The `algorithm` parameter: which hash, and whether HA1 is per session.

use std::fmt;

use super::hash::HashFn;

/// A digest algorithm (RFC 7616 §3.3, RFC 8760 §2.1).
///
/// Tokens are matched case-insensitively; an unrecognised token is kept as
/// [`Algorithm::Other`] so that a challenge offering only unknown algorithms
/// can be reported as unsupported instead of being answered with MD5.
/// An absent `algorithm` parameter means MD5 (RFC 2617 §3.2.1), which is
/// also the [`Default`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// `MD5` (RFC 2617; the only algorithm of RFC 3261).
    #[default]
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
    /// `SHA-512-256`: SHA-512/256 (RFC 7616, RFC 8760).
    Sha512_256,
    /// `SHA-512-256-sess`.
    Sha512_256Sess,
    /// Any other token, as written.
    Other(String),
}

impl Algorithm {
    /// The six supported algorithms, weakest first.
    pub const SUPPORTED: [Algorithm; 6] = [
        Algorithm::Md5,
        Algorithm::Md5Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
    ];

    /// Interprets an `algorithm` token (case-insensitive).
    pub fn from_token(token: &str) -> Algorithm {
        let known = [
            ("MD5", Algorithm::Md5),
            ("MD5-sess", Algorithm::Md5Sess),
            ("SHA-256", Algorithm::Sha256),
            ("SHA-256-sess", Algorithm::Sha256Sess),
            ("SHA-512-256", Algorithm::Sha512_256),
            ("SHA-512-256-sess", Algorithm::Sha512_256Sess),
        ];
        for (name, alg) in known {
            if token.eq_ignore_ascii_case(name) {
                return alg;
            }
        }
        Algorithm::Other(token.to_owned())
    }

    /// The canonical token (the original text for [`Algorithm::Other`]).
    pub fn as_str(&self) -> &str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
            Algorithm::Sha512_256 => "SHA-512-256",
            Algorithm::Sha512_256Sess => "SHA-512-256-sess",
            Algorithm::Other(token) => token,
        }
    }

    /// Whether this module can compute digests with this algorithm.
    pub fn is_supported(&self) -> bool {
        self.hash_fn().is_some()
    }

    /// Whether this is MD5 or MD5-sess, which an account may refuse
    /// ([`Credentials::without_md5`](super::Credentials::without_md5)).
    pub fn is_md5(&self) -> bool {
        matches!(self.hash_fn(), Some(HashFn::Md5))
    }

    /// Whether this is a `-sess` variant, whose HA1 also covers the nonce and
    /// cnonce (RFC 7616 §3.4.2).
    pub fn is_session(&self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess)
    }

    /// Rank used when choosing among challenges: higher is stronger, 0 means
    /// unsupported.
    ///
    /// The rank follows the hash function only: MD5 (1) < SHA-256 (2) <
    /// SHA-512/256 (3). SHA-512/256 is put above SHA-256 because, being a
    /// truncated SHA-512, it is not open to length extension. A `-sess`
    /// variant ranks with its base algorithm since it changes who can
    /// precompute HA1, not the strength of the hash; ties are left to the
    /// order in which the server listed its challenges (RFC 7616 §3.7).
    pub fn strength(&self) -> u8 {
        match self.hash_fn() {
            Some(HashFn::Md5) => 1,
            Some(HashFn::Sha256) => 2,
            Some(HashFn::Sha512_256) => 3,
            None => 0,
        }
    }

    /// The hash function, or `None` for an unsupported algorithm.
    pub(crate) fn hash_fn(&self) -> Option<HashFn> {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => Some(HashFn::Md5),
            Algorithm::Sha256 | Algorithm::Sha256Sess => Some(HashFn::Sha256),
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => Some(HashFn::Sha512_256),
            Algorithm::Other(_) => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_case_insensitively() {
        for alg in Algorithm::SUPPORTED {
            assert_eq!(Algorithm::from_token(alg.as_str()), alg);
            assert_eq!(Algorithm::from_token(&alg.as_str().to_ascii_lowercase()), alg);
            assert!(alg.is_supported());
        }
        assert_eq!(Algorithm::from_token("md5-SESS"), Algorithm::Md5Sess);
    }

    #[test]
    fn unknown_tokens_stay_distinguishable() {
        let alg = Algorithm::from_token("SHA3-256");
        assert_eq!(alg, Algorithm::Other("SHA3-256".into()));
        assert!(!alg.is_supported());
        assert_eq!(alg.strength(), 0);
        assert_eq!(alg.to_string(), "SHA3-256");
    }

    #[test]
    fn strength_order() {
        assert!(Algorithm::Md5.strength() < Algorithm::Sha256.strength());
        assert!(Algorithm::Sha256.strength() < Algorithm::Sha512_256.strength());
        assert_eq!(Algorithm::Md5.strength(), Algorithm::Md5Sess.strength());
        assert_eq!(Algorithm::default(), Algorithm::Md5);
        assert!(Algorithm::Sha256Sess.is_session());
        assert!(!Algorithm::Sha256.is_session());
    }
}
