//! SDP and RTP from arbitrary bytes: both parse or fail cleanly; what parses serializes to
//! something that parses to the same value (SDP once normalized, RTP exactly); an offer that
//! parses can be answered without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use media_core::{Codec, Direction, LocalMedia, RtpPacket, SdpSession, SessionDescription};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = RtpPacket::parse(data) {
        let again = RtpPacket::parse(&packet.to_bytes()).expect("a written packet parses");
        assert_eq!(again, packet);
    }
    let Ok(sdp) = SessionDescription::parse_bytes(data) else { return };
    let text = sdp.to_string();
    // Serializing adds CRs and a t= line, so only a body within the limits must parse again.
    if text.len() <= media_core::sdp::MAX_SDP_LEN && text.lines().count() <= media_core::sdp::MAX_LINES {
        let again = SessionDescription::parse(&text).expect("a serialized description parses");
        assert_eq!(again.to_string(), text);
    }
    for m in &sdp.media {
        let _ = (sdp.media_direction(m), sdp.media_connection(m).and_then(|c| c.ip()), m.rtpmap(0), m.fmtp(101));
    }
    let local = LocalMedia::new("192.0.2.1:40000".parse().expect("literal"), Codec::defaults(), Direction::SendRecv);
    let mut session = SdpSession::with_id("192.0.2.1".parse().expect("literal"), 1);
    if let Ok((answer, _)) = session.answer(&sdp, &local) {
        assert_eq!(answer.media.len(), sdp.media.len());
        let _ = session.accept_answer(&sdp, &answer);
    }
});
