//! `Authorization`: the value of an `Authorization` or `Proxy-Authorization`
//! header (RFC 3261 §22.2, §25.1; RFC 7616 §3.4).

use std::fmt;
use std::str::FromStr;

use super::algorithm::Algorithm;
use super::digest::nc_hex;
use super::error::AuthError;
use super::grammar::{self, ParamWriter};
use super::hash::is_hex_of_len;
use super::qop::Qop;

/// Digest credentials sent in answer to a [`Challenge`](super::Challenge).
///
/// `Debug` hides `response`: a request-digest must not end up in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The username, or its hash when `userhash` is true (RFC 7616 §3.4.4).
    pub username: String,
    /// Realm of the challenge answered.
    pub realm: String,
    /// Nonce of the challenge answered.
    pub nonce: String,
    /// The digest-uri: the Request-URI of the request (RFC 3261 §22.4).
    pub uri: String,
    /// The request-digest, lowercase hex.
    pub response: String,
    /// Algorithm used; [`Algorithm::Md5`] when the parameter is absent.
    pub algorithm: Algorithm,
    /// Client nonce; present whenever `qop` is.
    pub cnonce: Option<String>,
    /// The challenge's opaque, returned unchanged.
    pub opaque: Option<String>,
    /// The qop chosen; `None` in the RFC 2069 mode.
    pub qop: Option<Qop>,
    /// Nonce-count; present whenever `qop` is. Rendered as 8 hex digits.
    pub nc: Option<u32>,
    /// Whether `username` is the username hash.
    pub userhash: bool,
    /// Parameters this module does not know (e.g. `username*`), name and
    /// unescaped value, in their original order.
    /// Names must be tokens and must not repeat a parameter above, or the
    /// rendered value will not parse back.
    pub extensions: Vec<(String, String)>,
}

impl Authorization {
    /// Parses a header value such as
    /// `Digest username="bob", realm="biloxi.com", nonce="dcd98b", uri="sip:bob@biloxi.com", response="245f2341..."`.
    ///
    /// `username`, `realm`, `nonce`, `uri` and `response` are required, and
    /// `cnonce` and `nc` too when `qop` is present (RFC 7616 §3.4). `nc` must
    /// be exactly 8 lowercase hex digits as RFC 7616 §3.4 writes it, since
    /// the digest covers its exact text; `response` must be hex of the
    /// algorithm's digest length when the algorithm is a supported one.
    /// `username*` (RFC 7616 §3.4, extended notation) is kept as an
    /// extension, not decoded.
    pub fn parse(value: &str) -> Result<Authorization, AuthError> {
        let parsed = grammar::parse(value)?;
        let mut username = None;
        let mut realm = None;
        let mut nonce = None;
        let mut uri = None;
        let mut response = None;
        let mut auth = Authorization {
            username: String::new(),
            realm: String::new(),
            nonce: String::new(),
            uri: String::new(),
            response: String::new(),
            algorithm: Algorithm::Md5,
            cnonce: None,
            opaque: None,
            qop: None,
            nc: None,
            userhash: false,
            extensions: Vec::new(),
        };
        for p in parsed.params {
            let name = p.name;
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("username") {
                username = Some(p.value);
            } else if is("realm") {
                realm = Some(p.value);
            } else if is("nonce") {
                nonce = Some(p.value);
            } else if is("uri") {
                uri = Some(p.value);
            } else if is("response") {
                response = Some(p.value);
            } else if is("algorithm") {
                auth.algorithm = Algorithm::from_token(&p.value);
            } else if is("cnonce") {
                auth.cnonce = Some(p.value);
            } else if is("opaque") {
                auth.opaque = Some(p.value);
            } else if is("qop") {
                auth.qop = Some(Qop::from_token(&p.value));
            } else if is("nc") {
                auth.nc = Some(parse_nc(&p.value)?);
            } else if is("userhash") {
                auth.userhash = p.value.eq_ignore_ascii_case("true");
            } else {
                auth.extensions.push((name.to_owned(), p.value));
            }
        }
        auth.username = username.ok_or(AuthError::MissingParam { name: "username" })?;
        auth.realm = realm.ok_or(AuthError::MissingParam { name: "realm" })?;
        auth.nonce = nonce.ok_or(AuthError::MissingParam { name: "nonce" })?;
        auth.uri = uri.ok_or(AuthError::MissingParam { name: "uri" })?;
        auth.response = response.ok_or(AuthError::MissingParam { name: "response" })?;
        if let Some(hash) = auth.algorithm.hash_fn() {
            if !is_hex_of_len(&auth.response, hash.hex_len()) {
                return Err(AuthError::InvalidParam {
                    name: "response",
                    reason: "expected hex of the algorithm's digest length",
                });
            }
        }
        if auth.qop.is_some() {
            if auth.cnonce.is_none() {
                return Err(AuthError::MissingParam { name: "cnonce" });
            }
            if auth.nc.is_none() {
                return Err(AuthError::MissingParam { name: "nc" });
            }
        }
        Ok(auth)
    }
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4, RFC 3261 §25.1).
fn parse_nc(value: &str) -> Result<u32, AuthError> {
    let invalid = AuthError::InvalidParam { name: "nc", reason: "expected 8 lowercase hex digits" };
    if value.len() != 8 || !value.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(invalid);
    }
    u32::from_str_radix(value, 16).map_err(|_| invalid)
}

impl FromStr for Authorization {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Authorization::parse(s)
    }
}

impl fmt::Display for Authorization {
    /// Renders the header value in RFC 3261's order. `algorithm`, `qop` and
    /// `nc` are unquoted: RFC 7616 §3.4 forbids quoting them, and some SIP
    /// servers reject `qop="auth"` in credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = ParamWriter::new(f, "Digest")?;
        w.quoted("username", &self.username)?;
        w.quoted("realm", &self.realm)?;
        w.quoted("nonce", &self.nonce)?;
        w.quoted("uri", &self.uri)?;
        w.quoted("response", &self.response)?;
        w.token("algorithm", self.algorithm.as_str())?;
        if let Some(cnonce) = &self.cnonce {
            w.quoted("cnonce", cnonce)?;
        }
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque)?;
        }
        if let Some(qop) = &self.qop {
            w.token("qop", qop.as_str())?;
        }
        if let Some(nc) = self.nc {
            w.token("nc", &nc_hex(nc))?;
        }
        if self.userhash {
            w.token("userhash", "true")?;
        }
        w.extensions(&self.extensions)
    }
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("nonce", &self.nonce)
            .field("uri", &self.uri)
            .field("response", &"<redacted>")
            .field("algorithm", &self.algorithm)
            .field("cnonce", &self.cnonce)
            .field("opaque", &self.opaque)
            .field("qop", &self.qop)
            .field("nc", &self.nc)
            .field("userhash", &self.userhash)
            .field("extensions", &self.extensions)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC7616_SHA256: &str = "Digest username=\"Mufasa\",\r\n    realm=\"http-auth@example.org\",\r\n    uri=\"/dir/index.html\",\r\n    algorithm=SHA-256,\r\n    nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n    nc=00000001,\r\n    cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\",\r\n    qop=auth,\r\n    response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\r\n    opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

    #[test]
    fn parses_folded_rfc7616_example() {
        let a = Authorization::parse(RFC7616_SHA256).unwrap();
        assert_eq!(a.username, "Mufasa");
        assert_eq!(a.realm, "http-auth@example.org");
        assert_eq!(a.uri, "/dir/index.html");
        assert_eq!(a.algorithm, Algorithm::Sha256);
        assert_eq!(a.nc, Some(1));
        assert_eq!(a.qop, Some(Qop::Auth));
        assert_eq!(a.cnonce.as_deref(), Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"));
        assert_eq!(a.opaque.as_deref(), Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"));
        assert!(!a.userhash);
    }

    #[test]
    fn renders_in_rfc_form() {
        let a = Authorization::parse(RFC7616_SHA256).unwrap();
        let s = a.to_string();
        assert_eq!(
            s,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", algorithm=SHA-256, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", qop=auth, nc=00000001"
        );
        assert_eq!(Authorization::parse(&s).unwrap(), a);
    }

    #[test]
    fn debug_hides_response() {
        let a = Authorization::parse(RFC7616_SHA256).unwrap();
        let shown = format!("{a:?}");
        assert!(!shown.contains("753927fa"));
        assert!(shown.contains("Mufasa"));
    }

    #[test]
    fn rejects_incomplete_or_invalid() {
        let base =
            r#"Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="0123456789abcdef0123456789abcdef""#;
        assert!(Authorization::parse(base).is_ok());
        assert_eq!(
            Authorization::parse(&format!("{base}, qop=auth, nc=00000001")),
            Err(AuthError::MissingParam { name: "cnonce" })
        );
        assert_eq!(
            Authorization::parse(&format!("{base}, qop=auth, cnonce=\"c\"")),
            Err(AuthError::MissingParam { name: "nc" })
        );
        for bad_nc in ["1", "0000000A", "000000001", "0000000g"] {
            assert!(matches!(
                Authorization::parse(&format!("{base}, nc={bad_nc}")),
                Err(AuthError::InvalidParam { name: "nc", .. })
            ));
        }
        assert!(matches!(
            Authorization::parse(&format!("{base}, algorithm=SHA-256")),
            Err(AuthError::InvalidParam { name: "response", .. })
        ));
        assert_eq!(
            Authorization::parse(r#"Digest username="u", realm="r", nonce="n", response="00""#),
            Err(AuthError::MissingParam { name: "uri" })
        );
        assert!(matches!(
            Authorization::parse(&format!("{base}, username=\"v\"")),
            Err(AuthError::DuplicateParam { .. })
        ));
        // An unknown algorithm keeps whatever response it has.
        let a =
            Authorization::parse(r#"Digest username="u", realm="r", nonce="n", uri="x", response="zz", algorithm=NEW"#)
                .unwrap();
        assert_eq!(a.algorithm, Algorithm::Other("NEW".into()));
    }
}
