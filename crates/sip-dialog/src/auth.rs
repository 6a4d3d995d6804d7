//! Answering digest challenges across a sequence of requests (a registration's REGISTERs, an
//! INVITE and its retries): RFC 3261 §22.2–22.3 with RFC 7616's stale nonces.
//!
//! Credentials and computed responses are never logged; [`AuthFailure`] names a realm at
//! most.

use sip_message::auth::{select_per_realm_for, AuthError, Challenge, Credentials, DigestClient};
use sip_message::{Response, StandardHeader, StatusCode};
use std::fmt;

/// How many challenges in a row, without a success between them, before giving up: enough
/// for a proxy and a registrar to challenge and a stale nonce each, few enough that a server
/// that never accepts anything cannot keep us looping.
const MAX_CHALLENGES_IN_A_ROW: u32 = 4;

/// Why a challenge could not be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// The server asked for credentials and none are configured.
    NoCredentials,
    /// The server challenged again, without `stale=true`, the request that carried answers to
    /// its previous challenge: the username or password is wrong.
    WrongCredentials {
        /// The realm that refused them.
        realm: String,
    },
    /// No challenge offered a scheme, algorithm or qop this stack implements, or the
    /// credentials cannot be encoded.
    Unsupported(AuthError),
    /// The server kept challenging (stale nonces, one realm after another) without accepting.
    TooManyChallenges,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::NoCredentials => f.write_str("the server requires authentication and no credentials are set"),
            AuthFailure::WrongCredentials { realm } => {
                write!(f, "wrong username or password: realm \"{realm}\" refused the credentials")
            }
            AuthFailure::Unsupported(e) => write!(f, "cannot answer the challenge: {e}"),
            AuthFailure::TooManyChallenges => {
                write!(f, "challenged {MAX_CHALLENGES_IN_A_ROW} times in a row without being accepted")
            }
        }
    }
}

/// One header line of credentials.
pub type AuthHeader = (StandardHeader, String);

/// The digest state of one user agent usage: which realms challenged, and whether the request
/// in flight answered a challenge or only reused a cached one. Calls and registrations use
/// one each; a user agent's requests outside dialogs (OPTIONS, MESSAGE) can too.
#[derive(Debug, Clone)]
pub struct Authenticator {
    client: DigestClient,
    credentials: Option<Credentials>,
    /// Realms answered so far and the header their credentials go in.
    realms: Vec<(String, StandardHeader)>,
    /// Realms the request in flight answered a fresh challenge for.
    fresh: Vec<String>,
    in_a_row: u32,
}

impl Authenticator {
    /// No challenge answered yet; `credentials` answer the ones that come (none: every
    /// challenge fails with [`AuthFailure::NoCredentials`]).
    pub fn new(credentials: Option<Credentials>) -> Authenticator {
        Authenticator { client: DigestClient::new(), credentials, realms: Vec::new(), fresh: Vec::new(), in_a_row: 0 }
    }

    /// Credentials for a new request from the challenges already answered (RFC 3261 §22.3:
    /// each use of a nonce increments its nonce-count).
    pub fn preauthorize(&mut self, method: &str, uri: &str, body: &[u8]) -> Vec<AuthHeader> {
        self.fresh.clear();
        self.cached(method, uri, body, &[])
    }

    fn cached(&mut self, method: &str, uri: &str, body: &[u8], skip: &[String]) -> Vec<AuthHeader> {
        let Some(creds) = &self.credentials else { return Vec::new() };
        let mut out = Vec::new();
        for (realm, header) in &self.realms {
            if skip.contains(realm) {
                continue;
            }
            match self.client.authorize(realm, creds, method, uri, body) {
                Ok(Some(a)) => out.push((*header, a.to_string())),
                Ok(None) => {}
                Err(e) => tracing::debug!(realm = %realm, error = %e, "cannot pre-authorize"),
            }
        }
        out
    }

    /// Answers the 401 or 407 `response` to the request in flight, for a retry of `method`
    /// to `uri` with `body`. Returns every credentials header the retry carries: answers to
    /// the realms just challenged and cached ones for the others.
    ///
    /// A non-stale challenge for a realm the request in flight had freshly answered means the
    /// credentials are wrong (RFC 7616 §3.3: a server that merely wants a new nonce says
    /// `stale=true`, which is answered silently). Credentials that were only pre-authorized
    /// from a cached challenge get one fresh answer first.
    pub fn answer(
        &mut self,
        response: &Response,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> Result<Vec<AuthHeader>, AuthFailure> {
        let creds = self.credentials.as_ref().ok_or(AuthFailure::NoCredentials)?;
        let h = response.headers();
        let (header, parsed): (_, Vec<Challenge>) = if response.status() == StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            (StandardHeader::ProxyAuthorization, h.proxy_authenticate().filter_map(Result::ok).collect())
        } else {
            (StandardHeader::Authorization, h.www_authenticate().filter_map(Result::ok).collect())
        };
        let chosen =
            select_per_realm_for(&parsed, self.client.qop_preference(), creds).map_err(AuthFailure::Unsupported)?;
        if let Some(refused) = chosen.iter().find(|c| !c.stale && self.fresh.contains(&c.realm)) {
            return Err(AuthFailure::WrongCredentials { realm: refused.realm.clone() });
        }
        self.in_a_row += 1;
        if self.in_a_row > MAX_CHALLENGES_IN_A_ROW {
            return Err(AuthFailure::TooManyChallenges);
        }
        let mut out = Vec::new();
        let mut fresh = Vec::new();
        for c in chosen {
            let a = self.client.respond(c, creds, method, uri, body).map_err(AuthFailure::Unsupported)?;
            tracing::debug!(realm = %c.realm, stale = c.stale, "answering a digest challenge");
            out.push((header, a.to_string()));
            fresh.push(c.realm.clone());
            match self.realms.iter_mut().find(|(r, _)| *r == c.realm) {
                Some(entry) => entry.1 = header,
                None => self.realms.push((c.realm.clone(), header)),
            }
        }
        let others = self.cached(method, uri, body, &fresh);
        out.extend(others);
        self.fresh = fresh;
        Ok(out)
    }

    /// The request was accepted: the next challenge starts a new count.
    pub fn succeeded(&mut self) {
        self.in_a_row = 0;
        self.fresh.clear();
    }
}

/// Replaces the credentials headers of `request` with `headers`, placed before
/// Content-Length.
pub fn set_credentials(request: &mut sip_message::Request, headers: Vec<AuthHeader>) {
    let h = request.headers_mut();
    h.remove_all(StandardHeader::Authorization);
    h.remove_all(StandardHeader::ProxyAuthorization);
    crate::headers::insert_before_length(h, headers);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_message::auth::{Authorization, DigestServer, Secret, Verdict, VerifyRequest};
    use sip_message::{Method, RequestBuilder};

    fn register() -> sip_message::Request {
        RequestBuilder::new(Method::Register, "sip:biloxi.com")
            .from(None, "sip:bob@biloxi.com")
            .to(None, "sip:bob@biloxi.com")
            .via("UDP", "client.biloxi.com")
            .build()
            .unwrap()
    }

    fn challenge(server: &DigestServer, nonce: &str, stale: bool) -> Response {
        let mut r = register().make_response(StatusCode::UNAUTHORIZED, Some("s")).unwrap();
        for c in server.challenges_with_nonce(nonce, stale) {
            r.push_header(StandardHeader::WwwAuthenticate, c.to_string());
        }
        r
    }

    fn verify(server: &DigestServer, value: &str, password: &str) -> Verdict {
        let a = Authorization::parse(value).unwrap();
        let req = VerifyRequest {
            method: "REGISTER",
            request_uri: Some("sip:biloxi.com"),
            body: b"",
            username: "bob",
            secret: Secret::Password(password),
            nonce_stale: false,
            last_nc: None,
        };
        server.verify(&a, &req).unwrap()
    }

    #[test]
    fn answers_then_detects_a_wrong_password() {
        let server = DigestServer::new("biloxi.com");
        let mut auth = Authenticator::new(Some(Credentials::new("bob", "wrong")));
        let hs = auth.answer(&challenge(&server, "n1", false), "REGISTER", "sip:biloxi.com", b"").unwrap();
        assert_eq!(hs.len(), 1);
        assert_eq!(hs[0].0, StandardHeader::Authorization);
        assert_eq!(verify(&server, &hs[0].1, "zanzibar"), Verdict::WrongCredentials);
        let again = auth.answer(&challenge(&server, "n2", false), "REGISTER", "sip:biloxi.com", b"");
        assert_eq!(again, Err(AuthFailure::WrongCredentials { realm: "biloxi.com".into() }));
    }

    #[test]
    fn stale_is_answered_silently_and_cached_realms_preauthorize() {
        let server = DigestServer::new("biloxi.com");
        let mut auth = Authenticator::new(Some(Credentials::new("bob", "zanzibar")));
        let first = auth.answer(&challenge(&server, "n1", false), "REGISTER", "sip:biloxi.com", b"").unwrap();
        assert_eq!(verify(&server, &first[0].1, "zanzibar"), Verdict::Authorized);
        let stale = auth.answer(&challenge(&server, "n2", true), "REGISTER", "sip:biloxi.com", b"").unwrap();
        assert!(stale[0].1.contains("nonce=\"n2\""));
        auth.succeeded();
        let pre = auth.preauthorize("REGISTER", "sip:biloxi.com", b"");
        assert!(pre[0].1.contains("nc=00000002"), "nonce-count increases with each use");
        // A pre-authorized request challenged without stale gets one fresh answer.
        assert!(auth.answer(&challenge(&server, "n3", false), "REGISTER", "sip:biloxi.com", b"").is_ok());
    }

    #[test]
    fn no_credentials_and_endless_challenges() {
        let server = DigestServer::new("biloxi.com");
        let mut none = Authenticator::new(None);
        assert_eq!(
            none.answer(&challenge(&server, "n", false), "REGISTER", "sip:biloxi.com", b""),
            Err(AuthFailure::NoCredentials)
        );
        let mut auth = Authenticator::new(Some(Credentials::new("bob", "zanzibar")));
        let mut last = Ok(Vec::new());
        for i in 0..=MAX_CHALLENGES_IN_A_ROW {
            last = auth.answer(&challenge(&server, &format!("n{i}"), true), "REGISTER", "sip:biloxi.com", b"");
        }
        assert_eq!(last, Err(AuthFailure::TooManyChallenges));
        assert!(!AuthFailure::WrongCredentials { realm: "r".into() }.to_string().contains("zanzibar"));
    }
}
