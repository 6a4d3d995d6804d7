use super::*;
use std::net::Ipv6Addr;

fn sip(s: &str) -> SipUri<'_> {
    SipUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn parses_components() {
    let u = sip("sips:alice:secret@[2001:db8::10]:5071;transport=tcp;lr?subject=project%20x&priority=urgent");
    assert!(u.is_secure());
    assert_eq!(u.user(), Some("alice"));
    assert_eq!(u.password(), Some("secret"));
    assert_eq!(u.host(), Host::Ipv6("2001:db8::10".parse::<Ipv6Addr>().unwrap()));
    assert_eq!(u.host_str(), "[2001:db8::10]");
    assert_eq!(u.port(), Some(5071));
    assert_eq!(u.transport(), Some("tcp"));
    assert!(u.is_loose_route());
    assert_eq!(u.headers().collect::<Vec<_>>(), [("subject", "project%20x"), ("priority", "urgent")]);
    assert!(!format!("{u:?}").contains("secret"), "Debug must not show the password");
}

#[test]
fn user_may_hold_semicolons_and_escapes() {
    // RFC 4475 §3.1.1.9 and §3.1.1.3
    let u = sip("sip:user;par=u%40example.net@example.com");
    assert_eq!(u.user(), Some("user;par=u%40example.net"));
    assert!(u.params().is_empty());
    let u = sip("sip:sips%3Auser%40example.com@example.net");
    assert_eq!(u.user_unescaped().as_deref(), Some("sips:user@example.com"));
    assert_eq!(u.host(), Host::Domain("example.net"));
}

#[test]
fn rejects_bad_uris() {
    for bad in [
        "sip:",
        "sip:@host",
        "sip:user@",
        "sip:user@host:99999",
        "sip:user@host:",
        "sip:us%zzer@host",
        "sip:user@ho st",
        "sip:user@[::1",
        "sip:user@host;",
        "sip:user@host?",
        "sip:user@host?a",
        "sip:user@1.2.3.999",
        "http//x",
    ] {
        assert!(Uri::parse(bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn rfc3261_equivalent_examples() {
    // RFC 3261 §19.1.4
    for (a, b) in [
        ("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"),
        ("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"),
        (
            "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
            "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
        ),
        (
            "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
            "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
        ),
    ] {
        assert!(sip(a).equivalent(&sip(b)), "{a} == {b}");
        assert!(sip(b).equivalent(&sip(a)), "{b} == {a}");
    }
}

#[test]
fn rfc3261_not_equivalent_examples() {
    for (a, b) in [
        ("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
        ("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"),
        ("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"),
        ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
        ("sip:a@x.com", "sips:a@x.com"),
        ("sip:a@x.com;maddr=1.2.3.4", "sip:a@x.com"),
        ("sip:a@x.com;user=phone", "sip:a@x.com"),
        ("sip:a:pw@x.com", "sip:a@x.com"),
    ] {
        assert!(!sip(a).equivalent(&sip(b)), "{a} != {b}");
        assert!(!sip(b).equivalent(&sip(a)), "{b} != {a}");
    }
}

#[test]
fn tel_uris() {
    let t = match Uri::parse("tel:+1-201-555-0123;ext=1234").unwrap() {
        Uri::Tel(t) => t,
        other => panic!("{other:?}"),
    };
    assert!(t.is_global());
    assert_eq!(t.normalized_number(), "+12015550123");
    assert_eq!(t.params().value("ext"), Some("1234"));
    let a = TelUri::parse("tel:+1(201)555-0123;ext=1234").unwrap();
    assert!(t.equivalent(&a));
    assert!(!t.equivalent(&TelUri::parse("tel:+12015550123").unwrap()));
    let local = TelUri::parse("tel:7042;phone-context=example.com").unwrap();
    assert!(!local.is_global());
    assert!(TelUri::parse("tel:7042").is_err(), "local number needs phone-context");
    assert!(TelUri::parse("tel:+12x").is_err());
}

#[test]
fn other_schemes_are_opaque() {
    let u = Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
    assert!(matches!(u, Uri::Other { scheme: "nobodyKnowsThisScheme", .. }));
    assert!(Uri::parse("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6").is_ok());
    assert!(Uri::parse("9bad:x").is_err());
    assert!(Uri::parse("mailto:a b").is_err());
}

#[test]
fn multibyte_input_never_splits_a_character() {
    assert!(SipUri::parse("sip\u{e9}x").is_err());
    assert!(SipUri::parse("si\u{e9}").is_err());
    assert!(TelUri::parse("te\u{e9}").is_err());
    assert!(Uri::parse("\u{e9}:x").is_err());
    assert!(SipUri::parse("sip:\u{e9}@h").is_err());
}

#[test]
fn repeated_parameters_compare_by_their_first_occurrence() {
    // Found by the uri fuzz target: a URI with a repeated parameter must equal itself.
    let u = sip("sip:a@h;r=1;r=2");
    assert!(u.equivalent(&u));
    assert!(u.equivalent(&sip("sip:a@h;r=1")));
    assert!(!u.equivalent(&sip("sip:a@h;r=2")));
}

/// Found by the `uri` fuzz target: a tel: URI naming a parameter twice, once with a value
/// and once as a flag, was not equivalent to itself (only the first of the two was compared).
#[test]
fn a_tel_uri_with_a_parameter_given_twice_equals_itself() {
    for s in ["tel:+1;pl=a;pl", "tel:+1;pl;pl=a", "TeL:+1;oXe;pl=e.t;pl;x=1;pl=z"] {
        let u = Uri::parse(s).expect("parses");
        assert!(u.equivalent(&u), "{s}");
    }
    let a = Uri::parse("tel:+1;pl=a;pl").expect("parses");
    let b = Uri::parse("tel:+1;pl;pl=a").expect("parses");
    assert!(!a.equivalent(&b), "the values of a repeated name are compared in order");
    let c = Uri::parse("tel:+1;PL=A;pl").expect("parses");
    assert!(a.equivalent(&c), "names and values still compare case-insensitively");
}
