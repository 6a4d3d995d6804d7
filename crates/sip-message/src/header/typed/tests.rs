use super::*;
use crate::header::{Headers, StandardHeader, TypedHeader};
use crate::{ErrorKind, Host, Method};
use std::net::Ipv4Addr;

fn headers(lines: &[(&str, &str)]) -> Headers {
    let mut h = Headers::new();
    for (n, v) in lines {
        h.push(*n, *v);
    }
    h
}

#[test]
fn via_with_whitespace_and_params() {
    let v = Via::parse(
        "SIP  /   2.0 /UDP  192.0.2.2:5060 ;branch=z9hG4bKabc;rport=5070 ;received=10.0.0.1;ttl=16;maddr=224.2.0.1",
    )
    .unwrap();
    assert_eq!((v.protocol(), v.version(), v.transport()), ("SIP", "2.0", "UDP"));
    assert_eq!(v.host(), Host::Ipv4(Ipv4Addr::new(192, 0, 2, 2)));
    assert_eq!(v.port(), Some(5060));
    assert_eq!(v.branch(), Some("z9hG4bKabc"));
    assert!(v.has_rfc3261_branch());
    assert_eq!(v.rport(), Some(Some(5070)));
    assert_eq!(v.received(), Some("10.0.0.1"));
    assert_eq!(v.ttl(), Some(16));
    assert_eq!(v.maddr(), Some("224.2.0.1"));
    let v = Via::parse("SIP/2.0/TCP [2001:db8::9]:5060;rport;branch=1").unwrap();
    assert_eq!(v.rport(), Some(None));
    assert!(!v.has_rfc3261_branch());
    for bad in ["SIP/2.0 host", "SIP/2.0/UDP", "SIP/2.0/UDP host:x", "SIP/2.0/UDP h;rport=abc", "SIP/2.0/UDP h;ttl=300"]
    {
        assert!(Via::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn via_list_across_lines_and_commas() {
    let h = headers(&[
        ("Via", "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2"),
        ("v", "SIP/2.0/UDP c;branch=z9hG4bK3"),
    ]);
    let hosts: Vec<_> = h.via().map(|v| v.unwrap().host_str().to_owned()).collect();
    assert_eq!(hosts, ["a", "b", "c"]);
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
}

#[test]
fn single_valued_headers_reject_duplicates() {
    let h = headers(&[("CSeq", "1 INVITE"), ("CSeq", "2 INVITE")]);
    let e = h.cseq().unwrap_err();
    assert_eq!(e.context(), Some("CSeq"));
    let h = headers(&[("To", "<sip:a@b>, <sip:c@d>")]);
    assert!(h.to().is_err());
    assert_eq!(headers(&[]).cseq().unwrap_err().kind(), ErrorKind::MissingHeader { name: "CSeq" });
}

#[test]
fn cseq_and_numbers() {
    assert_eq!(CSeq::parse("4711 INVITE").unwrap(), CSeq { seq: 4711, method: Method::Invite });
    assert_eq!(CSeq::parse(" 1  FOO-BAR").unwrap().method.as_str(), "FOO-BAR");
    assert!(CSeq::parse("2147483648 INVITE").is_err(), "CSeq numbers stay below 2^31");
    assert!(CSeq::parse("-1 INVITE").is_err());
    assert!(CSeq::parse("1INVITE").is_err());
    assert_eq!(MaxForwards::parse("70").unwrap().0, 70);
    assert!(MaxForwards::parse("256").is_err());
    assert!(MaxForwards::parse("7 0").is_err());
    assert_eq!(Expires::parse("4294967295").unwrap().0, u32::MAX);
    assert!(Expires::parse("4294967296").is_err());
    assert_eq!(MinExpires::parse("3600").unwrap().0, 3600);
    assert_eq!(RSeq::parse("988789").unwrap().0, 988789);
    assert_eq!(RAck::parse("776656 1 INVITE").unwrap(), RAck { rseq: 776656, cseq: 1, method: Method::Invite });
    let se = SessionExpires::parse("1800;refresher=uac").unwrap();
    assert_eq!((se.delta, se.refresher), (1800, Some(Refresher::Uac)));
    assert!(SessionExpires::parse("1800;refresher=x").is_err());
    assert_eq!(MinSe::parse("90").unwrap().delta, 90);
    let ra = RetryAfter::parse("18000 (I'm in a meeting (really));duration=3600").unwrap();
    assert_eq!(ra.delta, 18000);
    assert_eq!(ra.comment, Some("I'm in a meeting (really)"));
    assert_eq!(ra.params.value("duration"), Some("3600"));
}

#[test]
fn addresses() {
    let h = headers(&[
        ("From", "\"Alice \\\"A\\\"\" <sip:alice@atlanta.com>;tag=88sja8x"),
        ("t", "sip:bob@biloxi.com"),
        (
            "Contact",
            "<sip:a@10.0.0.1:5060;transport=tcp>;expires=3600;q=0.7;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1, sip:b@h",
        ),
        ("Route", "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>"),
        ("Record-Route", "<sip:rr@p.example.com;lr>"),
    ]);
    let from = h.from().unwrap();
    assert_eq!(from.display_name().as_deref(), Some("Alice \"A\""));
    assert_eq!(from.tag(), Some("88sja8x"));
    assert_eq!(h.to().unwrap().tag(), None);
    let contacts: Vec<_> = h.contacts().map(Result::unwrap).collect();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].expires(), Some(3600));
    assert_eq!(contacts[0].q(), Some(0.7));
    assert_eq!(contacts[0].sip_instance().as_deref(), Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"));
    assert_eq!(contacts[0].reg_id(), Some(1));
    assert_eq!(contacts[1].address().unwrap().uri().as_str(), "sip:b@h");
    assert_eq!(contacts[0].pub_gruu(), None);
    // RFC 5627 §5.3: the registrar's 2xx names the GRUUs of the binding, quoted.
    let gruus = headers(&[(
        "Contact",
        "<sip:a@10.0.0.1>;pub-gruu=\"sip:a@example.com;gr=urn:uuid:f81d4fae\";temp-gruu=\"sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr\";expires=300",
    )]);
    let c = gruus.contacts().next().unwrap().unwrap();
    assert_eq!(c.pub_gruu().as_deref(), Some("sip:a@example.com;gr=urn:uuid:f81d4fae"));
    assert_eq!(c.temp_gruu().as_deref(), Some("sip:tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5@example.com;gr"));
    assert_eq!(c.expires(), Some(300));
    assert_eq!(headers(&[("m", " * ")]).contacts().next().unwrap().unwrap(), Contact::Star);
    let routes: Vec<_> = h.routes().map(|r| r.unwrap().uri().as_str().to_owned()).collect();
    assert_eq!(routes, ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]);
    assert!(h.record_routes().next().unwrap().unwrap().uri().as_sip().unwrap().is_loose_route());
    let r = ReferTo::parse("<sip:bob@b.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>")
        .unwrap();
    assert_eq!(r.uri().as_sip().unwrap().headers().next().unwrap().0, "Replaces");
    assert!(ReferredBy::parse("<sip:referrer@referrer.example>").is_ok());
    let pai: Vec<_> = headers(&[("P-Asserted-Identity", "\"Cullen\" <sip:fluffy@cisco.com>, tel:+14085264000")])
        .typed_all::<PAssertedIdentity>()
        .map(|p| p.unwrap().uri().as_str().to_owned())
        .collect();
    assert_eq!(pai, ["sip:fluffy@cisco.com", "tel:+14085264000"]);
}

#[test]
fn tokens_media_events_and_dialog_ids() {
    let h = headers(&[
        ("Allow", "INVITE, ACK ,BYE"),
        ("k", "100rel,timer"),
        ("Require", "replaces"),
        ("Unsupported", "foo"),
    ]);
    let allow: Vec<_> = h.typed_all::<Allow>().map(|a| a.unwrap().0).collect();
    assert_eq!(allow, ["INVITE", "ACK", "BYE"]);
    assert_eq!(h.typed_all::<Supported>().count(), 2);
    assert_eq!(h.typed_all::<Require>().next().unwrap().unwrap().0, "replaces");
    assert_eq!(h.typed_all::<Unsupported>().next().unwrap().unwrap().0, "foo");
    assert!(Allow::parse("IN VITE").is_err());

    let ct = ContentType::parse("multipart/mixed ; boundary=\"unique-boundary-1\"").unwrap().0;
    assert!(ct.is("Multipart", "MIXED"));
    assert_eq!(ct.boundary().as_deref(), Some("unique-boundary-1"));
    assert!(ContentType::parse("application").is_err());
    let accept = headers(&[("Accept", "application/sdp;level=1, text/*;q=0.5")]);
    let acc: Vec<_> = accept.typed_all::<Accept>().map(|a| a.unwrap().0.subtype).collect();
    assert_eq!(acc, ["sdp", "*"]);

    let ev = Event::parse("refer;id=93809824").unwrap();
    assert_eq!((ev.package, ev.id()), ("refer", Some("93809824")));
    let ss = SubscriptionState::parse("terminated;reason=noresource;retry-after=30").unwrap();
    assert!(ss.is_terminated());
    assert_eq!((ss.reason(), ss.retry_after()), (Some("noresource"), Some(30)));
    assert_eq!(SubscriptionState::parse("active;expires=60").unwrap().expires(), Some(60));

    assert_eq!(
        CallId::parse(" f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com ").unwrap().0,
        "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com"
    );
    assert!(CallId::parse("a@b@c").is_err());
    assert!(CallId::parse("").is_err());
    assert!(CallId::parse("has space").is_err());
    let rep = Replaces::parse("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only").unwrap();
    assert_eq!(
        (rep.call_id, rep.from_tag, rep.to_tag, rep.early_only),
        ("98732@sip.example.com", "r33th4x0r", "ff87ff", true)
    );
    assert!(Replaces::parse("98732@sip.example.com;from-tag=a").is_err());
}

#[test]
fn reason_warning_and_products() {
    let r = Reason::parse("SIP ;cause=200 ;text=\"Call completed elsewhere\"").unwrap();
    assert_eq!((r.protocol, r.cause(), r.text().as_deref()), ("SIP", Some(200), Some("Call completed elsewhere")));
    let w = Warning::parse("307 isi.edu \"Session parameter 'foo' not understood\"").unwrap();
    assert_eq!((w.code, w.agent, w.text().as_ref()), (307, "isi.edu", "Session parameter 'foo' not understood"));
    assert!(Warning::parse("30 isi.edu \"x\"").is_err());
    assert!(Warning::parse("307 isi.edu x").is_err());
    assert_eq!(UserAgent::parse(" Softphone Beta1.5 ").unwrap().0, "Softphone Beta1.5");
    assert_eq!(Server::parse("HomeServer v2").unwrap().0, "HomeServer v2");
}

#[test]
fn typed_errors_name_the_header() {
    let h = headers(&[("Via", "SIP/2.0/UDP ok;branch=z9hG4bK1, SIP/2.0/UDP bad:port")]);
    let e = h.via().nth(1).unwrap().unwrap_err();
    assert_eq!(e.context(), Some(StandardHeader::Via.as_str()));
    assert!(e.to_string().starts_with("Via: at byte"), "{e}");
}
