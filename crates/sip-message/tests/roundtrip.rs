//! Property tests: parse → serialize → parse round trips, and no panics on arbitrary input.

use bytes::Bytes;
use proptest::prelude::*;
use sip_message::{parse_message, Method, Request, Response, StatusCode, StreamFramer};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!%*_+`'~.-]{1,12}"
}

/// A header value: printable UTF-8 without CR/LF, not starting or ending with whitespace.
fn value() -> impl Strategy<Value = String> {
    "[!-~]([ -~\u{e9}\u{4e2d}]{0,40}[!-~])?"
}

fn sip_uri() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-z0-9._-]{1,8}"),
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,5}){0,2}",
        prop::option::of(1u16..),
        prop::option::of("[a-z]{1,5}"),
    )
        .prop_map(|(user, host, port, param)| {
            let mut s = String::from("sip:");
            if let Some(u) = user {
                s.push_str(&u);
                s.push('@');
            }
            s.push_str(&host);
            if let Some(p) = port {
                s.push_str(&format!(":{p}"));
            }
            if let Some(p) = param {
                s.push_str(&format!(";{p}"));
            }
            s
        })
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((token(), value()), 0..12)
}

/// Byte soup biased towards SIP structure, so that a fair share of inputs parse.
fn sip_soup() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n".to_vec()),
        Just(b"v:SIP/2.0/TCP [::1]:5060;rport\r\n".to_vec()),
        Just(b" folded part\r\n".to_vec()),
        Just(b"\tmore\r\n".to_vec()),
        Just(b"To: \"A, B\" <sip:a@b;x=1,2>;tag=9\r\n".to_vec()),
        Just(b"From: sip:c@d;tag=1\r\n".to_vec()),
        Just(b"l: 3\r\n".to_vec()),
        Just(b"Content-Length:   0 \r\n".to_vec()),
        Just(b"CSeq: 1 INVITE\r\n".to_vec()),
        Just(b"Call-ID: abc@def\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"abc".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_round_trips(method in token(), uri in sip_uri(), hs in headers(), body in body()) {
        let mut req = Request::new(Method::from_token(&method).expect("token"), uri).expect("valid uri");
        for (n, v) in &hs {
            req.push_header(n.as_str(), v.as_str());
        }
        req.set_body(Some("application/octet-stream"), Bytes::from(body));
        let msg = sip_message::Message::Request(req);
        let wire = msg.to_bytes();
        let parsed = parse_message(wire.clone()).expect("what we serialize parses");
        prop_assert_eq!(&parsed, &msg);
        prop_assert_eq!(parsed.to_bytes(), wire);
    }

    #[test]
    fn response_round_trips(code in 100u16..700, reason in "([!-~]([ -~]{0,20}[!-~])?)?", hs in headers(), body in body()) {
        let mut resp = Response::new(StatusCode::new(code).expect("in range"));
        resp.set_reason(reason);
        for (n, v) in &hs {
            resp.push_header(n.as_str(), v.as_str());
        }
        resp.set_body(None, Bytes::from(body));
        let msg = sip_message::Message::Response(resp);
        let parsed = parse_message(msg.to_bytes()).expect("what we serialize parses");
        prop_assert_eq!(parsed, msg);
    }

    /// Whatever parses once re-serializes to something that parses to the same message
    /// (folded lines come back unfolded, which is equivalent per RFC 3261 §7.3.1).
    #[test]
    fn reparse_is_stable(raw in sip_soup(), prefix in prop::sample::select(vec![
        "INVITE sip:a@b SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", "OPTIONS sip:x@[::1]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n",
    ])) {
        let mut input = prefix.as_bytes().to_vec();
        input.extend_from_slice(&raw);
        if let Ok(msg) = parse_message(Bytes::from(input)) {
            let again = parse_message(msg.to_bytes()).expect("re-serialized message parses");
            prop_assert_eq!(again, msg);
        }
    }

    #[test]
    fn no_panic_on_structured_soup(raw in sip_soup()) {
        no_panic(raw);
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..600)) {
        no_panic(raw);
    }
}

fn no_panic(raw: Vec<u8>) {
    if let Ok(msg) = parse_message(Bytes::from(raw.clone())) {
        // Typed access never panics either.
        let h = msg.headers();
        let _ = (h.top_via(), h.from(), h.to(), h.call_id(), h.cseq(), h.contacts().count(), msg.check_essentials());
    }
    let mut f = StreamFramer::default();
    for chunk in raw.chunks(7) {
        f.push(chunk);
        while let Ok(Some(_)) = f.next_frame() {}
    }
}
