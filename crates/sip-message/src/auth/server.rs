//! The server side: issuing challenges and verifying credentials.
//!
//! This module keeps no nonce table and has no clock: the caller decides
//! whether a nonce it issued is still fresh, and remembers the last
//! nonce-count it accepted for it, and passes both in [`VerifyRequest`].

use std::fmt;

use super::algorithm::Algorithm;
use super::authorization::Authorization;
use super::challenge::Challenge;
use super::credentials::Secret;
use super::ct::hex_eq;
use super::digest::{base_ha1, request_digest, username_hash, DigestInput};
use super::error::AuthError;
use super::qop::Qop;
use super::random::random_hex;

/// Issues challenges for one realm and verifies the answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestServer {
    realm: String,
    algorithms: Vec<Algorithm>,
    qop: Vec<Qop>,
    opaque: Option<String>,
    userhash: bool,
}

/// What the caller knows about the request being verified.
#[derive(Debug, Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The request method, as A2 covers it (RFC 3261 §22.4).
    pub method: &'a str,
    /// The Request-URI, compared byte for byte with the credentials' `uri`
    /// (RFC 2617 §3.2.2.5: the server checks that they name the same
    /// resource). `None` skips the check, for callers that compare
    /// with SIP URI equivalence rules themselves.
    pub request_uri: Option<&'a str>,
    /// The message body, needed for qop `auth-int`.
    pub body: &'a [u8],
    /// The user the caller looked up for the credentials' `username` (for
    /// `userhash` credentials, the user whose hash matched).
    pub username: &'a str,
    /// That user's password or stored HA1.
    pub secret: Secret<'a>,
    /// Whether the caller considers the credentials' nonce expired (or does
    /// not know it).
    pub nonce_stale: bool,
    /// The highest nonce-count already accepted with this nonce, if any.
    pub last_nc: Option<u32>,
}

/// The outcome of verifying well-formed credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The credentials are right: serve the request (and remember the `nc`).
    Authorized,
    /// Wrong username or password: challenge again, or answer 403.
    WrongCredentials,
    /// The credentials are right but the nonce is stale: challenge again
    /// with `stale=true` so the client retries without asking its user
    /// (RFC 7616 §3.3).
    StaleNonce,
    /// The nonce-count did not increase: a replay or a reordered request
    /// (RFC 7616 §3.4). Challenge again.
    Replay {
        /// The nonce-count received.
        nc: u32,
        /// The highest nonce-count accepted before.
        last_seen: u32,
    },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Authorized => f.write_str("authorized"),
            Verdict::WrongCredentials => f.write_str("wrong credentials"),
            Verdict::StaleNonce => f.write_str("stale nonce"),
            Verdict::Replay { nc, last_seen } => {
                write!(f, "nonce-count {nc:08x} replayed (last seen {last_seen:08x})")
            }
        }
    }
}

impl DigestServer {
    /// A server for `realm` offering SHA-256 then MD5 (newer clients pick
    /// SHA-256, RFC 3261-only ones still get MD5, as RFC 8760 intends) with
    /// qop `auth`, no opaque and no username hashing.
    pub fn new(realm: impl Into<String>) -> Self {
        DigestServer {
            realm: realm.into(),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            qop: vec![Qop::Auth],
            opaque: None,
            userhash: false,
        }
    }

    /// Offers `algorithms`, most preferred first: one challenge each.
    ///
    /// Fails with [`AuthError::NoChallenge`] for an empty list and
    /// [`AuthError::UnsupportedAlgorithm`] for an unsupported entry.
    pub fn with_algorithms(mut self, algorithms: Vec<Algorithm>) -> Result<Self, AuthError> {
        if algorithms.is_empty() {
            return Err(AuthError::NoChallenge);
        }
        if let Some(bad) = algorithms.iter().find(|a| !a.is_supported()) {
            return Err(AuthError::UnsupportedAlgorithm { token: bad.as_str().to_owned() });
        }
        self.algorithms = algorithms;
        Ok(self)
    }

    /// Offers these qop values; an empty list means the RFC 2069 mode
    /// without qop (weaker: no cnonce, no nonce-count).
    ///
    /// Fails with [`AuthError::UnsupportedQop`] for a [`Qop::Other`].
    pub fn with_qop(mut self, qop: Vec<Qop>) -> Result<Self, AuthError> {
        if qop.iter().any(|q| matches!(q, Qop::Other(_))) {
            return Err(AuthError::UnsupportedQop);
        }
        self.qop = qop;
        Ok(self)
    }

    /// Adds an `opaque` value that answers must return unchanged.
    pub fn with_opaque(mut self, opaque: impl Into<String>) -> Self {
        self.opaque = Some(opaque.into());
        self
    }

    /// Asks clients to hash the username (RFC 7616 §3.4.4).
    pub fn with_userhash(mut self, userhash: bool) -> Self {
        self.userhash = userhash;
        self
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Challenges with a fresh random nonce (128 bits from the OS), one per
    /// offered algorithm, to be sent as that many `WWW-Authenticate` or
    /// `Proxy-Authenticate` headers.
    ///
    /// The caller records the nonce (`challenges[0].nonce`) to judge its
    /// freshness later. `stale` marks a re-challenge after
    /// [`Verdict::StaleNonce`].
    pub fn challenges(&self, stale: bool) -> Result<Vec<Challenge>, AuthError> {
        Ok(self.challenges_with_nonce(&random_hex()?, stale))
    }

    /// Challenges with a caller-made nonce (e.g. one embedding a timestamp
    /// and a MAC, RFC 7616 §3.3, so that no nonce table is needed).
    pub fn challenges_with_nonce(&self, nonce: &str, stale: bool) -> Vec<Challenge> {
        self.algorithms
            .iter()
            .map(|alg| Challenge {
                realm: self.realm.clone(),
                nonce: nonce.to_owned(),
                opaque: self.opaque.clone(),
                algorithm: alg.clone(),
                qop: self.qop.clone(),
                stale,
                domain: Vec::new(),
                userhash: self.userhash,
                charset: None,
                extensions: Vec::new(),
            })
            .collect()
    }

    /// Verifies `auth` for `request`.
    ///
    /// The nonce itself is not checked here: look `auth.nonce` up in your
    /// own records first and set [`VerifyRequest::nonce_stale`] for a nonce
    /// that expired or that you never issued, and
    /// [`VerifyRequest::last_nc`] to the highest `nc` accepted with it.
    ///
    /// `Err` means the credentials cannot be judged: they do not fit this
    /// server's challenge ([`AuthError::Mismatch`] for realm, algorithm,
    /// qop, opaque or uri; answer 400, or ignore credentials of another
    /// realm), lack a parameter, or the secret does not suit the algorithm
    /// ([`AuthError::InvalidHa1`]). Otherwise the [`Verdict`] says whether
    /// they are right; the response is compared in constant time.
    pub fn verify(&self, auth: &Authorization, request: &VerifyRequest<'_>) -> Result<Verdict, AuthError> {
        if auth.realm != self.realm {
            return Err(AuthError::Mismatch { field: "realm" });
        }
        let hash = auth
            .algorithm
            .hash_fn()
            .ok_or_else(|| AuthError::UnsupportedAlgorithm { token: auth.algorithm.as_str().to_owned() })?;
        if !self.algorithms.contains(&auth.algorithm) {
            return Err(AuthError::Mismatch { field: "algorithm" });
        }
        // Credentials without qop when qop was offered are refused: the
        // RFC 2069 form has no cnonce, so accepting it would let an attacker
        // downgrade (RFC 7616 §5, security considerations).
        let qop_ok = match &auth.qop {
            Some(q) => self.qop.contains(q),
            None => self.qop.is_empty(),
        };
        if !qop_ok {
            return Err(AuthError::Mismatch { field: "qop" });
        }
        let nc = match auth.qop {
            Some(_) => {
                let nc = auth.nc.ok_or(AuthError::MissingParam { name: "nc" })?;
                if nc == 0 {
                    return Err(AuthError::InvalidParam { name: "nc", reason: "nonce-count starts at 00000001" });
                }
                Some(nc)
            }
            None => None,
        };
        let needs_cnonce = auth.qop.is_some() || auth.algorithm.is_session();
        let cnonce = match (&auth.cnonce, needs_cnonce) {
            (Some(c), true) => c.as_str(),
            (None, true) => return Err(AuthError::MissingParam { name: "cnonce" }),
            (_, false) => "",
        };
        if let Some(opaque) = &self.opaque {
            if auth.opaque.as_ref() != Some(opaque) {
                return Err(AuthError::Mismatch { field: "opaque" });
            }
        }
        if let Some(uri) = request.request_uri {
            if uri != auth.uri {
                return Err(AuthError::Mismatch { field: "uri" });
            }
        }
        let base = match request.secret {
            Secret::Password(password) => base_ha1(hash, request.username, &self.realm, password),
            Secret::Ha1(ha1) if ha1.hash() == hash => ha1.as_hex().to_owned(),
            Secret::Ha1(_) => return Err(AuthError::InvalidHa1),
        };
        let username_ok = if auth.userhash {
            hex_eq(&auth.username, &username_hash(hash, request.username, &self.realm))
        } else {
            auth.username == request.username
        };
        let expected = request_digest(&DigestInput {
            hash,
            session: auth.algorithm.is_session(),
            base_ha1: &base,
            nonce: &auth.nonce,
            cnonce,
            qop: auth.qop.as_ref(),
            nc: nc.unwrap_or(0),
            method: request.method,
            uri: &auth.uri,
            body: request.body,
        });
        // Evaluate the digest comparison even when the username is wrong, so
        // the two failures take the same time.
        let response_ok = hex_eq(&auth.response, &expected);
        if !(username_ok & response_ok) {
            return Ok(Verdict::WrongCredentials);
        }
        if request.nonce_stale {
            return Ok(Verdict::StaleNonce);
        }
        if let (Some(nc), Some(last_seen)) = (nc, request.last_nc) {
            if nc <= last_seen {
                return Ok(Verdict::Replay { nc, last_seen });
            }
        }
        Ok(Verdict::Authorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Credentials, DigestClient, Ha1};

    const URI: &str = "sip:bob@biloxi.com";

    fn request<'a>(secret: Secret<'a>) -> VerifyRequest<'a> {
        VerifyRequest {
            method: "INVITE",
            request_uri: Some(URI),
            body: b"v=0\r\n",
            username: "bob",
            secret,
            nonce_stale: false,
            last_nc: None,
        }
    }

    fn answer(server: &DigestServer, password: &str) -> Authorization {
        let challenges = server.challenges_with_nonce("abc", false);
        DigestClient::new()
            .respond(&challenges[0], &Credentials::new("bob", password), "INVITE", URI, b"v=0\r\n")
            .unwrap()
    }

    #[test]
    fn challenges_follow_the_configuration() {
        let server = DigestServer::new("biloxi.com").with_opaque("op");
        let cs = server.challenges(false).unwrap();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].algorithm, Algorithm::Sha256);
        assert_eq!(cs[1].algorithm, Algorithm::Md5);
        assert_eq!(cs[0].nonce, cs[1].nonce);
        assert_eq!(cs[0].nonce.len(), 32);
        assert_eq!(cs[0].opaque.as_deref(), Some("op"));
        assert_ne!(cs[0].nonce, server.challenges(true).unwrap()[0].nonce);
        assert!(server.challenges(true).unwrap()[0].is_stale());
        assert_eq!(DigestServer::new("r").with_algorithms(vec![]), Err(AuthError::NoChallenge));
        assert!(DigestServer::new("r").with_algorithms(vec![Algorithm::Other("X".into())]).is_err());
        assert_eq!(DigestServer::new("r").with_qop(vec![Qop::Other("x".into())]), Err(AuthError::UnsupportedQop));
    }

    #[test]
    fn verdicts() {
        let server = DigestServer::new("biloxi.com");
        let good = answer(&server, "zanzibar");
        let req = request(Secret::Password("zanzibar"));
        assert_eq!(server.verify(&good, &req), Ok(Verdict::Authorized));
        assert_eq!(server.verify(&answer(&server, "wrong"), &req), Ok(Verdict::WrongCredentials));
        let stale = VerifyRequest { nonce_stale: true, ..req };
        assert_eq!(server.verify(&good, &stale), Ok(Verdict::StaleNonce));
        let seen = VerifyRequest { last_nc: Some(1), ..req };
        assert_eq!(server.verify(&good, &seen), Ok(Verdict::Replay { nc: 1, last_seen: 1 }));
        let other_user = VerifyRequest { username: "alice", ..req };
        assert_eq!(server.verify(&good, &other_user), Ok(Verdict::WrongCredentials));
        let mut upper = good.clone();
        upper.response = upper.response.to_ascii_uppercase();
        assert_eq!(server.verify(&upper, &req), Ok(Verdict::Authorized));
    }

    #[test]
    fn mismatches() {
        let server = DigestServer::new("biloxi.com").with_opaque("op");
        let good = answer(&server, "zanzibar");
        let req = request(Secret::Password("zanzibar"));
        assert_eq!(server.verify(&good, &req), Ok(Verdict::Authorized));

        let mut a = good.clone();
        a.realm = "atlanta.com".into();
        assert_eq!(server.verify(&a, &req), Err(AuthError::Mismatch { field: "realm" }));
        let mut a = good.clone();
        a.opaque = None;
        assert_eq!(server.verify(&a, &req), Err(AuthError::Mismatch { field: "opaque" }));
        let other_uri = VerifyRequest { request_uri: Some("sip:carol@biloxi.com"), ..req };
        assert_eq!(server.verify(&good, &other_uri), Err(AuthError::Mismatch { field: "uri" }));
        let mut a = good.clone();
        a.qop = None;
        assert_eq!(server.verify(&a, &req), Err(AuthError::Mismatch { field: "qop" }));
        let mut a = good.clone();
        a.algorithm = Algorithm::Sha512_256;
        assert_eq!(server.verify(&a, &req), Err(AuthError::Mismatch { field: "algorithm" }));
        let mut a = good.clone();
        a.nc = Some(0);
        assert!(matches!(server.verify(&a, &req), Err(AuthError::InvalidParam { name: "nc", .. })));
        let mut a = good.clone();
        a.cnonce = None;
        assert_eq!(server.verify(&a, &req), Err(AuthError::MissingParam { name: "cnonce" }));
        let md5_ha1 = Ha1::compute(&Algorithm::Md5, "bob", "biloxi.com", "zanzibar").unwrap();
        assert_eq!(server.verify(&good, &request(Secret::Ha1(&md5_ha1))), Err(AuthError::InvalidHa1));
    }

    #[test]
    fn stored_ha1_verifies() {
        let server = DigestServer::new("biloxi.com");
        let good = answer(&server, "zanzibar");
        let ha1 = Ha1::compute(&Algorithm::Sha256, "bob", "biloxi.com", "zanzibar").unwrap();
        assert_eq!(server.verify(&good, &request(Secret::Ha1(&ha1))), Ok(Verdict::Authorized));
    }

    #[test]
    fn userhash_credentials_verify() {
        let server = DigestServer::new("biloxi.com").with_userhash(true);
        let good = answer(&server, "zanzibar");
        assert!(good.userhash);
        assert_ne!(good.username, "bob");
        assert_eq!(server.verify(&good, &request(Secret::Password("zanzibar"))), Ok(Verdict::Authorized));
    }

    #[test]
    fn verdict_display() {
        assert_eq!(
            Verdict::Replay { nc: 2, last_seen: 3 }.to_string(),
            "nonce-count 00000002 replayed (last seen 00000003)"
        );
    }
}
