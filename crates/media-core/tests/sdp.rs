//! SDP parsing and serialization against the bodies real user agents send, malformed input,
//! and properties over random input.

use media_core::sdp::{MAX_MEDIA, MAX_SDP_LEN};
use media_core::{Direction, SessionDescription};
use proptest::prelude::*;

/// Joins lines with CRLF, as they go on the wire.
fn crlf(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\r\n")).collect()
}

/// An offer as baresip 1.0 sends it: session-level c=, rtcp attribute, a=tool.
const BARESIP: &[&str] = &[
    "v=0",
    "o=- 1873406530 1245263893 IN IP4 192.168.1.10",
    "s=-",
    "c=IN IP4 192.168.1.10",
    "t=0 0",
    "a=tool:baresip 1.0.0",
    "m=audio 10398 RTP/AVP 0 8 101",
    "b=AS:64",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    "a=fmtp:101 0-15",
    "a=rtcp:10399",
    "a=sendrecv",
    "a=label:1",
    "a=ssrc:3209347442 cname:3c6a6c7e-55b9-4c5f-8f4f-1e5f1c0e8a21",
    "a=rtcp-rsize",
    "a=ptime:20",
];

/// An offer as PJSIP 2.15 (pjsua) sends it: no session-level c=, b= before t=, a media-level
/// c=, many codecs first, two telephone-event rates.
const PJSIP: &[&str] = &[
    "v=0",
    "o=- 3921434561 3921434561 IN IP4 10.0.0.5",
    "s=pjmedia",
    "b=AS:84",
    "t=0 0",
    "a=X-nat:0",
    "m=audio 4000 RTP/AVP 96 97 98 99 3 0 8 9 120 121 122",
    "c=IN IP4 10.0.0.5",
    "b=AS:64000",
    "b=TIAS:64000",
    "a=rtcp:4001 IN IP4 10.0.0.5",
    "a=sendrecv",
    "a=rtpmap:96 speex/16000",
    "a=rtpmap:97 speex/8000",
    "a=rtpmap:98 speex/32000",
    "a=rtpmap:99 iLBC/8000",
    "a=fmtp:99 mode=30",
    "a=rtpmap:3 GSM/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:9 G722/8000",
    "a=rtpmap:120 telephone-event/16000",
    "a=fmtp:120 0-16",
    "a=rtpmap:121 telephone-event/8000",
    "a=fmtp:121 0-16",
    "a=rtpmap:122 telephone-event/32000",
    "a=fmtp:122 0-16",
    "a=ssrc:1418463281 cname:0b3d5e7a1c2f4e6d",
];

/// The offer of sipp's built-in `uac` scenario: PCMU only, no direction attribute.
const SIPP: &[&str] = &[
    "v=0",
    "o=user1 53655765 2353687637 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 6000 RTP/AVP 0",
    "a=rtpmap:0 PCMU/8000",
];

#[test]
fn baresip_offer_round_trips() {
    let text = crlf(BARESIP);
    let sdp = SessionDescription::parse(&text).unwrap();
    assert_eq!(sdp.to_string(), text);
    assert_eq!(sdp.origin.session_id, "1873406530");
    assert_eq!(sdp.origin.session_version, 1245263893);
    assert_eq!(sdp.connection.as_ref().and_then(|c| c.ip()), Some("192.168.1.10".parse().unwrap()));
    assert_eq!(sdp.attribute("tool"), Some("baresip 1.0.0"));
    let m = &sdp.media[0];
    assert_eq!((m.media.as_str(), m.port, m.proto.as_str()), ("audio", 10398, "RTP/AVP"));
    assert_eq!(m.formats, ["0", "8", "101"]);
    assert_eq!(m.rtpmap(101).map(|r| (r.encoding, r.clock_rate)), Some(("telephone-event", 8000)));
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.attribute("rtcp"), Some("10399"));
    assert_eq!(m.attribute("rtcp-rsize"), Some(""));
    assert_eq!(m.attribute("ptime"), Some("20"));
    assert_eq!(sdp.media_direction(m), Direction::SendRecv);
    assert_eq!(m.connection, None);
    assert_eq!(sdp.media_connection(m), sdp.connection.as_ref());
}

#[test]
fn pjsip_offer_round_trips() {
    let text = crlf(PJSIP);
    let sdp = SessionDescription::parse(&text).unwrap();
    assert_eq!(sdp.to_string(), text);
    assert_eq!(sdp.connection, None);
    let m = &sdp.media[0];
    assert_eq!(m.connection.as_ref().map(|c| c.address.as_str()), Some("10.0.0.5"));
    assert_eq!(m.formats.len(), 11);
    assert_eq!(m.other.iter().filter(|l| l.kind == 'b').count(), 2);
    assert_eq!(m.fmtp(99), Some("mode=30"));
    assert_eq!(m.rtpmap(121).map(|r| r.clock_rate), Some(8000));
    assert_eq!(sdp.other.iter().map(|l| l.kind).collect::<String>(), "bt");
}

#[test]
fn sipp_offer_round_trips_and_lf_only_is_accepted() {
    let text = crlf(SIPP);
    let sdp = SessionDescription::parse(&text).unwrap();
    assert_eq!(sdp.to_string(), text);
    // Bare LF, no final line end: the same description.
    let lf = SIPP.join("\n");
    assert_eq!(SessionDescription::parse(&lf).unwrap(), sdp);
    assert_eq!(SessionDescription::parse_bytes(lf.as_bytes()).unwrap(), sdp);
    // No direction anywhere: sendrecv (RFC 3264 §5.1).
    assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::SendRecv);
}

#[test]
fn session_level_direction_applies_when_media_has_none() {
    let mut lines = SIPP.to_vec();
    lines.insert(5, "a=sendonly");
    let sdp = SessionDescription::parse(&crlf(&lines)).unwrap();
    assert_eq!(sdp.direction(), Direction::SendOnly);
    assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::SendOnly);
    lines.push("a=inactive");
    let sdp = SessionDescription::parse(&crlf(&lines)).unwrap();
    assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::Inactive);
}

#[test]
fn missing_timing_is_written_as_t_0_0() {
    let sdp = SessionDescription::parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 0 RTP/AVP 0\n").unwrap();
    assert_eq!(sdp.to_string(), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
}

#[test]
fn malformed_bodies_are_errors_with_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "empty"),
        ("o=- 1 1 IN IP4 1.2.3.4\r\n", 1, "v=0"),
        ("v=1\r\n", 1, "version"),
        ("v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", 2, "o= line"),
        ("v=0\r\no=- x 1 IN IP4 1.2.3.4\r\ns=-\r\n", 2, "o= line"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n", 0, "no s="),
        ("v=0\r\ns=-\r\n", 0, "no o="),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio port RTP/AVP 0\r\n", 4, "bad port"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n", 4, "bad port"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio\r\n", 4, "no port"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\n", 4, "c= line"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nhello\r\n", 4, "<type>=<value>"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n1=x\r\n", 4, "not a letter"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\na=\r\n", 4, "empty attribute"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\nt=0 0\r\n", 5, "session level"),
        ("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n", 3, "repeated"),
        ("v=0\r\nv=0\r\n", 2, "repeated"),
    ];
    for (text, line, words) in cases {
        let err = SessionDescription::parse(text).unwrap_err();
        assert_eq!(err.line(), *line, "{text:?}: {err}");
        assert!(err.to_string().contains(words), "{text:?}: {err}");
        if *line > 0 {
            assert!(err.to_string().contains(&format!("line {line}")), "{err}");
        }
    }
    assert!(SessionDescription::parse_bytes(b"v=0\r\ns=\xff\r\n").is_err());
}

#[test]
fn bounds_are_errors() {
    let mut big = crlf(SIPP);
    while big.len() <= MAX_SDP_LEN {
        big.push_str("a=x-filler:0123456789012345678901234567890123456789\r\n");
    }
    assert!(SessionDescription::parse(&big).unwrap_err().to_string().contains("limit"));
    assert!(SessionDescription::parse_bytes(big.as_bytes()).is_err());

    let mut many = crlf(&SIPP[..5]);
    for _ in 0..=MAX_MEDIA {
        many.push_str("m=audio 0 RTP/AVP 0\r\n");
    }
    let err = SessionDescription::parse(&many).unwrap_err();
    assert!(err.to_string().contains("media sections"), "{err}");

    let formats = (0..200).map(|i| (i % 128).to_string()).collect::<Vec<_>>().join(" ");
    let text = format!("{}m=audio 1 RTP/AVP {formats}\r\n", crlf(&SIPP[..5]));
    assert!(SessionDescription::parse(&text).unwrap_err().to_string().contains("too many formats"));
}

/// Lines that look like SDP, for random bodies that get past the first checks.
fn sdp_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("v=0".to_string()),
        Just("o=- 1 2 IN IP4 192.0.2.1".to_string()),
        Just("s=-".to_string()),
        Just("t=0 0".to_string()),
        Just("c=IN IP4 0.0.0.0".to_string()),
        Just("a=sendonly".to_string()),
        Just("b=AS:64".to_string()),
        "m=(audio|video) [0-9]{1,6}(/[0-9])? RTP/AVP( [0-9]{1,3}){0,4}",
        "a=[a-z]{1,6}(:[ -~]{0,12})?",
        "[a-z]=[ -~]{0,16}",
        "[ -~]{0,20}",
    ]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SessionDescription::parse_bytes(&bytes);
    }

    #[test]
    fn what_parses_serializes_to_a_fixed_point(
        lines in proptest::collection::vec(sdp_line(), 0..24),
        lf in any::<bool>(),
    ) {
        let mut text = String::from("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\n");
        text.push_str(&lines.join(if lf { "\n" } else { "\r\n" }));
        if let Ok(sdp) = SessionDescription::parse(&text) {
            let once = sdp.to_string();
            let again = SessionDescription::parse(&once).expect("a serialized description parses");
            prop_assert_eq!(again.to_string(), once);
        }
    }
}
