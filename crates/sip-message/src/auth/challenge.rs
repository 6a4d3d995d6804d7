//! `Challenge`: the value of a `WWW-Authenticate` or `Proxy-Authenticate`
//! header (RFC 3261 §22.1, §25.1; RFC 7616 §3.3).

use std::fmt;
use std::str::FromStr;

use super::algorithm::Algorithm;
use super::error::AuthError;
use super::grammar::{self, is_token, ParamWriter};
use super::qop::Qop;

/// A Digest challenge.
///
/// In SIP each `WWW-Authenticate` / `Proxy-Authenticate` header carries
/// exactly one challenge (RFC 3261 §25.1); a response offering several
/// algorithms carries several headers (RFC 8760 §2.4), each parsed on its
/// own and compared with [`select`](super::select).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection space; shown to the user and part of HA1.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque data to be returned unchanged; `Some("")` differs from absent.
    pub opaque: Option<String>,
    /// Algorithm; [`Algorithm::Md5`] when the parameter is absent.
    pub algorithm: Algorithm,
    /// Offered qop values in the server's order; empty when the server sent
    /// no `qop` (the RFC 2069 mode).
    pub qop: Vec<Qop>,
    /// The server refused the previous request only because its nonce was
    /// stale: answer again with the same credentials (RFC 7616 §3.3).
    pub stale: bool,
    /// URIs of the protection space (`domain`, space-separated).
    pub domain: Vec<String>,
    /// The server wants the username hashed (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// `charset`; RFC 7616 §3.3 allows only `UTF-8`.
    pub charset: Option<String>,
    /// Parameters this module does not know, name and unescaped value, in
    /// their original order.
    /// Names must be tokens and must not repeat a parameter above, or the
    /// rendered value will not parse back.
    pub extensions: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge for `realm` with `nonce`, MD5, no qop and nothing else.
    pub fn new(realm: impl Into<String>, nonce: impl Into<String>) -> Self {
        Challenge {
            realm: realm.into(),
            nonce: nonce.into(),
            opaque: None,
            algorithm: Algorithm::Md5,
            qop: Vec::new(),
            stale: false,
            domain: Vec::new(),
            userhash: false,
            charset: None,
            extensions: Vec::new(),
        }
    }

    /// Parses a header value such as
    /// `Digest realm="atlanta.com", qop="auth", nonce="84a4cc6f", algorithm=MD5`.
    ///
    /// `realm` and `nonce` are required. Parameter values may be tokens or
    /// quoted-strings whatever the RFCs' preferred form, since both are
    /// grammatical (RFC 7235 §2.1).
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let parsed = grammar::parse(value)?;
        let mut challenge = Challenge::new(String::new(), String::new());
        let (mut realm, mut nonce) = (None, None);
        for p in parsed.params {
            let name = p.name;
            let is = |known: &str| name.eq_ignore_ascii_case(known);
            if is("realm") {
                realm = Some(p.value);
            } else if is("nonce") {
                nonce = Some(p.value);
            } else if is("opaque") {
                challenge.opaque = Some(p.value);
            } else if is("algorithm") {
                challenge.algorithm = Algorithm::from_token(&p.value);
            } else if is("qop") {
                challenge.qop = parse_qop_list(&p.value)?;
            } else if is("stale") {
                // Anything but "true" (any case) is false (RFC 7616 §3.3).
                challenge.stale = p.value.eq_ignore_ascii_case("true");
            } else if is("domain") {
                challenge.domain = p.value.split_ascii_whitespace().map(str::to_owned).collect();
            } else if is("userhash") {
                challenge.userhash = p.value.eq_ignore_ascii_case("true");
            } else if is("charset") {
                challenge.charset = Some(p.value);
            } else {
                challenge.extensions.push((name.to_owned(), p.value));
            }
        }
        challenge.realm = realm.ok_or(AuthError::MissingParam { name: "realm" })?;
        challenge.nonce = nonce.ok_or(AuthError::MissingParam { name: "nonce" })?;
        Ok(challenge)
    }

    /// Whether the server marked the nonce stale: the credentials were right,
    /// only the nonce expired.
    ///
    /// The flow (RFC 7616 §3.3, RFC 3261 §22.2): on a 401/407 whose challenge
    /// is stale, answer it again with the *same* credentials — do not ask the
    /// user. [`DigestClient::respond`](super::DigestClient::respond) does
    /// this naturally: the new nonce restarts the nonce-count at 1. A
    /// challenge that is *not* stale for a realm just answered means the
    /// credentials were refused.
    pub fn is_stale(&self) -> bool {
        self.stale
    }
}

/// Splits a qop-options value (`"auth,auth-int"`) into its tokens, dropping
/// repeats and empty elements.
fn parse_qop_list(value: &str) -> Result<Vec<Qop>, AuthError> {
    let mut out: Vec<Qop> = Vec::new();
    for item in value.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        if !is_token(item) {
            return Err(AuthError::InvalidParam { name: "qop", reason: "expected a comma-separated list of tokens" });
        }
        let qop = Qop::from_token(item);
        if !out.contains(&qop) {
            out.push(qop);
        }
    }
    Ok(out)
}

impl FromStr for Challenge {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Challenge::parse(s)
    }
}

impl fmt::Display for Challenge {
    /// Renders the header value in RFC 3261's order, with `algorithm`,
    /// `stale` and `charset` unquoted and the rest quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = ParamWriter::new(f, "Digest")?;
        w.quoted("realm", &self.realm)?;
        if !self.domain.is_empty() {
            w.quoted("domain", &self.domain.join(" "))?;
        }
        if !self.qop.is_empty() {
            let list: Vec<&str> = self.qop.iter().map(Qop::as_str).collect();
            w.quoted("qop", &list.join(","))?;
        }
        w.quoted("nonce", &self.nonce)?;
        if let Some(opaque) = &self.opaque {
            w.quoted("opaque", opaque)?;
        }
        if self.stale {
            w.token("stale", "true")?;
        }
        w.token("algorithm", self.algorithm.as_str())?;
        if let Some(charset) = &self.charset {
            w.token("charset", charset)?;
        }
        if self.userhash {
            w.token("userhash", "true")?;
        }
        w.extensions(&self.extensions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC3261_EXAMPLE: &str = r#"Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5"#;

    #[test]
    fn parses_the_rfc3261_example() {
        let c = Challenge::parse(RFC3261_EXAMPLE).unwrap();
        assert_eq!(c.realm, "atlanta.com");
        assert_eq!(c.domain, vec!["sip:boxesbybob.com".to_owned()]);
        assert_eq!(c.qop, vec![Qop::Auth, Qop::AuthInt]);
        assert_eq!(c.nonce, "f84f1cec41e6cbe5aea9c8e88d359");
        assert_eq!(c.opaque.as_deref(), Some(""));
        assert!(!c.is_stale());
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert!(c.extensions.is_empty());
    }

    #[test]
    fn display_round_trips() {
        let c = Challenge::parse(RFC3261_EXAMPLE).unwrap();
        let rendered = c.to_string();
        assert_eq!(
            rendered,
            r#"Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", algorithm=MD5"#
        );
        assert_eq!(Challenge::parse(&rendered).unwrap(), c);

        let mut c = Challenge::new("r\"x", "n");
        c.stale = true;
        c.userhash = true;
        c.charset = Some("UTF-8".into());
        c.algorithm = Algorithm::Sha512_256Sess;
        c.extensions.push(("ext".into(), "a b".into()));
        c.extensions.push(("tok".into(), "v".into()));
        let rendered = c.to_string();
        assert!(rendered
            .contains("stale=true, algorithm=SHA-512-256-sess, charset=UTF-8, userhash=true, ext=\"a b\", tok=v"));
        assert_eq!(rendered.parse::<Challenge>().unwrap(), c);
    }

    #[test]
    fn defaults_and_flags() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n""#).unwrap();
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert!(c.qop.is_empty());
        assert_eq!(c.opaque, None);
        let c = Challenge::parse(r#"digest REALM="r", Nonce=n, STALE=True, userhash="TRUE""#).unwrap();
        assert!(c.is_stale());
        assert!(c.userhash);
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", stale=yes"#).unwrap();
        assert!(!c.is_stale());
    }

    #[test]
    fn unknown_params_and_algorithms_are_kept() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA3-512, foo="b\"ar", qop="auth, x-new""#)
            .unwrap();
        assert_eq!(c.algorithm, Algorithm::Other("SHA3-512".into()));
        assert_eq!(c.extensions, vec![("foo".into(), "b\"ar".into())]);
        assert_eq!(c.qop, vec![Qop::Auth, Qop::Other("x-new".into())]);
    }

    #[test]
    fn folded_whitespace_and_escapes() {
        let c = Challenge::parse(
            "Digest realm=\"biloxi\\\"s \\\\ realm\",\r\n nonce=\"abc\",\r\n\t qop=\"auth,\r\n auth-int\"",
        )
        .unwrap();
        assert_eq!(c.realm, "biloxi\"s \\ realm");
        assert_eq!(c.qop, vec![Qop::Auth, Qop::AuthInt]);
    }

    #[test]
    fn rejects_missing_duplicate_and_malformed() {
        assert_eq!(Challenge::parse(r#"Digest realm="r""#), Err(AuthError::MissingParam { name: "nonce" }));
        assert_eq!(Challenge::parse(r#"Digest nonce="n""#), Err(AuthError::MissingParam { name: "realm" }));
        assert_eq!(
            Challenge::parse(r#"Digest realm="r", nonce="n", nonce="m""#),
            Err(AuthError::DuplicateParam { name: "nonce".into() })
        );
        assert!(matches!(Challenge::parse(r#"Digest realm="r, nonce="n""#), Err(AuthError::Syntax { .. })));
        assert!(matches!(
            Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth;x""#),
            Err(AuthError::InvalidParam { name: "qop", .. })
        ));
        assert_eq!(Challenge::parse(r#"Basic realm="r""#), Err(AuthError::UnsupportedScheme));
        assert_eq!(Challenge::parse("Digest"), Err(AuthError::MissingParam { name: "realm" }));
    }
}
