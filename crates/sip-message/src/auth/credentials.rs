//! Secrets: a user's password, or the HA1 a server stores instead of it.
//!
//! None of these types prints its secret: `Debug` shows `<redacted>`.

use std::fmt;

use super::algorithm::Algorithm;
use super::digest::base_ha1;
use super::error::AuthError;
use super::hash::{is_hex_of_len, HashFn};

/// A username and password, as a client answers challenges with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
    /// Whether these credentials may answer an MD5 challenge.
    md5: bool,
}

impl Credentials {
    /// Credentials for `username` with `password`, answering any algorithm this module
    /// implements (the strongest a server offers is chosen).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { username: username.into(), password: password.into(), md5: true }
    }

    /// These credentials never answer with MD5 or MD5-sess: a server that offers nothing
    /// stronger gets no answer, and the choice fails with
    /// [`AuthError::AlgorithmRefused`]. An MD5 digest response seen on the wire can be
    /// brute-forced for the password offline at billions of guesses a second; an account
    /// whose server speaks SHA-256 (RFC 8760) should not let a forged challenge downgrade it.
    pub fn without_md5(mut self) -> Self {
        self.md5 = false;
        self
    }

    /// Whether these credentials may answer a challenge of `algorithm` (an unsupported one
    /// is for [`Algorithm::is_supported`] to refuse).
    pub fn accepts(&self, algorithm: &Algorithm) -> bool {
        self.md5 || !algorithm.is_md5()
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("md5", &self.md5)
            .finish()
    }
}

/// A precomputed `H(username ":" realm ":" password)` (RFC 7616 §3.4.2), so
/// a server need not store passwords.
///
/// An HA1 belongs to one hash function: an HA1 made for MD5 verifies
/// `MD5` and `MD5-sess` credentials only.
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1 {
    hash: HashFn,
    hex: String,
}

impl Ha1 {
    /// Computes the HA1 of `username`, `realm` and `password` for
    /// `algorithm`'s hash function.
    pub fn compute(algorithm: &Algorithm, username: &str, realm: &str, password: &str) -> Result<Ha1, AuthError> {
        let hash = supported(algorithm)?;
        Ok(Ha1 { hash, hex: base_ha1(hash, username, realm, password) })
    }

    /// Wraps a stored HA1 given in hex (either case).
    ///
    /// Fails with [`AuthError::InvalidHa1`] unless `hex` has exactly the
    /// length of `algorithm`'s hash output.
    pub fn from_hex(algorithm: &Algorithm, hex: &str) -> Result<Ha1, AuthError> {
        let hash = supported(algorithm)?;
        if !is_hex_of_len(hex, hash.hex_len()) {
            return Err(AuthError::InvalidHa1);
        }
        Ok(Ha1 { hash, hex: hex.to_ascii_lowercase() })
    }

    /// The HA1 in lowercase hex, for storing it.
    pub fn as_hex(&self) -> &str {
        &self.hex
    }

    pub(crate) fn hash(&self) -> HashFn {
        self.hash
    }
}

fn supported(algorithm: &Algorithm) -> Result<HashFn, AuthError> {
    algorithm.hash_fn().ok_or_else(|| AuthError::UnsupportedAlgorithm { token: algorithm.as_str().to_owned() })
}

impl fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ha1").field("hash", &self.hash).field("hex", &"<redacted>").finish()
    }
}

/// What a server checks credentials against.
#[derive(Clone, Copy)]
pub enum Secret<'a> {
    /// The user's password.
    Password(&'a str),
    /// A stored HA1; it must be for the hash of the algorithm the client
    /// used (see [`Ha1`]).
    Ha1(&'a Ha1),
}

impl fmt::Debug for Secret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Password(_) => f.write_str("Password(<redacted>)"),
            Secret::Ha1(_) => f.write_str("Ha1(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("alice", "hunter2");
        let shown = format!("{c:?}");
        assert!(shown.contains("alice"));
        assert!(!shown.contains("hunter2"));

        let ha1 = Ha1::compute(&Algorithm::Md5, "alice", "r", "hunter2").unwrap();
        let shown = format!("{ha1:?} {:?}", Secret::Ha1(&ha1));
        assert!(!shown.contains(ha1.as_hex()));
        assert!(!format!("{:?}", Secret::Password("hunter2")).contains("hunter2"));
    }

    #[test]
    fn ha1_from_hex_checks_length() {
        let ha1 = Ha1::compute(&Algorithm::Sha256, "u", "r", "p").unwrap();
        let upper = ha1.as_hex().to_ascii_uppercase();
        assert_eq!(Ha1::from_hex(&Algorithm::Sha256Sess, &upper).unwrap(), ha1);
        assert_eq!(Ha1::from_hex(&Algorithm::Md5, ha1.as_hex()), Err(AuthError::InvalidHa1));
        assert!(matches!(
            Ha1::compute(&Algorithm::Other("X".into()), "u", "r", "p"),
            Err(AuthError::UnsupportedAlgorithm { .. })
        ));
    }
}
