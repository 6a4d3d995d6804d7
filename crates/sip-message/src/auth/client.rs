//! The client side: answering challenges and pre-authorizing later requests.

use std::collections::HashMap;

use super::authorization::Authorization;
use super::challenge::Challenge;
use super::credentials::Credentials;
use super::digest::{base_ha1, request_digest, username_hash, DigestInput};
use super::error::AuthError;
use super::qop::QopPreference;
use super::random::random_hex;

/// Where cnonces come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CnonceSource {
    /// 16 bytes from the OS random source, as hex.
    Random,
    /// A fixed value, for tests and test vectors only.
    Fixed(String),
}

/// What is remembered about the last challenge of one realm.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RealmState {
    challenge: Challenge,
    /// The nonce-count last sent with `challenge.nonce`.
    nc: u32,
    /// One cnonce per nonce: with `-sess` algorithms the session key
    /// `H(HA1:nonce:cnonce)` is fixed by the first request (RFC 2617
    /// §3.2.2.2), and the incrementing nc keeps each request distinct.
    cnonce: String,
}

/// Answers Digest challenges and remembers, per realm, the last challenge
/// with its nonce-count so that later requests can be pre-authorized
/// (RFC 3261 §22.3).
///
/// Each use of a nonce increments its nonce-count (`00000001`,
/// `00000002`, ...); a new nonce for the realm restarts it at 1
/// (RFC 7616 §3.4). No password is stored: the caller passes
/// [`Credentials`] on each call.
///
/// # Flow
///
/// 1. Before sending a request, call [`authorize`](Self::authorize) for each
///    realm you expect; it returns credentials only for cached realms.
/// 2. On a 401 or 407, parse every `WWW-Authenticate` /
///    `Proxy-Authenticate` value with [`Challenge::parse`] and pick one
///    per realm with [`select_per_realm`](super::select_per_realm).
/// 3. For each picked challenge:
///    - if it [`is_stale`](Challenge::is_stale), or its realm is not
///      [cached](Self::is_cached) yet, answer it with
///      [`respond`](Self::respond) using the credentials you already have —
///      do not ask the user again (RFC 7616 §3.3);
///    - otherwise the server refused the credentials it was sent for that
///      realm: ask the user, or give up, before calling `respond`.
/// 4. Resend the request (new CSeq) with the returned values in
///    `Authorization` (401) or `Proxy-Authorization` (407) headers.
#[derive(Debug, Clone)]
pub struct DigestClient {
    realms: HashMap<String, RealmState>,
    cnonce: CnonceSource,
    preference: QopPreference,
}

impl Default for DigestClient {
    fn default() -> Self {
        DigestClient::new()
    }
}

impl DigestClient {
    /// A client with random cnonces, preferring qop `auth`.
    pub fn new() -> Self {
        DigestClient { realms: HashMap::new(), cnonce: CnonceSource::Random, preference: QopPreference::default() }
    }

    /// A client that uses `cnonce` for every nonce instead of a random value.
    ///
    /// Only for tests and reproducing published examples: a predictable
    /// cnonce defeats its purpose (RFC 7616 §5, security considerations).
    pub fn with_fixed_cnonce(cnonce: impl Into<String>) -> Self {
        DigestClient { cnonce: CnonceSource::Fixed(cnonce.into()), ..DigestClient::new() }
    }

    /// Sets which qop to prefer when a challenge offers both `auth` and
    /// `auth-int`.
    pub fn set_qop_preference(&mut self, preference: QopPreference) {
        self.preference = preference;
    }

    /// The qop preference in use.
    pub fn qop_preference(&self) -> QopPreference {
        self.preference
    }

    /// Whether a challenge for `realm` is cached.
    pub fn is_cached(&self, realm: &str) -> bool {
        self.realms.contains_key(realm)
    }

    /// Drops what is cached for `realm` (e.g. after the user changed the
    /// password or the registration ended).
    pub fn forget(&mut self, realm: &str) {
        self.realms.remove(realm);
    }

    /// Answers `challenge` for a request with `method`, Request-URI `uri`
    /// and `body` (used only by qop `auth-int`), and caches the challenge
    /// for its realm.
    ///
    /// A challenge with the nonce already cached for the realm continues
    /// that nonce's count; a new nonce (including a stale re-challenge)
    /// starts again at `00000001`.
    ///
    /// Errors: [`AuthError::UnsupportedAlgorithm`], [`AuthError::UnsupportedQop`],
    /// [`AuthError::NonceCountExhausted`], [`AuthError::Random`], and
    /// [`AuthError::InvalidParam`] for a username or uri containing CR or LF
    /// (they cannot be carried in a quoted-string).
    pub fn respond(
        &mut self,
        challenge: &Challenge,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<Authorization, AuthError> {
        if !challenge.algorithm.is_supported() {
            return Err(AuthError::UnsupportedAlgorithm { token: challenge.algorithm.as_str().to_owned() });
        }
        if !credentials.accepts(&challenge.algorithm) {
            return Err(AuthError::AlgorithmRefused { token: challenge.algorithm.as_str().to_owned() });
        }
        self.preference.choose(&challenge.qop)?;
        let state = match self.realms.get(&challenge.realm) {
            Some(old) if old.challenge.nonce == challenge.nonce => {
                RealmState { challenge: challenge.clone(), nc: next_nc(old.nc)?, cnonce: old.cnonce.clone() }
            }
            _ => RealmState { challenge: challenge.clone(), nc: 1, cnonce: self.new_cnonce()? },
        };
        let auth = build(&state, self.preference, credentials, method, uri, body)?;
        self.realms.insert(challenge.realm.clone(), state);
        Ok(auth)
    }

    /// Pre-authorizes a request for `realm` with the cached challenge,
    /// incrementing its nonce-count (RFC 3261 §22.3).
    ///
    /// Returns `Ok(None)` when nothing is cached for `realm`. Errors are
    /// those of [`respond`](Self::respond).
    pub fn authorize(
        &mut self,
        realm: &str,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<Option<Authorization>, AuthError> {
        let Some(state) = self.realms.get_mut(realm) else {
            return Ok(None);
        };
        if !credentials.accepts(&state.challenge.algorithm) {
            return Err(AuthError::AlgorithmRefused { token: state.challenge.algorithm.as_str().to_owned() });
        }
        let nc = next_nc(state.nc)?;
        let candidate = RealmState { nc, ..state.clone() };
        let auth = build(&candidate, self.preference, credentials, method, uri, body)?;
        state.nc = nc;
        Ok(Some(auth))
    }

    fn new_cnonce(&self) -> Result<String, AuthError> {
        match &self.cnonce {
            CnonceSource::Random => random_hex(),
            CnonceSource::Fixed(c) => Ok(c.clone()),
        }
    }
}

/// The nonce-count after `nc`; RFC 7616 §3.4 has 8 hex digits, so
/// `ffffffff` is the last one a nonce can be used with.
fn next_nc(nc: u32) -> Result<u32, AuthError> {
    nc.checked_add(1).ok_or(AuthError::NonceCountExhausted)
}

fn reject_line_breaks(name: &'static str, value: &str) -> Result<(), AuthError> {
    if value.contains(['\r', '\n']) {
        return Err(AuthError::InvalidParam { name, reason: "contains CR or LF" });
    }
    Ok(())
}

/// Computes the credentials for one request from a realm's state.
fn build(
    state: &RealmState,
    preference: QopPreference,
    credentials: &Credentials,
    method: &str,
    uri: &str,
    body: &[u8],
) -> Result<Authorization, AuthError> {
    let c = &state.challenge;
    let hash = c
        .algorithm
        .hash_fn()
        .ok_or_else(|| AuthError::UnsupportedAlgorithm { token: c.algorithm.as_str().to_owned() })?;
    reject_line_breaks("username", credentials.username())?;
    reject_line_breaks("uri", uri)?;
    let qop = preference.choose(&c.qop)?;
    let session = c.algorithm.is_session();
    let base = base_ha1(hash, credentials.username(), &c.realm, credentials.password());
    let response = request_digest(&DigestInput {
        hash,
        session,
        base_ha1: &base,
        nonce: &c.nonce,
        cnonce: &state.cnonce,
        qop: qop.as_ref(),
        nc: state.nc,
        method,
        uri,
        body,
    });
    // RFC 7616 §3.4.4: with userhash the username travels as
    // H(username ":" realm); HA1 still uses the plain username.
    let username = if c.userhash {
        username_hash(hash, credentials.username(), &c.realm)
    } else {
        credentials.username().to_owned()
    };
    // cnonce and nc accompany qop (RFC 2617 §3.2.2); without qop, a -sess
    // HA1 still needs the cnonce, so it is sent then too.
    let with_cnonce = qop.is_some() || session;
    Ok(Authorization {
        username,
        realm: c.realm.clone(),
        nonce: c.nonce.clone(),
        uri: uri.to_owned(),
        response,
        algorithm: c.algorithm.clone(),
        cnonce: with_cnonce.then(|| state.cnonce.clone()),
        opaque: c.opaque.clone(),
        nc: qop.is_some().then_some(state.nc),
        qop,
        userhash: c.userhash,
        extensions: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Algorithm, Qop};

    fn challenge(nonce: &str) -> Challenge {
        let mut c = Challenge::new("biloxi.com", nonce);
        c.qop = vec![Qop::Auth];
        c
    }

    fn creds() -> Credentials {
        Credentials::new("bob", "zanzibar")
    }

    #[test]
    fn rfc2617_example_through_the_client() {
        let mut c = Challenge::new("testrealm@host.com", "dcd98b7102dd2f0e8b11d0f600bfb0c093");
        c.qop = vec![Qop::Auth, Qop::AuthInt];
        c.opaque = Some("5ccc069c403ebaf9f0171e9517f40e41".into());
        let mut client = DigestClient::with_fixed_cnonce("0a4f113b");
        let a =
            client.respond(&c, &Credentials::new("Mufasa", "Circle Of Life"), "GET", "/dir/index.html", b"").unwrap();
        assert_eq!(a.response, "6629fae49393a05397450978507c4ef1");
        assert_eq!(a.nc, Some(1));
        assert_eq!(a.qop, Some(Qop::Auth));
        assert_eq!(a.opaque.as_deref(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
    }

    #[test]
    fn nonce_count_increments_and_resets() {
        let mut client = DigestClient::new();
        let a1 = client.respond(&challenge("n1"), &creds(), "REGISTER", "sip:biloxi.com", b"").unwrap();
        let a2 = client.authorize("biloxi.com", &creds(), "REGISTER", "sip:biloxi.com", b"").unwrap().unwrap();
        let a3 = client.respond(&challenge("n1"), &creds(), "REGISTER", "sip:biloxi.com", b"").unwrap();
        assert_eq!((a1.nc, a2.nc, a3.nc), (Some(1), Some(2), Some(3)));
        assert!(a2.to_string().contains("nc=00000002"));
        assert_eq!(a1.cnonce, a3.cnonce);
        assert_ne!(a1.response, a2.response);

        let b1 = client.respond(&challenge("n2"), &creds(), "REGISTER", "sip:biloxi.com", b"").unwrap();
        assert_eq!(b1.nc, Some(1));
        assert_eq!(b1.nonce, "n2");
        assert_ne!(b1.cnonce, a1.cnonce);
    }

    #[test]
    fn authorize_without_cache_is_none() {
        let mut client = DigestClient::new();
        assert_eq!(client.authorize("nowhere", &creds(), "INVITE", "sip:x", b"").unwrap(), None);
        client.respond(&challenge("n"), &creds(), "INVITE", "sip:x", b"").unwrap();
        assert!(client.is_cached("biloxi.com"));
        client.forget("biloxi.com");
        assert!(!client.is_cached("biloxi.com"));
    }

    #[test]
    fn exhausted_nonce_count() {
        let mut client = DigestClient::new();
        client.respond(&challenge("n"), &creds(), "INVITE", "sip:x", b"").unwrap();
        if let Some(state) = client.realms.get_mut("biloxi.com") {
            state.nc = u32::MAX - 1;
        }
        let last = client.authorize("biloxi.com", &creds(), "INVITE", "sip:x", b"").unwrap().unwrap();
        assert!(last.to_string().contains("nc=ffffffff"));
        assert_eq!(
            client.authorize("biloxi.com", &creds(), "INVITE", "sip:x", b""),
            Err(AuthError::NonceCountExhausted)
        );
        // A fresh nonce recovers.
        assert!(client.respond(&challenge("fresh"), &creds(), "INVITE", "sip:x", b"").is_ok());
    }

    #[test]
    fn unsupported_challenges_are_refused() {
        let mut client = DigestClient::new();
        let mut c = challenge("n");
        c.algorithm = Algorithm::Other("SHA3-256".into());
        assert_eq!(
            client.respond(&c, &creds(), "INVITE", "sip:x", b""),
            Err(AuthError::UnsupportedAlgorithm { token: "SHA3-256".into() })
        );
        let mut c = challenge("n");
        c.qop = vec![Qop::Other("x".into())];
        assert_eq!(client.respond(&c, &creds(), "INVITE", "sip:x", b""), Err(AuthError::UnsupportedQop));
        assert!(!client.is_cached("biloxi.com"));
        assert!(matches!(
            client.respond(&challenge("n"), &creds(), "INVITE", "sip:x\r\nVia: evil", b""),
            Err(AuthError::InvalidParam { name: "uri", .. })
        ));
    }

    #[test]
    fn rfc2069_mode_sends_no_qop_nc_or_cnonce() {
        let mut client = DigestClient::new();
        let c = Challenge::new("r", "n");
        let a = client.respond(&c, &creds(), "INVITE", "sip:x", b"").unwrap();
        assert_eq!((a.qop, a.nc, a.cnonce), (None, None, None));
        let mut c = Challenge::new("r", "n");
        c.algorithm = Algorithm::Md5Sess;
        let a = client.respond(&c, &creds(), "INVITE", "sip:x", b"").unwrap();
        assert!(a.cnonce.is_some());
        assert_eq!(a.nc, None);
    }

    #[test]
    fn prefers_auth_int_when_asked() {
        let mut client = DigestClient::new();
        client.set_qop_preference(QopPreference::AuthInt);
        assert_eq!(client.qop_preference(), QopPreference::AuthInt);
        let mut c = challenge("n");
        c.qop = vec![Qop::Auth, Qop::AuthInt];
        let a = client.respond(&c, &creds(), "INVITE", "sip:x", b"v=0").unwrap();
        assert_eq!(a.qop, Some(Qop::AuthInt));
    }

    #[test]
    fn credentials_without_md5_never_answer_md5() {
        let mut client = DigestClient::new();
        let strict = creds().without_md5();
        let md5 = challenge("n");
        assert_eq!(md5.algorithm, Algorithm::Md5);
        assert_eq!(
            client.respond(&md5, &strict, "INVITE", "sip:x", b"").unwrap_err(),
            AuthError::AlgorithmRefused { token: "MD5".into() }
        );
        assert!(!client.is_cached("biloxi.com"), "nothing is remembered of a refused challenge");
        // Nor is a realm cached with other credentials pre-authorized with these.
        client.respond(&md5, &creds(), "INVITE", "sip:x", b"").unwrap();
        assert!(matches!(
            client.authorize("biloxi.com", &strict, "INVITE", "sip:x", b""),
            Err(AuthError::AlgorithmRefused { .. })
        ));
    }
}
