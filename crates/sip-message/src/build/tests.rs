use crate::header::StandardHeader as H;
use crate::{parse_message, BuildError, Message, Method, RequestBuilder, StatusCode};

fn invite() -> crate::Request {
    RequestBuilder::new(Method::Invite, "sip:bob@biloxi.com")
        .from(Some("Alice"), "sip:alice@atlanta.com")
        .to(Some("Bob"), "sip:bob@biloxi.com")
        .via("udp", "pc33.atlanta.com:5060")
        .rport()
        .contact("sip:alice@pc33.atlanta.com")
        .cseq(314159)
        .header("Route", "<sip:p1.example.com;lr>")
        .header("Subject", "lunch")
        .body("application/sdp", &b"v=0\r\n"[..])
        .build()
        .unwrap()
}

#[test]
fn request_has_the_mandatory_headers() {
    let r = invite();
    let h = r.headers();
    let via = h.top_via().unwrap();
    assert_eq!(via.transport(), "UDP");
    assert!(via.has_rfc3261_branch());
    assert!(via.branch().unwrap().len() >= 7 + 16, "branch carries enough randomness");
    assert_eq!(via.rport(), Some(None));
    assert_eq!(h.max_forwards().unwrap(), Some(70));
    assert!(h.from().unwrap().tag().is_some());
    assert_eq!(h.to().unwrap().tag(), None);
    assert!(!h.call_id().unwrap().is_empty());
    assert_eq!(h.cseq().unwrap().seq, 314159);
    assert_eq!(h.get(H::ContentLength).unwrap().as_str(), "5");
    let order: Vec<_> = h.iter().map(|h| h.name().as_str().to_owned()).collect();
    assert_eq!(
        order,
        [
            "Via",
            "Max-Forwards",
            "To",
            "From",
            "Call-ID",
            "CSeq",
            "Contact",
            "Route",
            "Subject",
            "Content-Type",
            "Content-Length"
        ]
    );
    // What we build, we parse back to the same message.
    let m = Message::Request(r);
    assert!(m.check_essentials().is_ok());
    assert_eq!(parse_message(m.to_bytes()).unwrap(), m);
}

#[test]
fn fresh_identifiers_differ() {
    let (a, b) = (invite(), invite());
    assert_ne!(a.headers().top_via().unwrap().branch(), b.headers().top_via().unwrap().branch());
    assert_ne!(a.headers().from().unwrap().tag(), b.headers().from().unwrap().tag());
    assert_ne!(a.headers().call_id().unwrap(), b.headers().call_id().unwrap());
}

#[test]
fn builder_rejects_bad_input() {
    let base =
        || RequestBuilder::new(Method::Options, "sip:a@b").from(None, "sip:x@y").to(None, "sip:a@b").via("UDP", "h");
    assert!(base().build().is_ok());
    assert!(matches!(RequestBuilder::new(Method::Options, "sip:a@b").build(), Err(BuildError::Missing(_))));
    assert!(RequestBuilder::new(Method::Options, "<sip:a@b>")
        .from(None, "sip:x@y")
        .to(None, "sip:a@b")
        .via("UDP", "h")
        .build()
        .is_err());
    assert!(base().via("UDP", "bad host").build().is_err());
    assert!(base().from(None, "not a uri").build().is_err());
    assert!(base().header("X", "a\r\nInjected: 1").build().is_err());
    assert!(base().cseq(1 << 31).build().is_err());
    assert!(base().contact("<sip:a@b").build().is_err());
}

#[test]
fn response_copies_per_8_2_6() {
    let mut req = invite();
    req.headers_mut().push_front(H::Via, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp");
    req.headers_mut().push(H::Timestamp, "54");
    let r = req.make_response(StatusCode::RINGING, Some("abc")).unwrap();
    let h = r.headers();
    let vias: Vec<_> = h.via().map(|v| v.unwrap().host_str().to_owned()).collect();
    assert_eq!(vias, ["proxy.example.com", "pc33.atlanta.com"]);
    assert_eq!(h.to().unwrap().tag(), Some("abc"));
    assert_eq!(h.from().unwrap().tag(), req.headers().from().unwrap().tag());
    assert_eq!(h.call_id().unwrap(), req.headers().call_id().unwrap());
    assert_eq!(h.cseq().unwrap(), req.headers().cseq().unwrap());
    assert!(!h.contains(H::Timestamp));
    let trying = req.make_response(StatusCode::TRYING, Some("abc")).unwrap();
    assert_eq!(trying.headers().to().unwrap().tag(), None, "100 Trying carries no To tag");
    assert_eq!(trying.headers().get(H::Timestamp).unwrap().as_str(), "54");
    assert!(Message::Response(r).check_essentials().is_ok());
}

#[test]
fn ack_for_non_2xx_and_cancel() {
    let req = invite();
    let resp = req.make_response(StatusCode::BUSY_HERE, Some("t1")).unwrap();
    let ack = req.ack_for(&resp).unwrap();
    assert_eq!(ack.method(), &Method::Ack);
    assert_eq!(ack.uri_str(), req.uri_str());
    let (a, r) = (ack.headers(), req.headers());
    assert_eq!(a.via().count(), 1);
    assert_eq!(a.top_via().unwrap().branch(), r.top_via().unwrap().branch());
    assert_eq!(a.to().unwrap().tag(), Some("t1"));
    assert_eq!(a.cseq().unwrap().seq, r.cseq().unwrap().seq);
    assert_eq!(a.cseq().unwrap().method, Method::Ack);
    assert_eq!(a.get(H::Route).unwrap().as_str(), "<sip:p1.example.com;lr>");
    assert!(req.ack_for(&req.make_response(StatusCode::OK, Some("t")).unwrap()).is_err(), "2xx ACK is the dialog's");

    let cancel = req.cancel().unwrap();
    let c = cancel.headers();
    assert_eq!(cancel.method(), &Method::Cancel);
    assert_eq!(c.top_via().unwrap().branch(), r.top_via().unwrap().branch());
    assert_eq!(c.to().unwrap().tag(), None);
    assert_eq!(c.cseq().unwrap().method, Method::Cancel);
    assert_eq!(c.cseq().unwrap().seq, 314159);
    assert!(Message::Request(cancel.clone()).check_essentials().is_ok());
    assert!(cancel.cancel().is_err());
}
