//! RFC 3264 offer/answer between two [`SdpSession`]s and against offers real peers send.

use media_core::{Codec, Direction, LocalMedia, NegotiationError, SdpSession, SessionDescription};
use std::net::SocketAddr;

fn local(addr: &str, codecs: Vec<Codec>, direction: Direction) -> LocalMedia {
    LocalMedia::new(addr.parse().unwrap(), codecs, direction)
}

fn alice() -> (SdpSession, LocalMedia) {
    (
        SdpSession::with_id("192.0.2.1".parse().unwrap(), 1000),
        local("192.0.2.1:40000", Codec::defaults(), Direction::SendRecv),
    )
}

fn bob() -> (SdpSession, LocalMedia) {
    (
        SdpSession::with_id("192.0.2.2".parse().unwrap(), 2000),
        local("192.0.2.2:50000", Codec::defaults(), Direction::SendRecv),
    )
}

fn offer_text(media_lines: &str) -> SessionDescription {
    let text = format!("v=0\r\no=- 7 7 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n{media_lines}");
    SessionDescription::parse(&text).unwrap()
}

#[test]
fn offer_lists_our_codecs_and_answer_picks_pcmu() {
    let (mut a, am) = alice();
    let (mut b, bm) = bob();
    let offer = a.offer(&am);
    let text = offer.to_string();
    assert!(text.contains("m=audio 40000 RTP/AVP 0 8 101\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"), "{text}");
    assert!(text.contains("a=ptime:20\r\na=sendrecv\r\n"), "{text}");
    assert!(text.contains("c=IN IP4 192.0.2.1\r\n") && text.starts_with("v=0\r\no=- 1000 1000 IN IP4 192.0.2.1\r\n"));

    let (answer, at_bob) = b.answer(&SessionDescription::parse(&text).unwrap(), &bm).unwrap();
    assert_eq!(at_bob.codec, Codec::PCMU);
    assert_eq!(at_bob.telephone_event, Some(101));
    assert_eq!(at_bob.direction, Direction::SendRecv);
    assert_eq!(at_bob.remote_rtp, Some("192.0.2.1:40000".parse().unwrap()));
    assert_eq!(at_bob.remote_ptime_ms, Some(20));
    assert_eq!(answer.media[0].formats, ["0", "101"]);
    assert_eq!(answer.media[0].port, 50000);

    let at_alice = a.accept_answer(&offer, &answer).unwrap();
    assert_eq!(at_alice.codec, Codec::PCMU);
    assert_eq!(at_alice.telephone_event, Some(101));
    assert_eq!(at_alice.remote_rtp, Some("192.0.2.2:50000".parse().unwrap()));
    assert_eq!(at_alice.direction, Direction::SendRecv);
    assert!(at_alice.should_send());
}

#[test]
fn pcma_only_offer_is_answered_pcma() {
    let (mut b, bm) = bob();
    let offer = offer_text("m=audio 6000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n");
    let (answer, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!(n.codec, Codec::PCMA);
    assert_eq!(n.telephone_event, None);
    assert_eq!(answer.media[0].formats, ["8"]);
    assert!(answer.to_string().contains("a=rtpmap:8 PCMA/8000\r\n"));
    assert!(!answer.to_string().contains("telephone-event"));
}

#[test]
fn offerer_order_wins_and_static_types_need_no_rtpmap() {
    let (mut b, _) = bob();
    // We prefer PCMU, the offer lists PCMA first (without rtpmaps): the offer's order wins.
    let bm = local("192.0.2.2:50000", vec![Codec::PCMU, Codec::PCMA], Direction::SendRecv);
    let (_, n) = b.answer(&offer_text("m=audio 6000 RTP/AVP 8 0\r\n"), &bm).unwrap();
    assert_eq!(n.codec, Codec::PCMA);
}

#[test]
fn pjsip_offer_dynamic_telephone_event_is_echoed() {
    let (mut b, bm) = bob();
    let offer = SessionDescription::parse(
        "v=0\r\no=- 3921434561 3921434561 IN IP4 10.0.0.5\r\ns=pjmedia\r\nb=AS:84\r\nt=0 0\r\n\
         m=audio 4000 RTP/AVP 96 3 0 8 120 121\r\nc=IN IP4 10.0.0.5\r\na=rtcp:4001 IN IP4 10.0.0.5\r\n\
         a=sendrecv\r\na=rtpmap:96 speex/16000\r\na=rtpmap:3 GSM/8000\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:120 telephone-event/16000\r\na=fmtp:120 0-16\r\n\
         a=rtpmap:121 telephone-event/8000\r\na=fmtp:121 0-16\r\n",
    )
    .unwrap();
    let (answer, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!(n.codec, Codec::PCMU);
    assert_eq!(n.telephone_event, Some(121));
    assert_eq!(n.remote_rtp, Some("10.0.0.5:4000".parse().unwrap()));
    assert_eq!(answer.media[0].formats, ["0", "121"]);
    assert!(answer.to_string().contains("a=rtpmap:121 telephone-event/8000\r\na=fmtp:121 0-16\r\n"));
}

#[test]
fn no_common_codec_and_no_audio() {
    let (mut b, bm) = bob();
    let offer = offer_text("m=audio 6000 RTP/AVP 3 9\r\na=rtpmap:3 GSM/8000\r\na=rtpmap:9 G722/8000\r\n");
    let err = b.answer(&offer, &bm).unwrap_err();
    assert_eq!(err, NegotiationError::NoCommonCodec);
    assert_eq!(err.status_code(), 488);
    // Telephone-event alone is not a codec.
    let offer = offer_text("m=audio 6000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n");
    assert_eq!(b.answer(&offer, &bm).unwrap_err(), NegotiationError::NoCommonCodec);
    let offer = offer_text("m=video 6002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n");
    assert_eq!(b.answer(&offer, &bm).unwrap_err(), NegotiationError::NoAudio);
    // SRTP is off here: an offer that requires it is refused, and says why.
    let offer = offer_text("m=audio 6000 RTP/SAVP 0\r\n");
    assert_eq!(b.answer(&offer, &bm).unwrap_err(), NegotiationError::SrtpMismatch { we_require: false });
    let offer = offer_text("");
    assert_eq!(b.answer(&offer, &bm).unwrap_err(), NegotiationError::NoAudio);
}

#[test]
fn answer_directions_follow_rfc3264_table() {
    let (mut b, bm) = bob();
    for (offered, answered) in [
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
        ("sendrecv", Direction::SendRecv),
    ] {
        let offer = offer_text(&format!("m=audio 6000 RTP/AVP 0\r\na={offered}\r\n"));
        let (answer, n) = b.answer(&offer, &bm).unwrap();
        assert_eq!(n.direction, answered, "offer {offered}");
        assert_eq!(n.remote_direction.as_str(), offered);
        assert_eq!(answer.media_direction(&answer.media[0]), answered);
        assert!(answer.to_string().contains(&format!("a={answered}\r\n")));
    }
    // Our own wish narrows a sendrecv offer.
    let bm = LocalMedia { direction: Direction::RecvOnly, ..bm };
    let (_, n) = b.answer(&offer_text("m=audio 6000 RTP/AVP 0\r\n"), &bm).unwrap();
    assert_eq!(n.direction, Direction::RecvOnly);
    assert!(!n.should_send());
}

#[test]
fn old_style_hold_gives_no_remote_address() {
    let (mut b, bm) = bob();
    let offer = SessionDescription::parse(
        "v=0\r\no=- 7 8 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n",
    )
    .unwrap();
    let (_, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!(n.remote_rtp, None);
    assert!(!n.should_send());
    // A media-level c= overrides the session's.
    let offer = offer_text("m=audio 6000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n");
    assert_eq!(b.answer(&offer, &bm).unwrap().1.remote_rtp, None);
    // No c= anywhere is malformed.
    let offer =
        SessionDescription::parse("v=0\r\no=- 7 8 IN IP4 198.51.100.7\r\ns=-\r\nm=audio 6000 RTP/AVP 0\r\n").unwrap();
    assert!(matches!(b.answer(&offer, &bm), Err(NegotiationError::Malformed(_))));
}

#[test]
fn other_streams_are_rejected_with_port_zero() {
    let (mut b, bm) = bob();
    let offer = offer_text(
        "m=video 6002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\n\
         m=audio 6000 RTP/AVP 0 8\r\n\
         m=audio 6004 RTP/AVP 0\r\n\
         m=audio 0 RTP/AVP 18\r\n",
    );
    let (answer, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!(n.remote_rtp, Some("198.51.100.7:6000".parse().unwrap()));
    assert_eq!(answer.media.len(), 4);
    let summary: Vec<_> = answer.media.iter().map(|m| (m.media.as_str(), m.port, m.formats.join(" "))).collect();
    assert_eq!(
        summary,
        [
            ("video", 0, "96 97".to_string()),
            ("audio", 50000, "0".to_string()),
            ("audio", 0, "0".to_string()),
            ("audio", 0, "18".to_string())
        ]
    );
    // The answer parses back and the offerer reads it.
    let again = SessionDescription::parse(&answer.to_string()).unwrap();
    assert_eq!(again, answer);
}

#[test]
fn accept_answer_rules() {
    let (mut a, am) = alice();
    let offer = a.offer(&am);
    let answer = |media: &str| {
        SessionDescription::parse(&format!(
            "v=0\r\no=- 9 9 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n{media}"
        ))
        .unwrap()
    };
    // The answerer lists PCMA first: we send PCMA.
    let n = a.accept_answer(&offer, &answer("m=audio 50000 RTP/AVP 8 0\r\na=recvonly\r\n")).unwrap();
    assert_eq!(n.codec, Codec::PCMA);
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.direction, Direction::SendOnly);
    assert_eq!(n.remote_direction, Direction::RecvOnly);
    // Rejected stream.
    assert_eq!(
        a.accept_answer(&offer, &answer("m=audio 0 RTP/AVP 0\r\n")).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
    // A codec we did not offer.
    assert_eq!(
        a.accept_answer(&offer, &answer("m=audio 5000 RTP/AVP 18\r\n")).unwrap_err(),
        NegotiationError::NoCommonCodec
    );
    // Wrong number of m= lines.
    assert!(matches!(
        a.accept_answer(&offer, &answer("m=audio 5000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n")),
        Err(NegotiationError::Malformed(_))
    ));
}

#[test]
fn version_increments_on_a_changed_offer_only() {
    let (mut a, am) = alice();
    let first = a.offer(&am);
    let refresh = a.offer(&am);
    assert_eq!(refresh.origin.session_version, first.origin.session_version, "unchanged: same version (RFC 3264 §8)");
    let hold = a.offer(&LocalMedia { direction: Direction::SendRecv.hold(), ..am.clone() });
    assert_eq!(hold.origin.session_version, first.origin.session_version + 1);
    assert_eq!(hold.origin.session_id, first.origin.session_id);
    assert!(hold.to_string().contains("a=sendonly\r\n"));
    let resume = a.offer(&am);
    assert_eq!(resume.origin.session_version, first.origin.session_version + 2);
    // An answer in the same session continues the sequence.
    let (mut b, bm) = bob();
    let (answer1, _) = b.answer(&first, &bm).unwrap();
    let (answer2, n) = b.answer(&hold, &bm).unwrap();
    assert_eq!(answer2.origin.session_version, answer1.origin.session_version + 1);
    assert_eq!(n.direction, Direction::RecvOnly);
    assert_ne!(SdpSession::new("192.0.2.9".parse().unwrap()).session_id(), 0);
}

#[test]
fn ipv6_addresses() {
    let mut a = SdpSession::with_id("2001:db8::1".parse().unwrap(), 5);
    let am = local("[2001:db8::1]:40000", vec![Codec::PCMU], Direction::SendRecv);
    let offer = a.offer(&am);
    assert!(offer.to_string().contains("c=IN IP6 2001:db8::1\r\n"));
    let (mut b, _) = bob();
    let bm = local("[2001:db8::2]:50000", vec![Codec::PCMU], Direction::SendRecv);
    let (_, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!(n.remote_rtp, Some("[2001:db8::1]:40000".parse::<SocketAddr>().unwrap()));
}

#[test]
fn srtp_keys_are_offered_answered_and_paired_by_tag() {
    use media_core::srtp::{CryptoSuite, SrtpPolicy};
    let media = |addr: &str, policy| local(addr, Codec::defaults(), Direction::SendRecv).with_srtp(policy).unwrap();
    let ip = |a: &str| a.parse::<std::net::IpAddr>().unwrap();
    let outcome = |offerer: SrtpPolicy, answerer: SrtpPolicy| {
        let (am, bm) = (media("192.0.2.1:4000", offerer), media("192.0.2.2:5000", answerer));
        let (mut a, mut b) = (SdpSession::new(ip("192.0.2.1")), SdpSession::new(ip("192.0.2.2")));
        let offer = a.offer(&am);
        let (answer, at_b) = b.answer(&offer, &bm)?;
        let at_a = a.accept_answer_with(&offer, &answer, &am.keys, offerer)?;
        Ok::<_, NegotiationError>((offer, answer, at_a, at_b))
    };
    // Required offers RTP/SAVP with a key per suite; an optional answerer takes the first.
    let (offer, answer, at_a, at_b) = outcome(SrtpPolicy::Required, SrtpPolicy::Optional).unwrap();
    let text = offer.to_string();
    assert!(text.contains("m=audio 4000 RTP/SAVP "), "{text}");
    assert!(text.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), "{text}");
    assert!(text.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"), "{text}");
    assert_eq!(answer.to_string().matches("a=crypto:1 AES_CM_128_HMAC_SHA1_80").count(), 1, "{answer}");
    let (ka, kb) = (at_a.srtp.expect("srtp at a"), at_b.srtp.expect("srtp at b"));
    assert_eq!((ka.ours.clone(), ka.theirs.clone()), (kb.theirs, kb.ours), "each side's key is the other's peer key");
    assert_eq!(ka.ours.suite, CryptoSuite::AesCm128HmacSha1_80);
    // Optional offers RTP/AVP with keys: SRTP with an SRTP peer, plain with one that has it off.
    let (offer, _, at_a, at_b) = outcome(SrtpPolicy::Optional, SrtpPolicy::Required).unwrap();
    assert!(offer.to_string().contains(" RTP/AVP ") && at_a.srtp.is_some() && at_b.srtp.is_some());
    let (_, answer, at_a, at_b) = outcome(SrtpPolicy::Optional, SrtpPolicy::Off).unwrap();
    assert!(!answer.to_string().contains("crypto") && at_a.srtp.is_none() && at_b.srtp.is_none());
    // Required on either side meets off on the other: refused, naming who requires it.
    assert_eq!(
        outcome(SrtpPolicy::Required, SrtpPolicy::Off).unwrap_err(),
        NegotiationError::SrtpMismatch { we_require: false }
    );
    assert_eq!(
        outcome(SrtpPolicy::Off, SrtpPolicy::Required).unwrap_err(),
        NegotiationError::SrtpMismatch { we_require: true }
    );
    // An answer that drops the key, to a required offer, is an error for the offerer.
    let am = media("192.0.2.1:4000", SrtpPolicy::Required);
    let mut a = SdpSession::new(ip("192.0.2.1"));
    let offer = a.offer(&am);
    let plain = offer_text("m=audio 5000 RTP/AVP 0\r\n");
    assert_eq!(
        a.accept_answer_with(&offer, &plain, &am.keys, SrtpPolicy::Required).unwrap_err(),
        NegotiationError::SrtpMismatch { we_require: true }
    );
}

#[test]
fn each_audio_clock_gets_its_telephone_event() {
    let codecs = vec![Codec::OPUS, Codec::PCMU, Codec::TELEPHONE_EVENT];
    let mut a = SdpSession::new("192.0.2.1".parse().unwrap());
    let offer = a.offer(&local("192.0.2.1:4000", codecs, Direction::SendRecv)).to_string();
    assert!(offer.contains("a=rtpmap:101 telephone-event/8000"), "{offer}");
    assert!(offer.contains("a=rtpmap:102 telephone-event/48000"), "{offer}");
    assert!(offer.contains("a=fmtp:111 useinbandfec=1;stereo=0"), "{offer}");
    // Without telephone-event nothing is added.
    let plain = a.offer(&local("192.0.2.1:4000", vec![Codec::OPUS, Codec::PCMU], Direction::SendRecv)).to_string();
    assert!(!plain.contains("telephone-event"), "{plain}");
}

/// Answering Opus picks the telephone-event on Opus's clock, not the 8 kHz one.
#[cfg(feature = "opus")]
#[test]
fn an_opus_answer_uses_the_48_khz_events() {
    let (mut b, _) = bob();
    let bm = local("192.0.2.2:5000", vec![Codec::OPUS, Codec::PCMU, Codec::TELEPHONE_EVENT], Direction::SendRecv);
    let offer = offer_text(
        "m=audio 6000 RTP/AVP 111 0 101 102\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:102 telephone-event/48000\r\n",
    );
    let (answer, n) = b.answer(&offer, &bm).unwrap();
    assert_eq!((n.codec.name, n.telephone_event), ("opus", Some(102)));
    assert!(answer.to_string().contains("a=rtpmap:102 telephone-event/48000"), "{answer}");
}

#[test]
fn rtcp_mux_is_offered_and_agreed_only_when_both_sides_say_so() {
    // Both multiplex (our default): offered, answered, agreed on both sides.
    let (mut a, am) = alice();
    let (mut b, bm) = bob();
    let offer = a.offer(&am);
    assert!(offer.to_string().contains("a=sendrecv\r\na=rtcp-mux\r\n"), "{offer}");
    let (answer, at_bob) = b.answer(&offer, &bm).unwrap();
    assert!(answer.to_string().contains("a=rtcp-mux\r\n"), "{answer}");
    assert!(at_bob.rtcp_mux);
    assert!(a.accept_answer(&offer, &answer).unwrap().rtcp_mux);

    // RFC 5761 §5.1.1: an offer without it is answered without it.
    let plain = offer_text("m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
    let (answer, at_bob) = b.answer(&plain, &bm).unwrap();
    assert!(!at_bob.rtcp_mux && !answer.to_string().contains("rtcp-mux"), "{answer}");

    // An answer without it: separate ports.
    let (mut b2, bm2) = bob();
    let no_mux = LocalMedia { rtcp_mux: false, ..bm2 };
    let (answer, at_bob) = b2.answer(&offer, &no_mux).unwrap();
    assert!(!at_bob.rtcp_mux && !answer.to_string().contains("rtcp-mux"), "{answer}");
    assert!(!a.accept_answer(&offer, &answer).unwrap().rtcp_mux);

    // Switched off here, it is not offered.
    let (mut a3, am3) = alice();
    assert!(!a3.offer(&LocalMedia { rtcp_mux: false, ..am3 }).to_string().contains("rtcp-mux"));
}
