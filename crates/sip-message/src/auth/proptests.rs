//! Property tests: the parsers never panic, and rendering then parsing
//! gives back the same fields.

use proptest::prelude::*;

use super::{Algorithm, Authorization, Challenge, Qop};

/// Any text a quoted-string can carry (everything but CR and LF).
fn text() -> impl Strategy<Value = String> {
    "[^\r\n]{0,24}"
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        proptest::sample::select(Algorithm::SUPPORTED.to_vec()),
        "[^\r\n]{0,12}".prop_map(|s| Algorithm::from_token(&s)).prop_filter("unknown algorithm", |a| !a.is_supported()),
    ]
}

fn qop() -> impl Strategy<Value = Qop> {
    prop_oneof![
        Just(Qop::Auth),
        Just(Qop::AuthInt),
        "[a-z][a-z0-9-]{0,8}"
            .prop_map(|s| Qop::from_token(&s))
            .prop_filter("unknown qop", |q| matches!(q, Qop::Other(_))),
    ]
}

prop_compose! {
    fn authorization()(
        username in text(),
        realm in text(),
        nonce in text(),
        uri in text(),
        hex in "[0-9a-f]{64}",
        algorithm in algorithm(),
        cnonce in proptest::option::of(text()),
        opaque in proptest::option::of(text()),
        qop in proptest::option::of(qop()),
        nc in proptest::option::of(any::<u32>()),
        userhash in any::<bool>(),
        ext_values in proptest::collection::vec(text(), 0..3),
    ) -> Authorization {
        let response = match algorithm.hash_fn() {
            Some(h) => hex[..h.hex_len()].to_owned(),
            None => hex,
        };
        // cnonce and nc are mandatory with qop (RFC 7616 §3.4).
        let (cnonce, nc) = if qop.is_some() {
            (Some(cnonce.unwrap_or_default()), Some(nc.unwrap_or(1)))
        } else {
            (cnonce, nc)
        };
        Authorization {
            username, realm, nonce, uri, response, algorithm, cnonce, opaque, qop, nc,
            userhash,
            extensions: ext_values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("x-ext{i}"), v))
                .collect(),
        }
    }
}

prop_compose! {
    fn challenge()(
        realm in text(),
        nonce in text(),
        opaque in proptest::option::of(text()),
        algorithm in algorithm(),
        qop in proptest::collection::vec(qop(), 0..3),
        stale in any::<bool>(),
        domain in proptest::collection::vec("[!-~]{1,12}".prop_filter("no quote or backslash", |s| !s.contains(['"', '\\'])), 0..3),
        userhash in any::<bool>(),
        charset in proptest::option::of(text()),
    ) -> Challenge {
        let mut unique: Vec<Qop> = Vec::new();
        for q in qop {
            if !unique.contains(&q) {
                unique.push(q);
            }
        }
        Challenge {
            realm, nonce, opaque, algorithm, qop: unique, stale, domain, userhash, charset,
            extensions: vec![("x-y".into(), "z".into())],
        }
    }
}

proptest! {
    #[test]
    fn challenge_parse_never_panics(s in any::<String>()) {
        let _ = Challenge::parse(&s);
    }

    #[test]
    fn authorization_parse_never_panics(s in any::<String>()) {
        let _ = Authorization::parse(&s);
    }

    #[test]
    fn header_like_input_never_panics(s in "Digest[ \t\r\n]{0,3}[a-z=\",\\\\ \t\r\n0-9]{0,120}") {
        let _ = Challenge::parse(&s);
        let _ = Authorization::parse(&s);
    }

    #[test]
    fn rendered_authorization_parses_back(auth in authorization()) {
        let rendered = auth.to_string();
        let parsed = Authorization::parse(&rendered);
        prop_assert_eq!(parsed, Ok(auth));
    }

    #[test]
    fn rendered_challenge_parses_back(c in challenge()) {
        let rendered = c.to_string();
        prop_assert_eq!(Challenge::parse(&rendered), Ok(c));
    }
}
