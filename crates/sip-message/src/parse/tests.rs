use super::*;
use crate::{ErrorKind, Method, StandardHeader, StatusCode};

const INVITE: &str = "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.com>\r\n\
From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn req(s: &str) -> crate::Request {
    match parse_message(Bytes::copy_from_slice(s.as_bytes())) {
        Ok(Message::Request(r)) => r,
        other => panic!("{other:?}"),
    }
}

fn err(s: &[u8]) -> crate::ParseError {
    parse_message(Bytes::copy_from_slice(s)).expect_err("should be rejected")
}

#[test]
fn parses_rfc3261_invite() {
    let r = req(INVITE);
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.uri_str().as_str(), "sip:bob@biloxi.com");
    assert_eq!(r.headers().len(), 9);
    assert_eq!(&r.body()[..], b"v=0\n");
    assert_eq!(r.headers().call_id().unwrap(), "a84b4c76e66710@pc33.atlanta.com");
    assert!(Message::Request(r).check_essentials().is_ok());
}

#[test]
fn parses_response_with_and_without_reason() {
    let m = parse_message(Bytes::from_static(b"SIP/2.0 180 Ringing\r\nContent-Length: 0\r\n\r\n")).unwrap();
    let r = m.as_response().unwrap();
    assert_eq!(r.status(), StatusCode::RINGING);
    assert_eq!(r.reason().as_str(), "Ringing");
    for raw in [&b"SIP/2.0 100\r\n\r\n"[..], b"SIP/2.0 100 \r\n\r\n"] {
        let m = parse_message(Bytes::copy_from_slice(raw)).unwrap();
        assert_eq!(m.as_response().unwrap().reason().as_str(), "");
    }
    let m = parse_message(Bytes::from_static("SIP/2.0 486 Besetzt – später\r\n\r\n".as_bytes())).unwrap();
    assert_eq!(m.as_response().unwrap().reason().as_str(), "Besetzt – später");
}

#[test]
fn unfolds_continuation_lines_and_keeps_unknown_headers() {
    let r = req("OPTIONS sip:a@b SIP/2.0\r\nSubject: first\r\n  second\r\n\tthird\r\nX-Thing:  raw ,value  \r\nv: SIP/2.0/TCP h\r\n\r\n");
    assert_eq!(r.headers().get("subject").unwrap().as_str(), "first second third");
    assert_eq!(r.headers().get("x-thing").unwrap().as_str(), "raw ,value");
    let via = r.headers().iter().find(|h| h.name().standard() == Some(StandardHeader::Via)).unwrap();
    assert!(via.is_compact());
    assert_eq!(r.headers().top_via().unwrap().transport(), "TCP");
}

#[test]
fn tolerates_leading_crlf_and_bare_lf() {
    let r = req("\r\n\r\nOPTIONS sip:a@b SIP/2.0\nCall-ID: x\n\n");
    assert_eq!(r.headers().call_id().unwrap(), "x");
}

#[test]
fn content_length_frames_the_body() {
    // Extra bytes after Content-Length are ignored (RFC 3261 §18.3).
    let r = req("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhiEXTRA");
    assert_eq!(&r.body()[..], b"hi");
    // Without Content-Length over a datagram, the body is the rest.
    let r = req("MESSAGE sip:a@b SIP/2.0\r\n\r\nhello");
    assert_eq!(&r.body()[..], b"hello");
    let e = err(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 9\r\n\r\nhi");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
    let e = err(b"MESSAGE sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nhi");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
    let e = err(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 99999999999\r\n\r\nhi");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
}

#[test]
fn rejects_bad_start_lines_with_offsets() {
    let cases: &[(&[u8], usize)] = &[
        (b"INVITE  sip:a@b SIP/2.0\r\n\r\n", 7),
        (b"INVITE sip:a@b  SIP/2.0\r\n\r\n", 14),
        (b"INVITE <sip:a@b> SIP/2.0\r\n\r\n", 7),
        (b"INVITE sip:a@b SIP/x\r\n\r\n", 15),
        (b"INV(TE sip:a@b SIP/2.0\r\n\r\n", 0),
        (b"SIP/2.0 1000 Big\r\n\r\n", 8),
        (b"SIP/2.0 099 Small\r\n\r\n", 8),
        (b"INVITE sip:a@b SIP/2.0\r\nBad Name: x\r\n\r\n", 28),
        (b"INVITE sip:a@b SIP/2.0\r\nNoColon\r\n\r\n", 31),
        (b"INVITE sip:a@b SIP/2.0\r\n folded-first: x\r\n\r\n", 24),
        (b"INVITE sip:a@b SIP/2.0\r\nTo: x\r\n", 31),
    ];
    for (raw, offset) in cases {
        let e = err(raw);
        assert_eq!(e.offset(), *offset, "{} -> {e}", String::from_utf8_lossy(raw));
        assert!(matches!(e.kind(), ErrorKind::Syntax { .. }), "{e}");
        assert_eq!(e.response_status(), 400);
    }
}

#[test]
fn unsupported_version_parses_for_a_505() {
    let r = req("OPTIONS sip:a@b SIP/7.0\r\n\r\n");
    assert_eq!(r.version(), crate::Version { major: 7, minor: 0 });
}

#[test]
fn rejects_invalid_utf8_in_headers() {
    let e = err(b"OPTIONS sip:a@b SIP/2.0\r\nSubject: \xff\xfe\r\n\r\n");
    assert_eq!(e.kind(), ErrorKind::InvalidUtf8);
    assert_eq!(e.offset(), 34);
    // The body may be anything.
    assert!(parse_message(Bytes::from_static(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\n\xff\xfe")).is_ok());
}

#[test]
fn limits_are_enforced_with_typed_errors() {
    let limits = Limits { max_message_size: 200, max_headers: 3, max_header_len: 40 };
    let many = "OPTIONS sip:a@b SIP/2.0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    let e = parse_message_with(Bytes::from(many), &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit { what: "header count", limit: 3 });
    let long = format!("OPTIONS sip:a@b SIP/2.0\r\nSubject: {}\r\n\r\n", "x".repeat(50));
    let e = parse_message_with(Bytes::from(long), &limits).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit { what: "header length", limit: 40 });
    let big = format!("OPTIONS sip:a@b SIP/2.0\r\n\r\n{}", "x".repeat(300));
    let e = parse_message_with(Bytes::from(big), &limits).unwrap_err();
    assert_eq!(e.response_status(), 513);
}

#[test]
fn empty_input_is_an_error() {
    assert!(parse_message(Bytes::new()).is_err());
    assert!(parse_message(Bytes::from_static(b"\r\n\r\n")).is_err());
}

#[test]
fn framer_handles_partial_pipelined_and_keepalives() {
    let mut f = StreamFramer::default();
    let two = format!("\r\n\r\n{INVITE}{INVITE}\r\n");
    let bytes = two.as_bytes();
    let mut frames = Vec::new();
    // Feed one byte at a time: every split point is exercised.
    for b in bytes {
        f.push(std::slice::from_ref(b));
        while let Some(fr) = f.next_frame().unwrap() {
            frames.push(fr);
        }
    }
    // Byte by byte, the ping arrives split: a pong at its middle, then the ping.
    assert_eq!(frames.len(), 5, "{frames:?}");
    assert_eq!(frames[..2], [Frame::Pong, Frame::Ping]);
    for fr in &frames[2..4] {
        match fr {
            Frame::Message(Message::Request(r)) => assert_eq!(&r.body()[..], b"v=0\n"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(frames[4], Frame::Pong);
    assert_eq!(f.buffered(), 0);
}

#[test]
fn framer_bounds_memory() {
    let mut f = StreamFramer::new(Limits { max_message_size: 100, ..Limits::default() });
    f.push(b"OPTIONS sip:a@b SIP/2.0\r\n");
    assert_eq!(f.next_frame().unwrap(), None);
    f.push(&[b'x'; 200]);
    let e = f.next_frame().unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Limit { .. }));
    assert_eq!(f.buffered(), 0, "a failed stream drops its buffer");
    assert!(f.next_frame().is_err(), "and stays failed");

    let mut f = StreamFramer::new(Limits { max_message_size: 100, ..Limits::default() });
    f.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
    assert!(f.next_frame().is_err(), "an announced body over the limit is refused before it arrives");
}

#[test]
fn framer_takes_each_awaited_pong_as_a_pong() {
    // A client pings twice; the two pongs arrive in separate reads. Without being told it
    // waits, the framer would take the second for the end of a ping split across reads.
    let mut f = StreamFramer::default();
    for _ in 0..3 {
        f.set_awaiting_pong(true);
        f.push(b"\r\n");
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Pong));
        assert_eq!(f.next_frame().unwrap(), None);
    }
    // Not waiting any more: the split-ping reading comes back.
    f.push(b"\r\n");
    assert_eq!(f.next_frame().unwrap(), Some(Frame::Pong));
    f.push(b"\r\n");
    assert_eq!(f.next_frame().unwrap(), Some(Frame::Ping));
}

#[test]
fn framer_whole_ping_in_one_read() {
    let mut f = StreamFramer::default();
    f.push(b"\r\n\r\n\r\n");
    assert_eq!(f.next_frame().unwrap(), Some(Frame::Ping));
    assert_eq!(f.next_frame().unwrap(), Some(Frame::Pong));
    assert_eq!(f.next_frame().unwrap(), None);
}

#[test]
fn framer_without_content_length_means_no_body() {
    let mut f = StreamFramer::default();
    f.push(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nCall-ID: 2\r\n\r\n");
    let mut ids = Vec::new();
    while let Some(Frame::Message(m)) = f.next_frame().unwrap() {
        ids.push(m.headers().call_id().unwrap().to_owned());
    }
    assert_eq!(ids, ["1", "2"]);
}

#[test]
fn serialize_round_trips() {
    let m = parse_message(Bytes::from_static(INVITE.as_bytes())).unwrap();
    assert_eq!(m.to_bytes(), Bytes::from_static(INVITE.as_bytes()));
    let compact = "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\ni: abc\r\nl: 0\r\n\r\n";
    let m = parse_message(Bytes::from_static(compact.as_bytes())).unwrap();
    assert_eq!(m.to_bytes(), Bytes::from_static(compact.as_bytes()));
}

#[test]
fn parsed_values_live_in_the_head_and_read_the_same_every_way() {
    let m = parse_message(Bytes::from_static(INVITE.as_bytes())).unwrap();
    let h = m.headers();
    // Without materializing: typed access and the serializer.
    assert_eq!(h.call_id().unwrap(), "a84b4c76e66710@pc33.atlanta.com");
    assert_eq!(h.values("via").collect::<Vec<_>>(), ["SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds"]);
    // As Texts: one at a time, then all through iteration.
    assert_eq!(h.get(StandardHeader::MaxForwards).unwrap().as_str(), "70");
    let values: Vec<&str> = h.iter().map(|x| x.value().as_str()).collect();
    assert_eq!(values[0], "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds");
    assert_eq!(values[8], "4");
    for x in h {
        assert!(!x.value().is_empty());
    }
    // The same headers built by hand are equal, print the same, and clone.
    let mut built = crate::Headers::new();
    for x in h {
        built.push(x.name().clone(), x.value().clone());
    }
    let fresh = parse_message(Bytes::from_static(INVITE.as_bytes())).unwrap();
    assert_eq!(fresh.headers(), &built);
    assert_eq!(format!("{:?}", fresh.headers()), format!("{built:?}"));
    assert!(
        format!("{:?}", fresh.headers()).contains(r#"Header { name: CSeq, value: "314159 INVITE", compact: false }"#)
    );
    let cloned = fresh.clone();
    assert_eq!(cloned, fresh);
    assert_eq!(cloned.to_bytes(), fresh.to_bytes());
    // Replacing a parsed value.
    let mut m = fresh;
    let i = m.headers().position(StandardHeader::CSeq).unwrap();
    assert!(m.headers_mut().replace_value(i, "1 INVITE"));
    assert_eq!(m.headers().cseq().unwrap().seq, 1);
    assert_eq!(m.headers().iter().nth(i).unwrap().value().as_str(), "1 INVITE");
    // An unfolded value is stored on its own and reads the same.
    let r = req("OPTIONS sip:a@b SIP/2.0\r\nSubject: a\r\n b\r\nl: 0\r\n\r\n");
    assert_eq!(r.headers().values("subject").collect::<Vec<_>>(), ["a b"]);
    assert_eq!(r.headers().iter().next().unwrap().value().as_str(), "a b");
}

#[test]
fn invalid_utf8_anywhere_in_the_head_wins_over_later_errors() {
    let head = b"OPTIONS sip:a@b SIP/2.0\r\n";
    for (rest, at) in [
        (&b"Subject: \xff\r\nBad Name: x\r\n\r\n"[..], 34),
        (b"Subject: a\r\n \xe2\x82\r\n\r\n", 38),
        (b"X-Unknown: ok\r\nX-Other: \xc3\x28\r\n\r\n", 49),
        (b"To: <sip:a@b>\r\nl: 1\r\nl: 2\r\nSubject: \xff\r\n\r\n", 61),
    ] {
        let e = err(&[&head[..], rest].concat());
        assert_eq!(e.kind(), ErrorKind::InvalidUtf8, "{}", String::from_utf8_lossy(rest));
        assert_eq!(e.offset(), at, "{}", String::from_utf8_lossy(rest));
    }
    // UTF-8 that is valid passes, in values and in folded values.
    let r = req("OPTIONS sip:a@b SIP/2.0\r\nSubject: caf\u{e9}\r\n  \u{4e2d}\r\n\r\n");
    assert_eq!(r.headers().get("subject").unwrap().as_str(), "caf\u{e9} \u{4e2d}");
}
