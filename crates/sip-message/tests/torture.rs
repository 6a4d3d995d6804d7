//! RFC 4475 torture messages (files in `tests/torture/`, described in its README).
//!
//! §3.1.1: every valid message parses, with the values the RFC points out.
//! §3.1.2: every invalid message is rejected — by the parser, or by `check_essentials` (which
//! the transaction layer runs before acting, answering 400) — or parses with what a higher
//! layer needs to answer as the RFC prescribes (505 for `badvers`).
//! §3.2–§3.4: the parser-level part is asserted here; the behaviour belongs to the layers named
//! in `tests/torture/README.md` ("Layer owners").

use bytes::Bytes;
use sip_message::header::typed::*;
use sip_message::{parse_message, ErrorKind, Host, Message, Method, ParseError, Request, Response, Uri};

fn raw(name: &str) -> Bytes {
    let path = format!("{}/tests/torture/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

fn parse(name: &str) -> Result<Message, ParseError> {
    parse_message(raw(name))
}

fn request(name: &str) -> Request {
    match parse(name) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: {other:?}"),
    }
}

fn response(name: &str) -> Response {
    match parse(name) {
        Ok(Message::Response(r)) => r,
        other => panic!("{name}: {other:?}"),
    }
}

/// A valid message: parses, passes the essentials, and round-trips through the serializer.
fn valid(name: &str) -> Message {
    let m = parse(name).unwrap_or_else(|e| panic!("{name} must parse: {e}"));
    m.check_essentials().unwrap_or_else(|e| panic!("{name} must pass the essentials: {e}"));
    assert_eq!(parse_message(m.to_bytes()).as_ref(), Ok(&m), "{name} round trip");
    m
}

/// An invalid message: rejected by the parser, or parsed but failing the essentials.
fn rejected(name: &str) -> ParseError {
    match parse(name) {
        Err(e) => e,
        Ok(m) => m.check_essentials().expect_err(&format!("{name} must be rejected")),
    }
}

// ---- §3.1.1 valid messages -------------------------------------------------------------

#[test]
fn wsinv_short_tortuous_invite() {
    let Message::Request(r) = valid("wsinv") else { panic!() };
    let h = r.headers();
    assert_eq!(r.method(), &Method::Invite);
    assert_eq!(r.uri_str().as_str(), "sip:vivekg@chair-dnrc.example.com;unknownparam");
    assert_eq!(r.uri().unwrap().as_sip().unwrap().params().get("unknownparam"), Some(None));
    let to = h.to().unwrap();
    assert_eq!(to.display_name(), None);
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = h.from().unwrap();
    assert_eq!(from.display_name().as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(h.max_forwards().unwrap(), Some(68));
    assert_eq!(h.cseq().unwrap(), CSeq { seq: 9, method: Method::Invite });
    let vias: Vec<_> = h.via().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 3);
    assert_eq!((vias[0].transport(), vias[0].host_str(), vias[0].branch()), ("UDP", "192.0.2.2", Some("390skdjuw")));
    assert!(!vias[0].has_rfc3261_branch());
    assert_eq!((vias[1].transport(), vias[1].host_str()), ("TCP", "spindle.example.com"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(h.get("Subject").unwrap().as_str(), "");
    assert_eq!(h.get("NewFangledHeader").unwrap().as_str(), "newfangled value continued newfangled value");
    assert_eq!(h.get("UnknownHeaderWithUnusualValue").unwrap().as_str(), ";;,,;;,;");
    let route = h.routes().next().unwrap().unwrap();
    assert_eq!(route.uri().as_str(), "sip:services.example.com;lr;unknownwith=value;unknown-no-value");
    let contact = h.contacts().next().unwrap().unwrap();
    let addr = contact.address().unwrap();
    assert_eq!(addr.display_name().as_deref(), Some("Quoted string \"\""));
    assert_eq!(addr.params().value("newparam"), Some("newvalue"));
    assert_eq!(addr.params().get("secondparam"), Some(None));
    assert_eq!(contact.q(), Some(0.33));
    assert_eq!(r.body().len(), 150);
}

#[test]
fn intmeth_wide_range_of_valid_characters() {
    let Message::Request(r) = valid("intmeth") else { panic!() };
    assert_eq!(r.method().as_str(), "!interesting-Method0123456789_*+`.%indeed'~");
    assert!(matches!(r.method(), Method::Extension(_)));
    let h = r.headers();
    assert_eq!(h.cseq().unwrap().seq, 139122385);
    assert_eq!(h.cseq().unwrap().method, *r.method());
    let uri = r.uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(sip.user(), Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
    assert_eq!(sip.password(), Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
    assert_eq!(sip.host(), Host::Domain("example.com"));
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(h.to().unwrap().display_name().as_deref(), Some("BEL:\x07 NUL:\0 DEL:\x7f"));
    assert_eq!(h.from().unwrap().display_name().as_deref(), Some("token1~` token2'+_ token3*%!.-"));
    assert_eq!(h.from().unwrap().tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        h.from().unwrap().params().value("fromParam''~+*_!.-%").map(sip_message::unquote).as_deref(),
        Some("работающий")
    );
    assert_eq!(h.call_id().unwrap(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    assert_eq!(h.max_forwards().unwrap(), Some(255));
    assert_eq!(h.get("extensionHeader-!.%*+_`'~").unwrap().as_bytes().as_ref(), "\u{feff}大停電".as_bytes());
}

#[test]
fn esc01_valid_escaping() {
    let Message::Request(r) = valid("esc01") else { panic!() };
    let uri = r.uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(sip.user_unescaped().as_deref(), Some("sips:user@example.com"));
    assert_eq!(sip.host(), Host::Domain("example.net"));
    let h = r.headers();
    let user = |na: sip_message::NameAddr<'_>| na.uri().as_sip().unwrap().user_unescaped().unwrap().into_owned();
    assert_eq!(user(*h.to().unwrap()), "user");
    assert_eq!(user(*h.from().unwrap()), "I have spaces");
    let contact = h.contacts().next().unwrap().unwrap();
    let c = contact.address().unwrap().uri().as_sip().unwrap().to_owned();
    assert_eq!(c.user_unescaped().as_deref(), Some("caller"));
    let params: Vec<_> = c.params().iter().collect();
    assert_eq!(params, [("%6C%72", None), ("n%61me", Some("v%61lue%25%34%31"))]);
    // Unescaping is done once, never recursively: value%41, not valueA.
    assert_eq!(sip_message::uri::unescape("v%61lue%25%34%31"), "value%41");
    // Escaped and unescaped forms of the same URI are equivalent (RFC 3261 §19.1.4).
    let a = Uri::parse("sip:cal%6Cer@host5.example.net;%6C%72").unwrap();
    let b = Uri::parse("sip:caller@host5.example.net;lr").unwrap();
    assert!(a.equivalent(&b));
}

#[test]
fn escnull_escaped_nulls() {
    let Message::Request(r) = valid("escnull") else { panic!() };
    let h = r.headers();
    let to = h.to().unwrap();
    assert_eq!(to.uri().as_sip().unwrap().user_unescaped().as_deref(), Some("null-\0-null"));
    let contacts: Vec<_> = h.contacts().map(Result::unwrap).collect();
    assert_eq!(contacts.len(), 2);
    let users: Vec<_> =
        contacts.iter().map(|c| c.address().unwrap().uri().as_sip().unwrap().user_unescaped().unwrap()).collect();
    assert_eq!(users, ["\0", "\0\0"]);
    let (a, b) = (contacts[0].address().unwrap().uri(), contacts[1].address().unwrap().uri());
    assert!(!a.equivalent(b), "two distinct bindings");
}

#[test]
fn esc02_percent_that_is_not_an_escape() {
    let Message::Request(r) = valid("esc02") else { panic!() };
    assert_eq!(r.method().as_str(), "RE%47IST%45R");
    assert_ne!(r.method(), &Method::Register);
    let h = r.headers();
    assert_eq!(h.to().unwrap().display_name().as_deref(), Some("%Z%45"));
    assert_eq!(h.contacts().count(), 2);
    assert!(h.get("C%6Fntact").is_some(), "an extension header, not Contact");
    assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
}

#[test]
fn lwsdisp_no_space_before_angle_bracket() {
    let Message::Request(r) = valid("lwsdisp") else { panic!() };
    let from = r.headers().from().unwrap();
    assert_eq!(from.display_name().as_deref(), Some("caller"));
    assert_eq!(from.uri().as_str(), "sip:caller@example.com");
    assert_eq!(from.tag(), Some("323"));
}

#[test]
fn longreq_long_values() {
    let Message::Request(r) = valid("longreq") else { panic!() };
    let h = r.headers();
    let to = h.to().unwrap();
    assert_eq!(to.display_name().unwrap(), format!("I have a user name of {} proportion", "extreme".repeat(10)));
    let to_uri = to.uri().as_sip().unwrap().to_owned();
    assert_eq!(to_uri.port(), Some(6000));
    assert_eq!(to_uri.params().len(), 3);
    assert_eq!(h.from().unwrap().tag().unwrap().len(), 155);
    assert_eq!(h.call_id().unwrap(), format!("longreq.one{}longcallid", "really".repeat(20)));
    assert_eq!(h.get(format!("Unknown-{}-Name", "Long".repeat(20)).as_str()).unwrap().len(), 306);
    let vias: Vec<_> = h.via().map(Result::unwrap).collect();
    assert_eq!(vias.len(), 34);
    assert_eq!(vias[0].host_str(), "sip33.example.com");
    assert_eq!(vias[32].host_str(), "sip1.example.com");
    assert_eq!(vias[33].received(), Some("192.0.2.5"));
    assert_eq!(vias[33].branch().unwrap().len(), 215);
    assert_eq!(r.body().len(), 150);
}

#[test]
fn dblreq_extra_octets_are_ignored() {
    let Message::Request(r) = valid("dblreq") else { panic!() };
    assert_eq!(r.method(), &Method::Register);
    assert_eq!(r.headers().call_id().unwrap(), "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
    assert!(r.body().is_empty(), "Content-Length 0 bounds the body; the trailing INVITE is noise");
}

#[test]
fn semiuri_semicolons_in_user_part() {
    let Message::Request(r) = valid("semiuri") else { panic!() };
    let uri = r.uri().unwrap();
    let sip = uri.as_sip().unwrap();
    assert_eq!(sip.user_unescaped().as_deref(), Some("user;par=u@example.net"));
    assert_eq!(sip.host(), Host::Domain("example.com"));
    assert!(sip.params().is_empty());
    assert_eq!(r.headers().typed_all::<Accept>().count(), 6);
}

#[test]
fn transports_varied_and_unknown() {
    let Message::Request(r) = valid("transports") else { panic!() };
    let t: Vec<_> = r.headers().via().map(|v| v.unwrap().transport().to_owned()).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn mpart01_multipart_binary_body() {
    let Message::Request(r) = valid("mpart01") else { panic!() };
    assert_eq!(r.method(), &Method::Message);
    let ct = r.headers().content_type().unwrap().unwrap();
    assert!(ct.is("multipart", "mixed"));
    assert_eq!(ct.boundary().as_deref(), Some("7a9cbec02ceef655"));
    assert_eq!(r.body().len(), 553);
    assert!(r.body().contains(&0), "binary octets survive");
}

#[test]
fn unreason_unusual_reason_phrase() {
    let Message::Response(r) = valid("unreason") else { panic!() };
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.reason().as_str(), "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.body().len(), 154);
}

#[test]
fn noreason_empty_reason_phrase() {
    let Message::Response(r) = valid("noreason") else { panic!() };
    assert_eq!(r.status().as_u16(), 100);
    assert_eq!(r.reason().as_str(), "");
}

// ---- §3.1.2 invalid messages -----------------------------------------------------------

fn syntax_in(e: &ParseError, header: &str) {
    assert_eq!(e.context(), Some(header), "{e}");
    assert!(matches!(e.kind(), ErrorKind::Syntax { .. }), "{e}");
    assert_eq!(e.response_status(), 400);
}

#[test]
fn badinv01_extraneous_separators() {
    syntax_in(&rejected("badinv01"), "Via");
    let r = request("badinv01");
    assert!(r.headers().contacts().next().unwrap().is_err(), "Contact ;;;; is malformed too");
}

#[test]
fn clerr_content_length_larger_than_message() {
    let e = rejected("clerr");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
    assert_eq!(e.response_status(), 400);
    // Over a stream, the framer waits for the rest instead.
    let mut f = sip_message::StreamFramer::default();
    f.push(&raw("clerr"));
    assert_eq!(f.next_frame(), Ok(None));
}

#[test]
fn ncl_negative_content_length() {
    let e = rejected("ncl");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
    let mut f = sip_message::StreamFramer::default();
    f.push(&raw("ncl"));
    assert!(f.next_frame().is_err(), "a stream cannot recover its framing");
}

#[test]
fn scalar02_overlarge_request_scalars() {
    syntax_in(&rejected("scalar02"), "CSeq");
    let r = request("scalar02");
    let h = r.headers();
    assert!(h.max_forwards().is_err());
    assert!(h.expires().is_err());
    assert_eq!(h.contacts().next().unwrap().unwrap().expires(), None, "overlarge expires is unusable");
}

#[test]
fn scalarlg_overlarge_response_scalars() {
    syntax_in(&rejected("scalarlg"), "CSeq");
    let r = response("scalarlg");
    assert!(r.headers().typed_opt::<RetryAfter>().is_err());
    assert!(r.headers().typed_all::<Warning>().next().unwrap().is_err());
}

#[test]
fn quotbal_unterminated_quote() {
    syntax_in(&rejected("quotbal"), "To");
}

#[test]
fn ltgtruri_brackets_around_request_uri() {
    let e = rejected("ltgtruri");
    assert_eq!(e.offset(), 7);
    assert_eq!(e.context(), None);
}

#[test]
fn lwsruri_whitespace_in_request_uri() {
    assert_eq!(rejected("lwsruri").offset(), 28);
}

#[test]
fn lwsstart_multiple_spaces_in_request_line() {
    assert_eq!(rejected("lwsstart").offset(), 7);
}

#[test]
fn trws_trailing_spaces_on_request_line() {
    assert!(matches!(rejected("trws").kind(), ErrorKind::Syntax { .. }));
}

#[test]
fn escruri_headers_in_request_uri() {
    let e = rejected("escruri");
    assert!(e.to_string().contains("no header component in a Request-URI"), "{e}");
}

#[test]
fn baddate_is_ignored_by_an_element_that_does_not_use_date() {
    // RFC 4475 §3.1.2.12: reject only if Date matters; this layer carries it opaquely.
    let Message::Request(r) = valid("baddate") else { panic!() };
    assert_eq!(r.headers().get("Date").unwrap().as_str(), "Fri, 01 Jan 2010 16:00:00 EST");
}

#[test]
fn regbadct_uri_with_headers_outside_brackets() {
    syntax_in(&rejected("regbadct"), "Contact");
}

#[test]
fn badaspec_spaces_in_addr_spec() {
    syntax_in(&rejected("badaspec"), "To");
}

#[test]
fn baddn_non_token_display_name() {
    // The archive's file ends without the empty line, which alone makes it unparsable...
    assert!(parse("baddn").is_err());
    // ...and with the empty line added, the unquoted commas are still rejected.
    let mut fixed = raw("baddn").to_vec();
    fixed.extend_from_slice(b"\r\n");
    let m = parse_message(Bytes::from(fixed)).unwrap();
    let e = m.check_essentials().unwrap_err();
    assert!(matches!(e.context(), Some("From") | Some("To")), "{e}");
}

#[test]
fn badvers_parses_so_that_505_can_be_sent() {
    let r = request("badvers");
    assert_eq!(r.version(), sip_message::Version { major: 7, minor: 0 });
    assert_eq!(r.headers().top_via().unwrap().version(), "7.0");
}

#[test]
fn mismatch01_cseq_method_differs() {
    syntax_in(&rejected("mismatch01"), "CSeq");
}

#[test]
fn mismatch02_unknown_method_with_cseq_mismatch() {
    let r = request("mismatch02");
    assert_eq!(r.method().as_str(), "NEWMETHOD");
    syntax_in(&rejected("mismatch02"), "CSeq");
}

#[test]
fn bigcode_overlarge_status_code() {
    let e = rejected("bigcode");
    assert_eq!(e.offset(), 8);
}

// ---- §3.2 transaction layer: parser part (behaviour: sip-transaction tests) -------------

#[test]
fn badbranch_cookie_without_value_falls_back() {
    let r = request("badbranch");
    let via = r.headers().top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(!via.has_rfc3261_branch(), "a bare cookie identifies nothing");
}

// ---- §3.3 application layer: parser part (behaviour: session-core/tests/torture_uas.rs) --

#[test]
fn insuf_missing_required_headers() {
    let e = rejected("insuf");
    assert!(matches!(e.kind(), ErrorKind::MissingHeader { .. }), "{e}");
    assert_eq!(e.response_status(), 400);
}

#[test]
fn unkscm_and_novelsc_unknown_schemes_parse() {
    let r = request("unkscm");
    assert!(matches!(r.uri().unwrap(), Uri::Other { scheme: "nobodyKnowsThisScheme", .. }));
    let r = request("novelsc");
    assert!(matches!(r.uri().unwrap(), Uri::Other { scheme: "soap.beep", .. }));
}

#[test]
fn unksm2_unknown_schemes_in_headers() {
    let Message::Request(r) = valid("unksm2") else { panic!() };
    let h = r.headers();
    assert!(matches!(h.to().unwrap().uri(), Uri::Other { scheme: "isbn", .. }));
    assert!(matches!(h.from().unwrap().uri(), Uri::Other { scheme: "http", .. }));
    let c = h.contacts().next().unwrap().unwrap();
    assert!(matches!(c.address().unwrap().uri(), Uri::Other { scheme: "name", .. }));
}

#[test]
fn bext01_require_and_proxy_require() {
    let Message::Request(r) = valid("bext01") else { panic!() };
    let req: Vec<_> = r.headers().typed_all::<Require>().map(|t| t.unwrap().0).collect();
    assert_eq!(req, ["nothingSupportsThis", "nothingSupportsThisEither"]);
    assert_eq!(r.headers().typed_all::<ProxyRequire>().count(), 2);
}

#[test]
fn invut_unknown_content_type() {
    let Message::Request(r) = valid("invut") else { panic!() };
    assert!(r.headers().content_type().unwrap().unwrap().is("application", "unknownformat"));
    assert_eq!(r.body().len(), 40);
}

#[test]
fn regaut01_unknown_authorization_scheme() {
    let Message::Request(r) = valid("regaut01") else { panic!() };
    let value = r.headers().get("Authorization").unwrap();
    assert_eq!(value.as_str(), "NoOneKnowsThisScheme opaque-data=here");
    assert!(sip_message::auth::Authorization::parse(value).is_err(), "not a Digest credential");
}

#[test]
fn multi01_multiple_single_valued_headers() {
    let e = rejected("multi01");
    assert!(e.to_string().contains("appears more than once"), "{e}");
}

#[test]
fn mcl01_multiple_content_lengths() {
    let e = rejected("mcl01");
    assert!(matches!(e.kind(), ErrorKind::ContentLength { .. }), "{e}");
}

#[test]
fn bcast_broadcast_via_parses() {
    let Message::Response(r) = valid("bcast") else { panic!() };
    let vias: Vec<_> = r.headers().via().map(Result::unwrap).collect();
    assert_eq!(vias[1].host(), Host::Ipv4(std::net::Ipv4Addr::BROADCAST));
}

#[test]
fn zeromf_max_forwards_zero() {
    let Message::Request(r) = valid("zeromf") else { panic!() };
    assert_eq!(r.headers().max_forwards().unwrap(), Some(0));
}

#[test]
fn cparam01_and_cparam02_contact_vs_uri_parameters() {
    let r = request("cparam01");
    let c = r.headers().contacts().next().unwrap().unwrap();
    let a = c.address().unwrap();
    assert_eq!(a.params().get("unknownparam"), Some(None), "a contact parameter");
    assert!(a.uri().as_sip().unwrap().params().is_empty(), "not a URI parameter");
    let r = request("cparam02");
    let c = r.headers().contacts().next().unwrap().unwrap();
    let a = c.address().unwrap();
    assert!(a.params().is_empty());
    assert_eq!(a.uri().as_sip().unwrap().params().get("unknownparam"), Some(None));
}

#[test]
fn regescrt_escaped_header_in_contact_uri() {
    let Message::Request(r) = valid("regescrt") else { panic!() };
    let c = r.headers().contacts().next().unwrap().unwrap();
    let uri = c.address().unwrap().uri().as_sip().unwrap().to_owned();
    assert_eq!(uri.headers().collect::<Vec<_>>(), [("Route", "%3Csip:sip.example.com%3E")]);
}

#[test]
fn sdp01_unacceptable_accept() {
    let Message::Request(r) = valid("sdp01") else { panic!() };
    let accept: Vec<_> = r.headers().typed_all::<Accept>().map(|a| a.unwrap().0).collect();
    assert_eq!(accept.len(), 1);
    assert!(accept[0].is("text", "nobodyKnowsThis"));
}

// ---- §3.4 backward compatibility -------------------------------------------------------

#[test]
fn inv2543_rfc2543_syntax_is_accepted() {
    let r = request("inv2543");
    let h = r.headers();
    assert_eq!(h.top_via().unwrap().branch(), None);
    assert_eq!(h.from().unwrap().tag(), None);
    assert_eq!(h.max_forwards().unwrap(), None);
    assert!(h.get("Content-Length").is_none());
    assert_eq!(r.body().len(), 105, "without Content-Length the datagram's rest is the body");
    assert!(Message::Request(r.clone()).check_essentials().is_ok());
    let rr = h.record_routes().next().unwrap().unwrap();
    assert!(rr.uri().as_sip().unwrap().maddr().is_some());
}

#[test]
fn every_archive_file_is_covered() {
    // A new file in the folder must get a test here (test.dat is not part of the RFC).
    let dir = format!("{}/tests/torture", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".dat").map(str::to_owned))
        .collect();
    names.sort();
    assert_eq!(names.len(), 50);
    let this = include_str!("torture.rs");
    for n in names.iter().filter(|n| *n != "test") {
        assert!(this.contains(&format!("\"{n}\"")), "{n}.dat has no test");
    }
}
